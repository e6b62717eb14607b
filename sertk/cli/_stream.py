"""The live mode of ``sertk-predict``: emotion of audio as it arrives.

``--stream -`` reads raw PCM from standard input as it arrives (16 kHz
16-bit little-endian mono unless ``--rate``, ``--channels``, ``--format``
say otherwise); ``--stream mic`` (or ``--device N``) records from a
microphone through sounddevice (``pip install 'sertk[live]'``). One CSV row a
window is written to standard output, and flushed, as soon as the window
ends (:func:`sertk.stream`); ``--plot`` adds a line a window on standard
error (the label and a bar of its probability) and, given an image, draws
the timeline there at the end. End of input (or Ctrl-C on a microphone)
flushes the last window, cut short.

Examples
--------
Shell usage::

    arecord -f S16_LE -r 16000 -c 1 | sertk-predict --stream -
    ffmpeg -i talk.mp3 -f s16le -ac 1 -ar 16000 - | sertk-predict --stream - --plot
    sertk-predict --stream mic --smooth 2 --plot live.png > rows.csv

>>> from sertk.cli._common import make_parser
>>> parser = make_parser("sertk-demo", "Demo.")
>>> add_stream_options(parser)
>>> args = parser.parse_args(["--stream", "-", "--rate", "8000"])
>>> stream_requested(args), args.rate, args.channels, args.format
(True, 8000, None, None)
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..features.contours import import_spectral
from ..features.tables import format_float
from ..timeline.live import row_columns, stream
from ..timeline.microphone import input_devices, microphone
from ..timeline.pcm import PCM_FORMATS, read_pcm
from ..timeline.windows import SILENCE, plot_timeline
from ._common import EXIT_OK, say, usage_error

__all__ = ["add_stream_options", "predict_stream", "stream_requested"]

PROG = "sertk-predict"

#: Characters of the probability bar of the live view.
_BAR = 20


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {text!r}")
    return int(text)


def _device(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected a device number (see --list-devices), got {text!r}")
    return int(text)


def add_stream_options(parser: argparse.ArgumentParser) -> None:
    """Add the live input options to a parser.

    They are ``--stream``, ``--device``, ``--list-devices``, ``--rate``,
    ``--channels`` and ``--format``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``sertk-predict`` parser.
    """
    group = parser.add_argument_group(
        "live input",
        "with --stream, one CSV row a window on standard output as soon as the "
        "window ends (--window, --hop, --smooth and --plot apply; --smooth "
        "looks back only)")
    group.add_argument(
        "--stream", metavar="SOURCE",
        help="'-': raw PCM from standard input; 'mic': the microphone "
        "(needs sertk[live])")
    group.add_argument(
        "--device", type=_device, metavar="N",
        help="record from input device N (implies --stream mic)")
    group.add_argument(
        "--list-devices", action="store_true",
        help="list the input devices and exit")
    group.add_argument(
        "--rate", type=_positive, metavar="HZ",
        help="sampling rate of the stream (default: 16000)")
    group.add_argument(
        "--channels", type=_positive, metavar="N",
        help="interleaved channels of the stream, averaged (default: 1)")
    group.add_argument(
        "--format", choices=sorted(PCM_FORMATS),
        help="sample format of --stream - (default: s16le)")


def stream_requested(args: argparse.Namespace) -> bool:
    """Whether the arguments ask for the live mode (or the device list).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Returns
    -------
    bool
    """
    return (args.stream is not None or args.device is not None or args.list_devices)


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse what the live mode cannot do; fill in its defaults."""
    if args.device is not None:
        if args.stream not in (None, "mic"):
            usage_error(parser, "--device records from a microphone; it cannot "
                        f"go with --stream {args.stream}")
        args.stream = "mic"
    if args.stream not in ("-", "mic"):
        usage_error(parser, f"--stream takes '-' (standard input) or 'mic', not "
                    f"{args.stream!r}; for an audio file use --window "
                    f"(e.g. {PROG} --window 2 FILE)")
    if args.inputs:
        usage_error(parser, f"--stream {args.stream} reads no INPUT files "
                    f"(got {args.inputs[0]!r}); for files use --window")
    if args.output:
        usage_error(parser, "--stream writes its rows to standard output as they "
                    "come; redirect it (> rows.csv) instead of -o")
    if args.stream == "mic" and args.format is not None:
        usage_error(parser, "--format is for --stream - (a microphone gives floats)")
    args.window = 2.0 if args.window is None else args.window
    args.rate = args.rate or 16000
    args.channels = args.channels or 1
    args.format = args.format or "s16le"


def _cells(row: dict[str, Any], columns: list[str]) -> list[str]:
    """Format a row's CSV cells as ``sertk-predict --window -o`` writes them."""
    cells = []
    for c in columns:
        v = row.get(c)
        if c.startswith("prob_"):
            cells.append(format_float(v))
        else:
            cells.append("" if v is None or (isinstance(v, float) and np.isnan(v))
                         else str(v))
    return cells


def _live_line(row: dict[str, Any]) -> str:
    """One line of the live view: the window, its label, a bar of its probability."""
    when = f"{row['start']:8.1f}-{row['end']:.1f} s"
    if row["label"] == SILENCE:
        return f"{when}  {SILENCE}"
    p = float(row[f"prob_{row['label']}"])
    filled = int(round(p * _BAR))
    novel = "  (out of distribution)" if row["out_of_distribution"] else ""
    return (f"{when}  {row['label']:<12} {'#' * filled}{'.' * (_BAR - filled)} "
            f"{p:.2f}{novel}")


def _until_interrupted(pieces: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Yield the pieces, ending quietly on Ctrl-C (which ends a microphone stream)."""
    try:
        yield from pieces
    except KeyboardInterrupt:
        return


def predict_stream(parser: argparse.ArgumentParser, args: argparse.Namespace,
                   load: Callable[[], Any]) -> int:
    """Run the live mode: list devices, or stream rows to standard output.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``sertk-predict`` parser.
    args : argparse.Namespace
        Its parsed arguments.
    load : callable
        Loads the model (called after the options are checked and
        ``args.window`` is set).

    Returns
    -------
    int
        The exit status.

    Raises
    ------
    AudioError
        If a microphone is asked for and sounddevice, PortAudio or the
        device is missing.
    """
    if args.list_devices:
        for index, name, channels, rate in input_devices():
            print(f"{index:3d}  {name}  ({channels} channels, {rate:g} Hz)")
        return EXIT_OK
    _check(parser, args)
    # timeline checks (--hop <= --window, the --plot folder) as for files
    from ._timeline import check_timeline_options

    check_timeline_options(parser, args, stream=True)
    if args.stream == "-":
        if sys.stdin.isatty():
            usage_error(parser, "--stream - reads raw audio piped to standard "
                        "input, which is a terminal here (e.g. arecord -f S16_LE "
                        f"-r 16000 | {PROG} --stream -)")
        source = "standard input"
        pieces = read_pcm(sys.stdin.buffer, channels=args.channels, fmt=args.format,
                          name=source)
    else:
        source = "microphone"
        pieces = microphone(args.device, rate=args.rate, channels=args.channels)
    model = load()
    # librosa (and numba) load now, before the header says start-up is done,
    # rather than in the first window, whose row would come seconds late
    import_spectral()
    # the analyser is built and warmed up here, before the header says
    # start-up is done
    live = stream(_until_interrupted(pieces), model, sr=args.rate,
                  window=args.window, hop=args.hop, smooth=args.smooth,
                  source=source)
    columns = row_columns(model)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(columns)
    sys.stdout.flush()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        warnings.showwarning = (lambda message, *_, **__:
                                say(args, f"{PROG}: warning: {message}"))
        try:
            for row in live:
                out.writerow(_cells(row, columns))
                sys.stdout.flush()
                if args.plot is not None:
                    print(_live_line(row), file=sys.stderr, flush=True)
                if args.plot:
                    rows.append(row)
        except BrokenPipeError:  # the reader went away (| head): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
    if args.plot:
        if rows:
            plot_timeline(pd.DataFrame(rows).assign(path=source), args.plot)
            say(args, f"{PROG}: timeline of {source} -> {args.plot}")
        else:
            say(args, f"{PROG}: no window to draw (under 0.1 s of audio)")
    return EXIT_OK
