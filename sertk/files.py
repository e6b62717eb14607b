r"""Writing outputs safely: atomically, one writer at a time, never over an input.

Every file sertk writes (feature tables, error lists, model files, reports,
plots) goes through this module:

- **Atomic**: the content goes to a temporary file in the same folder,
  flushed to disk, which then replaces the target in one step
  (:func:`atomic_output`, :func:`atomic_write_text`): a crash, a full disk
  or Ctrl-C leaves the old file or the new one, never half of one, and no
  temporary file behind.
- **One writer**: :class:`OutputLock` holds ``<output>.lock`` (an
  :func:`fcntl.flock` lock, with the holder's process id written in it) for
  as long as a run writes that output; a second run asking for it fails at
  once with :class:`~sertk.errors.OutputError` naming the holder. The kernel
  drops the lock when its process ends, however it ends, so a lock file
  left by a killed run is stale and simply taken over. Locks are
  re-entrant within a process.
- **Never over an input**: :func:`check_outputs` refuses an output that is
  the same file as an input or as another output (compared by real path,
  through symbolic links, and by :func:`os.path.samefile` for hard links),
  or that is a folder.

Examples
--------
>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> out = os.path.join(folder, "out.txt")
>>> with OutputLock(out):
...     with atomic_output(out) as temporary:
...         _ = open(temporary, "w").write("done\n")
>>> open(out).read(), sorted(os.listdir(folder))
('done\n', ['out.txt'])
>>> check_outputs({"-o": out}, {"input": out})
Traceback (most recent call last):
...
sertk.errors.OutputError: -o ... is the same file as the input ...
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .errors import OutputError

__all__ = [
    "LOCK_SUFFIX",
    "OutputLock",
    "atomic_output",
    "atomic_write_json",
    "atomic_write_text",
    "check_outputs",
    "claim_outputs",
    "lock_path",
    "replace_durably",
    "temporary_beside",
]

#: Suffix of the lock file beside an output being written.
LOCK_SUFFIX = ".lock"

_held: dict[str, tuple[int, int]] = {}  # real path of a lock -> (fd, depth)
_held_guard = threading.Lock()


def temporary_beside(path: str | os.PathLike) -> str:
    """Create an empty temporary file in the folder of ``path``.

    Its permissions are those of a new file (``0o666`` less the umask), not
    the owner-only ``0o600`` of :func:`tempfile.mkstemp`, so that the file
    that replaces ``path`` is readable as a plain new file would be.

    Parameters
    ----------
    path : str or os.PathLike
        The file that the temporary one will replace.

    Returns
    -------
    str
        The temporary file's path.

    Examples
    --------
    >>> import os, tempfile
    >>> tmp = temporary_beside(os.path.join(tempfile.mkdtemp(), "out.csv"))
    >>> os.path.basename(tmp).startswith(".out.csv.")
    True
    """
    folder, name = os.path.split(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    return temporary


def replace_durably(source: str, target: str | os.PathLike) -> None:
    """Flush ``source`` to disk, then move it onto ``target`` atomically.

    Parameters
    ----------
    source : str
        A complete file, usually from :func:`temporary_beside`.
    target : str or os.PathLike
        Where it goes; an existing file there is replaced in one step.

    Raises
    ------
    OSError
        If flushing or moving fails (``target`` is then unchanged).
    """
    with open(source, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(source, target)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[str]:
    """Write a file atomically: yield a temporary name, move it into place.

    Whatever is written to the yielded file replaces ``path`` when the
    block ends normally; on any exception (a full disk, Ctrl-C) the
    temporary file is removed and ``path`` is left as it was. An
    :class:`OSError` is given the target's name if it has none.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (over)write; its folder must exist.

    Yields
    ------
    str
        The temporary file to write to (it exists, empty).

    Raises
    ------
    OSError
        If the file cannot be written; ``path`` is then unchanged.

    Examples
    --------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "a.bin")
    >>> with atomic_output(out) as temporary:
    ...     _ = open(temporary, "wb").write(b"0")
    >>> os.path.getsize(out)
    1
    """
    target = os.fspath(path)
    try:
        temporary = temporary_beside(target)
    except OSError as error:
        raise _named(error, target) from None
    try:
        yield temporary
        replace_durably(temporary, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        if isinstance(error, OSError):
            raise _named(error, target) from None
        raise


def _named(error: OSError, target: str) -> OSError:
    """Return ``error`` with the output's name, so its message names it."""
    if error.filename is None or str(error.filename).endswith(".tmp"):
        return type(error)(error.errno, error.strerror or str(error), target)
    return error


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    r"""Write a text file so that readers see the old content or the new one.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (over)write; its folder must exist.
    text : str
        The content, written as UTF-8 with ``\n`` line ends.

    Raises
    ------
    OSError
        If the folder does not exist or is not writable, or the disk is
        full; ``path`` is then unchanged.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> atomic_write_text(path, "done\n")
    >>> open(path).read()
    'done\n'
    """
    with atomic_output(path) as temporary:
        with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)


def atomic_write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON atomically (see :func:`atomic_write_text`), indented, keys kept.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (over)write.
    data : JSON-serialisable object
        What to write.

    Raises
    ------
    OSError
        If the folder does not exist or is not writable.
    TypeError
        If `data` holds something JSON cannot represent.

    Examples
    --------
    >>> import json, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "params.json")
    >>> atomic_write_json(path, {"sr": 16000})
    >>> json.load(open(path))
    {'sr': 16000}
    """
    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def lock_path(path: str | os.PathLike) -> str:
    """Return the lock file of an output: ``<output>.lock``.

    Parameters
    ----------
    path : str or os.PathLike
        The output.

    Returns
    -------
    str

    Examples
    --------
    >>> lock_path("out/features.csv")
    'out/features.csv.lock'
    """
    return os.fspath(path) + LOCK_SUFFIX


def _holder(fd: int) -> str:
    """Return who holds a lock, from the process id written in its file."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"process {text}" if text.isdigit() else "another process"


class OutputLock:
    """Hold the lock of an output while writing it: one writer at a time.

    Entering creates (or takes over) ``<path>.lock``, locks it with
    :func:`fcntl.flock` without waiting and writes this process's id in it;
    leaving unlocks and removes it. The kernel releases the lock when the
    process ends in any way, so a lock file left by a killed run (its
    process id no longer running) is taken over. Re-entrant within a
    process: nested locks on the same output share one lock file.

    Parameters
    ----------
    path : str or os.PathLike
        The output to be written; its folder must exist.

    Raises
    ------
    OutputError
        On entering, if another process holds the lock (the message names
        its process id), or the lock file cannot be created.

    Examples
    --------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> with OutputLock(out):
    ...     os.path.exists(out + ".lock")
    True
    >>> os.path.exists(out + ".lock")
    False
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self.lock = lock_path(self.path)
        self._key = os.path.realpath(self.lock)

    def _acquire(self) -> int:
        while True:
            try:
                fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as error:
                raise OutputError(
                    f"cannot create the lock file {self.lock} ({error.strerror}); "
                    f"is the folder of {self.path} writable?"
                ) from error
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                who = _holder(fd)
                os.close(fd)
                raise OutputError(
                    f"{self.path} is being written by another run ({who}, see "
                    f"{self.lock}); wait for it to end, or write elsewhere"
                ) from None
            # The file may have been removed by its last holder between our
            # open and our lock: then the lock is on a file nobody else sees.
            try:
                current = os.stat(self.lock).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(fd).st_ino:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
                return fd
            os.close(fd)

    def __enter__(self) -> OutputLock:
        with _held_guard:
            fd, depth = _held.get(self._key, (-1, 0))
            if depth == 0:
                fd = self._acquire()
            _held[self._key] = (fd, depth + 1)
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        with _held_guard:
            fd, depth = _held.pop(self._key)
            if depth > 1:
                _held[self._key] = (fd, depth - 1)
                return
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.lock)  # before unlocking: see _acquire
            os.close(fd)


def _identity(path: str) -> tuple[str, tuple[int, int] | None]:
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except OSError:
        return real, None
    return real, (info.st_dev, info.st_ino)


def _same(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] or (a[1] is not None and a[1] == b[1])


def check_outputs(
    outputs: Mapping[str, str | os.PathLike | None],
    inputs: Mapping[str, str | os.PathLike | Iterable[str | os.PathLike] | None],
) -> None:
    """Refuse outputs that are inputs, each other, or folders.

    Two names are the same file when their real paths agree (symbolic links
    resolved) or, for files that exist, when they are the same file on disk
    (hard links). An output must also not be a folder, and its folder must
    exist.

    Parameters
    ----------
    outputs : mapping of str to path or None
        Each output by the option that names it (``"-o"``, ``"--errors"``);
        None entries are skipped.
    inputs : mapping of str to path, paths or None
        Each input by what it is (``"manifest"``, ``"input"``); a value may
        be one path or several.

    Raises
    ------
    OutputError
        Naming the output, the option and what it clashes with.

    Examples
    --------
    >>> check_outputs({"-o": "a.csv", "--errors": "b.csv"}, {"input": ["x.wav"]})
    >>> check_outputs({"-o": "a.csv", "--errors": "a.csv"}, {})
    Traceback (most recent call last):
    ...
    sertk.errors.OutputError: -o a.csv and --errors a.csv are the same file; ...
    """
    named: list[tuple[str, str, tuple]] = []
    for option, value in outputs.items():
        if value is None:
            continue
        path = os.fspath(value)
        if os.path.isdir(path):
            raise OutputError(f"{option} {path} is a folder; name a file in it")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise OutputError(
                f"the folder of {option} {path} ({folder}) does not exist; create it"
            )
        this = _identity(path)
        for other_option, other, identity in named:
            if _same(this, identity):
                raise OutputError(
                    f"{other_option} {other} and {option} {path} are the same "
                    "file; give each output its own name"
                )
        named.append((option, path, this))
    if not named:
        return
    for what, value in inputs.items():
        if value is None:
            continue
        items = [value] if isinstance(value, str | os.PathLike) else value
        for item in items:
            source = _identity(os.fspath(item))
            for option, path, identity in named:
                if _same(source, identity):
                    raise OutputError(
                        f"{option} {path} is the same file as the {what} "
                        f"{os.fspath(item)}; write the output elsewhere"
                    )


@contextlib.contextmanager
def claim_outputs(
    outputs: Mapping[str, str | os.PathLike | None],
    inputs: Mapping[str, str | os.PathLike | Iterable[str | os.PathLike] | None],
) -> Iterator[None]:
    """Check outputs against inputs, then hold each output's lock.

    :func:`check_outputs` first, then an :class:`OutputLock` on each output
    until the block ends.

    Parameters
    ----------
    outputs, inputs : mapping
        As for :func:`check_outputs`.

    Raises
    ------
    OutputError
        If an output clashes with an input or another output, is a folder,
        or is being written by another run.

    Examples
    --------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "p.csv")
    >>> with claim_outputs({"-o": out}, {"input": ["a.wav"]}):
    ...     os.path.exists(lock_path(out))
    True
    """
    check_outputs(outputs, inputs)
    with contextlib.ExitStack() as stack:
        for path in dict.fromkeys(p for p in outputs.values() if p is not None):
            stack.enter_context(OutputLock(path))
        yield
