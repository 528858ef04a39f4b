"""Conventions every notebook keeps: the Colab cell first, outputs stored only in solutions/, lesson structure."""

import re
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from mmcourse.authoring import COLAB_SETUP_SOURCE

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted(p for p in (ROOT / "exercises").glob("*.ipynb") if ".backup-" not in p.name)
ALL = LESSONS + SOLUTIONS + EXERCISES


def _read(path):
    return nbformat.read(path, as_version=4)


def _name(path):
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", ALL, ids=_name)
def test_first_code_cell_is_the_colab_setup(path):
    nb = _read(path)
    nbformat.validate(nb)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.source == COLAB_SETUP_SOURCE, (
        f"{_name(path)}: first code cell is not the Colab setup cell"
    )
    # An exercise notebook is not named like its lesson, so that the two tell apart as JupyterLab tabs.
    if path.parent.name == "exercises":
        assert re.fullmatch(r"\d\d_[a-z0-9_]+_exercises\.ipynb", path.name), path.name
        assert (ROOT / "notebooks" / path.name.replace("_exercises.ipynb", ".ipynb")).exists()
    else:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name) and "_exercises" not in path.name


@pytest.mark.parametrize("path", LESSONS + EXERCISES, ids=_name)
def test_lessons_and_exercises_are_stored_without_outputs(path):
    for cell in _read(path).cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{_name(path)} has stored outputs"


@pytest.mark.parametrize("path", SOLUTIONS, ids=_name)
def test_solutions_are_stored_executed_in_order(path):
    counts = [c.execution_count for c in _read(path).cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{_name(path)}: run `mmcourse exercises refresh {path.name}`"
    )


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_lessons_open_with_goals_prerequisites_run_time_and_badges_and_close_with_a_summary(path):
    cells = _read(path).cells
    top = cells[0].source
    for needed in (
        "What you will learn",
        "Prerequisites",
        "Expected run time",
        "colab-badge.svg",
        "mybinder.org",
    ):
        assert needed in top, f"{_name(path)}: the first cell lacks {needed!r}"
    assert f"notebooks/{path.name}" in top, "the Colab badge must open this very notebook"
    closing = "\n".join(c.source for c in cells[-3:] if c.cell_type == "markdown")
    assert "Summary" in closing and "Further reading" in closing, (
        f"{_name(path)}: no summary / further reading at the end"
    )


def _run_colab_cell(on_colab: bool):
    calls = []
    fake_subprocess = types.SimpleNamespace(run=lambda command, **kw: calls.append(command))
    saved = {name: sys.modules.get(name) for name in ("google.colab", "subprocess")}
    try:
        sys.modules["subprocess"] = fake_subprocess
        if on_colab:
            sys.modules["google.colab"] = types.ModuleType("google.colab")
        else:
            sys.modules.pop("google.colab", None)
        exec(COLAB_SETUP_SOURCE, {})
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return calls


def test_colab_cell_does_nothing_outside_colab():
    assert _run_colab_cell(on_colab=False) == []


def test_colab_cell_installs_only_mmcourse_on_colab():
    [command] = _run_colab_cell(on_colab=True)
    assert command[1:4] == ["-m", "pip", "install"] and "--no-deps" in command  # keeps Colab's torch
    packages = [a for a in command[4:] if not a.startswith("-")]
    assert len(packages) == 1 and "mmcourse" in packages[0] and "torch" not in packages[0]


def test_ruff_is_clean_on_library_tests_and_notebooks():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "mmcourse",
            "tests",
            "notebooks",
            "solutions",
            "exercises",
            "run.py",
            "benchmarks",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
