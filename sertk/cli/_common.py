"""Argument handling shared by the sertk commands.

Every command builds its parser with :func:`make_parser` (which adds
``--version`` and one-line usage errors), and runs its body through
:func:`run`, so ``main(argv)`` always returns an exit status: 0 for success,
1 when some inputs failed, 2 for a usage error, 130 when interrupted.

Examples
--------
>>> parser = make_parser("sertk-demo", "A demo command.")
>>> _ = parser.add_argument("--n-jobs", type=n_jobs_value, default=1)
>>> run(parser, ["--n-jobs", "2"], lambda parser, args: args.n_jobs)
2
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn

from .._version import __version__
from ..errors import SertkError

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "CommandParser",
    "add_output_options",
    "make_parser",
    "n_jobs_value",
    "run",
    "say",
    "usage_error",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: Exit status after SIGTERM (128 + its number), as a shell reports it.
EXIT_TERMINATED = 128 + signal.SIGTERM


class CommandParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose usage errors take one line.

    ``error`` prints ``<prog>: error: <message> (see <prog> --help)`` on
    standard error and exits with status 2, instead of argparse's usage
    block followed by the message.
    """

    def error(self, message: str) -> NoReturn:
        """Print a one-line usage error and exit with status 2.

        Parameters
        ----------
        message : str
            What is wrong, and how to put it right.

        Raises
        ------
        SystemExit
            Always, with code 2.
        """
        self.exit(
            EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n"
        )


def make_parser(prog: str, description: str) -> CommandParser:
    """Create a command's parser, with ``--version``.

    Parameters
    ----------
    prog : str
        The command name, as typed (``sertk-extract``).
    description : str
        One paragraph for ``--help``.

    Returns
    -------
    CommandParser

    Examples
    --------
    >>> make_parser("sertk-demo", "Demo.").prog
    'sertk-demo'
    """
    parser = CommandParser(prog=prog, description=description)
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    return parser


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--progress``/``--no-progress`` and ``--quiet``.

    After parsing, ``args.progress`` is True, False or ``"auto"`` (a bar
    when standard error is a terminal); :func:`run` sets it to False under
    ``--quiet``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser to extend.

    Examples
    --------
    >>> parser = make_parser("sertk-demo", "Demo.")
    >>> add_output_options(parser)
    >>> parser.parse_args([]).progress, parser.parse_args(["--no-progress"]).progress
    ('auto', False)
    """
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default="auto",
        help="show a progress bar (default: when standard error is a terminal)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors: no progress bar, no summary",
    )


def n_jobs_value(text: str) -> int:
    """Parse ``--n-jobs``: a whole number other than 0 (-1 means all cores).

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    int

    Raises
    ------
    argparse.ArgumentTypeError
        If `text` is not a whole number, or is 0.

    Examples
    --------
    >>> n_jobs_value("-1")
    -1
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(
            f"--n-jobs must be a whole number of workers (1, 2, ... or -1 for "
            f"all cores), got {text!r}"
        )
    return value


def usage_error(parser: argparse.ArgumentParser, error: SertkError | str) -> NoReturn:
    """Report a usage error (a bad input or option value) in one line; exit 2.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    error : SertkError or str
        The error; its message is printed as it is.

    Raises
    ------
    SystemExit
        Always, with code 2.
    """
    parser.error(str(error))


def say(args: argparse.Namespace, message: str) -> None:
    """Print a line on standard error unless ``--quiet`` was given.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments (``args.quiet`` is read when present).
    message : str
        The line.

    Examples
    --------
    >>> say(argparse.Namespace(quiet=True), "not shown")
    """
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


def run(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    body: Callable[[argparse.ArgumentParser, argparse.Namespace], int],
) -> int:
    """Parse `argv` and run a command's body; return its exit status.

    ``--help``, ``--version`` and usage errors end in :class:`SystemExit`
    inside argparse; their code is returned instead, so ``main(argv)`` can
    be called from Python and tested. A :class:`~sertk.errors.SertkError`
    that escapes `body` is reported as a one-line usage error (status 2); an
    :class:`OSError` (a full disk, an unwritable folder) as a one-line error
    with status 1. While `body` runs, SIGTERM is handled as Ctrl-C
    (SIGINT): it raises :class:`KeyboardInterrupt` in the main thread, so
    worker processes are stopped and partial outputs kept as on Ctrl-C; the
    status is then 143 (130 after Ctrl-C).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    argv : sequence of str or None
        Arguments (None: ``sys.argv[1:]``).
    body : callable
        ``body(parser, args) -> int``, the command itself.

    Returns
    -------
    int
        The exit status.

    Examples
    --------
    >>> parser = make_parser("sertk-demo", "Demo.")
    >>> run(parser, [], lambda parser, args: 0)
    0
    """
    try:
        args = parser.parse_args(argv)
        if getattr(args, "quiet", False):
            args.progress = False
        terminated = threading.Event()
        try:
            with _sigterm_as_interrupt(terminated):
                status = body(parser, args)
        except SertkError as error:
            usage_error(parser, error)
        except OSError as error:
            print(f"{parser.prog}: error: {_os_error(error)}", file=sys.stderr)
            return EXIT_FAILED
        except KeyboardInterrupt:
            print(f"{parser.prog}: interrupted", file=sys.stderr)
            status = EXIT_INTERRUPTED
        return EXIT_TERMINATED if terminated.is_set() else status
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return EXIT_FAILED


def _os_error(error: OSError) -> str:
    """Describe an :class:`OSError` in one line: what failed, on which file."""
    what = error.strerror or str(error)
    return f"{error.filename}: {what}" if error.filename is not None else what


@contextlib.contextmanager
def _sigterm_as_interrupt(terminated: threading.Event):
    """Handle SIGTERM as SIGINT while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        terminated.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
