"""Start-up: ``sertk-extract`` on one file, the very first time and after.

librosa (which computes the spectral contours) compiles some of its
functions with numba when it is first imported and keeps the machine code in
numba's cache (see ``sertk/contours/_librosa.py``). This benchmark points
``NUMBA_CACHE_DIR`` at a new, empty folder and, each in a fresh process:

- imports the librosa submodules the contours use, twice: with the cache
  empty (the compile) and filled (loading it);
- runs the command on one 3 s clip (``python -m sertk.cli.extract CLIP -o
  OUT --no-progress --quiet``; a single file is analysed in the command's
  own process) once with the cache as the first import left it (the first
  run of a new installation is this plus the compile), then ``--runs``
  times more;
- times ``python -c pass`` beside it, the interpreter's own start-up.

The wall-clock median of the later runs is set against the target (below
:data:`TARGET_SECONDS` after the first run; issue 16). Prints a table and
writes it to the ``startup`` section of ``docs/benchmarks.md``. Run from the
repository root::

    nice -n 10 python -m benchmarks.startup      # about a minute
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks._common import (
    benchmark_parser,
    command_line,
    markdown_table,
    provenance,
)
from benchmarks._report import update_section
from benchmarks.memory import SR, voiced_clip

REPO = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 3.0
#: What the contours import from librosa (through its lazy loader).
LIBROSA_IMPORT = "import librosa.feature.spectral"


def write_clip(path: Path, seconds: float = 3.0, seed: int = 0) -> None:
    """Write ``seconds`` of voiced-like clips with short pauses (16-bit WAV)."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    while sum(p.size for p in parts) < seconds * SR:
        parts += [voiced_clip(rng), np.zeros(SR // 5)]
    sf.write(path, np.concatenate(parts)[: int(seconds * SR)], SR, subtype="PCM_16")


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``command`` in the repository; return its wall-clock and CPU seconds.

    CPU seconds (user + system, of the process and any it waited for) vary
    less than wall-clock ones with the load of a shared machine.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def measure(work: Path, runs: int) -> dict[str, list[tuple[float, float]]]:
    """Time the imports and the command with a new numba cache in ``work``."""
    clip, out = work / "clip.wav", work / "features.csv"
    write_clip(clip)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["NUMBA_CACHE_DIR"] = str(work / "numba-cache")
    python = [sys.executable]
    extract = [*python, "-m", "sertk.cli.extract", str(clip), "-o", str(out),
               "--no-progress", "--quiet"]
    times: dict[str, list[tuple[float, float]]] = {}
    times["librosa import, empty cache"] = [timed([*python, "-c", LIBROSA_IMPORT], env)]
    times["librosa import, cache filled"] = [timed([*python, "-c", LIBROSA_IMPORT],
                                                   env)]
    times["command, first run after the compile"] = [timed(extract, env)]
    later = []
    for _ in range(runs):
        out.unlink(missing_ok=True)
        later.append(timed(extract, env))
    times["command, later runs"] = later
    times["python -c pass"] = [timed([*python, "-c", "pass"], env)
                               for _ in range(runs)]
    return times


def report(times: dict[str, list[tuple[float, float]]], command: str, load: str
           ) -> str:
    """Return the Markdown of the section."""
    rows = []
    for name, runs in times.items():
        wall, cpu = zip(*runs, strict=True)
        rows.append((name, f"{statistics.median(wall):.2f}",
                     f"{min(wall):.2f}-{max(wall):.2f}",
                     f"{statistics.median(cpu):.2f}", len(runs)))
    later = statistics.median(w for w, _ in times["command, later runs"])
    later_cpu = statistics.median(c for _, c in times["command, later runs"])
    first, first_cpu = (a + b for a, b in zip(
        times["librosa import, empty cache"][0],
        times["command, first run after the compile"][0], strict=True))
    verdict = "met" if later < TARGET_SECONDS else "NOT met"
    return "\n".join([
        "Wall-clock seconds of fresh processes, each with a new numba cache "
        "folder (`NUMBA_CACHE_DIR`): importing the librosa submodules the "
        f"contours use (`{LIBROSA_IMPORT}`) with the cache empty (numba compiles "
        "librosa's functions) and filled, and `sertk-extract` on one 3 s clip "
        "(analysed in the command's own process). The machine is shared (load "
        f"average {load} at the start).",
        "",
        markdown_table(["run", "wall s (median)", "wall s (range)",
                        "CPU s (median)", "runs"], rows),
        "",
        f"Target: one file under {TARGET_SECONDS:.0f} s after the first run: "
        f"{verdict} ({later:.2f} s wall clock, median; {later_cpu:.2f} CPU s, "
        "about what the run would take on an idle machine: it is one process, "
        "and librosa's and Praat's work here is single-threaded). The very "
        f"first run of an installation also compiles: about {first:.0f} s here "
        f"({first_cpu:.0f} CPU s; the empty-cache import plus a run).",
        "",
        f"Made with `{command}`. {provenance('librosa', 'numba', 'llvmlite')}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser("startup", __doc__, manifest=False)
    parser.add_argument("--runs", type=int, default=5,
                        help="later runs of the command (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    command = command_line("benchmarks.startup", sys.argv[1:] if argv is None else argv)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix="sertk-startup-"))
    try:
        times = measure(work, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    markdown = report(times, command, load)
    print(markdown)
    if not args.no_docs:
        print(f"\nwritten to {update_section('startup', markdown)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
