"""librosa, imported where a contour first needs it, with a numba cache that works.

librosa imports numba and llvmlite (well over 100 MB of a process's memory)
and compiles some of its functions to machine code when its modules are
first imported. numba caches that code (librosa asks for ``cache=True``): in
the ``__pycache__`` folders beside librosa's sources when they are writable,
else in the user's cache (``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``),
else in ``$NUMBA_CACHE_DIR`` when it is set. So the compile happens once per
installation (or user), not once per process. When none of these places is
writable, importing librosa fails ("cannot cache function ...: no locator
available"); :func:`load_librosa` then points ``NUMBA_CACHE_DIR`` at a folder
of sertk's in the temporary directory before numba is first imported.

Only the processes that compute contours call :func:`load_librosa`: not
``import sertk``, not the process that hands files to workers, not a
process that loads or applies a model to feature tables.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

__all__ = ["import_spectral", "load_librosa", "numba_cache_dir"]


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists, or can be made, and takes a new file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def numba_cache_dir() -> str | None:
    """Return the folder to give numba as its cache, or None if it finds its own.

    None when ``NUMBA_CACHE_DIR`` is set, when numba is already imported
    (too late to change), when librosa is not installed, or when librosa's
    ``__pycache__`` or the user's numba cache folder is writable. Otherwise
    ``<temp dir>/sertk-numba-cache-<user id>``.

    Returns
    -------
    str or None

    Examples
    --------
    >>> numba_cache_dir() is None or numba_cache_dir().startswith(tempfile.gettempdir())
    True
    """
    if os.environ.get("NUMBA_CACHE_DIR") or "numba" in sys.modules:
        return None
    spec = importlib.util.find_spec("librosa")
    if spec is None or spec.origin is None:
        return None
    user_cache = Path(os.environ.get("XDG_CACHE_HOME")
                      or Path("~/.cache").expanduser()) / "numba"
    if _writable(Path(spec.origin).parent / "__pycache__") or _writable(user_cache):
        return None
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    return str(Path(tempfile.gettempdir()) / f"sertk-numba-cache-{uid}")


def load_librosa() -> ModuleType:
    """Import librosa (lazily loaded submodules) with a writable numba cache.

    Returns
    -------
    module
        ``librosa``; its submodules load on first attribute access.

    Examples
    --------
    >>> load_librosa().__name__
    'librosa'
    """
    if "librosa" not in sys.modules:
        folder = numba_cache_dir()
        if folder is not None:
            os.environ["NUMBA_CACHE_DIR"] = folder
    import librosa

    return librosa


def import_spectral() -> None:
    """Import now the librosa submodules the contours call.

    They load on first use anyway; a worker process that calls this when it
    starts pays librosa's import (and, the first time on a machine, numba's
    compile) before it takes a task, rather than inside its first one, where
    it would delay a shutdown.

    Examples
    --------
    >>> import_spectral()
    >>> import sys; "librosa.feature.spectral" in sys.modules
    True
    """
    load_librosa()
    importlib.import_module("librosa.feature.spectral")
