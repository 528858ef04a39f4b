"""Generate the learner's notebooks in exercises/ from the solutions in solutions/.

solutions/NN_name.ipynb becomes exercises/NN_name_exercises.ipynb: a name that differs from
its lesson's notebooks/NN_name.ipynb, so that the two tell apart as tabs in JupyterLab.

solutions/ is the single source of truth. In every code cell, each region

    ### BEGIN SOLUTION
    ...the answer...
    ### END SOLUTION

becomes, at the indentation of its BEGIN marker,

    # YOUR CODE HERE
    raise NotImplementedError()

and outputs and execution counts are cleared. These are nbgrader's markers, so an
instructor can also run nbgrader on the same files.

`build` never destroys a learner's work: exercises/.generated.json records a hash of
every notebook it wrote, by that notebook's name. A notebook whose content no longer matches that hash has been
edited (a learner filled it in), and `build` refuses to overwrite it unless asked to
with `force=True`, which first copies it to a timestamped backup.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MANIFEST = ".generated.json"
SUFFIX = "_exercises"

_BEGIN_LINE = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\s*$")
_END_LINE = re.compile(r"^[ \t]*### END SOLUTION\s*$")


class ExerciseBuildError(RuntimeError):
    """Building or checking exercises/ failed; the message says which notebook and what to do."""


def strip_solution_regions(source: str, where: str = "a cell") -> str:
    """Replace every BEGIN/END SOLUTION region of `source` with the stub, keeping indentation."""
    lines, out, inside, indent = source.split("\n"), [], False, ""
    for number, line in enumerate(lines, start=1):
        begin = _BEGIN_LINE.match(line)
        if begin:
            if inside:
                raise ExerciseBuildError(f"{where}, line {number}: {BEGIN} inside another solution region")
            inside, indent = True, begin["indent"]
            out.extend(indent + stub_line for stub_line in STUB)
        elif _END_LINE.match(line):
            if not inside:
                raise ExerciseBuildError(f"{where}, line {number}: {END} without a {BEGIN} before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ExerciseBuildError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def has_solution_region(cell) -> bool:
    return cell.cell_type == "code" and any(_BEGIN_LINE.match(line) for line in cell.source.split("\n"))


def exercise_notebook(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The learner's version of a solution notebook: stubs instead of answers, no outputs."""
    nb = copy.deepcopy(solution)
    regions = 0
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        if has_solution_region(cell):
            regions += 1
            if not cell.metadata.get("nbgrader", {}).get("solution"):
                raise ExerciseBuildError(
                    f"{name}, code cell {index}: it holds a solution region but no nbgrader metadata. "
                    "Create it with mmcourse.authoring.solution_cell(source, grade_id)."
                )
            cell.source = strip_solution_regions(cell.source, f"{name}, code cell {index}")
        cell.outputs, cell.execution_count = [], None
    if regions == 0:
        raise ExerciseBuildError(
            f"{name}: no {BEGIN} region — a solutions notebook needs at least one exercise"
        )
    return nb


def exercise_name(solution_name: str) -> str:
    """The learner's notebook for a solutions notebook: '01_neuron.ipynb' -> '01_neuron_exercises.ipynb'."""
    path = Path(solution_name)
    return f"{path.stem}{SUFFIX}{path.suffix}"


def render(nb: nbformat.NotebookNode) -> str:
    """The canonical text of a notebook, as written to disk."""
    return nbformat.writes(nb) + "\n"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Plan:
    """What `build` would do with one notebook: 'create', 'update', 'unchanged' or 'refuse'."""

    solution: Path
    target: Path
    text: str
    action: str


def find_root(start: Path | None = None) -> Path:
    """The course folder: the first of `start` and its parents that holds solutions/."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "solutions").is_dir():
            return folder
    raise ExerciseBuildError(f"no solutions/ folder in {start} or above it; run this from the course folder")


def _load_manifest(exercises_dir: Path) -> dict:
    path = exercises_dir / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def plan(root: Path) -> list[Plan]:
    """Decide, for every solutions notebook, what building its exercise would do."""
    root = Path(root)
    exercises_dir = root / "exercises"
    manifest = _load_manifest(exercises_dir)
    plans = []
    for solution in sorted((root / "solutions").glob("*.ipynb")):
        target = exercises_dir / exercise_name(solution.name)
        nb = nbformat.read(solution, as_version=4)
        text = render(exercise_notebook(nb, f"solutions/{solution.name}"))
        if not target.exists():
            action = "create"
        else:
            current = target.read_text(encoding="utf-8")
            if current == text:
                action = "unchanged"
            elif manifest.get(target.name) == _digest(current):
                action = "update"
            else:
                action = "refuse"
        plans.append(Plan(solution, target, text, action))
    return plans


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def build(root: Path, force: bool = False, log=print) -> list[Plan]:
    """Write exercises/ from solutions/. Refuses (ExerciseBuildError) to overwrite edited notebooks
    unless `force`, which backs each one up to `NAME.backup-YYYYmmdd-HHMMSS.ipynb` first."""
    root = Path(root)
    plans = plan(root)
    refused = [p for p in plans if p.action == "refuse"]
    if refused and not force:
        names = ", ".join(f"exercises/{p.target.name}" for p in refused)
        raise ExerciseBuildError(
            f"{names} changed since it was generated (has someone filled it in?), so it was not overwritten. "
            "Nothing was written. To keep your work, rename or copy it first; to regenerate anyway, run "
            "`mmcourse exercises build --force`, which saves a timestamped backup beside it."
        )
    exercises_dir = root / "exercises"
    exercises_dir.mkdir(exist_ok=True)
    manifest = _load_manifest(exercises_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for p in plans:
        if p.action == "refuse":
            backup = p.target.with_name(f"{p.target.stem}.backup-{stamp}{p.target.suffix}")
            shutil.copy2(p.target, backup)
            log(f"backed up exercises/{p.target.name} -> exercises/{backup.name}")
        if p.action != "unchanged":
            _atomic_write(p.target, p.text)
            log(f"{'wrote' if p.action == 'create' else 'updated'} exercises/{p.target.name}")
        manifest[p.target.name] = _digest(p.text)
    known = {p.target.name for p in plans}
    manifest = {name: digest for name, digest in sorted(manifest.items()) if name in known}
    _atomic_write(exercises_dir / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return plans


def check(root: Path) -> list[str]:
    """Problems that make exercises/ out of date with solutions/ (empty list: in sync)."""
    root = Path(root)
    problems = []
    manifest = _load_manifest(root / "exercises")
    plans = plan(root)
    for p in plans:
        name = f"exercises/{p.target.name}"
        if p.action == "create":
            problems.append(f"{name} is missing — run `mmcourse exercises build`")
        elif p.action != "unchanged":
            problems.append(
                f"{name} is out of date with solutions/{p.solution.name} — run `mmcourse exercises build`"
            )
        elif manifest.get(p.target.name) != _digest(p.text):
            problems.append(
                f"exercises/{MANIFEST} has no current record of {name} — run `mmcourse exercises build`"
            )
    expected = {p.target.name: p.solution.name for p in plans}
    for extra in sorted((root / "exercises").glob("*.ipynb")):
        if extra.name in expected or ".backup-" in extra.name:
            continue
        renamed = exercise_name(extra.name)
        if renamed in expected:  # made before exercise notebooks were named NN_name_exercises.ipynb
            problems.append(
                f"exercises/{extra.name} is the old name of exercises/{renamed} — if it holds your work, "
                f"copy your answers into exercises/{renamed}, then delete it"
            )
        else:
            solution = extra.name.replace(f"{SUFFIX}.ipynb", ".ipynb")
            problems.append(
                f"exercises/{extra.name} has no solutions/{solution} — delete it or add the solution"
            )
    return problems
