"""Training-data augmentation: speed-perturbed copies of recordings.

A recording played 10 % faster or slower keeps its words and its emotion,
but its F0, formants and timing all move, as another speaker's voice would.
Adding such copies to the training rows (Ko et al., 2015, "Audio
augmentation for speech recognition", with factors 0.9 and 1.1) gives a
model more voices than the corpus has speakers, which helps most when
nothing is known about the test speaker (the *strict* protocol of
:mod:`sertk.evaluation.protocols`). Copies are for training only: they keep the label
and the speaker of their recording, and are never scored.

Examples
--------
>>> import numpy as np
>>> X = np.zeros((2, 3))
>>> copies = np.ones((2, 1, 3))
>>> X_all, y_all, speakers_all, source = with_copies(
...     X, np.array(["a", "b"]), np.array(["s1", "s2"]), copies)
>>> X_all.shape, y_all.tolist(), source.tolist()
((4, 3), ['a', 'b', 'a', 'b'], [0, 1, 0, 1])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..errors import ParameterError

__all__ = [
    "SPEED_FACTORS", "check_speed_factors", "copies_array", "speed_copies",
    "with_copies",
]

#: Default speed-perturbation factors (Ko et al., 2015).
SPEED_FACTORS = (0.9, 1.1)


def check_speed_factors(factors: Sequence[float] | None) -> tuple[float, ...]:
    """Return validated speed-perturbation factors (empty for none).

    Parameters
    ----------
    factors : sequence of float or None
        Speeds in [0.5, 2], none of them 1 (the recording itself).

    Returns
    -------
    tuple of float

    Raises
    ------
    ParameterError
        If a factor is not a number in [0.5, 2], is 1, or repeats.

    Examples
    --------
    >>> check_speed_factors([0.9, 1.1]), check_speed_factors(None)
    ((0.9, 1.1), ())
    """
    if factors is None:
        return ()
    if isinstance(factors, str) or not isinstance(factors, Sequence):
        raise ParameterError(
            f"speed_perturbation must be a sequence of speeds or None, got {factors!r}")
    for f in factors:
        if isinstance(f, bool) or not isinstance(f, int | float) or not 0.5 <= f <= 2:
            raise ParameterError(
                f"speed_perturbation factors must be numbers from 0.5 to 2, got {f!r}")
        if f == 1:
            raise ParameterError(
                "speed_perturbation factors must not be 1: the recordings "
                "themselves are always used")
    if len(set(factors)) != len(factors):
        raise ParameterError(f"speed_perturbation repeats a factor: {list(factors)}")
    return tuple(float(f) for f in factors)


def speed_copies(extractor: Any, audio: Any, factors: Sequence[float]) -> np.ndarray:
    """Extract the features of speed-perturbed copies of recordings.

    Parameters
    ----------
    extractor : sertk.features.extractor.FeatureExtractor
        Extractor of the original recordings; each copy uses a clone with
        ``speed`` set to a factor.
    audio : list of str or DataFrame
        The recordings, as :meth:`FeatureExtractor.transform` takes them.
    factors : sequence of float
        Speeds (see :func:`check_speed_factors`).

    Returns
    -------
    ndarray of shape (n_recordings, n_factors, n_features)
        Copy ``k`` of recording ``i`` is ``[i, k]``; a copy that cannot be
        analysed is a row of NaN (whatever ``extractor.on_error`` says, since
        its recording was analysed).

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> from sertk.features.extractor import FeatureExtractor
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> t = np.arange(16000) / 16000
    >>> sf.write(path, 0.3 * np.sin(2 * np.pi * 200 * t), 16000)
    >>> copies = speed_copies(FeatureExtractor("minimal"), [path], [0.9, 1.1])
    >>> copies.shape
    (1, 2, 114)
    """
    tables = [clone(extractor).set_params(speed=f, on_error="nan").transform(audio)
              for f in check_speed_factors(factors)]
    if not tables:
        raise ParameterError("speed_copies needs at least one factor")
    return np.stack([t.to_numpy(dtype=np.float64) for t in tables], axis=1)


def copies_array(augmented: Any, X: Any) -> np.ndarray:
    """Return augmented copies as one array, checked against their rows.

    Parameters
    ----------
    augmented : array-like of shape (n_rows, n_copies, n_features), or list of tables
        The copies: one array, or ``n_copies`` tables of shape (n_rows,
        n_features). DataFrames are put in ``X``'s column order.
    X : array-like of shape (n_rows, n_features)
        The rows copied.

    Returns
    -------
    ndarray of shape (n_rows, n_copies, n_features)

    Raises
    ------
    ParameterError
        If the shapes or columns do not match ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> copies_array([np.ones((2, 3)), np.zeros((2, 3))], np.zeros((2, 3))).shape
    (2, 2, 3)
    """
    n_features = np.shape(X)[1]
    if isinstance(augmented, Sequence) and not isinstance(augmented, str) and all(
            hasattr(t, "shape") and len(t.shape) == 2 for t in augmented):
        tables = []
        for t in augmented:
            if isinstance(t, pd.DataFrame) and isinstance(X, pd.DataFrame):
                missing = X.columns.difference(t.columns)
                if len(missing):
                    raise ParameterError(
                        f"augmented tables lack {len(missing)} columns of X, "
                        f"e.g. {list(missing[:3])}")
                t = t[X.columns]
            tables.append(np.asarray(t, dtype=np.float64))
        augmented = np.stack(tables, axis=1) if tables else None
    copies = np.asarray(augmented, dtype=np.float64)
    if copies.ndim != 3 or copies.shape[0] != len(X) or copies.shape[2] != n_features:
        raise ParameterError(
            f"augmented must hold, for each of the {len(X)} rows of X, copies "
            f"of {n_features} features: shape ({len(X)}, n_copies, {n_features}) "
            f"or a list of ({len(X)}, {n_features}) tables; got shape {copies.shape}")
    return copies


def with_copies(
    X: Any, y: np.ndarray, speakers: np.ndarray | None, augmented: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Append the augmented copies of each row to the training rows.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        The training rows.
    y : ndarray of shape (n_rows,)
        Their labels, which the copies keep.
    speakers : ndarray of shape (n_rows,) or None
        Their speakers, which the copies keep.
    augmented : array-like of shape (n_rows, n_copies, n_features), or list of tables
        The copies (from :func:`speed_copies`, or one table of shape
        (n_rows, n_features) a copy, DataFrames with ``X``'s columns). Copies
        that are all NaN (not analysed) are left out.

    Returns
    -------
    X_all : ndarray of shape (n_rows + n_kept, n_features)
        ``X`` first, then the copies kept.
    y_all, speakers_all : ndarray
        Labels and speakers of ``X_all`` (speakers None if not given).
    source : ndarray of int
        The row of ``X`` each row of ``X_all`` is (a copy of).

    Raises
    ------
    ParameterError
        If ``augmented`` does not match ``X``'s shape or columns.
    """
    values = np.asarray(X, dtype=np.float64)
    copies = copies_array(augmented, X)
    n_rows, n_copies, _ = copies.shape
    source = np.tile(np.arange(n_rows), n_copies)
    stacked = copies.transpose(1, 0, 2).reshape(n_rows * n_copies, -1)
    kept = ~np.isnan(stacked).all(axis=1)
    source = np.concatenate([np.arange(n_rows), source[kept]])
    y_all = np.asarray(y)[source]
    speakers_all = None if speakers is None else np.asarray(speakers)[source]
    return np.vstack([values, stacked[kept]]), y_all, speakers_all, source
