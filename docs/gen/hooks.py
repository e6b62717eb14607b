r"""MkDocs hooks: the generated pages and the includes of the sertk site.

- ``cli.md`` is rendered from the argument parsers at every build
  (:mod:`cli`), so a new command appears by itself.
- ``features.md`` is committed; the build warns (an error under
  ``--strict``) when it no longer matches what :mod:`features` renders.
- ``benchmarks.md`` is written by the benchmark scripts; until they have run,
  a placeholder page stands in.
- ``<!-- include PATH#Heading -->`` in a page is replaced by the body of that
  section of the Markdown file ``PATH`` (relative to the repository root),
  its sub-headings raised one level.
- ``<!-- module-map planned: a.b, c.d -->`` is replaced by a table of every
  module of the ``sertk`` package with its docstring's first line, plus the
  listed modules that do not exist yet, marked *planned*.

Examples
--------
>>> print(section("# A\n## B\ntext\n### C\nmore\n## D\n", "B"))
text
## C
more
"""

from __future__ import annotations

import ast
import logging
import re

import cli
import features
from _common import ROOT, ensure_path, md_cell, rst_to_md
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.plugins.sertk_docs")

_MODULE_MAP = re.compile(r"<!--\s*module-map\s+planned:(.*?)-->", re.S)
_INCLUDE = re.compile(r"<!--\s*include\s+(\S+?)#(.+?)\s*-->")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")

_BENCHMARKS_PLACEHOLDER = """# Benchmarks

No benchmark has been run in this checkout yet. The scripts in `benchmarks/`
write their figures, and the commands that produced them, to this page.
"""


def section(text: str, heading: str) -> str:
    """Return the body of a Markdown section, sub-headings raised one level.

    Parameters
    ----------
    text : str
        A Markdown document.
    heading : str
        The section's heading text (case-insensitive).

    Returns
    -------
    str
        The lines after the heading up to the next heading of the same or a
        higher level, stripped.

    Raises
    ------
    KeyError
        If no heading has that text.
    """
    lines = text.splitlines()
    starts = [(i, len(m.group(1))) for i, m in enumerate(map(_HEADING.match, lines))
              if m and m.group(2).lower() == heading.lower()]
    if not starts:
        raise KeyError(heading)
    start, level = starts[0]
    body = []
    in_code = False
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else _HEADING.match(line)
        if match and len(match.group(1)) <= level:
            break
        if match:
            line = line[1:]
        body.append(line)
    return "\n".join(body).strip()


def module_map(planned: list[str]) -> str:
    """Return a Markdown table of the ``sertk`` modules and the planned ones.

    Modules are read with :mod:`ast`, not imported.

    Parameters
    ----------
    planned : list of str
        Dotted module names the design foresees; those not in the checkout
        are listed as planned.

    Returns
    -------
    str
        A table: module, what it holds (its docstring's first line).
    """
    rows = {}
    for path in sorted((ROOT / "sertk").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        rows[name] = f"| `{name}` | {md_cell(rst_to_md(summary))} |"
    for name in planned:
        rows.setdefault(name, f"| `{name}` | *planned* |")
    return "\n".join(["| module | holds |", "|---|---|",
                      *(rows[k] for k in sorted(rows))])


def _module_map(match: re.Match) -> str:
    return module_map([n.strip() for n in match.group(1).split(",") if n.strip()])


def _include(match: re.Match) -> str:
    path, heading = ROOT / match.group(1), match.group(2)
    try:
        return section(path.read_text(encoding="utf-8"), heading)
    except (OSError, KeyError) as exc:
        raise PluginError(f"cannot include section {heading!r} of {path}: "
                          f"{type(exc).__name__} {exc}") from None


def on_config(config):
    """Make the checkout's ``sertk`` importable during the build."""
    ensure_path()
    return config


def on_files(files: Files, config) -> Files:
    """Add the generated pages and check the committed features page."""
    files.append(File.generated(config, "cli.md", content=cli.render()))
    if files.get_file_from_path("benchmarks.md") is None:
        files.append(File.generated(config, "benchmarks.md",
                                    content=_BENCHMARKS_PLACEHOLDER))
    committed = features.PAGE.read_text(encoding="utf-8")
    if committed != features.render():
        log.warning("docs/features.md is out of date with the code: run "
                    "python docs/gen/features.py and commit the result")
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace the ``include`` and ``module-map`` markers."""
    return _MODULE_MAP.sub(_module_map, _INCLUDE.sub(_include, markdown))
