"""Write the command-line reference from the tools' own argument parsers.

Every module ``sertk/cli/<name>.py`` that defines ``build_parser()``
(returning an :class:`argparse.ArgumentParser`) gets a section; modules whose
name starts with ``_`` are helpers and are skipped. The command's name is
its console script in ``setup.cfg`` (``sertk-extract = sertk.cli.extract:main``),
or ``sertk-<name>`` when it has none. The mkdocs hook renders this page at
every build, so a new command appears without anyone running anything; to
preview it::

    python docs/gen/cli.py            # print the page
    python docs/gen/cli.py -o cli.md  # or write it to a file

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(description="Say hello.")
>>> _ = parser.add_argument("--name", default="world", help="whom to greet")
>>> print(render_parser("hello", parser).splitlines()[0])
## `hello`
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import importlib
import inspect
import os
import pkgutil
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from _common import ROOT, ensure_path, md_cell, rst_to_md

#: The package whose modules are the commands.
PACKAGE = "sertk.cli"
#: Width the usage lines are wrapped at.
WIDTH = 88


def console_scripts(setup_cfg: Path = ROOT / "setup.cfg") -> dict[str, str]:
    """Map each ``sertk.cli`` module to its console-script name.

    Parameters
    ----------
    setup_cfg : Path
        The ``setup.cfg`` holding ``[options.entry_points] console_scripts``.

    Returns
    -------
    dict of str to str
        Module name (``"sertk.cli.extract"``) -> script (``"sertk-extract"``).

    Examples
    --------
    >>> console_scripts(Path("no/such/setup.cfg"))
    {}
    """
    parser = configparser.ConfigParser()
    parser.read(setup_cfg, encoding="utf-8")
    text = parser.get("options.entry_points", "console_scripts", fallback="")
    scripts = {}
    for line in text.splitlines():
        name, sep, target = line.partition("=")
        if sep:
            scripts[target.strip().split(":")[0]] = name.strip()
    return scripts


def discover(package: str = PACKAGE
             ) -> Iterator[tuple[str, argparse.ArgumentParser, ModuleType]]:
    """Yield ``(command, parser, module)`` for each module of ``package`` with one.

    Parameters
    ----------
    package : str, default="sertk.cli"
        The package to search.

    Yields
    ------
    command : str
        The console-script name.
    parser : argparse.ArgumentParser
        What the module's ``build_parser()`` returns.
    module : module
        The command's module.

    Examples
    --------
    >>> list(discover("json"))
    []
    """
    ensure_path()
    try:
        pkg = importlib.import_module(package)
    except ModuleNotFoundError:
        return
    scripts = console_scripts()
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        build = getattr(module, "build_parser", None)
        if callable(build):
            name = scripts.get(module.__name__, f"sertk-{info.name}")
            yield name, build(), module


@contextlib.contextmanager
def _columns(width: int) -> Iterator[None]:
    """Fix the width argparse wraps at (it reads ``COLUMNS``)."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def _flags(action: argparse.Action) -> str:
    formatter = argparse.HelpFormatter("x")
    if not action.option_strings:
        return f"`{formatter._format_args(action, action.dest)}`"
    metavar = ""
    if action.nargs != 0:
        metavar = " " + formatter._format_args(action, action.dest.upper())
    return ", ".join(f"`{flag}`" for flag in action.option_strings[:-1]) + (
        ", " if len(action.option_strings) > 1 else "") + (
        f"`{action.option_strings[-1]}{metavar}`")


def _default(action: argparse.Action) -> str:
    if action.option_strings and action.nargs == 0:
        return ""  # a switch: its default is "off"
    if action.default in (None, argparse.SUPPRESS) or action.required:
        return ""
    return f"`{action.default}`"


def _help(action: argparse.Action) -> str:
    raw = action.help or ""
    text = raw
    if "%(" in raw:
        params = {**vars(action), "prog": ""}
        if action.choices is not None:
            params["choices"] = ", ".join(map(str, action.choices))
        text = raw % params
    listed = action.metavar is None or "%(choices)" in raw
    if action.choices is not None and not listed:
        text = text.rstrip()
        if text and not text.endswith("."):
            text += "."
        text += " One of: " + ", ".join(f"`{c}`" for c in action.choices) + "."
    if action.required and action.option_strings:
        text = "**Required.** " + text
    return md_cell(text)


def module_notes(doc: str | None) -> str:
    r"""Return a command module's docstring, after its summary, as Markdown.

    Section headings (``Examples`` / ``--------``) are dropped and
    ``::`` literal blocks become fenced code.

    Parameters
    ----------
    doc : str or None
        The module's cleaned docstring (``inspect.getdoc``).

    Returns
    -------
    str

    Examples
    --------
    >>> print(module_notes("Summary.\n\nExamples\n--------\nRun::\n\n    x -h\n\nOK."))
    Run:
    <BLANKLINE>
    ```text
    x -h
    ```
    <BLANKLINE>
    OK.
    """
    paragraphs = re.split(r"\n\s*\n", (doc or "").strip())[1:]
    out: list[str] = []
    literal = False
    for paragraph in paragraphs:
        paragraph = re.sub(r"^\w[\w ]*\n-{3,}\n?", "", paragraph).rstrip()
        if not paragraph.strip():
            continue
        if literal and paragraph.startswith("    "):
            out.append("```text\n" + textwrap.dedent(paragraph) + "\n```")
            literal = False
            continue
        literal = paragraph.endswith("::")
        if literal:
            paragraph = paragraph[:-1]
        out.append(rst_to_md(paragraph))
    return "\n\n".join(out)


def render_parser(command: str, parser: argparse.ArgumentParser,
                  notes: str = "") -> str:
    """Return the Markdown reference of one command.

    Parameters
    ----------
    command : str
        The command's name, used as heading and in the usage line.
    parser : argparse.ArgumentParser
        Its parser.
    notes : str, optional
        Markdown to end the section with (see :func:`module_notes`).

    Returns
    -------
    str
        A section: description, usage, one table per argument group, epilog,
        notes.
    """
    parser.prog = command
    with _columns(WIDTH):
        usage = parser.format_usage().strip()
    lines = [f"## `{command}`", ""]
    if parser.description:
        lines += [parser.description.strip(), ""]
    lines += ["```text", usage, "```", ""]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.help != argparse.SUPPRESS]
        if not actions:
            continue
        lines += [f"**{group.title[:1].upper()}{group.title[1:]}**", ""]
        if group.description:
            lines += [group.description.strip(), ""]
        lines += ["| argument | default | description |", "|---|---|---|"]
        lines += [f"| {_flags(a)} | {_default(a)} | {_help(a)} |" for a in actions]
        lines.append("")
    if parser.epilog:
        lines += ["```text", parser.epilog.strip(), "```", ""]
    if notes:
        lines += [notes, ""]
    return "\n".join(lines)


def render(package: str = PACKAGE) -> str:
    """Return the Markdown of the command-line reference page.

    Parameters
    ----------
    package : str, default="sertk.cli"
        The package whose modules are the commands.

    Returns
    -------
    str
        The whole page, ending in a newline.
    """
    sections = [render_parser(name, parser, module_notes(inspect.getdoc(module)))
                for name, parser, module in discover(package)]
    lines = [
        "# Command-line tools",
        "",
        "<!-- Generated at build time by docs/gen/cli.py from the argument "
        "parsers. -->",
        "",
        "Each tool is a thin layer over the Python API: it parses its "
        "arguments and calls the library. This page is generated from the "
        "tools' argument parsers, so it says what `--help` says.",
        "",
    ]
    if not sections:
        lines += ["!!! note", "", "    No command-line tool is installed yet.", ""]
    return "\n".join(lines + sections).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print (or write) the command-line reference.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path,
                        help="write the page here instead of printing it")
    args = parser.parse_args(argv)
    text = render()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
