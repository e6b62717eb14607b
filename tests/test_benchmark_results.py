"""The benchmark sections in docs/benchmarks.md can be remade from the repository.

The "Arousal and valence" section is made from the runs saved in
``benchmarks/results/dimensions/``; its "Made with" line names them. Remade
with that line (``--report-only``: no recordings read, nothing run), the
table must be the one on the page, so a file that is changed, lost or left
out of the line fails here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "benchmarks.md"
SAVED = "benchmarks/results/dimensions"


def _section(text: str, name: str) -> str:
    return text.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]


def _table(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| ")]


def test_dimensions_section_is_remade_from_the_saved_runs(capsys, monkeypatch):
    from benchmarks import dimensions

    section = _section(PAGE.read_text(encoding="utf-8"), "dimensions")
    command = re.search(r"Made with `python -m benchmarks\.dimensions (.*?)`", section)
    assert command, "the section has no 'Made with' line"
    argv = shlex.split(command.group(1))
    assert "--report-only" in argv
    files = argv[argv.index("--include") + 1:]
    assert files and all(f.startswith(f"{SAVED}/") for f in files), (
        f"the section names saved runs outside {SAVED}/")
    monkeypatch.chdir(REPO)
    assert dimensions.main([*argv, "--no-docs"]) == 0
    remade = capsys.readouterr().out
    page_rows, remade_rows = _table(section), _table(remade)
    assert len(page_rows) > 10
    assert remade_rows == page_rows


def test_report_only_reads_no_recordings(tmp_path, capsys):
    from benchmarks import dimensions

    first = sorted((REPO / SAVED).glob("*.json"))[0]
    assert dimensions.main(["--report-only", "--no-docs", "--include", str(first),
                            "--emodb", str(tmp_path / "absent"),
                            "--ravdess", str(tmp_path / "absent")]) == 0
    assert "| features |" in capsys.readouterr().out


@pytest.mark.parametrize("path", sorted((REPO / SAVED).glob("*.json")),
                         ids=lambda p: p.name)
def test_every_saved_run_is_named_in_the_section(path):
    section = _section(PAGE.read_text(encoding="utf-8"), "dimensions")
    assert f"{SAVED}/{path.name}" in section, (
        f"{path.name} is kept but not used: name it in the section's --include, "
        "or remove it")
