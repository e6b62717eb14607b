"""Helpers shared by the documentation generators.

Makes the checkout's ``sertk`` importable when a generator is run as a
script (``python docs/gen/features.py``) or loaded as a mkdocs hook, and turns
the reStructuredText bits of numpydoc docstrings into Markdown.

Examples
--------
>>> rst_to_md("See :class:`~sertk.settings.AnalysisSettings` and ``f0_min``.")
'See `AnalysisSettings` and `f0_min`.'
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: The repository root (two levels above this file).
ROOT = Path(__file__).resolve().parents[2]
#: The documentation source folder.
DOCS = ROOT / "docs"



def ensure_path() -> None:
    """Put the checkout first on ``sys.path`` so ``import sertk`` finds it.

    Examples
    --------
    >>> ensure_path()
    >>> str(ROOT) in sys.path
    True
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


ensure_path()

_ROLE = re.compile(r":[a-z]+:`([^`<]*?)(?:\s*<([^`>]+)>)?`")
_SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}$", re.MULTILINE)


def _role_text(match: re.Match) -> str:
    text, target = match.group(1), match.group(2)
    if target is not None and text:
        return f"`{text.strip()}`"
    name = (target or text).strip()
    if name.startswith("~"):
        name = name[1:].rsplit(".", 1)[-1]
    return f"`{name}`"


def rst_to_md(text: str) -> str:
    """Convert the inline reStructuredText of a docstring to Markdown.

    Parameters
    ----------
    text : str
        Docstring text with roles (``:class:`~a.B```) and double-backtick
        literals.

    Returns
    -------
    str
        The same text with roles and literals as Markdown code spans.

    Examples
    --------
    >>> rst_to_md(":func:`parse_feature_name` splits ``f0_hz__mean``")
    '`parse_feature_name` splits `f0_hz__mean`'
    """
    text = _ROLE.sub(_role_text, text)
    return re.sub(r"``(.+?)``", r"`\1`", text)


def docstring_body(doc: str | None) -> str:
    r"""Return a docstring without its numpydoc sections and RST tables.

    Parameters
    ----------
    doc : str or None
        A cleaned docstring (``inspect.getdoc``).

    Returns
    -------
    str
        The prose before the first section heading (Examples, Parameters...),
        simple RST tables removed, as Markdown.

    Examples
    --------
    >>> docstring_body("Summary.\n\nMore ``x``.\n\nExamples\n--------\n>>> 1")
    'Summary.\n\nMore `x`.'
    """
    text = doc or ""
    match = _SECTION.search(text)
    if match:
        text = text[: match.start()]
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip())
                  if p and not p.lstrip().startswith("===")]
    return rst_to_md("\n\n".join(paragraphs))


def md_cell(text: str) -> str:
    r"""Make text safe for one Markdown table cell.

    One line, pipes escaped, and ``<``/``>`` outside code spans escaped so
    that ``<output stem>`` is not taken for HTML.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str

    Examples
    --------
    >>> md_cell("a | b\n  <c> `<d>`")
    'a \\| b &lt;c&gt; `<d>`'
    """
    parts = " ".join(text.split()).replace("|", "\\|").split("`")
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)
