"""The library's shape: no import cycles (function-level imports included), every public name listed once."""

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import mmcourse

PACKAGE_ROOT = Path(mmcourse.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The mmcourse modules that `path` imports anywhere -- at the top or inside a function."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(
                f"{base}.{alias.name}" for alias in node.names
            )  # `from . import x`: x may be a module
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE_ROOT.rglob("*.py"))
    known = {module_name(path) for path in files}
    return {module_name(path): imported_modules(path, known) for path in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of nodes (first == last), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_a_cycle_and_only_a_real_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "mmcourse.models.zoo" in graph["mmcourse.checkpoint"]  # imported inside build_by_name
    assert "mmcourse.tasks" in graph["mmcourse.train_cli"]
    assert {"mmcourse.models.classifier", "mmcourse.models.layers"} <= graph["mmcourse.models.matching"]
    assert "mmcourse.checkpoint" in graph["mmcourse.train.callbacks"]  # `from ..checkpoint import ...`


def test_mmcourse_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_library_module_imports_a_command_line_module():
    commands = {"mmcourse.cli", "mmcourse.train_cli", "mmcourse.predict_cli", "mmcourse.export_cli"}
    for module, imports in import_graph().items():
        if module not in commands:
            assert not imports & commands, (
                f"{module} imports {imports & commands}: library work belongs in the library"
            )


PACKAGES = ["mmcourse.numpy_nn", "mmcourse.models", "mmcourse.data", "mmcourse.train"]


@pytest.mark.parametrize("package_name", PACKAGES)
def test_every_public_name_of_a_submodule_is_listed_by_its_package(package_name):
    package = importlib.import_module(package_name)
    source = Path(package.__file__).read_text(encoding="utf-8")
    assert "globals()" not in source and "import *" not in source, "re-exports must be written out"
    assert len(package.__all__) == len(set(package.__all__)), "a name is listed twice"
    public = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package_name}.{info.name}")
        for name in getattr(module, "__all__", []):
            assert name in package.__all__, f"{package_name} does not list {info.name}.{name}"
            assert getattr(package, name) is getattr(module, name)
            public.add(name)
    assert set(package.__all__) == public, f"listed but public nowhere: {set(package.__all__) - public}"


def test_lessons_train_through_the_library_not_the_command_line_module():
    import json
    import re

    # the module, not a name that merely starts the same (lesson 11's train_clip)
    cli_module = re.compile(r"\btrain_cli\b")
    assert cli_module.search("from mmcourse.train_cli import run")
    assert not cli_module.search("def train_clip(pairs):")
    root = PACKAGE_ROOT.parent
    for notebook in sorted(root.glob("notebooks/*.ipynb")) + sorted(root.glob("solutions/*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                assert not cli_module.search(source), f"{notebook.name}: import tasks/config, not the CLI"
