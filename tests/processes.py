"""Helpers for tests that start sertk in a process of its own."""

from __future__ import annotations

import signal


def interruptible() -> None:
    """Give a child process the default handling of SIGINT, as a terminal would.

    Pass it as ``preexec_fn``. A test run started in the background by a
    script (``pytest &``) ignores SIGINT and its children inherit that, so a
    child a test stops with SIGINT (a Ctrl-C) would run on.

    Examples
    --------
    >>> import subprocess, sys
    >>> child = subprocess.run([sys.executable, "-c", "pass"],
    ...                        preexec_fn=interruptible)
    >>> child.returncode
    0
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
