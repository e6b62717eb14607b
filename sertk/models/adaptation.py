"""Adaptation to a corpus, a batch, a speaker or a few reference recordings.

Recordings from another corpus differ from the training ones in ways that
have nothing to do with emotion: microphone and room (level, spectral
tilt, noise floor), language and speakers (F0 range, speaking rate). Every
acoustic feature moves with them, and a classifier trained on one corpus
then answers one class for most of another's recordings. The classical
remedy needs no labels: z-score each corpus with its own statistics, at
training (each training corpus by itself) and at prediction (the
recordings being predicted by theirs). :class:`CorpusNormalizer` does
that with robust statistics (median, and interquartile range scaled to a
standard deviation), and keeps each training corpus's statistics so that
every mode is applied at prediction as it was at training:

``"none"``
    rows of a known training corpus use its statistics; other rows, those
    of the training corpus they are nearest to (smallest median absolute
    z-score; with one training corpus, its statistics): nothing about the
    other new recordings is used;
``"batch"``
    the rows being transformed are z-scored with their own statistics (one
    batch a ``corpus`` id when those are given). It assumes the batch holds
    a mix of emotions like the training corpora: a batch of one emotion,
    z-scored on itself, loses what sets it apart (its level). A batch
    that varies much less than a training corpus (one speaker in one
    state) gets an :class:`AdaptationWarning`, as does one too small;
``"speaker"``
    each speaker's rows with that speaker's own statistics, rescaled to the
    training corpora's spread (the per-column ratio of within-speaker to
    corpus scale learned at fit, when ``speakers`` were given). It assumes
    each speaker's rows hold a mix of emotions.

``reference`` rows (the features of a few recordings of the same speaker or
setting, neutral speech is best) replace the batch's own statistics: their
median always, their spread when there are at least ``min_samples`` of
them (else the training corpora's).

Examples
--------
>>> import numpy as np
>>> from sertk.models.adaptation import CorpusNormalizer
>>> X = np.array([[1.0], [2.0], [3.0], [11.0], [12.0], [13.0]])
>>> norm = CorpusNormalizer(min_samples=3)
>>> norm.fit_transform(X, corpus=["a"] * 3 + ["b"] * 3).ravel().round(2)
array([-1.35,  0.  ,  1.35, -1.35,  0.  ,  1.35])
>>> norm.transform(np.array([[21.0], [22.0], [23.0]]), adapt="batch").ravel().round(2)
array([-1.35,  0.  ,  1.35])
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sertk.errors import ParameterError

__all__ = ["ADAPT_MODES", "ONE_SIDED_SPREAD", "SHIFT_DESCRIPTORS", "AdaptationWarning",
           "CorpusNormalizer", "CorpusShiftWarning", "check_adapt", "corpus_shift",
           "robust_stats"]

#: Prediction-time adaptation modes (see the module docstring).
ADAPT_MODES = ("none", "batch", "speaker")

#: Interquartile range of a standard normal distribution: IQR / this is a
#: robust standard deviation.
_IQR_NORMAL = 1.3489795003921634


#: A batch whose spread (median over columns of its scale over the training
#: corpora's) is below this looks like one speaker in one state, and
#: ``adapt="batch"`` warns. Measured on EMO-DB and RAVDESS against the
#: other corpus's statistics: a whole corpus 0.99-1.01, one speaker
#: 0.81-0.91, one emotion of all speakers 0.74-0.96, one speaker's two
#: emotions 0.69-0.71, one speaker's one emotion 0.55-0.59.
ONE_SIDED_SPREAD = 0.65

#: What :func:`corpus_shift` compares, in words, and the sertk columns that
#: measure it.
SHIFT_DESCRIPTORS = {
    "level": ("loudness__p50", "intensity_db__p50"),
    "spectral tilt": ("alpha_ratio__mean", "hammarberg__mean"),
    "F0 range": ("f0_semitone__p50", "f0_semitone__range_p20_p80"),
    "noise floor": ("rms_db__p20",),
}


class AdaptationWarning(UserWarning):
    """A batch, speaker or reference too small or one-sided to adapt on."""


class CorpusShiftWarning(UserWarning):
    """A batch unlike every training corpus (level, tilt, F0, noise floor)."""


def corpus_shift(normalizer: CorpusNormalizer, X: Any, names: Sequence[str],
                 threshold: float = 2.0) -> list[str]:
    """Say how a batch differs from every training corpus, if it does.

    The batch's median of each column of :data:`SHIFT_DESCRIPTORS` is put
    in units of each training corpus's robust spread; a descriptor differs
    when one of its columns lies more than ``threshold`` such units from
    the centre of every training corpus.

    Parameters
    ----------
    normalizer : CorpusNormalizer
        Fitted on the training corpora, on columns ``names``.
    X : array-like of shape (n_samples, n_features)
        The batch's features (at least ``normalizer.min_samples`` rows for
        an answer).
    names : sequence of str
        Column names of ``X`` (sertk's).
    threshold : float, default=2.0
        Robust standard deviations.

    Returns
    -------
    list of str
        One phrase a descriptor that differs ("level 3.4 SD lower"), empty
        when the batch resembles a training corpus or is too small.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> train = rng.normal(size=(100, 1))
    >>> norm = CorpusNormalizer().fit(train)
    >>> corpus_shift(norm, train[:40] - 5, ["loudness__p50"])
    ['level 5.2 SD lower']
    """
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] < normalizer.min_samples:
        return []
    index = {str(n): i for i, n in enumerate(names)}
    center = robust_stats(X)[0]
    out = []
    for words, columns in SHIFT_DESCRIPTORS.items():
        worst = None
        for column in columns:
            j = index.get(column)
            if j is None or np.isnan(center[j]):
                continue
            z = [(center[j] - normalizer._stats_of(i)[0][j])
                 / normalizer._stats_of(i)[1][j]
                 for i in range(normalizer.corpora_.size)]
            nearest = min(z, key=abs)
            if abs(nearest) > max(threshold, abs(worst or 0.0)):
                worst = nearest
        if worst is not None:
            side = "higher" if worst > 0 else "lower"
            out.append(f"{words} {abs(worst):.1f} SD {side}")
    return out


def check_adapt(adapt: Any) -> str | None:
    """Return ``adapt`` if it is None or one of :data:`ADAPT_MODES`.

    Parameters
    ----------
    adapt : str or None
        The adaptation mode.

    Returns
    -------
    str or None

    Raises
    ------
    ParameterError
        For any other value.

    Examples
    --------
    >>> check_adapt("batch")
    'batch'
    """
    if adapt is None or isinstance(adapt, str) and adapt in ADAPT_MODES:
        return adapt
    raise ParameterError(
        f"adapt={adapt!r} is not one of {', '.join(ADAPT_MODES)} (or None)")


def robust_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column median, robust scale and count of non-NaN values.

    The scale is the interquartile range divided by 1.349 (a standard
    deviation for normal data); where it is zero (a column mostly
    constant) the standard deviation, and where that is zero too, 1.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        NaN allowed.

    Returns
    -------
    center, scale, count : ndarray of shape (n_features,)
        NaN centre and scale 1 for a column without values.

    Examples
    --------
    >>> center, scale, count = robust_stats(np.array([[0.0], [1.0], [2.0], [np.nan]]))
    >>> float(center[0]), round(float(scale[0]), 3), int(count[0])
    (1.0, 0.741, 3)
    """
    X = np.asarray(X, dtype=np.float64)
    count = (~np.isnan(X)).sum(axis=0)
    center = np.full(X.shape[1], np.nan)
    scale = np.ones(X.shape[1])
    has = count > 0
    if has.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q25, center[has], q75 = np.nanpercentile(X[:, has], [25, 50, 75], axis=0)
            iqr = (q75 - q25) / _IQR_NORMAL
            std = np.nanstd(X[:, has], axis=0)
        tiny = 1e-9 * np.maximum(1.0, np.abs(center[has]))
        s = np.where(iqr > tiny, iqr, std)
        scale[has] = np.where(s > tiny, s, 1.0)
    return center, scale, count


def _groups(ids: Any, n_rows: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer code a row (-1 for a missing id) and the distinct ids."""
    if ids is None:
        return np.zeros(n_rows, dtype=np.intp), np.array([None], dtype=object)
    values = np.asarray(ids, dtype=object)
    if values.shape != (n_rows,):
        raise ParameterError(
            f"{name} has shape {values.shape}, but X has {n_rows} rows; pass one "
            "id a row")
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), sort=False)
    return codes.astype(np.intp), np.asarray(uniques, dtype=object)


class CorpusNormalizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Z-score each corpus, batch, speaker or reference with its own statistics.

    See the module docstring for the modes. :meth:`fit` learns robust
    statistics (median, IQR / 1.349) of each training corpus (all rows are
    one corpus when ``corpus`` is not given) and their pooled values;
    :meth:`fit_transform` z-scores each training row with its own corpus's
    statistics. With a single corpus the transform is a per-column affine
    map, which a following :class:`~sklearn.preprocessing.StandardScaler`
    absorbs: a one-corpus model predicts with ``adapt="none"`` exactly as it
    would without this step.

    Parameters
    ----------
    min_samples : int >= 2, default=10
        Fewest rows (non-NaN values a column) a corpus, batch or speaker
        needs for its own statistics; with fewer a column uses the next
        statistics (the training ones) and :meth:`transform` warns.

    Attributes
    ----------
    corpora_ : ndarray of shape (n_corpora,)
        Training corpus ids (``[None]`` when none were given).
    corpus_center_, corpus_scale_ : ndarray of shape (n_corpora, n_features)
        Their statistics (NaN where a column had too few values: pooled
        ones are used there).
    center_, scale_ : ndarray of shape (n_features,)
        Pooled statistics: mean of the corpus centres, geometric mean of
        their scales.
    speaker_ratio_ : ndarray of shape (n_features,)
        Median over training speakers of their scale divided by their
        corpus's scale (all ones when ``speakers`` were not given):
        ``adapt="speaker"`` multiplies speaker z-scores by it.
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.

    Examples
    --------
    >>> X = np.array([[1.0], [2.0], [3.0], [5.0]])
    >>> norm = CorpusNormalizer(min_samples=2).fit(X)
    >>> norm.transform(np.array([[2.5]])).ravel().round(2)
    array([0.])
    """

    __metadata_request__fit = {"corpus": True, "speakers": True}
    __metadata_request__transform = {"speakers": True}

    def __init__(self, min_samples: int = 10):
        self.min_samples = min_samples

    def _check_params(self) -> None:
        m = self.min_samples
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 2:
            raise ParameterError(
                f"min_samples={m!r} is not an integer >= 2; the default is 10")

    def _own(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Statistics of ``rows``, NaN where a column has too few values."""
        center, scale, count = robust_stats(rows)
        few = count < self.min_samples
        return np.where(few, np.nan, center), np.where(few, np.nan, scale)

    def fit(self, X: Any, y: Any = None, corpus: Sequence | None = None,
            speakers: Sequence | None = None):
        """Learn each training corpus's statistics and their pooled values.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features; NaN allowed, inf not.
        y : None
            Ignored.
        corpus : array-like of shape (n_samples,), optional
            Corpus id of each row; all rows are one corpus without it.
        speakers : array-like of shape (n_samples,), optional
            Speaker id of each row: sets ``speaker_ratio_``.

        Returns
        -------
        self : CorpusNormalizer

        Raises
        ------
        ParameterError
            If ``min_samples`` is out of range or ``corpus``/``speakers``
            has the wrong length.
        """
        self._check_params()
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        n, f = X.shape
        codes, ids = _groups(corpus, n, "corpus")
        if (codes < 0).any():
            raise ParameterError(
                f"corpus has {int((codes < 0).sum())} missing ids; give every "
                "training row its corpus (or pass corpus=None: one corpus)")
        centers, scales = [], []
        for code in range(ids.size):
            center, scale = self._own(X[codes == code])
            if np.isnan(center).all():  # a corpus too small: pooled of the others
                center, scale, _ = robust_stats(X[codes == code])
            centers.append(center)
            scales.append(scale)
        self.corpora_ = ids
        self.corpus_center_ = np.array(centers).reshape(ids.size, f)
        self.corpus_scale_ = np.array(scales).reshape(ids.size, f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.center_ = np.nanmean(self.corpus_center_, axis=0)
            self.scale_ = np.exp(np.nanmean(np.log(self.corpus_scale_), axis=0))
        self.center_ = np.where(np.isnan(self.center_), robust_stats(X)[0],
                                self.center_)
        self.scale_ = np.where(np.isnan(self.scale_), 1.0, self.scale_)
        self.speaker_ratio_ = np.ones(f)
        if speakers is not None:
            Z = self._by_corpus(X, codes)
            s_codes, s_ids = _groups(speakers, n, "speakers")
            ratios = [self._own(Z[s_codes == c])[1] for c in range(s_ids.size)
                      if (s_codes == c).sum() >= self.min_samples]
            if ratios:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    ratio = np.nanmedian(np.array(ratios), axis=0)
                self.speaker_ratio_ = np.where(np.isnan(ratio), 1.0, ratio)
        return self

    def _stats_of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        center, scale = self.corpus_center_[i], self.corpus_scale_[i]
        nan = np.isnan(center)
        return (np.where(nan, self.center_, center),
                np.where(nan, self.scale_, scale))

    def _by_corpus(self, X: np.ndarray, codes: np.ndarray) -> np.ndarray:
        out = np.empty_like(X)
        for code in np.unique(codes):
            rows = codes == code
            center, scale = self._stats_of(int(code))
            out[rows] = (X[rows] - center) / scale
        return out

    def fit_transform(self, X: Any, y: Any = None, corpus: Sequence | None = None,
                      speakers: Sequence | None = None) -> np.ndarray:
        """Fit, then z-score each training row with its own corpus's statistics.

        Parameters
        ----------
        X, y, corpus, speakers
            As in :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        self.fit(X, y, corpus=corpus, speakers=speakers)
        X = validate_data(self, X, reset=False, dtype=np.float64,
                          ensure_all_finite="allow-nan")
        n = X.shape[0]
        codes, _ = _groups(corpus, n, "corpus")
        return self._by_corpus(X, codes)

    def _training_stats(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the statistics ``adapt="none"`` gives rows of no known corpus.

        Those of the nearest training corpus (:meth:`nearest_corpus`) for a
        model of several corpora, else the training statistics; one row of
        each a row of ``X``.
        """
        center, scale = np.empty_like(X), np.empty_like(X)
        if self.corpora_.size > 1:
            pick = self.nearest_corpus(X)
            for i in np.unique(pick):
                center[pick == i], scale[pick == i] = self._stats_of(int(i))
        else:
            center[:], scale[:] = self.center_, self.scale_
        return center, scale

    def _group_stats(self, X: np.ndarray, rows: np.ndarray, what: str
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Return a group's own statistics, those of "none" where it has too few."""
        n = int(rows.sum())
        if n < self.min_samples:
            warnings.warn(
                f"{what} has {n} recording(s), fewer than the {self.min_samples} "
                "needed to adapt on its own statistics: its rows use the training "
                "statistics (adapt='none'). Predict more recordings together, or "
                "give a few recordings of the same speaker or setting as reference",
                AdaptationWarning, stacklevel=5)
            return self._training_stats(X[rows])
        center, scale = self._own(X[rows])
        if what.startswith(("the batch", "corpus")):
            self._check_spread(scale, what)
        nan = np.isnan(center)
        return np.where(nan, self.center_, center), np.where(nan, self.scale_, scale)

    def _check_spread(self, scale: np.ndarray, what: str) -> None:
        """Warn when a batch varies too little to adapt on (see ONE_SIDED_SPREAD)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = float(np.nanmedian(scale / self.scale_))
        if spread < ONE_SIDED_SPREAD:
            warnings.warn(
                f"{what} varies {spread:.2f} times as much as a training corpus "
                "(median over features): if it is one speaker in one state (one "
                "emotion), z-scored on itself it loses what sets it apart. Then "
                "adapt on recordings of the same setting with a mix of emotions "
                "or neutral speech (reference), or use adapt='none'",
                AdaptationWarning, stacklevel=5)

    def transform(self, X: Any, adapt: str = "none", speakers: Sequence | None = None,
                  corpus: Sequence | None = None, reference: Any = None) -> np.ndarray:
        """Z-score ``X`` with the statistics ``adapt`` names.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features, with the columns seen in :meth:`fit`.
        adapt : {"none", "batch", "speaker"}, default="none"
            Whose statistics (see the module docstring).
        speakers : array-like of shape (n_samples,), optional
            Speaker id of each row; needed by ``adapt="speaker"``.
        corpus : array-like of shape (n_samples,), optional
            Corpus id of each row: with "none", rows of a training corpus use
            its statistics; with "batch", each corpus is its own batch.
        reference : array-like of shape (n_reference, n_features), optional
            Features of reference recordings; their statistics are used for
            every row (median; scale too with ``min_samples`` rows or more).
            Only with "none" or "batch".

        Returns
        -------
        ndarray of shape (n_samples, n_features)

        Raises
        ------
        ParameterError
            For an unknown mode, "speaker" without ``speakers``, ``reference``
            with "speaker", or ids of the wrong length.

        Warns
        -----
        AdaptationWarning
            When a batch or speaker has fewer than ``min_samples`` rows (its
            rows then use the training statistics), or a batch varies less
            than :data:`ONE_SIDED_SPREAD` times as much as a training corpus
            (one speaker in one state, most likely; it is still adapted).
        """
        X = validate_data(self, X, reset=False, dtype=np.float64,
                          ensure_all_finite="allow-nan")
        center, scale = self.statistics(X, adapt, speakers=speakers, corpus=corpus,
                                        reference=reference)
        return (X - center) / scale

    def statistics(self, X: Any, adapt: str = "none", speakers: Sequence | None = None,
                   corpus: Sequence | None = None, reference: Any = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Return the centre and scale :meth:`transform` uses for each cell.

        What turns a z-score back into the feature's own units (an
        explanation's "3.1 semitones above the speaker's usual").

        Parameters
        ----------
        X, adapt, speakers, corpus, reference
            As in :meth:`transform`.

        Returns
        -------
        center, scale : ndarray of shape (n_samples, n_features)
            ``transform(X, ...) == (X - center) / scale`` (with
            ``adapt="speaker"`` the scale includes ``speaker_ratio_``).

        Raises
        ------
        ParameterError
            As :meth:`transform`.

        Warns
        -----
        AdaptationWarning
            As :meth:`transform`.

        Examples
        --------
        >>> X = np.array([[1.0], [2.0], [3.0], [5.0]])
        >>> norm = CorpusNormalizer(min_samples=2).fit(X)
        >>> center, scale = norm.statistics(np.array([[2.5], [9.0]]))
        >>> center.ravel().tolist(), scale.ravel().round(3).tolist()
        ([2.5, 2.5], [1.297, 1.297])
        """
        check_is_fitted(self)
        adapt = check_adapt(adapt) or "none"
        X = validate_data(self, X, reset=False, dtype=np.float64,
                          ensure_all_finite="allow-nan")
        n = X.shape[0]
        center = np.empty_like(X)
        scale = np.empty_like(X)
        if reference is not None:
            if adapt == "speaker":
                raise ParameterError(
                    "reference recordings anchor one speaker or setting; use them "
                    "with adapt='none' or 'batch', not 'speaker'")
            R = validate_data(self, reference, reset=False, dtype=np.float64,
                              ensure_all_finite="allow-nan")
            c, s, count = robust_stats(R)
            center[:] = np.where(count > 0, c, self.center_)
            scale[:] = np.where(count >= self.min_samples, s, self.scale_)
            return center, scale
        if adapt == "speaker":
            if speakers is None:
                raise ParameterError(
                    "adapt='speaker' needs one speaker id a row (a manifest's "
                    "speaker column, or --speaker-column)")
            codes, ids = _groups(speakers, n, "speakers")
            for code in np.unique(codes):
                rows = codes == code
                name = ("rows without speaker id" if code < 0
                        else f"speaker {ids[code]!r}")
                center[rows], s = self._group_stats(X, rows, name)
                scale[rows] = s / (self.speaker_ratio_
                                   if rows.sum() >= self.min_samples else 1.0)
            return center, scale
        if corpus is None:
            codes, ids = np.zeros(n, dtype=np.intp), np.array([None], dtype=object)
        else:
            codes, ids = _groups(corpus, n, "corpus")
        known = {c: i for i, c in enumerate(self.corpora_)}
        for code in np.unique(codes):
            rows = np.flatnonzero(codes == code)
            if adapt == "batch":
                what = "the batch" if corpus is None else f"corpus {ids[code]!r}"
                center[rows], scale[rows] = self._group_stats(X, codes == code, what)
            elif code >= 0 and ids[code] in known and ids[code] is not None:
                center[rows], scale[rows] = self._stats_of(known[ids[code]])
            else:
                center[rows], scale[rows] = self._training_stats(X[rows])
        return center, scale

    def nearest_corpus(self, X: Any) -> np.ndarray:
        """Return the index (in ``corpora_``) of the training corpus each row is like.

        The corpus under whose statistics the row's median absolute z-score
        is smallest: recordings of a corpus lie near its centre on most
        columns, and corpora differ in level, tilt and noise floor by
        several spreads.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of int, shape (n_samples,)
        """
        X = np.asarray(X, dtype=np.float64)
        distance = np.empty((X.shape[0], self.corpora_.size))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for i in range(self.corpora_.size):
                center, scale = self._stats_of(i)
                distance[:, i] = np.nanmedian(np.abs((X - center) / scale), axis=1)
        return np.argmin(np.nan_to_num(distance, nan=np.inf), axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
