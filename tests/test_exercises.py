"""exercises/ is generated from solutions/: in sync, never over a learner's work, stops at the first stub."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from mmcourse import exercises
from mmcourse.authoring import CHECK_IMPORT, check_cell, solution_cell
from mmcourse.checks import ExerciseFailed
from mmcourse.cli import main as cli
from mmcourse.exercises import BEGIN, END, ExerciseBuildError, strip_solution_regions

ROOT = Path(__file__).resolve().parents[1]
EXERCISE_NOTEBOOKS = sorted((ROOT / "exercises").glob("[0-9]*.ipynb"))
EXERCISE_NOTEBOOKS = [p for p in EXERCISE_NOTEBOOKS if ".backup-" not in p.name]


def test_solution_regions_become_stubs_at_their_indentation():
    source = f"def f(x):\n    y = 1\n    {BEGIN}\n    return x + y\n    {END}\n\nz = 2"
    assert strip_solution_regions(source) == (
        "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nz = 2"
    )


@pytest.mark.parametrize(
    "source, problem",
    [
        (f"{BEGIN}\nx = 1", "never closed"),
        (f"x = 1\n{END}", "without a"),
        (f"{BEGIN}\n{BEGIN}\n{END}", "inside another"),
    ],
)
def test_broken_markers_are_reported(source, problem):
    with pytest.raises(ExerciseBuildError, match=problem):
        strip_solution_regions(source, "solutions/x.ipynb, code cell 3")


def test_repository_exercises_are_in_sync_with_solutions(capsys):
    assert cli(["exercises", "check", "--root", str(ROOT)]) == 0, capsys.readouterr().out


@pytest.fixture
def course_copy(tmp_path):
    """A throw-away copy of solutions/ and exercises/ to edit."""
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def _edit_first_solution(root: Path) -> str:
    path = sorted((root / "solutions").glob("*.ipynb"))[0]
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and BEGIN in c.source)
    cell.source = "# a maintainer's edit, visible in the exercise\n" + cell.source
    nbformat.write(nb, path)
    return path.name


def test_changing_a_solution_without_rebuilding_fails_the_check(course_copy, capsys):
    # The stub hides the solution text, so edit something the learner sees too: a prompt line.
    path = sorted((course_copy / "solutions").glob("*.ipynb"))[0]
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n\nA new sentence in the exercise statement."
    nbformat.write(nb, path)
    assert cli(["exercises", "check", "--root", str(course_copy)]) == 1
    assert f"exercises/{exercises.exercise_name(path.name)} is out of date" in capsys.readouterr().out
    assert cli(["exercises", "build", "--root", str(course_copy)]) == 0
    assert cli(["exercises", "check", "--root", str(course_copy)]) == 0


def test_a_new_solution_notebook_without_its_exercise_fails_the_check(course_copy):
    first = sorted((course_copy / "solutions").glob("*.ipynb"))[0]
    shutil.copy(first, course_copy / "solutions" / "99_new.ipynb")
    problems = exercises.check(course_copy)
    assert any("exercises/99_new_exercises.ipynb is missing" in p for p in problems)


def test_build_never_overwrites_a_learners_work(course_copy, capsys):
    target = EXERCISE_NOTEBOOKS[0].name
    learner_file = course_copy / "exercises" / target
    nb = nbformat.read(learner_file, as_version=4)
    nb.cells[-1].source += "\n# my own notes"
    nbformat.write(nb, learner_file)
    learners_text = learner_file.read_text()
    _edit_first_solution(course_copy)  # the maintainers changed something too

    assert cli(["exercises", "build", "--root", str(course_copy)]) == 1
    err = capsys.readouterr().err
    assert f"exercises/{target}" in err and "--force" in err and "Nothing was written" in err
    assert learner_file.read_text() == learners_text

    assert cli(["exercises", "build", "--force", "--root", str(course_copy)]) == 0
    backups = list((course_copy / "exercises").glob(f"{Path(target).stem}.backup-*.ipynb"))
    assert len(backups) == 1 and backups[0].read_text() == learners_text
    assert learner_file.read_text() != learners_text
    assert exercises.check(course_copy) == []


def test_exercise_notebooks_are_not_named_like_their_lesson():
    assert exercises.exercise_name("01_neuron.ipynb") == "01_neuron_exercises.ipynb"
    for solution in sorted((ROOT / "solutions").glob("*.ipynb")):
        assert (ROOT / "exercises" / exercises.exercise_name(solution.name)).exists()
        assert not (ROOT / "exercises" / solution.name).exists(), f"exercises/{solution.name}: the old name"


def test_a_notebook_under_its_old_name_is_kept_and_reported(course_copy):
    """A learner's work in exercises/NN_name.ipynb, from before the rename, is never touched."""
    new = course_copy / "exercises" / EXERCISE_NOTEBOOKS[0].name
    old = new.with_name(new.name.replace("_exercises.ipynb", ".ipynb"))
    shutil.copy(new, old)
    old.write_text(old.read_text().replace("raise NotImplementedError()", "pass  # my answer"))
    learners_text = old.read_text()
    exercises.build(course_copy, log=lambda _: None)
    assert old.read_text() == learners_text
    [problem] = exercises.check(course_copy)
    assert f"exercises/{old.name} is the old name of exercises/{new.name}" in problem


def test_build_updates_untouched_notebooks_and_records_them(course_copy):
    name = _edit_first_solution(course_copy)
    plans = exercises.build(course_copy, log=lambda _: None)
    assert {p.solution.name: p.action for p in plans}[name] == "update"
    manifest = json.loads((course_copy / "exercises" / exercises.MANIFEST).read_text())
    assert (
        set(manifest)
        == {p.target.name for p in plans}
        == {exercises.exercise_name(p.solution.name) for p in plans}
    )


def test_solution_cells_need_nbgrader_metadata(course_copy):
    path = sorted((course_copy / "solutions").glob("*.ipynb"))[0]
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and BEGIN in c.source)
    del cell.metadata["nbgrader"]
    nbformat.write(nb, path)
    with pytest.raises(ExerciseBuildError, match="no nbgrader metadata"):
        exercises.build(course_copy)


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_nbgrader_metadata_is_complete_and_unique(path):
    nb = nbformat.read(path, as_version=4)
    grade_ids = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if cell.cell_type == "code" and BEGIN in cell.source:
            assert meta and meta["solution"] and not meta["grade"], (
                f"solution cell without nbgrader solution tag: {cell.source[:60]}"
            )
        if (
            cell.cell_type == "code"
            and "check(" in cell.source
            and BEGIN not in cell.source
            and "def " not in cell.source
        ):
            assert meta and meta["grade"] and meta["locked"] and meta["points"] > 0, (
                f"check cell not graded: {cell.source[:60]}"
            )
        if meta:
            grade_ids.append(meta["grade_id"])
    assert len(grade_ids) == len(set(grade_ids)), "duplicate nbgrader grade_id"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_check_cells_import_check_themselves(path):
    """A locked cell must not call a `check` that a learner's cell could have rebound."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert cell.source.startswith(CHECK_IMPORT + "\n"), (
                f"{path.name}, {cell.metadata.nbgrader.grade_id}: a check cell begins with {CHECK_IMPORT!r}; "
                "build it with mmcourse.authoring.check_cell"
            )


def test_rebinding_check_in_a_solution_cell_does_not_defeat_the_check_cell():
    nb = nbformat.read(ROOT / "solutions" / "01_neuron.ipynb", as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    cheat = "def sigmoid(Z):\n    return Z  # wrong\n\n\ncheck = lambda *args: None\n"
    namespace = {}
    exec("import numpy as np\nfrom mmcourse.checks import check", namespace)  # the notebook's setup
    exec(cheat, namespace)
    exec(cells["sigmoid-check"].replace(CHECK_IMPORT, ""), namespace)  # the old check cell: fooled
    with pytest.raises(ExerciseFailed, match="sigmoid"):
        exec(cells["sigmoid-check"], namespace)
    assert check_cell('check("sigmoid", sigmoid)', "g").source == cells["sigmoid-check"]


def test_solution_cells_are_stubbed_and_outputs_cleared():
    solution = nbformat.read(ROOT / "solutions" / "00_welcome.ipynb", as_version=4)
    generated = exercises.exercise_notebook(solution)
    sources = "\n".join(c.source for c in generated.cells)
    assert "### BEGIN SOLUTION" not in sources and "raise NotImplementedError()" in sources
    assert all(
        not c.get("outputs") and c.get("execution_count") is None
        for c in generated.cells
        if c.cell_type == "code"
    )
    assert solution_cell(f"{BEGIN}\nx = 1\n{END}", "g").metadata["nbgrader"]["solution"] is True


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_notebook_stops_at_its_first_stub(path):
    """Run as a learner would before writing anything: all goes well until the first stub."""
    from nbclient.exceptions import CellExecutionError

    from mmcourse.refresh import execute_notebook

    nb = nbformat.read(path, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    first_stub = next(i for i in code if "raise NotImplementedError()" in nb.cells[i].source)
    # A stub inside a function raises only when called: by its check cell, which says "not written yet".
    first_check = next((i for i in code if i > first_stub and "check(" in nb.cells[i].source), first_stub)
    with pytest.raises(CellExecutionError) as info:
        execute_notebook(nb, path.parent, timeout=300)
    ran = [i for i in code if nb.cells[i].get("execution_count")]
    assert info.value.ename in ("NotImplementedError", "ExerciseNotStarted"), (
        f"{path.name} failed with {info.value.ename} at cell {ran[-1]}, before its first stub (cell {first_stub})"
    )
    assert ran[-1] in (first_stub, first_check), (
        f"{path.name} stopped at cell {ran[-1]}, expected the first stub (cell {first_stub}) or its check (cell {first_check})"
    )
