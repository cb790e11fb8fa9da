"""The package's layers: idea modules never reach the course layer or a plotting/widget library, each lesson
reaches only earlier lessons, and nothing imports in a cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "swinlab"
IDEA_MODULES = [
    "patches",
    "windows",
    "complexity",
    "relative_position",
    "shift",
    "merging",
    "attention",
    "model",
    "data",
    "train",
    "bench",
    "vit",
    "reference_run",
    "race",
    "ablate",
]
FORBIDDEN = ("matplotlib", "ipywidgets", "IPython", "swinlab.course")


def _imports(path: Path, skip_cli: bool = True) -> set[str]:
    """Absolute names of every module ``path`` imports, at any depth, except inside a command-line ``main()``."""
    tree = ast.parse(path.read_text())
    package = "swinlab" if path.parent == PACKAGE else "swinlab.course"
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if skip_cli and isinstance(child, ast.FunctionDef) and child.name == "main":
                continue  # the command line may draw its curves (see train.main)
            if isinstance(child, ast.Import):
                names.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    mod = f"{base}.{child.module}" if child.module else base
                    names.update([mod] if child.module else [f"{base}.{a.name}" for a in child.names])
                else:
                    names.add(child.module or "")
            visit(child)

    visit(tree)
    return names


@pytest.mark.parametrize("name", IDEA_MODULES)
def test_idea_module_never_imports_plotting_widgets_or_the_course_layer(name):
    bad = sorted(n for n in _imports(PACKAGE / f"{name}.py") if n.startswith(FORBIDDEN))
    assert not bad, f"swinlab/{name}.py imports {bad}"


def test_importing_every_idea_module_loads_no_plotting_or_widget_library():
    code = (
        f"import sys; import {', '.join('swinlab.' + m for m in IDEA_MODULES)}; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {{'matplotlib', 'ipywidgets'}} "
        "or m.startswith('swinlab.course')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def _graph() -> dict[str, set[str]]:
    files = [*PACKAGE.glob("*.py"), *(PACKAGE / "course").glob("*.py")]
    mods = {}
    for f in files:
        mod = "swinlab" + ("" if f.parent == PACKAGE else ".course")
        mod += "" if f.stem == "__init__" else f".{f.stem}"
        mods[mod] = f
    return {m: {n for n in _imports(f, skip_cli=False) if n in mods and n != m} for m, f in mods.items()}


def test_the_package_has_no_import_cycle():
    graph, state = _graph(), {}

    def walk(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(nxt) :], nxt]))
            if nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])


def test_a_lesson_file_imports_no_later_lesson():
    for f in sorted((PACKAGE / "course").glob("lesson*.py")):
        number = int(f.stem[6:8])
        later = sorted(
            n
            for n in _imports(f, skip_cli=False)
            if n.startswith("swinlab.course.lesson") and int(n.split(".")[-1][6:8]) > number
        )
        assert not later, f"{f.name} imports later lessons {later}"
