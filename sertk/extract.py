"""Feature extraction: from a signal or files to one row of features each.

Three layers, as in openSMILE's Python interface:

- :func:`extract_signal`: an in-memory signal in, one row (a Series) out;
- :func:`iter_extract`: many files in, :class:`FileResult` objects out, one
  at a time and in input order, in parallel with joblib (or on a Dask
  cluster), never holding the whole batch; bad files become results with an
  ``error`` rather than exceptions;
- :class:`FeatureExtractor`: a scikit-learn transformer over file paths that
  returns a DataFrame indexed by path.

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

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

from .audio import load, prepare_signal
from .contours import DESCRIPTOR_GROUPS, Analysis, compute_group, contour_values
from .errors import AudioError, ParameterError, SertkError
from .feature_sets import FeatureSet, get_feature_set
from .functionals import compute_functionals
from .settings import AnalysisSettings

__all__ = [
    "FeatureExtractor",
    "FileResult",
    "Segment",
    "extract_signal",
    "extract_windows",
    "iter_extract",
    "library_versions",
]

#: Files handed to a worker at a time.
BATCH_SIZE = 8


def library_versions() -> dict[str, str]:
    """Return the versions of the libraries that shape the features.

    Returns
    -------
    dict of str to str

    Examples
    --------
    >>> "praat-parselmouth" in library_versions()
    True
    """
    out = {}
    for name in (
        "sertk",
        "praat-parselmouth",
        "librosa",
        "numpy",
        "scipy",
        "soxr",
        "soundfile",
        "scikit-learn",
        "pandas",
    ):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded libraries once


def _one_blas_thread():
    """Limit BLAS to one thread while extracting.

    Our matrices are small: more threads only compete with the worker
    processes, and slow even a single process down.
    """
    return _threadpools().limit(limits=1)


class _Summary:
    """The contours of one signal, computed once, summarised over any span."""

    def __init__(self, signal: np.ndarray, feature_set: FeatureSet,
                 settings: AnalysisSettings):
        self.analysis = Analysis(signal, settings)
        self.settings = settings
        self.feature_set = feature_set
        n_mfcc, n_mels = settings.n_mfcc, settings.n_mels
        groups = sorted(feature_set.groups(n_mfcc, n_mels))
        self.descriptor_groups = [g for g in groups if g in DESCRIPTOR_GROUPS]
        values: dict[str, np.ndarray] = {}
        for group in groups:
            if group not in DESCRIPTOR_GROUPS:
                values.update(compute_group(group, self.analysis))
        self.pairs = feature_set.expanded(n_mfcc, n_mels)
        self.wanted = {f for _, functionals in self.pairs for f in functionals}
        self.matrix = (np.vstack([contour_values(c, values, self.analysis)
                                  for c, _ in self.pairs])
                       if self.pairs else np.empty((0, self.analysis.n_frames)))

    def row(self, frames: slice | None = None) -> np.ndarray:
        """Return the feature row of the whole signal, or of a span of frames."""
        row: list[float] = []
        if self.pairs:
            matrix = self.matrix if frames is None else self.matrix[:, frames]
            stats = compute_functionals(matrix, self.settings.hop_seconds,
                                        self.wanted)
            row = [stats[f][i] for i, (_, functionals) in enumerate(self.pairs)
                   for f in functionals]
        descriptors: dict[str, float] = {}
        for group in self.descriptor_groups:
            descriptors.update(compute_group(group, self.analysis, frames))
        row.extend(descriptors[name] for name in self.feature_set.descriptors)
        out = np.asarray(row, dtype=np.float64)
        out[~np.isfinite(out)] = np.nan
        return out


def _features(signal: np.ndarray, feature_set: FeatureSet,
              settings: AnalysisSettings) -> np.ndarray:
    return _Summary(signal, feature_set, settings).row()


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
    x = prepare_signal(signal, sr, sr=settings.sr)
    names = fs.feature_names(settings.n_mfcc, settings.n_mels)
    with _one_blas_thread():
        values = _features(x, fs, settings)
    return pd.Series(values, index=names, dtype=np.float64)


def extract_windows(
    signal: np.ndarray,
    sr: int,
    windows: np.ndarray | Sequence[tuple[float, float]],
    *,
    feature_set: str | FeatureSet = "default",
    settings: AnalysisSettings | None = None,
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

    Returns
    -------
    pd.DataFrame, shape (n_windows, n_features)
        Indexed by ``start`` and ``end`` (seconds).

    Raises
    ------
    AudioError
        If the signal is empty, too short or has non-finite samples.
    ParameterError
        If a window does not have ``0 <= start < end``, or the feature set or
        a setting is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(3 * 16000) / 16000
    >>> x = 0.3 * np.sin(2 * np.pi * 200 * t)
    >>> table = extract_windows(x, 16000, [(0, 2), (1, 3)], feature_set="minimal")
    >>> table.shape
    (2, 105)
    """
    fs = get_feature_set(feature_set)
    settings = settings or AnalysisSettings()
    fs.validate(settings.n_mfcc, settings.n_mels)
    bounds = np.asarray(windows, dtype=float).reshape(-1, 2)
    if bounds.size and not np.all((bounds[:, 0] >= 0) & (bounds[:, 1] > bounds[:, 0])):
        raise ParameterError("every window needs 0 <= start < end (seconds)")
    x = prepare_signal(signal, sr, sr=settings.sr)
    hop = settings.hop_seconds
    with _one_blas_thread():
        summary = _Summary(x, fs, settings)
        # a window holds the frames centred in [start, end]
        rows = [summary.row(slice(int(np.ceil(a / hop - 1e-9)),
                                  int(np.floor(b / hop + 1e-9)) + 1))
                for a, b in bounds]
    index = pd.MultiIndex.from_arrays([bounds[:, 0], bounds[:, 1]],
                                      names=["start", "end"])
    return pd.DataFrame(np.asarray(rows).reshape(len(rows), -1), index=index,
                        columns=fs.feature_names(settings.n_mfcc, settings.n_mels))


@dataclass(frozen=True)
class Segment:
    """A file, or a part of it, to analyse.

    Parameters
    ----------
    path : str
        The audio file.
    start, end : float, optional
        Bounds in seconds; the whole file when omitted.
    """

    path: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class FileResult:
    """The outcome of analysing one file (or segment).

    Parameters
    ----------
    segment : Segment
        What was analysed.
    values : np.ndarray or None
        The feature row, or None when the file failed.
    error : str or None
        Why the file failed, or None.
    duration : float
        Seconds of audio analysed (0 when the file failed).
    """

    segment: Segment
    values: np.ndarray | None
    error: str | None
    duration: float

    @property
    def ok(self) -> bool:
        """Whether the file was analysed."""
        return self.error is None


def _extract_one(
    segment: Segment, feature_set: FeatureSet, settings: AnalysisSettings
) -> FileResult:
    try:
        x = load(segment.path, settings.sr, start=segment.start, end=segment.end)
        values = _features(x, feature_set, settings)
    except SertkError as exc:
        reason = exc.reason if isinstance(exc, AudioError) else str(exc)
        return FileResult(segment, None, reason, 0.0)
    except Exception as exc:  # noqa: BLE001 - a bad file must never end a batch
        return FileResult(
            segment, None, f"analysis failed ({type(exc).__name__}: {exc})", 0.0
        )
    return FileResult(segment, values, None, x.size / settings.sr)


def _file_key(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=1)
def _code_version() -> str:
    """Return a digest of sertk's analysis code and the libraries it calls.

    Part of the cache key, so that a cached row is never served after the
    code that computes it changed (an upgrade, or an edit in a checkout).
    """
    digest = hashlib.sha256(json.dumps(library_versions(), sort_keys=True).encode())
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        if "cli" not in source.relative_to(package).parts:
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _cached_one(
    segment: Segment,
    key: tuple[int, int] | None,
    code: str,
    feature_set: FeatureSet,
    settings: AnalysisSettings,
) -> FileResult:
    return _extract_one(segment, feature_set, settings)


def _extract_batch(
    segments: Sequence[Segment],
    feature_set: FeatureSet,
    settings: AnalysisSettings,
    cache: str | None,
) -> list[FileResult]:
    with _one_blas_thread():
        if cache is None:
            return [_extract_one(s, feature_set, settings) for s in segments]
        return _extract_cached(segments, feature_set, settings, cache)


def _extract_cached(segments: Sequence[Segment], feature_set: FeatureSet,
                    settings: AnalysisSettings, cache: str) -> list[FileResult]:
    memory = joblib.Memory(cache, verbose=0)
    cached = memory.cache(_cached_one)
    results = []
    for segment in segments:
        key = _file_key(segment.path)
        if key is None:  # nothing to cache: report the error afresh
            results.append(_extract_one(segment, feature_set, settings))
        else:
            results.append(
                cached(segment, key, _code_version(), feature_set, settings))
    return results


def _batches(items: Sequence[Segment], size: int) -> Iterator[Sequence[Segment]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _show_progress(progress: bool | str) -> bool:
    if progress == "auto":
        return sys.stderr.isatty()
    return bool(progress)


def iter_extract(
    segments: Sequence[Segment | str],
    *,
    feature_set: str | FeatureSet = "default",
    settings: AnalysisSettings | None = None,
    n_jobs: int = 1,
    cache: str | os.PathLike | None = None,
    scheduler: str | None = None,
    progress: bool | str = "auto",
) -> Iterator[FileResult]:
    """Extract features from many files, yielding results in input order.

    Results arrive as soon as they and all before them are done, so a caller
    can write them out as it goes: memory does not grow with the batch.

    Parameters
    ----------
    segments : sequence of Segment or str
        Files (paths) or segments to analyse.
    feature_set : str or FeatureSet, default="default"
        The feature set.
    settings : AnalysisSettings, optional
        Analysis parameters; the defaults when omitted.
    n_jobs : int, default=1
        Worker processes (joblib's convention: -1 means all cores). Results
        are identical whatever the value.
    cache : str or os.PathLike, optional
        Folder of a joblib.Memory cache; a file already analysed with the same
        settings, size and modification time, by the same sertk code and
        library versions, is not analysed again.
    scheduler : str, optional
        Address of a Dask ``distributed`` scheduler, or ``"local"`` for a
        ``LocalCluster`` of ``n_jobs`` workers started for the run. Needs the
        ``dask`` extra.
    progress : bool or "auto", default="auto"
        Show a progress bar ("auto": when standard error is a terminal).

    Yields
    ------
    FileResult
        One per input, in input order; failures carry an ``error``.

    Raises
    ------
    ParameterError
        If the feature set or a setting is invalid.

    Examples
    --------
    >>> results = list(iter_extract(["no/such/file.wav"], progress=False))
    >>> results[0].error
    'no such file'
    """
    fs = get_feature_set(feature_set)
    settings = settings or AnalysisSettings()
    fs.validate(settings.n_mfcc, settings.n_mels)
    items = [s if isinstance(s, Segment) else Segment(os.fspath(s)) for s in segments]
    cache = os.fspath(cache) if cache is not None else None
    batches = list(_batches(items, BATCH_SIZE))
    if scheduler is not None:
        from ._dask import run_on_dask

        outputs: Iterable[list[FileResult]] = run_on_dask(
            _extract_batch, batches, (fs, settings, cache), scheduler, n_jobs
        )
    elif n_jobs == 1 or len(items) <= 1:
        outputs = (_extract_batch(b, fs, settings, cache) for b in batches)
    else:
        parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator")
        outputs = parallel(
            joblib.delayed(_extract_batch)(b, fs, settings, cache) for b in batches
        )
    with tqdm(
        total=len(items),
        unit="file",
        desc="extracting",
        disable=not _show_progress(progress),
    ) as bar:
        for batch in outputs:
            for result in batch:
                bar.update(1)
                yield result


def _path_index(paths: list[str]) -> pd.Index:
    try:
        return pd.Index(paths, name="path")
    except UnicodeEncodeError:  # a name not valid in UTF-8: no pyarrow string
        return pd.Index(paths, name="path", dtype=object)


def _as_segments(X) -> tuple[list[Segment], pd.Index]:
    if isinstance(X, (str, os.PathLike)):
        X = [X]
    if isinstance(X, pd.DataFrame):
        if "path" not in X.columns:
            raise ParameterError(
                "a DataFrame given to FeatureExtractor needs a 'path' column; "
                f"it has {list(X.columns)}"
            )
        paths = [os.fspath(p) for p in X["path"]]
        if "start" in X.columns or "end" in X.columns:
            starts = X["start"] if "start" in X.columns else [None] * len(X)
            ends = X["end"] if "end" in X.columns else [None] * len(X)
            segments = [
                Segment(
                    p,
                    None if pd.isna(s) else float(s),
                    None if pd.isna(e) else float(e),
                )
                for p, s, e in zip(paths, starts, ends, strict=True)
            ]
            index = pd.MultiIndex.from_arrays(
                [
                    _path_index(paths),
                    [s.start for s in segments],
                    [s.end for s in segments],
                ],
                names=["path", "start", "end"],
            )
            return segments, index
        return [Segment(p) for p in paths], _path_index(paths)
    if isinstance(X, pd.Series):
        X = X.tolist()
    paths = [os.fspath(p) for p in np.asarray(X, dtype=object).ravel()]
    return [Segment(p) for p in paths], _path_index(paths)


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Turn audio files into a table of utterance-level acoustic features.

    A stateless scikit-learn transformer: ``transform`` takes file paths (or a
    DataFrame with a ``path`` column, and optionally ``start``/``end`` columns
    in seconds for segments) and returns a DataFrame with one row a file,
    indexed by path.

    Parameters
    ----------
    feature_set : str or FeatureSet, default="default"
        ``"minimal"`` (105 features), ``"default"`` (950) or a
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
    (1, 105)
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
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.progress = progress
        self.cache = cache
        self.scheduler = scheduler

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
        fs, settings = self._validated()
        return {
            "feature_set": {
                "name": fs.name,
                "contours": [[c, list(f)] for c, f in fs.contours],
                "descriptors": list(fs.descriptors),
            },
            "settings": settings.to_dict(),
            "versions": library_versions(),
        }

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
        segments, _ = _as_segments(X)
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
            Indexed by path (by ``path, start, end`` for segments), in input
            order.

        Raises
        ------
        AudioError
            With ``on_error="raise"``, for the first file that fails.
        ParameterError
            If a parameter is invalid.
        """
        fs, settings = self._validated()
        segments, index = _as_segments(X)
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
        return pd.DataFrame(data, index=index, columns=columns)
