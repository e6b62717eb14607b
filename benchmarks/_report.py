"""Write a benchmark's figures into its own section of ``docs/benchmarks.md``.

Each benchmark owns one section, delimited by ``<!-- NAME:start -->`` and
``<!-- NAME:end -->`` markers; :func:`update_section` replaces only what lies
between them, leaving the rest of the page (other benchmarks' sections, prose
written by hand) untouched. A section not yet on the page is appended under a
``## Title`` heading.

Examples
--------
>>> import tempfile, os
>>> page = os.path.join(tempfile.mkdtemp(), "benchmarks.md")
>>> _ = update_section("memory", "Peak: 300 MB.", path=page)
>>> _ = update_section("memory", "Peak: 310 MB.", path=page)
>>> print(open(page).read(), end="")
# Benchmarks
<BLANKLINE>
## Memory
<BLANKLINE>
<!-- memory:start -->
Peak: 310 MB.
<!-- memory:end -->
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

__all__ = ["BENCHMARKS_PAGE", "update_section"]

#: The page every benchmark writes to.
BENCHMARKS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def update_section(
    name: str,
    markdown: str,
    *,
    title: str | None = None,
    path: str | os.PathLike = BENCHMARKS_PAGE,
) -> Path:
    """Replace the text between a section's markers (or append the section).

    Parameters
    ----------
    name : str
        Section name, lower case letters, digits, ``-`` and ``_``
        (``"memory"``); the markers are ``<!-- name:start -->`` and
        ``<!-- name:end -->``.
    markdown : str
        The new content between the markers.
    title : str, optional
        Heading used when the section is appended; ``name`` capitalised when
        omitted. An existing section keeps its heading.
    path : str or os.PathLike, default=BENCHMARKS_PAGE
        The page; created (with a ``# Benchmarks`` title) if missing.

    Returns
    -------
    pathlib.Path
        The page written.

    Raises
    ------
    ValueError
        If ``name`` is not a valid section name, or the page has the start
        marker without the end marker after it (fix the page by hand).

    Examples
    --------
    >>> import tempfile, os
    >>> page = os.path.join(tempfile.mkdtemp(), "b.md")
    >>> written = update_section("speed", "12 files/s", path=page)
    >>> written.read_text().splitlines()[-3:]
    ['<!-- speed:start -->', '12 files/s', '<!-- speed:end -->']
    """
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"section name must be lower case letters, digits, '-' or '_', "
            f"got {name!r}")
    path = Path(path)
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    body = f"{start}\n{markdown.strip()}\n{end}"
    exists = path.exists()
    page = path.read_text(encoding="utf-8") if exists else "# Benchmarks\n"
    before, found, rest = page.partition(start)
    if found:
        _, found_end, after = rest.partition(end)
        if not found_end:
            raise ValueError(
                f"{path} has {start!r} but no {end!r} after it; add the end "
                "marker (or remove the section) and run again")
        page = before + body + after
    else:
        heading = title or name.capitalize()
        page = page.rstrip("\n") + f"\n\n## {heading}\n\n{body}\n"
    # Atomic: a reader (mkdocs serve) never sees a half-written page.
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.chmod(tmp, path.stat().st_mode if exists else 0o644)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(page)
    os.replace(tmp, path)
    return path
