"""sertk: speech emotion recognition with classical acoustic features.

Praat (through praat-parselmouth) and librosa compute frame-level contours of
pitch, intensity, formants, voice quality and spectral shape; sertk turns
them into one row of documented utterance-level features a recording, and a
scikit-learn pipeline classifies the emotion.

Examples
--------
>>> import numpy as np
>>> import sertk
>>> t = np.arange(16000) / 16000
>>> row = sertk.extract_signal(0.3 * np.sin(2 * np.pi * 200 * t), 16000,
...                            feature_set="minimal")
>>> len(row)
105
"""

from importlib.metadata import PackageNotFoundError, version

from .classifier import EmotionClassifier
from .errors import AudioError, DatasetError, ModelFileError, ParameterError, SertkError
from .evaluate import EvaluationReport, evaluate
from .extract import FeatureExtractor, extract_signal, extract_windows, iter_extract
from .feature_sets import FEATURE_SETS, FeatureSet, get_feature_set, parse_feature_name
from .normalize import SpeakerNormalizer
from .persistence import ModelVersionWarning, load_model, save_model
from .predict import predict_files
from .settings import AnalysisSettings
from .tables import read_feature_table
from .timeline import plot_timeline, predict_timeline, smooth_timeline

try:
    __version__ = version("sertk")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "FEATURE_SETS",
    "AnalysisSettings",
    "AudioError",
    "DatasetError",
    "EmotionClassifier",
    "EvaluationReport",
    "FeatureExtractor",
    "FeatureSet",
    "ModelFileError",
    "ModelVersionWarning",
    "ParameterError",
    "SertkError",
    "SpeakerNormalizer",
    "__version__",
    "evaluate",
    "extract_signal",
    "extract_windows",
    "get_feature_set",
    "iter_extract",
    "load_model",
    "parse_feature_name",
    "plot_timeline",
    "predict_files",
    "predict_timeline",
    "read_feature_table",
    "save_model",
    "smooth_timeline",
]
