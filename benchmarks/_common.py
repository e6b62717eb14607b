"""Helpers shared by the benchmark scripts: corpus, cached features, provenance.

- :func:`add_manifest_argument` / :func:`load_corpus`: the corpus manifest
  (EMO-DB beside the repository by default) with its labels and speakers;
- :func:`sertk_features`: sertk features of every file of a manifest, cached
  under ``~/.cache/sertk-bench/`` (see :func:`cached_table`) and keyed by the
  feature set, the analysis settings, the library versions and a hash of
  sertk's feature-shaping source, so a stale table is never used;
- :func:`provenance` and :func:`markdown_table`: what every section of
  ``docs/benchmarks.md`` states besides its figures;
- :class:`TreeMemory`: peak memory (RSS and PSS) of a process and its
  children, sampled while a benchmark's subprocess runs.

Examples
--------
>>> print(markdown_table(["set", "UAR"], [["minimal", "0.800"]], align="lr"))
| set | UAR |
|:---|---:|
| minimal | 0.800 |
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from benchmarks._opensmile import cache_dir, load_manifest

__all__ = [
    "DEFAULT_MANIFEST",
    "REPO",
    "SERTK_SETS",
    "Corpus",
    "ProcessMemory",
    "TreeMemory",
    "add_manifest_argument",
    "benchmark_parser",
    "cached_table",
    "conditions_hash",
    "command_line",
    "corpus_or_exit",
    "feature_sets_or_exit",
    "freeze_sertk",
    "load_corpus",
    "made_with",
    "markdown_table",
    "provenance",
    "sertk_copies",
    "sertk_features",
    "sertk_source_hash",
]

REPO = Path(__file__).resolve().parent.parent
#: EMO-DB's manifest in the shared folder beside the repository.
DEFAULT_MANIFEST = REPO.parent / "shared" / "data" / "emodb" / "manifest.csv"
#: sertk's built-in feature sets.
SERTK_SETS = ("minimal", "default")

#: Parts of the sertk package (paths below sertk/, files or folders) that
#: only consume features: left out of the source hash, so editing them keeps
#: feature caches valid. Everything else (including modules added later) is
#: hashed.
_DOWNSTREAM = ("__init__.py", "audio/conditions.py", "features/_dask.py",
               "features/tables.py", "models", "evaluation", "timeline", "io",
               "pretrained", "cli")

#: Where the frozen copy of sertk is, and the commit it was taken at.
_frozen: dict[str, str] = {}


@dataclass(frozen=True)
class Corpus:
    """A manifest's files, labels and speakers, in manifest order."""

    manifest: Path
    paths: list[str]
    labels: np.ndarray
    speakers: np.ndarray

    def subset(self, speakers: Sequence[str]) -> Corpus:
        """Return the files of the given speakers only, in manifest order."""
        keep = np.isin(self.speakers, list(speakers))
        return Corpus(self.manifest, [p for p, k in zip(self.paths, keep,
                                                        strict=True) if k],
                      self.labels[keep], self.speakers[keep])

    def first_speakers(self, n: int) -> Corpus:
        """Return the files of the first ``n`` speakers (sorted), for smoke runs."""
        return self.subset(sorted(set(self.speakers))[:n])


def benchmark_parser(name: str, doc: str, *, quick: str | None = None,
                     manifest: bool = True) -> argparse.ArgumentParser:
    """Return a benchmark's argument parser with the options they all share.

    Parameters
    ----------
    name : str
        The module under ``benchmarks`` and the ``docs/benchmarks.md``
        section it writes.
    doc : str
        The module docstring; its first line describes the command.
    quick : str, optional
        Help of a ``--quick`` smoke-run option, added when given.
    manifest : bool, default=True
        Whether to add ``--manifest`` (see :func:`add_manifest_argument`).

    Returns
    -------
    argparse.ArgumentParser
        With ``--no-docs`` (print only), and ``--quick`` and ``--manifest``
        as asked.

    Examples
    --------
    >>> parser = benchmark_parser("demo", "Demo benchmark.", quick="smoke run")
    >>> parser.parse_args(["--quick"]).quick
    True
    >>> parser.epilog.split(" (")[0]
    "Writes the 'demo' section of docs/benchmarks.md"
    """
    skip = "--quick or --no-docs" if quick else "--no-docs"
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{name}", description=doc.splitlines()[0],
        epilog=f"Writes the '{name}' section of docs/benchmarks.md (not with {skip}).")
    if manifest:
        add_manifest_argument(parser)
    if quick:
        parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--no-docs", action="store_true",
                        help="print only; leave docs/benchmarks.md alone")
    return parser


def made_with(command: str, seconds: float, cached: str = "") -> str:
    """Return a section's last line: the command and how long it took.

    Parameters
    ----------
    command : str
        The command line that made the section.
    seconds : float
        Its wall-clock time.
    cached : str, optional
        What it cached under ``~/.cache/sertk-bench/`` ("features").

    Returns
    -------
    str

    Examples
    --------
    >>> made_with("python -m benchmarks.demo", 600)
    'Made with `python -m benchmarks.demo` in 10 min.'
    """
    note = f" ({cached} cached in `~/.cache/sertk-bench/`)" if cached else ""
    return f"Made with `{command}` in {seconds / 60:.0f} min{note}."


def corpus_or_exit(parser: argparse.ArgumentParser, manifest: str | os.PathLike
                   ) -> Corpus:
    """Return :func:`load_corpus` of ``manifest``; a bad one is a usage error.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Reports the error (exit status 2) when the manifest is missing or
        lacks a column.
    manifest : str or os.PathLike
        The ``--manifest`` argument.

    Returns
    -------
    Corpus
    """
    try:
        return load_corpus(manifest)
    except (FileNotFoundError, KeyError) as exc:
        parser.error(str(exc))


def feature_sets_or_exit(parser: argparse.ArgumentParser, text: str,
                         known: Sequence[str]) -> list[str]:
    """Parse a comma-separated ``--sets`` argument; an unknown set is a usage error.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Reports the error (exit status 2).
    text : str
        The argument, e.g. ``"default,eGeMAPSv02"``.
    known : sequence of str
        The sets the benchmark can run.

    Returns
    -------
    list of str

    Examples
    --------
    >>> feature_sets_or_exit(argparse.ArgumentParser(), "default, minimal",
    ...                      ["minimal", "default"])
    ['default', 'minimal']
    """
    sets = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in sets if s not in known]
    if unknown or not sets:
        parser.error(f"--sets {text!r}: unknown {unknown}; choose from "
                     f"{', '.join(known)}")
    return sets


def add_manifest_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--manifest`` (default: EMO-DB beside the repository) to a parser."""
    parser.add_argument(
        "--manifest", type=Path, default=DEFAULT_MANIFEST,
        help="CSV with path (relative to its folder), label and speaker "
        "columns (default: ../shared/data/emodb/manifest.csv relative to the "
        "repository)")


def load_corpus(manifest: str | os.PathLike) -> Corpus:
    """Read a manifest's absolute paths, labels and speakers.

    Parameters
    ----------
    manifest : str or os.PathLike
        CSV with ``path`` (relative to its folder), ``label`` and ``speaker``.

    Returns
    -------
    Corpus

    Raises
    ------
    FileNotFoundError
        If the manifest does not exist (pass ``--manifest``).
    KeyError
        If it lacks a ``label`` or ``speaker`` column.
    """
    manifest = Path(manifest).resolve()
    if not manifest.is_file():
        raise FileNotFoundError(
            f"manifest {manifest} not found; pass --manifest PATH/TO/manifest.csv")
    table = load_manifest(manifest)
    missing = [c for c in ("path", "label", "speaker") if c not in table.columns]
    if missing:
        raise KeyError(f"{manifest} lacks column(s) {missing}; it needs path, "
                       "label and speaker")
    return Corpus(manifest, table["path"].tolist(), table["label"].to_numpy(),
                  table["speaker"].to_numpy())


def freeze_sertk() -> Path | None:
    """Make this run, and the processes it starts, import a copy of sertk.

    Other engineers edit ``sertk/`` while a benchmark runs, and worker
    processes started later would import their edits: the copy (taken now,
    in a temporary folder removed at exit) keeps one version for the whole
    run, so the figures and the cache keys match the code measured. The
    copy goes first on ``sys.path`` (which joblib's workers inherit) and on
    ``PYTHONPATH`` (for subprocesses, started outside the repository).
    Call it before anything imports sertk.

    Returns
    -------
    pathlib.Path or None
        The folder holding the copy, or None when sertk was already imported
        (that copy is then the one measured).
    """
    if "root" in _frozen:
        return Path(_frozen["root"])
    _frozen["commit"] = _git("rev-parse", "--short", "HEAD") or "unknown"
    _frozen["dirty"] = _git("status", "--porcelain", "--", "sertk")
    if "sertk" in sys.modules:
        return None
    root = Path(tempfile.mkdtemp(prefix="sertk-bench-"))
    shutil.copytree(REPO / "sertk", root / "sertk",
                    ignore=shutil.ignore_patterns("__pycache__"))
    atexit.register(shutil.rmtree, root, True)
    sys.path.insert(0, str(root))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root), str(REPO), os.environ.get("PYTHONPATH")) if p)
    _frozen["root"] = str(root)
    return root


@cache
def sertk_source_hash() -> str:
    """Return a hash of the sertk source that shapes features (16 hex digits).

    Every ``.py`` file of the imported ``sertk`` package is hashed, path and
    content, except the downstream modules in ``_DOWNSTREAM``; uncommitted
    edits count, unlike a git commit id.
    """
    import sertk

    root = Path(sertk.__file__).resolve().parent
    digest = hashlib.sha1()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(relative.as_posix() == part or relative.parts[0] == part
               for part in _DOWNSTREAM):
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def conditions_hash() -> str:
    """Return a hash of the code that makes condition copies (16 hex digits).

    ``sertk.audio.conditions`` and ``sertk.models.augment`` are left out of
    :func:`sertk_source_hash` (they do not shape features of clean audio),
    so caches of degraded audio add this to their keys.
    """
    import sertk.audio.conditions
    import sertk.models.augment

    digest = hashlib.sha1()
    for module in (sertk.audio.conditions, sertk.models.augment):
        digest.update(Path(module.__file__).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _key(parts: dict) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def cached_table(name: str, key: dict, compute: Callable[[], pd.DataFrame]
                 ) -> pd.DataFrame:
    """Return a table from the benchmark cache, or compute and store it.

    Parameters
    ----------
    name : str
        Readable start of the cache file's name.
    key : dict
        Everything the table depends on (JSON-serialisable); hashed into the
        file name, so a different key never reads this table.
    compute : callable
        Makes the table on a cache miss.

    Returns
    -------
    pd.DataFrame
    """
    path = cache_dir() / f"{name}-{_key(key)}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    table = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    table.to_parquet(partial)
    os.replace(partial, path)
    return table


def sertk_features(corpus: Corpus, feature_set: str, n_jobs: int = 2,
                   **params) -> pd.DataFrame:
    """Return sertk features of every file of a corpus, cached.

    Parameters
    ----------
    corpus : Corpus
        The files.
    feature_set : {"minimal", "default"}
        sertk feature set.
    n_jobs : int, default=2
        Extraction workers on a cache miss.
    **params
        Further :class:`sertk.FeatureExtractor` parameters (``noise_snr_db``,
        ``f0_min``...); its defaults when omitted.

    Returns
    -------
    pd.DataFrame
        One row a file, in corpus order, indexed by path, start and end (as
        :class:`sertk.FeatureExtractor` gives it; ``.loc[paths]`` selects by path).

    Raises
    ------
    sertk.errors.AudioError
        If a file cannot be analysed.
    """
    from sertk.features.extractor import FeatureExtractor

    extractor = FeatureExtractor(feature_set, n_jobs=n_jobs, progress=False,
                                 **params)
    key = {"params": extractor.extraction_params(), "source": sertk_source_hash(),
           "files": corpus.paths,
           "stamps": [os.stat(p).st_mtime_ns for p in corpus.paths]}
    table = cached_table(f"{corpus.manifest.parent.name}-sertk-{feature_set}", key,
                         lambda: extractor.transform(corpus.paths))
    if table.index.nlevels == 1:  # cached before the index had start and end
        from sertk.features.extractor import index_of, segment_bounds

        paths = table.index.tolist()
        starts, ends = zip(*map(segment_bounds, paths), strict=True)
        table.index = index_of(paths, starts, ends)
    return table


def sertk_copies(corpus: Corpus, feature_set: str,
                 speeds: Sequence[float] | None = None, n_jobs: int = 2,
                 **params) -> np.ndarray:
    """Return sertk features of the speed-perturbed copies of every file, cached.

    Parameters
    ----------
    corpus : Corpus
        The files.
    feature_set : {"minimal", "default"}
        sertk feature set.
    speeds : sequence of float, optional
        Speeds of the copies; :data:`sertk.models.augment.SPEED_FACTORS` by default.
    n_jobs : int, default=2
        Extraction workers on a cache miss.
    **params
        Further :class:`sertk.FeatureExtractor` parameters, as in
        :func:`sertk_features`.

    Returns
    -------
    ndarray of shape (n_files, n_speeds, n_features)
        As ``augmented`` of :meth:`sertk.EmotionClassifier.fit` takes them,
        columns in the order of :func:`sertk_features`.
    """
    from sertk.models.augment import SPEED_FACTORS

    speeds = SPEED_FACTORS if speeds is None else speeds
    return np.stack([sertk_features(corpus, feature_set, n_jobs=n_jobs, speed=speed,
                                    **params).to_numpy(dtype=float)
                     for speed in speeds], axis=1)


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True,
                              text=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def provenance(*packages: str) -> str:
    """Return one Markdown paragraph: date, machine, load, versions.

    Parameters
    ----------
    *packages : str
        Distribution names whose versions to state besides sertk's commit
        and Python's.

    Returns
    -------
    str
    """
    from importlib.metadata import PackageNotFoundError, version

    if "commit" not in _frozen:
        _frozen["commit"] = _git("rev-parse", "--short", "HEAD") or "unknown"
        _frozen["dirty"] = _git("status", "--porcelain", "--", "sertk")
    commit = _frozen["commit"]
    dirty = " with uncommitted changes in sertk/" if _frozen["dirty"] else ""
    copied = ", copied at the start of the run" if "root" in _frozen else ""
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} not installed")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"Run {datetime.date.today().isoformat()} on {os.cpu_count()} cores "
            f"({_cpu_model()}), load average {load} at the end (the machine is "
            f"shared); sertk at commit {commit}{dirty}{copied} (feature source "
            f"hash {sertk_source_hash()}), Python "
            f"{platform.python_version()}, " + ", ".join(versions) + ".")


class ProcessMemory(NamedTuple):
    """One process's memory in bytes: RSS, and PSS (0 when not read)."""

    pid: int
    rss: int
    pss: int


class TreeMemory:
    """Peak memory of a process and all its descendants, sampled on demand.

    Each :meth:`sample` reads every process of the tree: its RSS (resident
    pages, library pages shared with other processes included: a sum over
    processes counts them once per process) and, every ``pss_every``-th
    sample, its PSS (proportional set size: each shared page split between
    the processes sharing it, so the sum is the memory the tree really
    uses). RSS costs almost nothing to read, PSS a few milliseconds a
    process. Needs psutil.

    Parameters
    ----------
    pid : int
        The root process (a benchmark's subprocess).
    pss_every : int, default=5
        Read PSS on every ``pss_every``-th sample (the first included).

    Attributes
    ----------
    peak_rss, peak_pss : int
        Highest summed RSS and PSS seen so far, bytes.
    """

    def __init__(self, pid: int, pss_every: int = 5):
        import psutil

        self._psutil = psutil
        self.root = psutil.Process(pid)
        self.pss_every = pss_every
        self.samples = 0
        self.peak_rss = self.peak_pss = 0

    def sample(self, pss: bool | None = None) -> list[ProcessMemory]:
        """Read the tree's memory now and update the peaks.

        Parameters
        ----------
        pss : bool, optional
            Read PSS too (default: on every ``pss_every``-th sample).

        Returns
        -------
        list of ProcessMemory
            The root first, then its descendants; processes that ended
            meanwhile are left out (an empty list once the root has ended).
        """
        psutil = self._psutil
        if pss is None:
            pss = self.samples % self.pss_every == 0
        self.samples += 1
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        out = []
        for process in processes:
            try:
                if pss:
                    info = process.memory_full_info()
                    out.append(ProcessMemory(process.pid, info.rss, info.pss))
                else:
                    info = process.memory_info()
                    out.append(ProcessMemory(process.pid, info.rss, 0))
            except psutil.NoSuchProcess:
                continue
        self.peak_rss = max(self.peak_rss, sum(m.rss for m in out))
        self.peak_pss = max(self.peak_pss, sum(m.pss for m in out))
        return out


def command_line(module: str, argv: Sequence[str]) -> str:
    """Return the shell command that reruns a benchmark with these arguments."""
    return shlex.join(["python", "-m", module, *argv])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]],
                   align: str | None = None) -> str:
    """Return a Markdown table; ``align`` holds one ``l`` or ``r`` a column."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
