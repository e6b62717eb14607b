"""The documentation: generated pages are fresh, the site builds, examples run."""

from __future__ import annotations

import argparse
import doctest
import importlib
import importlib.util
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import sertk

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GEN = DOCS / "gen"
sys.path.insert(0, str(GEN))

import cli  # noqa: E402  (docs/gen/cli.py)
import features  # noqa: E402  (docs/gen/features.py)

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _sertk_modules() -> list[str]:
    names = [sertk.__name__]
    for info in pkgutil.walk_packages(sertk.__path__, prefix="sertk."):
        names.append(info.name)
    return sorted(names)


def _doctests(module_name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder()
    return [t for t in finder.find(module, module_name) if t.examples]


def _run(test: doctest.DocTest) -> None:
    lines: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=lines.append)
    failed = runner.summarize(verbose=False).failed
    assert failed == 0, f"doctest {test.name} failed:\n" + "".join(lines)


DOCTESTS = [t for name in _sertk_modules() for t in _doctests(name)]


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_sertk_docstring_examples_run(test):
    _run(test)


def test_every_public_module_has_examples_somewhere():
    # The collection above must find the package's examples; an empty list
    # would make the parametrized test vacuous.
    assert len(DOCTESTS) > 20
    assert {"sertk.features.extractor.extract_signal",
            "sertk.features.feature_sets"} <= {t.name for t in DOCTESTS}


@pytest.mark.parametrize("name", ["_common", "features", "cli", "hooks"])
def test_generator_examples_run(name):
    if name == "hooks":
        pytest.importorskip("mkdocs", reason="hooks.py imports mkdocs")
    module = importlib.import_module(name)
    for test in doctest.DocTestFinder().find(module, name):
        _run(test)


def _pages_with_examples() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if ">>> " in p.read_text("utf-8"))


@pytest.mark.parametrize("page", _pages_with_examples(), ids=lambda p: p.name)
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = page.read_text(encoding="utf-8")
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, page.name, str(page), 0)
    _run(test)


def test_features_page_matches_the_code(tmp_path):
    fresh = tmp_path / "features.md"
    assert features.main(["--output", str(fresh)]) == 0
    committed = (DOCS / "features.md").read_text(encoding="utf-8")
    assert fresh.read_text(encoding="utf-8") == committed, (
        "docs/features.md is out of date with the code: run "
        "`python docs/gen/features.py` and commit docs/features.md")


def test_features_check_flag_detects_a_stale_page(tmp_path, capsys):
    stale = tmp_path / "features.md"
    stale.write_text("# Features\n", encoding="utf-8")
    assert features.main(["--check", "--output", str(stale)]) == 1
    assert "python docs/gen/features.py" in capsys.readouterr().err


def test_features_page_lists_every_column_of_every_set():
    text = (DOCS / "features.md").read_text(encoding="utf-8")
    for fs in sertk.features.feature_sets.FEATURE_SETS.values():
        names = fs.feature_names()
        assert f"### `{fs.name}` ({len(names)} columns)" in text
        for name in names:
            assert f"| `{name}` |" in text, name


def test_unit_follows_the_functional():
    assert features.unit_of("mean", "Hz") == "Hz"
    assert features.unit_of("cv", "Hz") == "ratio"
    assert features.unit_of("slope", "dB re 2e-5") == "(dB re 2e-5)/s"


def _entry_point_modules() -> dict[str, str]:
    return {module: script for module, script in cli.console_scripts().items()
            if module.startswith("sertk.cli.")}


def test_every_console_script_is_on_the_cli_page():
    page = cli.render()
    for module, script in _entry_point_modules().items():
        importlib.import_module(module)
        assert f"## `{script}`" in page, (
            f"{script} ({module}) is missing from the CLI reference: its module "
            "must define build_parser() returning its ArgumentParser")


def test_cli_page_documents_each_option():
    for script, parser, _ in cli.discover():
        section = cli.render_parser(script, parser)
        for action in parser._actions:
            for flag in action.option_strings:
                assert f"`{flag}" in section, (script, flag)


def test_render_parser_shows_defaults_choices_and_required():
    parser = argparse.ArgumentParser(description="Do a thing.", epilog="see also")
    parser.add_argument("inputs", nargs="+", help="files")
    parser.add_argument("-o", "--output", required=True, help="a <stem>.csv file")
    parser.add_argument("--mode", choices=["a", "b"], metavar="M", default="a",
                        help="how")
    parser.add_argument("--fast", action="store_true", help="go fast")
    text = cli.render_parser("tool", parser)
    assert text.startswith("## `tool`\n\nDo a thing.")
    assert "usage: tool" in text
    row = "| `-o`, `--output OUTPUT` |  | **Required.** a &lt;stem&gt;.csv file |"
    assert row in text
    assert "| `--mode M` | `a` | how. One of: `a`, `b`. |" in text
    assert "| `--fast` |  | go fast |" in text
    assert "see also" in text


def test_discover_finds_build_parser_modules(tmp_path, monkeypatch):
    package = tmp_path / "fakecli"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "hello.py").write_text(
        "import argparse\n"
        "def build_parser():\n"
        "    return argparse.ArgumentParser(description='Greet.')\n")
    (package / "_helpers.py").write_text("def build_parser(): raise AssertionError\n")
    (package / "noparser.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = [(name, parser.description) for name, parser, _ in cli.discover("fakecli")]
    assert found == [("sertk-hello", "Greet.")]


def test_mkdocs_build_is_strict_clean(tmp_path):
    for package in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} is not installed (pip install -e '.[docs]')")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    html = {page: (site / page / "index.html").read_text(encoding="utf-8")
            for page in ("api", "cli", "corpora", "features", "architecture")}
    assert "FeatureExtractor" in html["api"]
    assert ":class:" not in html["api"]  # RST roles are rewritten
    for script in _entry_point_modules().values():
        assert script in html["cli"]
    assert "EMO-DB" in html["corpora"]
    assert "include data/README.md" not in html["corpora"]
    assert "sertk.features.extractor" in html["architecture"]
