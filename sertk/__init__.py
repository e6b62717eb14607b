"""sertk: speech emotion recognition with classical acoustic features.

Praat (through praat-parselmouth) and NumPy compute frame-level contours of
pitch, intensity, formants, voice quality and spectral shape; sertk turns
them into one row of documented utterance-level features a recording, and a
scikit-learn pipeline classifies the emotion.

The public names below are imported on first use (PEP 562), so that
``import sertk`` stays light and a process that only extracts features (a
worker, ``sertk-extract``) never loads scikit-learn, pandas or matplotlib.

Examples
--------
>>> import numpy as np
>>> import sertk
>>> t = np.arange(16000) / 16000
>>> row = sertk.extract_signal(0.3 * np.sin(2 * np.pi * 200 * t), 16000,
...                            feature_set="minimal")
>>> len(row)
114
"""

from importlib import import_module

from sertk import _moved
from sertk._version import __version__

_moved.install()

#: Public name -> the submodule that defines it.
_SOURCES = {
    "FEATURE_SETS": "features.feature_sets",
    "AnalysisSettings": "settings",
    "AudioError": "errors",
    "CircumplexRegressor": "models.dimensions",
    "DatasetError": "errors",
    "EmotionClassifier": "models.classifier",
    "EvaluationReport": "evaluation.protocols",
    "FeatureExtractor": "features.extractor",
    "FeatureSet": "features.feature_sets",
    "ModelFileError": "errors",
    "ModelVersionWarning": "io.model_files",
    "ParameterError": "errors",
    "ProtocolClassifier": "evaluation.protocols",
    "SertkError": "errors",
    "SpeakerNormalizer": "models.normalize",
    "causal_timeline": "timeline.live",
    "emotion_pipeline": "models.classifier",
    "evaluate": "evaluation.protocols",
    "evaluate_dimensions": "evaluation.dimensions",
    "explain": "models.explanations",
    "extract_signal": "features.extractor",
    "extract_windows": "features.extractor",
    "get_feature_set": "features.feature_sets",
    "iter_extract": "features.extractor",
    "load_model": "io.model_files",
    "parse_feature_name": "features.feature_sets",
    "plot_circumplex": "timeline.explanation_plots",
    "plot_explanation": "timeline.explanation_plots",
    "plot_timeline": "timeline.windows",
    "predict_files": "timeline.files",
    "predict_timeline": "timeline.windows",
    "read_feature_table": "features.tables",
    "save_model": "io.model_files",
    "smooth_timeline": "timeline.windows",
    "stream": "timeline.live",
    "window_features": "timeline.windows",
}

__all__ = [
    "FEATURE_SETS",
    "AnalysisSettings",
    "AudioError",
    "CircumplexRegressor",
    "DatasetError",
    "EmotionClassifier",
    "EvaluationReport",
    "FeatureExtractor",
    "FeatureSet",
    "ModelFileError",
    "ModelVersionWarning",
    "ParameterError",
    "ProtocolClassifier",
    "SertkError",
    "SpeakerNormalizer",
    "__version__",
    "causal_timeline",
    "emotion_pipeline",
    "evaluate",
    "evaluate_dimensions",
    "explain",
    "extract_signal",
    "extract_windows",
    "get_feature_set",
    "iter_extract",
    "load_model",
    "parse_feature_name",
    "plot_circumplex",
    "plot_explanation",
    "plot_timeline",
    "predict_files",
    "predict_timeline",
    "read_feature_table",
    "save_model",
    "smooth_timeline",
    "stream",
    "window_features",
]


def __getattr__(name: str):
    """Import a public name's submodule on first use (PEP 562)."""
    try:
        source = _SOURCES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(f".{source}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    """List the module's attributes, the public names not imported yet too."""
    return sorted(set(globals()) | set(__all__))
