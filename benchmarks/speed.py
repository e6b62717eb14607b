"""Extraction speed: sertk's feature sets against openSMILE's, on the same files.

Throughput is seconds of audio analysed per wall-clock second, over the first
``--n-files`` files of a manifest (EMO-DB by default), read from disk by
each extractor (``FeatureExtractor.transform`` / ``Smile.process_files``):

- *warm*: in this process, after a warm-up, for ``--rounds`` rounds; each
  round runs every (extractor, workers) configuration once, in ABBA order
  (reversed every other round) so that drifting load on the shared machine
  hits all alike, and each timed call follows an untimed call on a few files
  (starting worker processes, loading libraries, filling caches);
- *cold*: once per configuration in a fresh Python process: library import
  and extractor construction (start-up) and the first call, timed apart,
  while the memory of the process tree is sampled (peak RSS and PSS, psutil).

Single process and two workers: sertk ``FeatureExtractor(n_jobs=2)`` (joblib
worker processes), openSMILE ``Smile(num_workers=2)`` (audinterface worker
threads; the openSMILE core releases the GIL).

Finally a per-stage breakdown of sertk's extractor, single process, on
``--profile-files`` files spread over the corpus: file reading, each shared
intermediate of :class:`sertk.features.contours.Analysis` (Praat pitch, power spectrum,
...), each contour group (:func:`sertk.features.contours.compute_group`, its own time
without the intermediates it triggers), the functionals and the rest; each
as self time, so the stages add up to the total.

Prints the tables and writes them to the ``speed`` section of
``docs/benchmarks.md``. Run from the repository root::

    python -m benchmarks.speed                  # ~15 min on 2 busy cores
    python -m benchmarks.speed --quick          # 40 files, smoke run
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from benchmarks._common import (
    REPO,
    TreeMemory,
    benchmark_parser,
    command_line,
    corpus_or_exit,
    freeze_sertk,
    made_with,
    markdown_table,
    provenance,
)
from benchmarks._report import update_section

#: (library, feature set) of every extractor compared.
EXTRACTORS = (("sertk", "minimal"), ("sertk", "default"),
              ("openSMILE", "eGeMAPSv02"), ("openSMILE", "ComParE_2016"))
BASELINE = ("openSMILE", "eGeMAPSv02")
PROFILED = ("minimal", "default")  # sertk sets broken down by stage
QUICK = {"n_files": 40, "rounds": 1, "profile_files": 10}
WORKERS = (1, 2)
WARMUP_FILES = 32  # four batches of sertk's BATCH_SIZE: both workers get one
SAMPLE_EVERY = 0.1  # seconds between memory samples of a cold run
PSS_EVERY = 5  # samples
TARGET_RATIO = 2.0  # sertk default vs eGeMAPSv02, single process


def make_runner(library: str, feature_set: str, workers: int
                ) -> Callable[[list[str]], int]:
    """Return a function that extracts features from files and counts the rows.

    Parameters
    ----------
    library : {"sertk", "openSMILE"}
        Whose extractor.
    feature_set : str
        Its feature set name.
    workers : int
        sertk: worker processes (``n_jobs``); openSMILE: worker threads
        (``num_workers``).

    Returns
    -------
    callable
        Takes a list of paths, returns the number of rows extracted.

    Raises
    ------
    ValueError
        If ``library`` is unknown.
    """
    if library == "sertk":
        from sertk.features.extractor import FeatureExtractor

        extractor = FeatureExtractor(feature_set, n_jobs=workers, progress=False)
        return lambda paths: len(extractor.transform(paths))
    if library == "openSMILE":
        import opensmile

        smile = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, feature_set),
            feature_level=opensmile.FeatureLevel.Functionals,
            num_workers=workers)
        return lambda paths: len(smile.process_files(paths))
    raise ValueError(f"library={library!r} is not 'sertk' or 'openSMILE'")


def _cold_child() -> None:
    """Entry point of a cold run's process (``argv``: library, set, workers, list)."""
    started = time.perf_counter()
    library, feature_set, workers, listing = sys.argv[1:5]
    paths = Path(listing).read_text().splitlines()
    run = make_runner(library, feature_set, int(workers))
    built = time.perf_counter()
    rows = run(paths)
    done = time.perf_counter()
    print(json.dumps({"startup": built - started, "first": done - built,
                      "rows": rows}))


@dataclass
class Cold:
    """What a cold run measured."""

    startup: float  # library import + construction, seconds
    first: float  # the first call, seconds
    process: float  # the whole process, interpreter start to exit, seconds
    peak_rss: float  # MB
    peak_pss: float  # MB


def cold_run(library: str, feature_set: str, workers: int, listing: Path) -> Cold:
    """Run one configuration in a fresh process, sampling its tree's memory."""
    code = "from benchmarks.speed import _cold_child; _cold_child()"
    command = [sys.executable, "-c", code, library, feature_set, str(workers),
               str(listing)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (env.get("PYTHONPATH"), str(REPO)) if p)
    cwd = freeze_sertk() or REPO  # the frozen copy of sertk comes first
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out,
                                   stderr=subprocess.PIPE)
        memory = TreeMemory(process.pid, PSS_EVERY)
        while process.poll() is None:
            memory.sample()
            time.sleep(SAMPLE_EVERY)
        seconds = time.perf_counter() - started
        errors = process.stderr.read().decode(errors="replace")
        if process.returncode != 0:
            raise RuntimeError(f"cold run {library} {feature_set} x{workers} "
                               f"failed:\n{errors[-3000:]}")
        out.seek(0)
        result = json.loads(out.read().decode().strip().splitlines()[-1])
    return Cold(result["startup"], result["first"], seconds,
                memory.peak_rss / 2**20, memory.peak_pss / 2**20)


@dataclass
class Config:
    """One extractor with a number of workers, and its measurements."""

    library: str
    feature_set: str
    workers: int
    runner: Callable[[list[str]], int] | None = None
    warm: list[float] = field(default_factory=list)  # seconds a round
    cold: Cold | None = None

    @property
    def name(self) -> str:
        """The extractor's name, for tables."""
        return f"{self.library} `{self.feature_set}`"


def warm_rounds(configs: list[Config], paths: list[str], rounds: int) -> None:
    """Time every configuration once a round, in ABBA order."""
    for config in configs:
        config.runner = make_runner(config.library, config.feature_set,
                                    config.workers)
    for r in range(rounds):
        order = configs if r % 2 == 0 else configs[::-1]
        for config in order:
            config.runner(paths[:WARMUP_FILES])
            started = time.perf_counter()
            rows = config.runner(paths)
            config.warm.append(time.perf_counter() - started)
            if rows != len(paths):
                raise RuntimeError(f"{config.name} gave {rows} rows for "
                                   f"{len(paths)} files")
            print(f"  round {r + 1}: {config.name} x{config.workers}: "
                  f"{config.warm[-1]:.1f} s", flush=True)


class SelfTimer:
    """Self time of nested, labelled spans (a span's time minus its children's).

    ``origins[label]`` counts, for each span, the outermost span below the
    root that was open when it ran (itself if it is one): for an
    intermediate computed on demand, the stage that first needed it.

    Examples
    --------
    >>> timer = SelfTimer()
    >>> with timer.span("run"), timer.span("group"), timer.span("shared"):
    ...     pass
    >>> sorted(timer.seconds), timer.origins["shared"]
    (['group', 'run', 'shared'], Counter({'group': 1}))
    """

    def __init__(self):
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.origins: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._stack: list[list] = []  # [label, seconds spent in children]

    @contextmanager
    def span(self, label: str) -> Iterator[None]:
        """Time the enclosed block under ``label``."""
        frame = [label, 0.0]
        self._stack.append(frame)
        if len(self._stack) > 1:
            self.origins[label][self._stack[1][0]] += 1
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self._stack.pop()
            self.seconds[label] += elapsed - frame[1]
            self.calls[label] += 1
            if self._stack:
                self._stack[-1][1] += elapsed

    def wrap(self, label: str | Callable[..., str], func: Callable) -> Callable:
        """Return ``func`` timed under ``label`` (or ``label(*args)``)."""
        @functools.wraps(func)
        def timed(*args, **kwargs):
            with self.span(label(*args) if callable(label) else label):
                return func(*args, **kwargs)
        return timed


@contextmanager
def timed_stages(timer: SelfTimer) -> Iterator[None]:
    """Time sertk's extraction stages into ``timer`` while the block runs.

    The stages are file reading (``load``), each lazily computed intermediate
    of :class:`~sertk.features.contours.Analysis` (``shared <name>``), each contour
    group (``group <name>``) and the functionals; everything else in a span
    opened around the extraction is that span's own time.
    """
    import sertk.features._batch as batch
    import sertk.features._summary as summary
    from sertk.features.contours import Analysis

    with ExitStack() as stack:
        patch = stack.enter_context
        patch(mock.patch.object(batch, "load", timer.wrap(
            "read file (load + resample)", batch.load)))
        patch(mock.patch.object(summary, "compute_group", timer.wrap(
            lambda group, *_: f"group {group}", summary.compute_group)))
        patch(mock.patch.object(summary, "compute_functionals", timer.wrap(
            "functionals", summary.compute_functionals)))
        for name, value in list(vars(Analysis).items()):
            if isinstance(value, functools.cached_property):
                timed = functools.cached_property(
                    timer.wrap(f"shared {name}", value.func))
                timed.__set_name__(Analysis, name)
                patch(mock.patch.object(Analysis, name, timed))
        yield


def profile_stages(paths: list[str], feature_sets: tuple[str, ...]
                   ) -> dict[str, tuple[SelfTimer, float]]:
    """Extract ``paths`` single-process with every stage timed, per feature set.

    The sets take turns file by file, so changing load on the machine hits
    them alike. ``other`` is the rest of the run: contour selection, row
    assembly, the batch loop.

    Returns
    -------
    dict
        Feature set -> (its timer, seconds of audio analysed).

    Raises
    ------
    RuntimeError
        If a file cannot be analysed.
    """
    from sertk.features.extractor import iter_extract

    timers = {fs: SelfTimer() for fs in feature_sets}
    audio = dict.fromkeys(feature_sets, 0.0)
    for path in paths:
        for fs in feature_sets:
            with timed_stages(timers[fs]), timers[fs].span("other"):
                [result] = iter_extract([path], feature_set=fs, progress=False)
            if not result.ok:
                raise RuntimeError(f"{path}: {result.error}")
            audio[fs] += result.duration
    return {fs: (timers[fs], audio[fs]) for fs in feature_sets}


def stage_table(profiles: dict[str, tuple[SelfTimer, float]], n_files: int) -> str:
    """Return the Markdown table of the per-stage breakdowns, slowest first."""
    sets = list(profiles)
    totals = {s: sum(t.seconds.values()) for s, (t, _) in profiles.items()}
    stages = sorted({label for t, _ in profiles.values() for label in t.seconds},
                    key=lambda label: -max(profiles[s][0].seconds.get(label, 0.0)
                                           for s in sets))
    rows = []
    for label in stages:
        row = [label]
        for s in sets:
            timer, _ = profiles[s]
            if label in timer.seconds:
                seconds = timer.seconds[label]
                row += [f"{1000 * seconds / n_files:.1f}",
                        f"{100 * seconds / totals[s]:.1f} %"]
            else:
                row += ["—", "—"]
        origins = Counter()
        for timer, _ in profiles.values():
            origins.update(timer.origins.get(label, Counter()))
        origins.pop(label, None)
        row.append(", ".join(p for p, _ in origins.most_common(2)) or "—")
        rows.append(row)
    rows.append(["**total**"] + [
        c for s in sets for c in (f"**{1000 * totals[s] / n_files:.1f}**",
                                  f"{profiles[s][1] / totals[s]:.0f}x real time")]
                + [""])
    header = ["stage"] + [c for s in sets for c in (f"`{s}` ms/file", "share")] + [
        "first needed by"]
    return markdown_table(header, rows, align="l" + "r" * 2 * len(sets) + "l")


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _paired_ratio(slow: list[float], fast: list[float]) -> float:
    """Median over rounds of ``slow / fast`` seconds (how many times faster)."""
    return _median([a / b for a, b in zip(slow, fast, strict=True)])


def speed_table(configs: list[Config], audio: float) -> str:
    """Return the Markdown table of throughputs, ratios and memory."""
    by_key = {(c.library, c.feature_set, c.workers): c for c in configs}
    rows = []
    for c in configs:
        throughput = [audio / s for s in c.warm]
        base = by_key.get((*BASELINE, c.workers))
        ratio = scaling = "—"
        if base is not None and base is not c:
            ratio = f"{_paired_ratio(base.warm, c.warm):.2f}"
        single = by_key.get((c.library, c.feature_set, 1))
        if c.workers > 1 and single is not None:
            scaling = f"{_paired_ratio(single.warm, c.warm):.2f}"
        cold = c.cold
        rows.append([
            c.name, c.workers,
            f"**{_median(throughput):.1f}**",
            f"{min(throughput):.1f}–{max(throughput):.1f}",
            ratio, scaling,
            "—" if cold is None else f"{audio / cold.first:.1f}",
            "—" if cold is None else f"{cold.startup:.1f}",
            "—" if cold is None else f"{cold.peak_rss:.0f}",
            "—" if cold is None else f"{cold.peak_pss:.0f}",
        ])
    header = ["extractor", "workers", "warm x real time (median)", "range",
              "vs eGeMAPSv02 (same workers)", "vs 1 worker",
              "cold first call x real time", "cold start-up (s)",
              "peak RSS (MB)", "peak PSS (MB)"]
    return markdown_table(header, rows, align="lrrrrrrrrr")


def target_line(configs: list[Config]) -> str:
    """Return the issue target's verdict (sertk default >= 2x eGeMAPSv02)."""
    by_key = {(c.library, c.feature_set, c.workers): c for c in configs}
    ours = by_key.get(("sertk", "default", 1))
    base = by_key.get((*BASELINE, 1))
    if ours is None or base is None:
        return ""
    ratio = _paired_ratio(base.warm, ours.warm)
    rounds = [b / s for b, s in zip(base.warm, ours.warm, strict=True)]
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    return (f"Issue target, sertk `default` at least {TARGET_RATIO:g}x as fast as "
            "openSMILE eGeMAPSv02 in a single process (warm, median of the "
            f"per-round ratios): **{verdict}**: {ratio:.2f}x "
            f"({ratio / TARGET_RATIO:.0%} of the target; rounds "
            f"{min(rounds):.2f}x to {max(rounds):.2f}x).")


def report(configs, profiles, audio, n_files, n_profile, rounds, command,
           seconds, load_start) -> str:
    """Return the Markdown section."""
    intro = (
        f"Throughput in seconds of audio per wall-clock second (x real time) on "
        f"the first {n_files} EMO-DB files ({audio / 60:.1f} min of audio), "
        f"read from disk by each extractor. *Warm*: median (and range) over "
        f"{rounds} rounds in one process after warm-up, configurations in ABBA "
        "order, each timed call preceded by an untimed call on "
        f"{WARMUP_FILES} files; ratios are medians of the per-round ratios. "
        "*Cold*: a fresh Python process per configuration: start-up (library "
        "import + extractor construction) and the first call timed apart; "
        "peak memory of its process tree (workers included; RSS sums shared "
        "pages once per process, PSS splits them). Two workers: sertk "
        "`FeatureExtractor(n_jobs=2)` (joblib processes), openSMILE "
        "`Smile(num_workers=2)` (audinterface threads). The machine is shared "
        f"with other engineers (load average {load_start} at the start): "
        "figures from other runs can differ by tens of percent; the ratios, "
        "taken within rounds, are steadier.")
    parts = [intro, speed_table(configs, audio)]
    target = target_line(configs)
    if target:
        parts.append(target)
    if profiles:
        parts += [
            f"Where sertk's time goes: single process, {n_profile} files spread "
            "over the corpus, self time of each stage (a stage's time minus the "
            "stages it triggered, so the column adds up to the total). `shared "
            "X`: an intermediate of `sertk.features.contours.Analysis`, "
            "computed once a file by the first group that needs it "
            "(\"first needed by\"); "
            "`group X`: `sertk.features.contours.compute_group` without those; "
            "`other`: contour selection, row assembly and the batch loop.",
            stage_table(profiles, n_profile)]
    parts += [provenance("opensmile", "audinterface", "praat-parselmouth",
                         "soxr", "numpy", "joblib"),
              made_with(command, seconds)]
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(
        "speed", __doc__, quick=f"smoke run: --n-files {QUICK['n_files']} --rounds "
        f"{QUICK['rounds']} --profile-files {QUICK['profile_files']}, nothing "
        "written to the docs")
    parser.add_argument("--n-files", type=int, default=None,
                        help="the first N files of the manifest (default: all)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="warm rounds (default: %(default)s)")
    parser.add_argument("--profile-files", type=int, default=100,
                        help="files for sertk's per-stage breakdown, spread "
                        "over the corpus; 0 skips it (default: %(default)s)")
    parser.add_argument("--no-cold", action="store_true",
                        help="skip the cold runs (and the memory figures)")
    args = parser.parse_args(argv)
    if args.quick:
        vars(args).update(QUICK, no_docs=True)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.n_files is not None and args.n_files < 1:
        parser.error(f"--n-files must be at least 1, got {args.n_files}")
    if args.profile_files < 0:
        parser.error(f"--profile-files must be 0 or more, got {args.profile_files}")
    freeze_sertk()
    corpus = corpus_or_exit(parser, args.manifest)
    import soundfile as sf

    paths = corpus.paths[: args.n_files]
    audio = sum(sf.info(p).duration for p in paths)
    command = command_line("benchmarks.speed", sys.argv[1:] if argv is None else argv)
    load_start = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"command: {command}\n{len(paths)} files, {audio:.0f} s of audio",
          flush=True)
    started = time.perf_counter()
    configs = [Config(lib, fs, w) for w in WORKERS for lib, fs in EXTRACTORS]
    if not args.no_cold:
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
            listing.write("\n".join(paths))
            listing.flush()
            for c in configs:
                c.cold = cold_run(c.library, c.feature_set, c.workers,
                                  Path(listing.name))
                print(f"  cold: {c.name} x{c.workers}: start-up "
                      f"{c.cold.startup:.1f} s, first call {c.cold.first:.1f} s, "
                      f"peak RSS {c.cold.peak_rss:.0f} MB", flush=True)
    warm_rounds(configs, paths, args.rounds)
    profiles = {}
    n_profile = min(args.profile_files, len(corpus.paths))
    if n_profile:
        step = len(corpus.paths) / n_profile
        sample = [corpus.paths[int(i * step)] for i in range(n_profile)]
        profile_stages(sample[:2], PROFILED)  # warm-up
        profiles = profile_stages(sample, PROFILED)
    markdown = report(configs, profiles, audio, len(paths), n_profile, args.rounds,
                      command, time.perf_counter() - started, load_start)
    print("\n" + markdown)
    if not args.no_docs:
        print(f"\nwritten to {update_section('speed', markdown, title='Speed')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
