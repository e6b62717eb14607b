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
files. The figures go to the ``memory`` section of ``docs/benchmarks.md``.
Run from the repository root::

    python -m benchmarks.memory    # 10,000 files: about 4 min on 2 idle cores
    python -m benchmarks.memory --n-files 500 --keep --no-docs
"""

from __future__ import annotations

import argparse
import filecmp
import itertools
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

from benchmarks._common import command_line, markdown_table, provenance
from benchmarks._report import update_section

REPO = Path(__file__).resolve().parent.parent
SR = 16000
N_JOBS = 2
SAMPLE_EVERY = 0.2
PSS_EVERY = 5  # samples
CHECKPOINTS = (0.1, 0.25, 0.5, 1.0)
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


def tree_memory(root: psutil.Process, pss: bool) -> tuple[list[int], int]:
    """Return the RSS of each process of a tree (root first) and their summed PSS.

    PSS (proportional set size) splits each shared page between the processes
    sharing it; reading it costs a few milliseconds a process (so it is 0
    unless ``pss``), RSS almost nothing. Values in bytes.
    """
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return [], 0
    rss, shared = [], 0
    for process in processes:
        try:
            if pss:
                info = process.memory_full_info()
                shared += info.pss
            else:
                info = process.memory_info()
        except psutil.NoSuchProcess:
            continue
        rss.append(info.rss)
    return rss, shared


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
    halfway: list[float] = field(default_factory=list)  # RSS a process, root first


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
    peak_rss = peak_pss = 0
    started = time.perf_counter()
    with open(out.with_suffix(".log"), "wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        root = psutil.Process(process.pid)
        for sample in itertools.count():
            finished = process.poll() is not None
            if not finished:
                each, pss = tree_memory(root, pss=sample % PSS_EVERY == 0)
                peak_rss, peak_pss = max(peak_rss, sum(each)), max(peak_pss, pss)
            done = n_files if finished else max(rows.update() - 1, 0)  # header
            if not run.halfway and not finished and done >= n_files / 2:
                run.halfway = [b / 2**20 for b in each]
            while points and done >= points[0]:
                run.rss[points[0]] = peak_rss / 2**20
                run.pss[points[0]] = peak_pss / 2**20
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


def _processes(run: Run) -> str:
    if not run.halfway:  # finished between two samples before half-way
        return f"{run.backend}: not sampled"
    command, *children = run.halfway
    workers = sorted((m for m in children if m >= 100), reverse=True)
    helpers = sum(m for m in children if m < 100)
    return (f"{run.backend}: command {command:.0f}, workers "
            + ", ".join(f"{m:.0f}" for m in workers)
            + f", helper processes {helpers:.0f}")


def report(runs: list[Run], n_files: int, identical: bool, command: str,
           load_start: str) -> str:
    """Return the Markdown section: what was run, the table, provenance."""
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
        f"`LocalCluster` of {N_JOBS} single-threaded worker processes). RSS is "
        f"summed over the processes (sampled every {SAMPLE_EVERY:g} s), so "
        "library pages they share count once per process; PSS splits shared "
        f"pages between them (sampled every {SAMPLE_EVERY * PSS_EVERY:g} s) and "
        "is closer to the memory really used. Flat columns: memory does not "
        "grow with the number of files.",
        markdown_table(header, rows),
        "RSS of each process half-way, MB: "
        + "; ".join(_processes(r) for r in runs) + ". Most of it is the "
        "libraries every process loads (numpy, scipy, Praat, librosa and "
        "numba, pandas).",
        f"Wall time: {speed}; load average {load_start} at the start. Tables "
        f"identical: {'yes' if identical else 'NO'}.",
        provenance("numpy", "joblib", "dask", "distributed", "psutil"),
        f"Made with `{command}`; each run is `python -m sertk.cli.extract "
        f"FOLDER -o out.csv --n-jobs {N_JOBS} --no-progress [--scheduler "
        "local]`.",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.memory", description=__doc__.splitlines()[0],
        epilog="Writes the 'memory' section of docs/benchmarks.md (not with "
        "--no-docs).")
    parser.add_argument("--n-files", type=int, default=10_000,
                        help="clips to generate (default: %(default)s)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the generated clips and tables (their "
                        "folder is printed)")
    parser.add_argument("--no-docs", action="store_true",
                        help="print only; leave docs/benchmarks.md alone")
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
        markdown = report(runs, args.n_files, identical, command, load_start)
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
