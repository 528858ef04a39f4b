"""The checks framework: registry, hints, and how a learner's mistakes are reported."""

import re
from pathlib import Path

import numpy as np
import pytest

from mmcourse.checks import ExerciseFailed, check, get_exercise, list_exercises

ROOT = Path(__file__).resolve().parents[1]


def reference_column_means(X):
    return X.mean(axis=1, keepdims=True)


def test_correct_answer_prints_one_line_and_returns_none(capsys):
    # None, not True: Jupyter would echo a True under the ✓ line, and nbgrader autograde would
    # warn that the cell's output "True" cannot be read as a score.
    assert check("column_means", reference_column_means) is None
    out = capsys.readouterr().out
    assert out.startswith("✓ column_means: ") and out.count("\n") == 1


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda X: X.mean(axis=0), "axis=1"),
        (lambda X: X.mean(axis=0, keepdims=True), "axis=1"),
        (lambda X: X.mean(axis=1), "keepdims=True"),
        (lambda X: X.sum(axis=1, keepdims=True), "sums"),
        (lambda X: np.median(X, axis=1, keepdims=True), "values are wrong"),
        (lambda X: X.mean(axis=1, keepdims=True).T, "transposed"),
        (lambda X: None, "forget `return`"),
    ],
)
def test_plausible_wrong_answers_get_a_hint_about_the_mistake(wrong, fragment):
    with pytest.raises(ExerciseFailed) as info:
        check("column_means", wrong)
    message = str(info.value)
    assert message.startswith("✗ column_means: ")
    assert fragment in message


def test_a_non_callable_answer_is_explained():
    with pytest.raises(ExerciseFailed, match="Pass the function itself"):
        check("column_means", np.zeros((3, 1)))


def test_unknown_exercise_lists_close_matches():
    with pytest.raises(ValueError, match=r"Did you mean 'column_means'\?"):
        check("colum_mean", reference_column_means)
    with pytest.raises(ValueError, match="Known exercises:"):
        check("nope", reference_column_means)
    with pytest.raises(TypeError, match="must be a string"):
        check(reference_column_means, reference_column_means)


def test_a_learners_exception_becomes_a_hint_naming_the_case_and_line(tmp_path):
    # A learner's function defined in a file, so its source line can be quoted.
    source = "def column_means(X):\n    total = X.sum(axis=1)\n    return total / X.shape[7]\n"
    path = tmp_path / "learner.py"
    path.write_text(source)
    namespace = {}
    exec(compile(source, str(path), "exec"), namespace)
    with pytest.raises(ExerciseFailed) as info:
        check("column_means", namespace["column_means"])
    message = str(info.value)
    assert "IndexError" in message and "a 3 x 5 batch" in message
    assert "line 3 of your code" in message and "X.shape[7]" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no library traceback chained


def test_a_stub_that_is_not_written_yet_says_so():
    def column_means(X):
        # YOUR CODE HERE
        raise NotImplementedError()

    with pytest.raises(ExerciseFailed, match="not written yet"):
        check("column_means", column_means)


def test_learner_cannot_spoil_the_cases_by_editing_inputs_in_place():
    def destructive(X):
        means = X.mean(axis=1, keepdims=True)
        X[:] = 0
        return means

    assert check("column_means", destructive) is None


def test_every_exercise_belongs_to_a_lesson_and_is_checked_in_its_solutions():
    registered = {e.id: e for e in list_exercises()}
    assert registered, "no exercises registered"
    checked_in_solutions = {}
    for solution in (ROOT / "solutions").glob("*.ipynb"):
        for exercise_id in re.findall(r'check\(\\"([\w-]+)\\"', solution.read_text()):
            checked_in_solutions[exercise_id] = solution.stem
    for exercise_id, entry in registered.items():
        assert (ROOT / "notebooks" / f"{entry.lesson}.ipynb").exists(), (
            f"{exercise_id}: no lesson {entry.lesson}"
        )
        assert exercise_id in checked_in_solutions, f"{exercise_id} is never checked in solutions/"
        assert checked_in_solutions[exercise_id] == entry.lesson, (
            f"{exercise_id} belongs to lesson {entry.lesson} but is checked in solutions/{checked_in_solutions[exercise_id]}"
        )
    unknown = set(checked_in_solutions) - set(registered)
    assert not unknown, f"solutions call check() on unregistered ids: {unknown}"
    assert get_exercise("column_means").lesson == "00_welcome"


def test_in_jupyter_a_failed_check_shows_the_hint_without_a_library_traceback():
    import nbformat
    from nbclient import NotebookClient

    cells = [
        "from mmcourse.checks import check",
        "def column_means(X):\n    return X.means(axis=1)\ncheck('column_means', column_means)",
        "check('column_means', lambda X: X.mean(axis=0))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120).execute()
    for cell, fragment in zip(nb.cells[1:], ["line 2 of your code (`return X.means(axis=1)`)", "axis=1"]):
        [error] = [o for o in cell.outputs if o.output_type == "error"]
        assert error.ename == "ExerciseFailed" and fragment in error.evalue
        shown = "\n".join(error.traceback)
        assert "mmcourse" not in shown and "core.py" not in shown, shown
