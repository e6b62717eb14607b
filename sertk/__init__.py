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

import sys
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

try:
    __version__ = version("sertk")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

#: Public name -> the submodule that defines it.
_SOURCES = {
    "FEATURE_SETS": "feature_sets",
    "AnalysisSettings": "settings",
    "AudioError": "errors",
    "DatasetError": "errors",
    "EmotionClassifier": "classifier",
    "EvaluationReport": "evaluate",
    "FeatureExtractor": "extract",
    "FeatureSet": "feature_sets",
    "ModelFileError": "errors",
    "ModelVersionWarning": "persistence",
    "ParameterError": "errors",
    "SertkError": "errors",
    "SpeakerNormalizer": "normalize",
    "evaluate": "evaluate",
    "extract_signal": "extract",
    "extract_windows": "extract",
    "get_feature_set": "feature_sets",
    "iter_extract": "extract",
    "load_model": "persistence",
    "parse_feature_name": "feature_sets",
    "plot_timeline": "timeline",
    "predict_files": "predict",
    "predict_timeline": "timeline",
    "read_feature_table": "tables",
    "save_model": "persistence",
    "smooth_timeline": "timeline",
    "window_features": "timeline",
}

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


class _Package(ModuleType):
    """sertk's module type: a submodule never hides the public name it shares.

    Importing a submodule binds it as an attribute of the package. The
    submodule ``sertk.evaluate`` defines the function ``sertk.evaluate``:
    when it is imported, the function is bound instead.
    """

    def __setattr__(self, name: str, value) -> None:
        if (_SOURCES.get(name) == name and isinstance(value, ModuleType)
                and value.__name__ == f"{__name__}.{name}"):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
