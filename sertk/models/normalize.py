"""Per-speaker feature normalisation.

A speaker's voice shifts every acoustic feature (a deep voice has a low F0
whatever the emotion), and those shifts are often larger than the emotional
ones. :class:`SpeakerNormalizer` removes them by z-scoring each speaker's rows
with that speaker's own mean and standard deviation, which needs only the
speaker's unlabelled recordings. This is the *speaker-normalised* protocol of
the speech emotion literature (Eyben et al. 2016, the GeMAPS paper).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sertk.errors import ParameterError

__all__ = ["SpeakerNormalizer", "check_speakers"]


def _nan_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column mean, standard deviation (ddof=0) and count of non-NaN values.

    Columns without a single value get NaN mean and std. No warnings.
    """
    finite = ~np.isnan(X)
    count = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, X, 0.0).sum(axis=0) / count
        centred = np.where(finite, X - mean, 0.0)
        std = np.sqrt((centred**2).sum(axis=0) / count)
    return mean, std, count


def _safe_scale(std: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Replace zero (or rounding-error-sized) standard deviations by 1."""
    std = std.copy()
    tiny = (std == 0) | (std < 10 * np.finfo(np.float64).eps * np.abs(mean))
    std[tiny] = 1.0
    return std


def check_speakers(speakers: Any, n_rows: int) -> np.ndarray | None:
    """Return ``speakers`` as a 1-D object array of ``n_rows`` ids (or None).

    Parameters
    ----------
    speakers : array-like of shape (n_rows,) or None
        One id a row; None or NaN for an unknown speaker.
    n_rows : int
        Rows of the data the ids go with.

    Returns
    -------
    ndarray of object, shape (n_rows,), or None

    Raises
    ------
    ParameterError
        If ``speakers`` has another shape.

    Examples
    --------
    >>> check_speakers(["a", "b"], 2).tolist()
    ['a', 'b']
    """
    if speakers is None:
        return None
    values = np.asarray(speakers, dtype=object)
    if values.shape != (n_rows,):
        raise ParameterError(
            f"speakers has shape {values.shape}, but X has {n_rows} rows; pass one "
            "speaker id a row (None or NaN for an unknown speaker)"
        )
    return values


def _speaker_codes(speakers: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer code a row (-1 for a missing id) and the distinct ids."""
    values = check_speakers(speakers, n_rows)
    if values is None:
        return np.full(n_rows, -1, dtype=np.intp), np.array([], dtype=object)
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), sort=False)
    return codes.astype(np.intp), np.asarray(uniques, dtype=object)


class SpeakerNormalizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Z-score features per speaker, falling back to pooled training statistics.

    For each row, the statistics used are, in this order of preference:

    1. those of the row's speaker computed from the batch being transformed,
       when that speaker has at least ``min_samples`` rows in the batch
       (transductive: the speaker's unlabelled rows only);
    2. those of the row's speaker learned in :meth:`fit`, when that speaker
       had at least ``min_samples`` rows in the training data;
    3. the pooled statistics of all training rows (rows without a speaker id,
       or of a speaker with too few rows).

    The choice is made column by column: a speaker's column with fewer than
    ``min_samples`` non-NaN values (say, F0 of a mostly unvoiced speaker)
    uses the next statistics in the list. :meth:`fit_transform` follows the
    same rule as ``fit(X, speakers=s).transform(X, speakers=s)``, so training
    rows are normalised exactly as test rows will be.

    Parameters
    ----------
    min_samples : int >= 1, default=5
        Fewest rows (and non-NaN values a column) a speaker needs for its own
        statistics to be used.
    with_std : bool, default=True
        Divide by the standard deviation as well as subtracting the mean.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Pooled training mean of each column (NaN for an all-NaN column).
    scale_ : ndarray of shape (n_features,)
        Pooled training standard deviation, with 0 (constant columns) and NaN
        replaced by 1; all ones when ``with_std=False``.
    speakers_ : ndarray of shape (n_speakers,)
        Training speakers with at least ``min_samples`` rows.
    speaker_mean_ : ndarray of shape (n_speakers, n_features)
        Their means; NaN where a column had fewer than ``min_samples`` values.
    speaker_scale_ : ndarray of shape (n_speakers, n_features)
        Their standard deviations (0 -> 1), NaN like ``speaker_mean_``.
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in :meth:`fit`, when ``X`` was a DataFrame.

    Notes
    -----
    NaN stays NaN: put an imputer after this step. Constant columns map to
    (rounding error from) 0, never to inf. Speaker ids travel as the
    ``speakers`` argument, never as a column; inside a
    :class:`~sklearn.pipeline.Pipeline` or
    :func:`~sklearn.model_selection.cross_validate`, enable metadata routing
    (``sklearn.set_config(enable_metadata_routing=True)``) and pass
    ``speakers=`` (or ``params={"speakers": ...}``): this step requests them
    for ``fit`` and ``transform`` by default. Score with the pipeline's own
    ``score`` (``scoring=None``): a string scorer such as
    ``"balanced_accuracy"`` calls ``predict`` without the speaker ids, so
    test rows would silently get pooled statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from sertk.models.normalize import SpeakerNormalizer
    >>> X = np.array([[1.0], [3.0], [11.0], [13.0]])
    >>> spk = ["a", "a", "b", "b"]
    >>> SpeakerNormalizer(min_samples=2).fit_transform(X, speakers=spk).ravel()
    array([-1.,  1., -1.,  1.])
    >>> SpeakerNormalizer(min_samples=2).fit(X).transform(X).ravel().round(2)
    array([-1.18, -0.78,  0.78,  1.18])
    """

    # speaker ids reach this step by metadata routing, requested by default
    __metadata_request__fit = {"speakers": True}
    __metadata_request__transform = {"speakers": True}

    def __init__(self, min_samples: int = 5, with_std: bool = True):
        self.min_samples = min_samples
        self.with_std = with_std

    def _check_params(self) -> None:
        m = self.min_samples
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 1:
            raise ParameterError(
                f"min_samples={m!r} is not an integer >= 1; the default is 5"
            )
        if not isinstance(self.with_std, bool | np.bool_):
            raise ParameterError(f"with_std={self.with_std!r} is not True or False")

    def _stats(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean, std, count = _nan_stats(X)
        scale = _safe_scale(np.nan_to_num(std, nan=1.0), mean)
        if not self.with_std:
            scale = np.ones_like(mean)
        return mean, scale, count

    def fit(self, X: Any, y: Any = None, speakers: Sequence | None = None):
        """Learn pooled statistics and those of each training speaker.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features; NaN allowed, inf not.
        y : None
            Ignored.
        speakers : array-like of shape (n_samples,), optional
            Speaker id of each row; None or NaN for an unknown speaker.

        Returns
        -------
        self : SpeakerNormalizer
            The fitted normaliser.

        Raises
        ------
        ParameterError
            If a parameter is out of range or ``speakers`` has the wrong length.
        ValueError
            If ``X`` holds inf or non-numeric values.
        """
        self._check_params()
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        codes, uniques = _speaker_codes(speakers, X.shape[0])
        self.mean_, self.scale_, _ = self._stats(X)
        kept, means, scales = [], [], []
        for code, speaker in enumerate(uniques):
            rows = X[codes == code]
            if rows.shape[0] < self.min_samples:
                continue
            mean, scale, count = self._stats(rows)
            few = count < self.min_samples
            kept.append(speaker)
            means.append(np.where(few, np.nan, mean))
            scales.append(np.where(few, np.nan, scale))
        n_features = X.shape[1]
        self.speakers_ = np.array(kept, dtype=object)
        self.speaker_mean_ = np.array(means).reshape(len(kept), n_features)
        self.speaker_scale_ = np.array(scales).reshape(len(kept), n_features)
        return self

    def transform(self, X: Any, speakers: Sequence | None = None) -> np.ndarray:
        """Z-score each row with its speaker's statistics (see class notes).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features, with the columns seen in :meth:`fit`.
        speakers : array-like of shape (n_samples,), optional
            Speaker id of each row. Without it every row uses the pooled
            training statistics.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Normalised features (a DataFrame after ``set_output(transform=
            "pandas")``); NaN where ``X`` is NaN.

        Raises
        ------
        ParameterError
            If ``speakers`` has the wrong length.
        ValueError
            If ``X`` has other columns than in :meth:`fit`, or holds inf.
        sklearn.exceptions.NotFittedError
            If called before :meth:`fit`.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan"
        )
        mean, scale = self._row_statistics(X, speakers)
        return (X - mean) / scale

    def statistics(self, X: Any, speakers: Sequence | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Return the mean and scale :meth:`transform` uses for each cell.

        Parameters
        ----------
        X, speakers
            As in :meth:`transform`.

        Returns
        -------
        mean, scale : ndarray of shape (n_samples, n_features)
            ``transform(X, speakers) == (X - mean) / scale``.

        Raises
        ------
        ParameterError, ValueError, sklearn.exceptions.NotFittedError
            As :meth:`transform`.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[1.0], [3.0]])
        >>> mean, scale = SpeakerNormalizer().fit(X).statistics(X)
        >>> mean.ravel().tolist(), scale.ravel().tolist()
        ([2.0, 2.0], [1.0, 1.0])
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan"
        )
        return self._row_statistics(X, speakers)

    def _row_statistics(self, X: np.ndarray, speakers: Sequence | None
                        ) -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = _speaker_codes(speakers, X.shape[0])
        mean = np.broadcast_to(self.mean_, X.shape).copy()
        scale = np.broadcast_to(self.scale_, X.shape).copy()
        known = {s: i for i, s in enumerate(self.speakers_)}
        for code, speaker in enumerate(uniques):
            rows = codes == code
            # Later layers override earlier ones wherever they are defined.
            layers = []
            if speaker in known:
                i = known[speaker]
                layers.append((self.speaker_mean_[i], self.speaker_scale_[i]))
            if rows.sum() >= self.min_samples:
                b_mean, b_scale, count = self._stats(X[rows])
                few = count < self.min_samples
                layers.append(
                    (np.where(few, np.nan, b_mean), np.where(few, np.nan, b_scale))
                )
            for m, s in layers:
                use = ~np.isnan(m)
                mean[np.ix_(rows, use)] = m[use]
                scale[np.ix_(rows, use)] = s[use]
        return mean, scale

    def fit_transform(
        self, X: Any, y: Any = None, speakers: Sequence | None = None
    ) -> np.ndarray:
        """Fit, then transform the same rows with the same speaker ids.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features; NaN allowed, inf not.
        y : None
            Ignored.
        speakers : array-like of shape (n_samples,), optional
            Speaker id of each row.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Same as ``fit(X, speakers=speakers).transform(X, speakers=speakers)``.

        Raises
        ------
        ParameterError
            As :meth:`fit`.
        ValueError
            As :meth:`fit`.
        """
        return self.fit(X, y, speakers=speakers).transform(X, speakers=speakers)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
