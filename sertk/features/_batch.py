"""Extraction from many files: per-file work in worker processes, in order.

:func:`iter_extract` hands batches of :data:`BATCH_SIZE` files to joblib
worker processes (or a Dask cluster, through :mod:`sertk.features._dask`) and yields
one :class:`FileResult` a file, in input order; it is re-exported by
:mod:`sertk.features.extractor`, which documents it. A worker runs
``_extract_batch``: it reads each file (:func:`sertk.audio.reading.load`) and
computes its row (:func:`sertk.features._summary.feature_row`), optionally through a
joblib.Memory cache. Workers import this module to find that function, so it
imports nothing the per-file work does not need: no pandas, scikit-learn,
SciPy, matplotlib or Dask.

Examples
--------
>>> results = list(iter_extract(["no/such/file.wav"], progress=False))
>>> results[0].ok, results[0].error
(False, 'no such file')
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import joblib
import numpy as np
from tqdm.auto import tqdm

from .._version import package_version
from ..audio.reading import audio_duration, load
from ..errors import AudioError, SertkError
from ..settings import AnalysisSettings, show_progress
from ._summary import feature_row, one_blas_thread
from .feature_sets import FeatureSet, get_feature_set

__all__ = [
    "BATCH_SIZE",
    "FileResult",
    "Segment",
    "extraction_params",
    "iter_extract",
    "library_versions",
    "segment_bounds",
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
    return {name: package_version(name) for name in (
        "sertk",
        "praat-parselmouth",
        "numpy",
        "soxr",
        "soundfile",
        "scikit-learn",
        "pandas",
    )}


def extraction_params(feature_set: FeatureSet, settings: AnalysisSettings) -> dict:
    """Return what determines the features, for saving beside them.

    Parameters
    ----------
    feature_set : FeatureSet
        The feature set.
    settings : AnalysisSettings
        The analysis settings.

    Returns
    -------
    dict
        ``feature_set`` (name and definition), ``settings`` and
        ``versions`` (:func:`library_versions`). ``speed`` is among the
        settings only when it is not 1, so that tables written before it
        existed still match their settings.

    Examples
    --------
    >>> from sertk.features.feature_sets import get_feature_set
    >>> params = extraction_params(get_feature_set("minimal"), AnalysisSettings())
    >>> params["feature_set"]["name"], params["settings"]["sr"]
    ('minimal', 16000)
    """
    analysis = settings.to_dict()
    if analysis["speed"] == 1.0:
        del analysis["speed"]
    return {
        "feature_set": {
            "name": feature_set.name,
            "contours": [[c, list(f)] for c, f in feature_set.contours],
            "descriptors": list(feature_set.descriptors),
        },
        "settings": analysis,
        "versions": library_versions(),
    }


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


def segment_bounds(segment: Segment) -> tuple[float, float]:
    """Return the ``start`` and ``end`` a segment's row is indexed by.

    A segment keeps its bounds; a missing ``start`` is 0 and a missing
    ``end`` is the file's duration, read from its header (NaN when the file
    cannot be read).

    Parameters
    ----------
    segment : Segment or str
        A segment, or the path of a whole file.

    Returns
    -------
    tuple of float
        ``(start, end)`` in seconds from the start of the file.

    Examples
    --------
    >>> segment_bounds(Segment("a.wav", 1.0, 2.5)), segment_bounds("no/such.wav")
    ((1.0, 2.5), (0.0, nan))
    """
    if not isinstance(segment, Segment):
        segment = Segment(os.fspath(segment))
    end = segment.end
    if end is None:
        try:
            end = audio_duration(segment.path)
        except AudioError:
            end = np.nan
    return (0.0 if segment.start is None else float(segment.start)), float(end)


def _extract_one(
    segment: Segment, feature_set: FeatureSet, settings: AnalysisSettings
) -> FileResult:
    try:
        x = load(segment.path, settings.sr, start=segment.start, end=segment.end,
                 speed=settings.speed)
        values = feature_row(x, feature_set, settings)
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
    The analysis code is what extraction imports: ``sertk/audio/``,
    ``sertk/features/`` and the shared ground (``settings``, ``errors``);
    an edit to a model, the evaluation or a command keeps the cache valid,
    and so does one to a module the workers never import (:data:`_UNHASHED`):
    ``audio/conditions.py`` makes training copies and degraded audio,
    ``features/tables.py`` writes and reads tables, ``features/_dask.py``
    hands batches to a cluster, ``features/_worker_libraries.py`` imports
    the workers' libraries ahead of them.
    """
    digest = hashlib.sha256(json.dumps(library_versions(), sort_keys=True).encode())
    package = Path(__file__).resolve().parents[1]  # sertk/
    sources = [*package.glob("audio/**/*.py"), *package.glob("features/**/*.py"),
               package / "settings.py", package / "errors.py"]
    for source in sorted(sources):
        if source.relative_to(package).as_posix() not in _UNHASHED:
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


#: Modules below ``sertk/`` that extraction never imports, left out of
#: :func:`_code_version`.
_UNHASHED = ("audio/conditions.py", "features/tables.py", "features/_dask.py",
             "features/_worker_libraries.py")


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
    with one_blas_thread():
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

        outputs: Generator[list[FileResult], None, None] = run_on_dask(
            _extract_batch, batches, (fs, settings, cache), scheduler, n_jobs
        )
    elif n_jobs == 1 or len(items) <= 1:
        outputs = (_extract_batch(b, fs, settings, cache) for b in batches)
    else:
        parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator")
        outputs = parallel(
            joblib.delayed(_extract_batch)(b, fs, settings, cache) for b in batches
        )
    with closing(outputs), tqdm(
        total=len(items),
        unit="file",
        desc="extracting",
        disable=not show_progress(progress),
    ) as bar:
        for batch in outputs:
            for result in batch:
                bar.update(1)
                yield result
