"""Peak memory of a long extraction run: local joblib workers vs a Dask cluster.

Generates ``--n-files`` short synthetic voiced-like clips (a harmonic tone
with vibrato and a syllable-like envelope, plus noise; F0 and length varied,
16-bit WAV), then runs the real command on the folder, once per backend::

    python -m sertk.cli.extract FOLDER -o out.csv --n-jobs 2 [--scheduler local]

While it runs, the memory of the whole process tree (the command and its
worker processes) is sampled: RSS every 0.2 s, PSS (shared pages split
between the processes sharing them, closer to the memory really used) every
second. The peaks so far are reported at 10 %, 25 %, 50 % and 100 % of the
files (rows counted in the table's ``.partial`` file, which the command
flushes row by row); flat peaks mean memory does not grow with the number of
files. The peaks are set against the target (below :data:`TARGET_MB`
with two workers), each process's memory half-way is listed (command,
workers, helpers such as resource trackers), and fresh processes show what
the libraries alone hold (:data:`FLOOR_STEPS`). The figures go to the
``memory`` section of ``docs/benchmarks.md``. Run from the repository root::

    python -m benchmarks.memory    # 10,000 files: about 7 min on 2 shared cores
    python -m benchmarks.memory --n-files 500 --keep --no-docs
"""

from __future__ import annotations

import filecmp
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

from benchmarks._common import (
    ProcessMemory,
    TreeMemory,
    benchmark_parser,
    command_line,
    markdown_table,
    provenance,
)
from benchmarks._report import update_section

REPO = Path(__file__).resolve().parent.parent
SR = 16000
N_JOBS = 2
SAMPLE_EVERY = 0.2
PSS_EVERY = 5  # samples
CHECKPOINTS = (0.1, 0.25, 0.5, 1.0)
#: Peak memory with N_JOBS workers: 500 MB (issue 5), raised to 600 MB when
#: librosa (numba, llvmlite) took over the spectral contours (issue 16).
TARGET_MB = 600
BACKENDS = {"joblib": [], "dask": ["--scheduler", "local"]}


def voiced_clip(rng: np.random.Generator) -> np.ndarray:
    """Return 0.5-1.5 s of a voiced-like signal at :data:`SR` (float, peak < 1)."""
    t = np.arange(int(SR * rng.uniform(0.5, 1.5))) / SR
    f0 = rng.uniform(85, 320) * (1 + rng.uniform(0.01, 0.04)
                                 * np.sin(2 * np.pi * rng.uniform(4, 7) * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    tilt = rng.uniform(0.6, 0.9)
    voice = sum(tilt ** k * np.sin(k * phase) for k in range(1, 11))
    syllables = rng.uniform(2, 5)
    envelope = 0.55 - 0.45 * np.cos(2 * np.pi * syllables * t)
    x = envelope * voice + rng.uniform(0.002, 0.02) * rng.standard_normal(t.size)
    return 0.8 * x / np.max(np.abs(x))


def make_corpus(folder: Path, n_files: int, seed: int = 0) -> None:
    """Write ``n_files`` clips as ``folder/NNNNN.wav`` (16-bit)."""
    rng = np.random.default_rng(seed)
    for i in range(n_files):
        sf.write(folder / f"{i:05d}.wav", voiced_clip(rng), SR, subtype="PCM_16")


class RowCounter:
    """Count the lines written so far to a growing file, reading only new bytes."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.lines = 0

    def update(self) -> int:
        """Return the lines written so far (0 while the file does not exist)."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return self.lines
        self.offset += len(chunk)
        self.lines += chunk.count(b"\n")
        return self.lines


@dataclass
class Run:
    """What one backend's run measured (memory in MB)."""

    backend: str
    seconds: float = 0.0
    rss: dict[int, float] = field(default_factory=dict)  # files -> peak so far
    pss: dict[int, float] = field(default_factory=dict)
    halfway: list[tuple[str, float, float]] = field(default_factory=list)
    """(role, RSS, PSS) of each process half-way, the command first."""


#: In the command line of multiprocessing's forkserver (and what it forks).
_FORKSERVER = "from multiprocessing.forkserver import main"


def _role(pid: int, command: int) -> str:
    """Say what a process of the tree is: the command, a worker or a helper."""
    if pid == command:
        return "command"
    try:
        process = psutil.Process(pid)
        cmdline = " ".join(process.cmdline())
        if _FORKSERVER in cmdline:
            # sertk-extract's cluster forks its workers from a forkserver,
            # whose command line they inherit
            parent = " ".join(process.parent().cmdline())
            return "worker" if _FORKSERVER in parent else "forkserver"
    except psutil.Error:
        return "helper"
    # loky starts its workers with popen_loky_posix, distributed's nannies
    # theirs with multiprocessing's spawn; resource trackers are helpers
    return "worker" if "popen_loky" in cmdline or "spawn_main" in cmdline else "helper"


def _halfway(each: list[ProcessMemory], command: int) -> list[tuple[str, float, float]]:
    return [(_role(m.pid, command), m.rss / 2**20, m.pss / 2**20) for m in each]


def measure(backend: str, folder: Path, out: Path, n_files: int) -> Run:
    """Run the extraction command on ``folder`` and sample its memory."""
    command = [sys.executable, "-m", "sertk.cli.extract", str(folder), "-o",
               str(out), "--n-jobs", str(N_JOBS), "--no-progress",
               *BACKENDS[backend]]
    run = Run(backend)
    points = sorted({max(1, round(f * n_files)) for f in CHECKPOINTS})
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    rows = RowCounter(Path(str(out) + ".partial"))
    started = time.perf_counter()
    with open(out.with_suffix(".log"), "wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        memory = TreeMemory(process.pid, PSS_EVERY)
        while True:
            finished = process.poll() is not None
            done = n_files if finished else max(rows.update() - 1, 0)  # header
            if not finished:
                halfway = not run.halfway and done >= n_files / 2
                each = memory.sample(pss=True if halfway else None)
                if halfway:
                    run.halfway = _halfway(each, process.pid)
            while points and done >= points[0]:
                run.rss[points[0]] = memory.peak_rss / 2**20
                run.pss[points[0]] = memory.peak_pss / 2**20
                points.pop(0)
            if finished:
                break
            time.sleep(SAMPLE_EVERY)
    run.seconds = time.perf_counter() - started
    if process.returncode != 0:
        log_text = out.with_suffix(".log").read_text(errors="replace")
        raise RuntimeError(f"{shlex.join(command)} exited with "
                           f"{process.returncode}:\n{log_text[-3000:]}")
    return run


#: What a process holds before and after it analyses a file: (label, code).
FLOOR_STEPS = (
    ("Python", "pass"),
    ("+ numpy, soundfile, soxr", "import numpy, soundfile, soxr"),
    ("+ Praat (parselmouth)", "import numpy, soundfile, soxr, parselmouth"),
    ("+ librosa (the submodules the contours use)",
     "import numpy, soundfile, soxr, parselmouth, librosa.feature.spectral"),
    ("the worker module, one clip analysed",
     "from sertk.features._batch import Segment, _extract_batch\n"
     "from sertk.features.feature_sets import get_feature_set\n"
     "from sertk.settings import AnalysisSettings\n"
     "[r] = _extract_batch([Segment(sys.argv[1])], get_feature_set('default'), "
     "AnalysisSettings(), None)\n"
     "assert r.ok, r.error"),
)


def process_floor(clip: Path) -> list[tuple[str, float, float]]:
    """Return (label, RSS, USS in MB) of a lone process at each step.

    Each step runs in a fresh process that then waits on its standard input
    while its memory is read (USS: the pages only that process holds).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    out = []
    for label, code in FLOOR_STEPS:
        script = f"import sys\n{code}\nprint('ready', flush=True)\nsys.stdin.read()"
        process = subprocess.Popen([sys.executable, "-c", script, str(clip)],
                                   cwd=REPO, env=env, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        try:
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the floor step {label!r} failed")
            info = psutil.Process(process.pid).memory_full_info()
        finally:
            process.stdin.close()
            process.wait()
        out.append((label, info.rss / 2**20, info.uss / 2**20))
    return out


def _processes(run: Run) -> str:
    if not run.halfway:  # finished between two samples before half-way
        return f"{run.backend}: not sampled"
    parts = []
    for role in ("command", "forkserver", "worker", "helper"):
        mine = [(rss, pss) for r, rss, pss in run.halfway if r == role]
        if role == "helper" and mine:
            together = " together" if len(mine) > 1 else ""
            parts.append(f"{len(mine)} helper process{'es' if len(mine) > 1 else ''}"
                         f"{together} {sum(m[0] for m in mine):.0f} / "
                         f"{sum(m[1] for m in mine):.0f}")
        elif mine:
            parts.append(f"{role}{'s' if len(mine) > 1 else ''} "
                         + ", ".join(f"{rss:.0f} / {pss:.0f}" for rss, pss in mine))
    return f"{run.backend}: " + "; ".join(parts)


def _target(runs: list[Run]) -> str:
    def verdict(kind: str) -> str:
        peaks = {r.backend: max(getattr(r, kind).values()) for r in runs}
        met = [b for b, peak in peaks.items() if peak < TARGET_MB]
        figures = ", ".join(f"{b} {peak:.0f} MB" for b, peak in peaks.items())
        state = ("met" if len(met) == len(runs) else
                 f"met with {', '.join(met)} only" if met else "not met")
        return f"{state} ({figures})"

    return (f"Target: below {TARGET_MB} MB with {N_JOBS} workers. By PSS, the "
            f"memory the tree really uses: {verdict('pss')}. By RSS summed over "
            f"the processes, which counts each shared library page once per "
            f"process and so overstates it: {verdict('rss')}.")


def report(runs: list[Run], floor: list[tuple[str, float, float]], n_files: int,
           identical: bool, command: str, load_start: str) -> str:
    """Return the Markdown section: what was run, the tables, provenance."""
    names = [r.backend for r in runs]
    header = ["files done", *(f"{n}: RSS (MB)" for n in names),
              *(f"{n}: PSS (MB)" for n in names)]
    rows = [[f"{point:,}", *(f"{r.rss[point]:.0f}" for r in runs),
             *(f"{r.pss[point]:.0f}" for r in runs)] for point in runs[0].rss]
    speed = ", ".join(f"{r.backend} {r.seconds:.0f} s ({n_files / r.seconds:.0f} "
                      "files/s)" for r in runs)
    return "\n\n".join([
        f"Peak memory so far of the process tree (the command and its worker "
        f"processes) while extracting the `default` feature set from "
        f"{n_files:,} synthetic 0.5-1.5 s clips with {N_JOBS} workers: `joblib` "
        f"is `--n-jobs {N_JOBS}`, `dask` adds `--scheduler local` (a "
        f"`LocalCluster` of {N_JOBS} single-threaded worker processes, which "
        "`sertk-extract` forks from a forkserver that imported their "
        "libraries). RSS is "
        f"summed over the processes (sampled every {SAMPLE_EVERY:g} s), so "
        "library pages they share count once per process; PSS splits shared "
        f"pages between them (sampled every {SAMPLE_EVERY * PSS_EVERY:g} s) and "
        "is closer to the memory really used. Flat columns: memory does not "
        "grow with the number of files.",
        markdown_table(header, rows),
        _target(runs),
        "Memory of each process half-way, MB, RSS / PSS: "
        + "; ".join(_processes(r) for r in runs) + ".",
        "What a lone process holds: a fresh Python process that imports the "
        "libraries named, and one that has imported the worker module "
        "(`sertk.features._batch`) and analysed one of the clips; USS is the memory "
        "that process alone holds (RSS less the pages it shares):",
        markdown_table(["process", "RSS (MB)", "USS (MB)"],
                       [[label, f"{rss:.0f}", f"{uss:.0f}"]
                        for label, rss, uss in floor]),
        f"Wall time: {speed}; load average {load_start} at the start. Tables "
        f"identical: {'yes' if identical else 'NO'}.",
        provenance("numpy", "praat-parselmouth", "joblib", "dask", "distributed",
                   "psutil"),
        f"Made with `{command}`; each run is `python -m sertk.cli.extract "
        f"FOLDER -o out.csv --n-jobs {N_JOBS} --no-progress [--scheduler "
        "local]`.",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser("memory", __doc__, manifest=False)
    parser.add_argument("--n-files", type=int, default=10_000,
                        help="clips to generate (default: %(default)s)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the generated clips and tables (their "
                        "folder is printed)")
    args = parser.parse_args(argv)
    if args.n_files < 1:
        parser.error(f"--n-files must be at least 1, got {args.n_files}")
    command = command_line("benchmarks.memory",
                           sys.argv[1:] if argv is None else argv)
    load_start = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"command: {command}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="sertk-memory-"))
    try:
        folder = work / "clips"
        folder.mkdir()
        started = time.perf_counter()
        make_corpus(folder, args.n_files)
        print(f"{args.n_files} clips written to {folder} in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        runs = []
        for backend in BACKENDS:
            run = measure(backend, folder, work / f"{backend}.csv", args.n_files)
            print(f"{backend}: {run.seconds:.0f} s, peak RSS "
                  f"{max(run.rss.values()):.0f} MB, PSS "
                  f"{max(run.pss.values()):.0f} MB", flush=True)
            runs.append(run)
        identical = filecmp.cmp(work / "joblib.csv", work / "dask.csv",
                                shallow=False)
        floor = process_floor(folder / "00000.wav")
        markdown = report(runs, floor, args.n_files, identical, command,
                          load_start)
        print("\n" + markdown)
        if not args.no_docs:
            print(f"\nwritten to {update_section('memory', markdown)}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
