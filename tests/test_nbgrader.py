"""The instructor recipe of README.md, run with the real nbgrader on lesson 01.

generate_assignment turns a solutions notebook into what learners get; autograde scores three
submissions: the notebook as released (0 points), the solutions (full marks), and a wrong
sigmoid whose cell also rebinds `check` (that point lost, the others kept).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader", reason="nbgrader is a dev dependency: pip install -e '.[dev]'")

ROOT = Path(__file__).resolve().parents[1]
LESSON = "01_neuron"
NOTEBOOK = f"{LESSON}_exercises.ipynb"  # the released name: the same as the course's exercises/ notebook

WRONG_SIGMOID = '''def sigmoid(Z):
    """A wrong answer that also tries to switch the check off."""
    return np.asarray(Z, dtype=float)


check = lambda *args: None  # noqa: E731
'''


def _nbgrader(course: Path, *args: str) -> str:
    # nbgrader runs `alembic` as a program, so the environment's scripts must be on PATH.
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _submit(course: Path, student: str, nb) -> None:
    folder = course / "submitted" / student / LESSON
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / NOTEBOOK)


def _with_answers(released, solution, replace=None):
    """The released notebook with every solution cell filled in from `solution` (or `replace`)."""
    answers = {c.metadata.nbgrader.grade_id: c.source for c in solution.cells if "nbgrader" in c.metadata}
    answers.update(replace or {})
    nb = nbformat.from_dict(released)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    return nb


def test_generate_then_autograde_three_submissions(tmp_path):
    from nbgrader.api import Gradebook

    course = tmp_path / "grading"
    (course / "source" / LESSON).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / f"{LESSON}.ipynb", course / "source" / LESSON / NOTEBOOK)
    _nbgrader(course, "generate_assignment", LESSON)

    released = nbformat.read(course / "release" / LESSON / NOTEBOOK, as_version=4)
    ours = nbformat.read(ROOT / "exercises" / NOTEBOOK, as_version=4)
    assert [c.source for c in released.cells] == [c.source for c in ours.cells], (
        "nbgrader's release differs from exercises/: the two stubbing rules have drifted apart"
    )

    solution = nbformat.read(ROOT / "solutions" / f"{LESSON}.ipynb", as_version=4)
    _submit(course, "unmodified", released)
    _submit(course, "solved", _with_answers(released, solution))
    _submit(course, "cheater", _with_answers(released, solution, {"sigmoid-solution": WRONG_SIGMOID}))
    log = _nbgrader(course, "autograde", LESSON)
    assert "cannot be converted to a float" not in log, "a check cell's output was read as a score"

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {
            student: gradebook.find_submission(LESSON, student).score
            for student in ("unmodified", "solved", "cheater")
        }
        full = gradebook.find_assignment(LESSON).max_score
        sigmoid = gradebook.find_grade("sigmoid-check", NOTEBOOK[: -len(".ipynb")], LESSON, "cheater")
        cheater_sigmoid = sigmoid.score
    print(f"nbgrader scores out of {full}: {scores}")
    assert full == 4
    assert scores == {"unmodified": 0, "solved": full, "cheater": full - 1}, scores
    assert cheater_sigmoid == 0
