"""The package's shape: no import circle, imports only upwards, no shared private name.

Every module's imports are read with :mod:`ast` (module level and inside
functions alike), never by importing it, so a circle hidden in a function
body counts as much as one at the top of a file.
"""

import ast
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "sertk"

#: The layers, top down: a module may import from its own layer and those
#: above it, and from the shared ground (modules at the package's root).
LAYERS = ("audio", "features", "models", "evaluation", "timeline", "io", "cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, path: Path) -> list[tuple[str, str, int]]:
    """Return (module, imported name or "", line) for each import in a file.

    ``from a import b`` gives module ``a.b`` when that is a module of the
    package, else ``a`` with the name ``b``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in MODULES:
                    found.append((full, "", node.lineno))
                else:
                    found.append((base, alias.name, node.lineno))
    return found


def graph() -> dict[str, set[str]]:
    return {name: {m for m, _, _ in imports(name, path)
                   if m in MODULES and m != name}
            for name, path in MODULES.items()}


def test_the_import_reader_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("import os\n\ndef f():\n    from sertk.errors import SertkError\n")
    assert [m for m, _, _ in imports("sertk.m", path)] == ["os", "sertk.errors"]


def test_no_module_imports_itself_back_through_a_circle():
    edges = graph()
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == [], "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def layer(name: str) -> int | None:
    """Index of a module's layer in LAYERS; None for the shared ground."""
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) >= 2 and parts[1] in LAYERS else None


def test_layers_import_only_from_layers_above_them():
    wrong = []
    for name, path in MODULES.items():
        mine = layer(name)
        for module, _, line in imports(name, path):
            theirs = layer(module) if module.startswith("sertk.") else None
            if theirs is not None and (mine is None and name != "sertk"
                                       or mine is not None and theirs > mine):
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    assert wrong == []


SCRIPTS = [p for folder in ("sertk", "benchmarks", "scripts")
           for p in sorted((REPO / folder).rglob("*.py"))]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_private_name_is_imported_from_another_module(path):
    # Private modules (sertk.features._batch) are fine; their private names
    # are not: what another module needs is public.
    name = module_name(path) if path.is_relative_to(PACKAGE) else path.stem
    private = [f"{module}.{imported} (line {line})"
               for module, imported, line in imports(name, path)
               if module.startswith("sertk") and imported.startswith("_")
               and not imported.startswith("__")]
    assert private == []
