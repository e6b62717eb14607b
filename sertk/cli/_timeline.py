"""The timeline mode of ``sertk-predict``: emotion over time in long recordings.

With ``--window`` each input file gets a timeline
(:func:`sertk.timeline.windows.predict_timeline`): one row a window, the rows of all
files in one table. ``--plot`` draws each file's timeline
(:func:`sertk.timeline.windows.plot_timeline`): one file is drawn to that path;
several are drawn beside it, one image a file named
``<plot stem>-<audio file stem><plot ending>`` (``timeline-interview.png``
for ``--plot timeline.png`` and ``interview.wav``), with ``-<n>`` (its
position among the files, from 1) added when two files share a stem.

Examples
--------
>>> from sertk.cli._common import make_parser
>>> parser = make_parser("sertk-demo", "Demo.")
>>> add_timeline_options(parser)
>>> args = parser.parse_args(["--window", "2", "--smooth", "3"])
>>> check_timeline_options(parser, args)
>>> args.window, args.hop, args.smooth, args.plot
(2.0, 0.5, 3, None)
>>> plot_paths("out/t.png", ["a/x.wav", "b/x.wav", "y.flac"])
['out/t-x.png', 'out/t-x-2.png', 'out/t-y.png']
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AudioError, OutputError, ParameterError
from ..models.dimensions import DIMENSIONS
from ..timeline.live import causal_timeline
from ..timeline.windows import plot_timeline, predict_timeline, reference_windows
from ._common import say, usage_error

#: The image formats ``--plot`` draws to (those its help names).
PLOT_SUFFIXES = (".png", ".svg", ".pdf")

__all__ = ["add_timeline_options", "check_timeline_options", "plot_paths",
           "predict_timelines"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def add_timeline_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--window``, ``--hop``, ``--smooth``, ``--causal`` and ``--plot``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``sertk-predict`` parser.
    """
    group = parser.add_argument_group(
        "timeline of long recordings",
        "with --window, one row a window of each file instead of one a file",
    )
    group.add_argument(
        "--window", type=_seconds, metavar="SECONDS",
        help="classify windows of this length along each file (e.g. 2.0); "
        "--adapt batch z-scores a file's speech windows with their own "
        "statistics")
    group.add_argument(
        "--hop", type=_seconds, metavar="SECONDS",
        help="seconds between window starts, at most the window (default: 0.5)")
    group.add_argument(
        "--smooth", type=_count, metavar="K",
        help="average each window's probabilities with up to K speech windows "
        "on each side (default: 0)")
    group.add_argument(
        "--causal", action="store_true",
        help="analyse each window from the audio up to its end only, as "
        "--stream does (same rows as piping the file to --stream -); --smooth "
        "then looks back only")
    group.add_argument(
        "--plot", metavar="IMAGE", nargs="?", const="",
        help="draw the timeline to this image (.png, .svg, .pdf); with several "
        "files, one image each beside it, named <IMAGE stem>-<file stem>; with "
        "--stream, a line a window on standard error, and the image at the "
        "end if one is named")


def check_timeline_options(parser: argparse.ArgumentParser,
                           args: argparse.Namespace, *, stream: bool = False) -> None:
    """Refuse timeline options without ``--window``; fill in their defaults.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``sertk-predict`` parser.
    args : argparse.Namespace
        Its parsed arguments.
    stream : bool, default=False
        For ``--stream``, where ``--plot`` may come without an image.

    Raises
    ------
    SystemExit
        With status 2, on a usage error.
    """
    if args.window is None:
        given = [f"--{name}" for name in ("hop", "smooth", "plot")
                 if getattr(args, name) is not None
                 and not (name == "plot" and getattr(args, "explain", None))]
        given += ["--causal"] if args.causal else []
        if given:
            usage_error(parser, f"{', '.join(given)} needs --window (e.g. --window 2)")
        _check_plot_target(parser, args)
        return
    if args.plot == "" and not stream:
        usage_error(parser, "--plot needs an image to draw to (e.g. --plot "
                    "timeline.png); only --stream draws without one")
    args.hop = 0.5 if args.hop is None else args.hop
    args.smooth = args.smooth or 0
    if args.hop > args.window:
        usage_error(parser, f"--hop {args.hop} is longer than --window {args.window}; "
                    "windows would leave audio out")
    _check_plot_target(parser, args)


def _check_plot_target(parser: argparse.ArgumentParser,
                       args: argparse.Namespace) -> None:
    # Checked before any audio is read, so a mistyped name costs no analysis.
    if not args.plot:
        return
    if Path(args.plot).suffix.lower() not in PLOT_SUFFIXES:
        usage_error(parser, f"--plot {args.plot!r}: end the image's name in "
                    f"{', '.join(PLOT_SUFFIXES)}")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.plot))):
        usage_error(parser, f"the folder of {args.plot} does not exist; create it")


def plot_paths(plot: str, paths: Sequence[str]) -> list[str]:
    """Return the image of each file's timeline (see the module documentation).

    Parameters
    ----------
    plot : str
        The ``--plot`` path.
    paths : sequence of str
        The audio files, in input order.

    Returns
    -------
    list of str
    """
    if len(paths) == 1:
        return [plot]
    target = Path(plot)
    out: list[str] = []
    for i, path in enumerate(paths, start=1):
        name = target.with_name(f"{target.stem}-{Path(path).stem}{target.suffix}")
        if str(name) in out:
            name = name.with_name(f"{name.stem}-{i}{target.suffix}")
        out.append(str(name))
    return out


def predict_timelines(model, files: Sequence[tuple[str, str | None]],
                      args: argparse.Namespace) -> pd.DataFrame:
    """Return the timelines of the files in one table; draw them if asked.

    Parameters
    ----------
    model : EmotionClassifier
        The model.
    files : sequence of (path, error or None)
        The files; those with an error already are not analysed.
    args : argparse.Namespace
        ``window``, ``hop``, ``smooth``, ``causal``, ``plot``, ``adapt``,
        ``reference_files``, ``n_jobs``, ``progress``, ``quiet``.

    Returns
    -------
    pd.DataFrame
        The rows of :func:`~sertk.timeline.windows.predict_timeline` of every file,
        then ``error``: a file that failed has one row with its path and
        error, the other cells empty. ``attrs["plot_failures"]`` counts the
        images that could not be written (each reported on standard error;
        the rows of their files are kept).

    Raises
    ------
    ParameterError
        If the model cannot draw a timeline.
    """
    classes = [str(c) for c in model.classes_]
    dims = list(DIMENSIONS) if hasattr(model, "dimension_model_") else []
    columns = ["path", "start", "end", "speech_fraction", "label",
               "out_of_distribution", *dims, *(f"prob_{c}" for c in classes),
               "error"]
    reference = None
    if args.reference_files:  # the same anchor for every file: analysed once
        reference = reference_windows(model, args.reference_files,
                                      window=args.window, hop=args.hop,
                                      n_jobs=args.n_jobs, progress=args.progress)
    images = dict(zip([p for p, _ in files],
                      plot_paths(args.plot, [p for p, _ in files]) if args.plot
                      else [None] * len(files), strict=True))
    tables, plot_failures = [], 0
    for path, error in files:
        if error is None:
            try:
                if args.causal:
                    timeline = causal_timeline(model, path, window=args.window,
                                               hop=args.hop, smooth=args.smooth)
                else:
                    timeline = predict_timeline(
                        model, path, window=args.window, hop=args.hop,
                        smooth=args.smooth, adapt=args.adapt, reference=reference,
                        n_jobs=args.n_jobs, progress=args.progress)
            except ParameterError:
                raise
            except AudioError as exc:
                error = exc.reason
            except Exception as exc:  # noqa: BLE001 - one bad file must not end a run
                error = f"analysis failed ({type(exc).__name__}: {exc})"
        if error is not None:
            tables.append(pd.DataFrame({"path": [path], "error": [error]}))
            continue
        if images[path]:
            try:
                plot_timeline(timeline, images[path])
                say(args, f"sertk-predict: timeline of {path} -> {images[path]}")
            except (OSError, OutputError) as exc:
                plot_failures += 1
                why = exc.strerror if isinstance(exc, OSError) else exc
                print(f"sertk-predict: error: cannot draw {images[path]} ({why}); "
                      "its rows are kept", file=sys.stderr)
        tables.append(timeline.assign(error=np.nan))
    table = pd.concat(tables, ignore_index=True).reindex(columns=columns)
    table.attrs["plot_failures"] = plot_failures
    return table

