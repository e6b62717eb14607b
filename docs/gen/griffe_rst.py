"""Griffe extension: turn reStructuredText roles in docstrings into code spans.

sertk's numpydoc docstrings use Sphinx roles (``:class:`~sertk.x.Y```,
``:func:`f```), which Markdown would show literally. Loaded by
mkdocstrings (``extensions`` in ``mkdocs.yml``), this rewrites each
docstring with :func:`_common.rst_to_md` before it is parsed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import griffe

if str(Path(__file__).parent) not in sys.path:  # loaded by path, not as a package
    sys.path.insert(0, str(Path(__file__).parent))

from _common import rst_to_md  # noqa: E402


class RstRoles(griffe.Extension):
    """Rewrite RST roles and double-backtick literals as Markdown code."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any,
                    **kwargs: Any) -> None:
        """Rewrite the docstring of every object griffe loads."""
        if obj.docstring is not None:
            obj.docstring.value = rst_to_md(obj.docstring.value)
