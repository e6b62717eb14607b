"""The exceptions sertk raises.

Every error sertk raises on purpose is a :class:`SertkError`, so a caller can
catch the whole family at once. :class:`ParameterError` is also a
:class:`ValueError`, so scikit-learn's parameter checks and plain
``except ValueError`` clauses catch it too.
"""

from __future__ import annotations

__all__ = [
    "AudioError",
    "DatasetError",
    "ModelFileError",
    "OutputError",
    "ParameterError",
    "SertkError",
    "UntrustedModelError",
]


class SertkError(Exception):
    """Base class of every error raised by sertk."""


class ParameterError(SertkError, ValueError):
    """A parameter has a value outside its documented range or set.

    Examples
    --------
    >>> from sertk.errors import ParameterError
    >>> issubclass(ParameterError, ValueError)
    True
    """


class AudioError(SertkError):
    """An audio file or signal cannot be analysed.

    The message names the file (when there is one) and the reason: unreadable
    or not audio, empty, shorter than the minimum duration, or non-finite
    samples.

    Parameters
    ----------
    message : str
        What is wrong and, where possible, how to fix it.
    path : str, optional
        The file concerned, if any; kept as the ``path`` attribute.
    """

    def __init__(self, message: str, path: str | None = None):
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)


class DatasetError(SertkError):
    """A corpus folder or manifest does not have the expected layout."""


class ModelFileError(SertkError):
    """A file is not a sertk model, or cannot be loaded safely."""


class UntrustedModelError(ModelFileError):
    """A model file was not loaded because loading it could run its code.

    A pickle (``.joblib``) that sertk cannot vouch for, or a ``.skops`` file
    holding types a sertk model is not made of. Load it only if you trust
    its author (``load_model(path, trusted=True)``; ``sertk-predict
    --trust``).
    """


class OutputError(SertkError):
    """An output cannot be written where asked.

    It is the same file as an input or as another output, it is a folder,
    or another run is writing it right now.
    """
