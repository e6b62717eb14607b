"""Feature extraction: from a signal or files to one row of features each.

Three layers, as in openSMILE's Python interface:

- :func:`extract_signal`: an in-memory signal in, one row (a Series) out;
- :func:`iter_extract`: many files in, :class:`FileResult` objects out, one
  at a time and in input order, in parallel with joblib (or on a Dask
  cluster), never holding the whole batch; bad files become results with an
  ``error`` rather than exceptions;
- :class:`FeatureExtractor`: a scikit-learn transformer over file paths that
  returns a DataFrame indexed by ``path``, ``start`` and ``end``.

The index
---------
Every table of features or predictions sertk makes says where each row
came from in the same three keys, as audinterface does: ``path`` (the
file), ``start`` and ``end`` (seconds from the start of the file). A whole
file has ``start`` 0 and ``end`` its duration, read from its header (NaN
when it cannot be read); a segment or window keeps its bounds. Feature
tables carry the keys as their index (:func:`index_of` builds it), so that
their columns are features only; prediction tables
(:func:`sertk.timeline.files.predict_files`, timelines) and every CSV carry
them as their first columns, so the two join on them.

:func:`iter_extract`, :class:`Segment`, :class:`FileResult`,
:func:`segment_bounds` and :func:`library_versions` live in
:mod:`sertk.features._batch`, which the worker processes import, and are
re-exported here; the numerical core, one signal
to one row, is :mod:`sertk.features._summary`. Neither imports pandas or
scikit-learn: this module does, for the Series, DataFrames and transformer.

Examples
--------
>>> import numpy as np
>>> t = np.arange(16000) / 16000
>>> row = extract_signal(0.3 * np.sin(2 * np.pi * 200 * t), 16000,
...                      feature_set="minimal")
>>> round(float(row["f0_semitone__mean"]), 1)  # 12 log2(200 / 27.5)
34.4
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from ..audio.reading import prepare_signal
from ..errors import AudioError, ParameterError
from ..settings import AnalysisSettings
from ._batch import (
    FileResult,
    Segment,
    extraction_params,
    iter_extract,
    library_versions,
    segment_bounds,
)
from ._summary import Summary, feature_row, one_blas_thread
from .feature_sets import FeatureSet, get_feature_set

__all__ = [
    "FeatureExtractor",
    "FileResult",
    "Segment",
    "audio_input",
    "extract_signal",
    "extract_windows",
    "extractor_for",
    "index_of",
    "iter_extract",
    "library_versions",
    "segment_bounds",
]


def extract_signal(
    signal: np.ndarray,
    sr: int,
    *,
    feature_set: str | FeatureSet = "default",
    settings: AnalysisSettings | None = None,
) -> pd.Series:
    """Extract one row of features from an in-memory signal.

    Parameters
    ----------
    signal : np.ndarray, shape (n_samples,) or (n_channels, n_samples)
        Samples; mixed to mono and resampled to ``settings.sr``.
    sr : int > 0
        Sampling rate of ``signal`` in Hz.
    feature_set : str or FeatureSet, default="default"
        ``"minimal"``, ``"default"`` or a custom :class:`FeatureSet`.
    settings : AnalysisSettings, optional
        Analysis parameters; the defaults when omitted.

    Returns
    -------
    pd.Series
        Feature values (float, NaN where undefined), indexed by column name.

    Raises
    ------
    AudioError
        If the signal is empty, too short or has non-finite samples.
    ParameterError
        If the feature set or a setting is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> silence = np.zeros(16000)
    >>> row = extract_signal(silence, 16000)
    >>> bool(np.isnan(row["f0_semitone__mean"])), float(row["voiced__fraction"])
    (True, 0.0)
    """
    fs = get_feature_set(feature_set)
    settings = settings or AnalysisSettings()
    fs.validate(settings.n_mfcc, settings.n_mels)
    x = prepare_signal(signal, sr, sr=settings.sr, speed=settings.speed)
    names = fs.feature_names(settings.n_mfcc, settings.n_mels)
    with one_blas_thread():
        values = feature_row(x, fs, settings)
    return pd.Series(values, index=names, dtype=np.float64)


def extract_windows(
    signal: np.ndarray,
    sr: int,
    windows: np.ndarray | Sequence[tuple[float, float]],
    *,
    feature_set: str | FeatureSet = "default",
    settings: AnalysisSettings | None = None,
    path: str | None = None,
) -> pd.DataFrame:
    """Extract one row of features for each window of a signal.

    The contours are computed once over the whole signal and each window is
    summarised from its frames, so many overlapping windows cost little more
    than one. A window's row therefore differs slightly from
    :func:`extract_signal` on the cut-out window: analysis windows near its
    edges see the signal beyond them, as they would in a continuous stream.

    Parameters
    ----------
    signal : np.ndarray, shape (n_samples,) or (n_channels, n_samples)
        Samples; mixed to mono and resampled to ``settings.sr``.
    sr : int > 0
        Sampling rate of ``signal`` in Hz.
    windows : array-like, shape (n_windows, 2)
        ``(start, end)`` of each window in seconds from the start of
        ``signal``; a window is summarised over the frames centred in
        ``[start, end]``, clipped to the signal.
    feature_set : str or FeatureSet, default="default"
        The feature set.
    settings : AnalysisSettings, optional
        Analysis parameters; the defaults when omitted.
    path : str, optional
        The file the signal was read from, for the index's ``path`` level
        (missing, NaN, when it comes from no file).

    Returns
    -------
    pd.DataFrame, shape (n_windows, n_features)
        Indexed by ``path``, ``start`` and ``end`` (seconds), as every
        feature table (see the module notes).

    Raises
    ------
    AudioError
        If the signal is empty, too short or has non-finite samples.
    ParameterError
        If a window does not have ``0 <= start < end``, the feature set or a
        setting is invalid, or ``settings.speed`` is not 1 (speed
        perturbation is for whole training recordings).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(3 * 16000) / 16000
    >>> x = 0.3 * np.sin(2 * np.pi * 200 * t)
    >>> table = extract_windows(x, 16000, [(0, 2), (1, 3)], feature_set="minimal")
    >>> table.shape, list(table.index.names)
    ((2, 114), ['path', 'start', 'end'])
    """
    fs = get_feature_set(feature_set)
    settings = settings or AnalysisSettings()
    fs.validate(settings.n_mfcc, settings.n_mels)
    if settings.speed != 1.0:
        raise ParameterError(
            f"settings.speed is {settings.speed}; windows are analysed at speed 1.0 "
            "only (speed perturbation is for whole training recordings)")
    bounds = np.asarray(windows, dtype=float).reshape(-1, 2)
    if bounds.size and not np.all((bounds[:, 0] >= 0) & (bounds[:, 1] > bounds[:, 0])):
        raise ParameterError("every window needs 0 <= start < end (seconds)")
    x = prepare_signal(signal, sr, sr=settings.sr)
    columns = fs.feature_names(settings.n_mfcc, settings.n_mels)
    rows = np.empty((0, len(columns)))
    if len(bounds):  # no windows, no analysis: an empty table
        hop = settings.hop_seconds
        with one_blas_thread():
            summary = Summary(x, fs, settings)
            # a window holds the frames centred in [start, end]
            rows = [summary.row(slice(int(np.ceil(a / hop - 1e-9)),
                                      int(np.floor(b / hop + 1e-9)) + 1))
                    for a, b in bounds]
    index = index_of([path] * len(bounds), bounds[:, 0], bounds[:, 1])
    return pd.DataFrame(np.asarray(rows).reshape(len(bounds), len(columns)),
                        index=index, columns=columns)


def index_of(paths: Sequence[str | None], starts: Sequence[float],
             ends: Sequence[float]) -> pd.MultiIndex:
    """Return the index of a feature table: ``path``, ``start``, ``end``.

    Parameters
    ----------
    paths : sequence of str or None
        The file of each row.
    starts, ends : sequence of float
        Bounds of each row in seconds from the start of its file (NaN where
        unknown).

    Returns
    -------
    pd.MultiIndex

    Examples
    --------
    >>> index = index_of(["a.wav", "a.wav"], [0.0, 1.0], [1.0, 2.5])
    >>> list(index.names), index.get_level_values("end").tolist()
    (['path', 'start', 'end'], [1.0, 2.5])
    """
    try:
        names = pd.Index(list(paths), name="path")
    except UnicodeEncodeError:  # a name not valid in UTF-8: no pyarrow string
        names = pd.Index(list(paths), name="path", dtype=object)
    return pd.MultiIndex.from_arrays(
        [names, np.asarray(starts, dtype=np.float64),
         np.asarray(ends, dtype=np.float64)],
        names=["path", "start", "end"])


def _as_segments(X) -> list[Segment]:
    if isinstance(X, (str, os.PathLike)):
        X = [X]
    if isinstance(X, pd.DataFrame):
        if "path" not in X.columns:
            raise ParameterError(
                "a DataFrame given to FeatureExtractor needs a 'path' column; "
                f"it has {list(X.columns)}"
            )
        paths = [os.fspath(p) for p in X["path"]]
        starts = X["start"] if "start" in X.columns else [None] * len(X)
        ends = X["end"] if "end" in X.columns else [None] * len(X)
        return [Segment(p, None if pd.isna(s) else float(s),
                        None if pd.isna(e) else float(e))
                for p, s, e in zip(paths, starts, ends, strict=True)]
    if isinstance(X, pd.Series):
        X = X.tolist()
    return [Segment(os.fspath(p)) for p in np.asarray(X, dtype=object).ravel()]


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Turn audio files into a table of utterance-level acoustic features.

    A stateless scikit-learn transformer: ``transform`` takes file paths (or a
    DataFrame with a ``path`` column, and optionally ``start``/``end`` columns
    in seconds for segments) and returns a DataFrame with one row a file,
    indexed by ``path``, ``start`` and ``end`` (a whole file: 0 and its
    duration; see the module notes).

    Parameters
    ----------
    feature_set : str or FeatureSet, default="default"
        ``"minimal"`` (114 features), ``"default"`` (1152) or a
        custom :class:`FeatureSet`.
    sr : int > 0, default=16000
        Analysis rate in Hz; files are resampled to it.
    f0_min : float > 0, default=75.0
        Pitch floor in Hz.
    f0_max : float > f0_min, default=600.0
        Pitch ceiling in Hz.
    n_mfcc : int > 0, default=16
        Number of MFCCs.
    max_formant : float > 0, default=5500.0
        Formant ceiling in Hz.
    noise_snr_db : float or None, default=10.0
        How far above the recording's noise floor a frame must be to count
        as active for the spectral statistics; None turns the test off (see
        :class:`~sertk.settings.AnalysisSettings`).
    speed : float in [0.5, 2], default=1.0
        Analyse the audio played this many times as fast: 0.9 and 1.1 make
        the speed-perturbed training copies of
        :class:`~sertk.models.classifier.EmotionClassifier` (see
        :class:`~sertk.settings.AnalysisSettings`). Leave it at 1.0 for
        anything but training data.
    n_jobs : int, default=1
        Worker processes; results are identical whatever the value.
    on_error : {"raise", "nan"}, default="raise"
        What a file that cannot be analysed does: raise its
        :class:`~sertk.errors.AudioError`, or give a row of NaN (the reasons
        are then in ``errors_``).
    progress : bool or "auto", default="auto"
        Progress bar ("auto": when standard error is a terminal).
    cache : str, optional
        Folder for a joblib.Memory cache of per-file results.
    scheduler : str, optional
        Dask scheduler address, or ``"local"``; see :func:`iter_extract`.

    Attributes
    ----------
    errors_ : pd.DataFrame
        After ``transform`` with ``on_error="nan"``: the files that failed and
        why (columns ``path``, ``error``).

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> t = np.arange(16000) / 16000
    >>> sf.write(path, 0.3 * np.sin(2 * np.pi * 220 * t), 16000)
    >>> table = FeatureExtractor(feature_set="minimal").transform([path])
    >>> table.shape
    (1, 114)
    """

    def __init__(
        self,
        feature_set: str | FeatureSet = "default",
        *,
        sr: int = 16000,
        f0_min: float = 75.0,
        f0_max: float = 600.0,
        n_mfcc: int = 16,
        max_formant: float = 5500.0,
        noise_snr_db: float | None = 10.0,
        speed: float = 1.0,
        n_jobs: int = 1,
        on_error: str = "raise",
        progress: bool | str = "auto",
        cache: str | None = None,
        scheduler: str | None = None,
    ):
        self.feature_set = feature_set
        self.sr = sr
        self.f0_min = f0_min
        self.f0_max = f0_max
        self.n_mfcc = n_mfcc
        self.max_formant = max_formant
        self.noise_snr_db = noise_snr_db
        self.speed = speed
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.progress = progress
        self.cache = cache
        self.scheduler = scheduler

    def __setstate__(self, state: dict) -> None:
        # extractors saved (inside models) before speed existed analysed at 1
        state.setdefault("speed", 1.0)
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    def settings(self) -> AnalysisSettings:
        """Return the validated analysis settings of this extractor.

        Returns
        -------
        AnalysisSettings

        Raises
        ------
        ParameterError
            If a parameter is out of range.
        """
        return AnalysisSettings(
            sr=self.sr,
            f0_min=self.f0_min,
            f0_max=self.f0_max,
            n_mfcc=self.n_mfcc,
            max_formant=self.max_formant,
            noise_snr_db=self.noise_snr_db,
            speed=self.speed,
        )

    def _validated(self) -> tuple[FeatureSet, AnalysisSettings]:
        if self.on_error not in ("raise", "nan"):
            raise ParameterError(
                f"on_error must be 'raise' or 'nan', got {self.on_error!r}"
            )
        fs = get_feature_set(self.feature_set)
        settings = self.settings()
        fs.validate(settings.n_mfcc, settings.n_mels)
        return fs, settings

    def fit(self, X=None, y=None):
        """Check the parameters; nothing is learned.

        Parameters
        ----------
        X, y : ignored
            Present for scikit-learn compatibility.

        Returns
        -------
        self : FeatureExtractor

        Raises
        ------
        ParameterError
            If a parameter is invalid.
        """
        self._validated()
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the output column names.

        Parameters
        ----------
        input_features : ignored
            Present for scikit-learn compatibility.

        Returns
        -------
        np.ndarray of str
        """
        fs, settings = self._validated()
        names = fs.feature_names(settings.n_mfcc, settings.n_mels)
        return np.asarray(names, dtype=object)

    def extraction_params(self) -> dict:
        """Return what determines the features, for saving beside them.

        Runtime-only arguments (workers, progress, cache, scheduler) are left
        out.

        Returns
        -------
        dict
            ``feature_set`` (name and definition), ``settings`` and
            ``versions``.
        """
        return extraction_params(*self._validated())

    def iter_results(self, X) -> Iterator[FileResult]:
        """Extract file by file, yielding :class:`FileResult` in input order.

        Parameters
        ----------
        X : path, sequence of paths, or DataFrame with a ``path`` column
            What to analyse.

        Yields
        ------
        FileResult
        """
        fs, settings = self._validated()
        segments = _as_segments(X)
        yield from iter_extract(
            segments,
            feature_set=fs,
            settings=settings,
            n_jobs=self.n_jobs,
            cache=self.cache,
            scheduler=self.scheduler,
            progress=self.progress,
        )

    def transform(self, X) -> pd.DataFrame:
        """Extract features from files.

        Parameters
        ----------
        X : path, sequence of paths, or DataFrame with a ``path`` column
            What to analyse; ``start``/``end`` columns (seconds) select
            segments.

        Returns
        -------
        pd.DataFrame, shape (n_files, n_features)
            Indexed by ``path``, ``start`` and ``end``, in input order: a
            whole file has ``start`` 0 and ``end`` its duration (NaN when
            its header cannot be read), a segment its bounds.

        Raises
        ------
        AudioError
            With ``on_error="raise"``, for the first file that fails.
        ParameterError
            If a parameter is invalid.
        """
        fs, settings = self._validated()
        segments = _as_segments(X)
        columns = fs.feature_names(settings.n_mfcc, settings.n_mels)
        data = np.full((len(segments), len(columns)), np.nan)
        errors = []
        for i, result in enumerate(self.iter_results(X)):
            if result.ok:
                data[i] = result.values
            elif self.on_error == "raise":
                raise AudioError(result.error, result.segment.path)
            else:
                errors.append((result.segment.path, result.error))
        self.errors_ = pd.DataFrame(errors, columns=["path", "error"])
        if errors:
            warnings.warn(
                f"{len(errors)} of {len(segments)} files could not be "
                "analysed; their rows are NaN (see errors_)",
                stacklevel=2,
            )
        bounds = np.array([segment_bounds(s) for s in segments]).reshape(-1, 2)
        index = index_of([s.path for s in segments], bounds[:, 0], bounds[:, 1])
        return pd.DataFrame(data, index=index, columns=columns)


def audio_input(X: Any) -> list[str] | pd.DataFrame | None:
    """Return what to give the feature extractor, or None if ``X`` is features.

    Audio is a 1-D sequence of ``str``/``os.PathLike`` (returned as a list of
    str), or a DataFrame with a ``path`` column and no floating-point column
    besides ``start``/``end`` (returned as its ``path``, ``start`` and ``end``
    columns; others, such as a manifest's label and speaker, are ignored).

    Parameters
    ----------
    X : Any
        What a model's ``fit`` or ``predict`` was given.

    Returns
    -------
    list of str, DataFrame or None

    Raises
    ------
    ParameterError
        If ``X`` is a single path rather than a list of them.

    Examples
    --------
    >>> audio_input(["a.wav", "b.flac"]), audio_input([[0.5, 1.0]])
    (['a.wav', 'b.flac'], None)
    """
    if isinstance(X, str | os.PathLike):
        raise ParameterError(
            f"X={X!r} is a single path; pass a list of paths, e.g. [{str(X)!r}]"
        )
    if isinstance(X, pd.DataFrame):
        segment = [c for c in ("path", "start", "end") if c in X.columns]
        floats = [
            c
            for c, t in X.dtypes.items()
            if pd.api.types.is_float_dtype(t) and c not in segment
        ]
        return X[segment] if "path" in segment and not floats else None
    if isinstance(X, pd.Series | list | tuple) or (
        isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype.kind in "OUS"
    ):
        items = list(X)
        if items and all(isinstance(p, str | os.PathLike) for p in items):
            return [os.fspath(p) for p in items]
    return None


def extractor_for(estimator: Any, **defaults: Any) -> FeatureExtractor:
    """Return the fitted extractor a model uses for audio: the one place it is built.

    Parameters
    ----------
    estimator : estimator
        A model with a ``features`` parameter holding a
        :class:`FeatureExtractor`, or with ``feature_set`` and
        ``extractor_params`` parameters (such as
        :class:`~sertk.EmotionClassifier`); others get the ``default`` set.
        ``features``, when not None, is used and the other two are not.
    **defaults
        Keyword arguments of :class:`FeatureExtractor` (run-time ones such as
        ``n_jobs``) that the model's ``extractor_params`` override; of a
        ``features`` extractor, they set the parameters it leaves at their
        defaults.

    Returns
    -------
    FeatureExtractor

    Examples
    --------
    >>> from sertk import EmotionClassifier
    >>> model = EmotionClassifier(feature_set="minimal",
    ...                           extractor_params={"f0_min": 60.0})
    >>> extractor = extractor_for(model, n_jobs=2)
    >>> extractor.feature_set, extractor.f0_min, extractor.n_jobs
    ('minimal', 60.0, 2)
    """
    params = estimator.get_params(deep=False)
    features = params.get("features")
    if features is None:
        feature_set = params.get("feature_set", "default")
        given = dict(params.get("extractor_params") or {})
    else:
        base = FeatureExtractor().get_params(deep=False)
        feature_set = features.get_params(deep=False)["feature_set"]
        given = {k: v for k, v in features.get_params(deep=False).items()
                 if k != "feature_set" and (k not in defaults or v != base[k])}
    return FeatureExtractor(feature_set=feature_set, **{**defaults, **given}).fit()
