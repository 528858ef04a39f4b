"""Conventions shared by every notebook of the course, for maintainers writing lessons.

Learners never need this module. Maintainers use it to write notebooks that follow
the course's conventions, and the tests use it to check that every notebook does:

- the first code cell is `COLAB_SETUP_SOURCE` (installs mmcourse on Colab only);
- a solution cell carries nbgrader metadata (`solution_cell`), and so does the check
  cell after it (`check_cell`), so instructors can grade with nbgrader;
- a check cell imports `check` itself (`CHECK_IMPORT`), so a learner's cell that rebinds
  the name (`check = lambda *a: None`) cannot change what the locked cell calls;
- notebooks are written with a fixed kernelspec, so files do not churn between machines.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

REPOSITORY = "mmcourse/mmcourse"  # GitHub owner/name; the badges and the Colab install use it
BRANCH = "main"

COLAB_SETUP_SOURCE = f"""\
# Colab only: install the course library `mmcourse` (and nothing that would replace
# Colab's own PyTorch). Everywhere else -- laptop, Binder, JupyterHub -- this does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "git+https://github.com/{REPOSITORY}"],
        check=True,
    )"""

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}


def colab_badge(notebook_path: str) -> str:
    """Markdown for an "Open in Colab" badge for `notebook_path` (e.g. 'notebooks/01_neuron.ipynb')."""
    url = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{notebook_path}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def binder_badge(notebook_path: str) -> str:
    """Markdown for a Binder badge that opens `notebook_path` in JupyterLab."""
    url = f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/{notebook_path}"
    return f"[![Binder](https://mybinder.org/badge_logo.svg)]({url})"


def markdown_cell(source: str):
    return nbformat.v4.new_markdown_cell(source.strip("\n"))


def code_cell(source: str):
    return nbformat.v4.new_code_cell(source.strip("\n"))


def colab_setup_cell():
    """The first code cell of every notebook."""
    return code_cell(COLAB_SETUP_SOURCE)


def solution_cell(source: str, grade_id: str):
    """A code cell holding `### BEGIN SOLUTION` ... `### END SOLUTION`, tagged for nbgrader."""
    if "### BEGIN SOLUTION" not in source or "### END SOLUTION" not in source:
        raise ValueError(f"solution cell {grade_id!r} must contain ### BEGIN SOLUTION and ### END SOLUTION")
    cell = code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade": False,
        "grade_id": grade_id,
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    return cell


CHECK_IMPORT = "from mmcourse.checks import check"


def check_cell_source(exercise_id: str, answer: str) -> str:
    """The text of a check cell: `check` imported afresh, then called on the learner's `answer`.

    >>> print(check_cell_source("sigmoid", "sigmoid"))
    from mmcourse.checks import check
    <BLANKLINE>
    check("sigmoid", sigmoid)
    """
    return f'{CHECK_IMPORT}\n\ncheck("{exercise_id}", {answer})'


def check_cell(source: str, grade_id: str, points: int = 1):
    """A locked, graded code cell that calls `check(...)`, tagged for nbgrader.

    The cell begins with `CHECK_IMPORT` (added if `source` lacks it): nbgrader runs the
    learner's cells and the locked ones in one kernel, so a locked cell that used an
    earlier cell's `check` would call whatever the learner last bound to that name.
    """
    source = source.strip("\n")
    if not source.startswith(CHECK_IMPORT):
        source = f"{CHECK_IMPORT}\n\n{source}"
    cell = code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": grade_id,
        "locked": True,
        "points": points,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    return cell


def new_notebook(cells) -> nbformat.NotebookNode:
    """A notebook with the course's kernelspec; cell ids are numbered, so rewrites are stable."""
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:03d}"
    return nb


def write_notebook(nb, path: str | Path) -> None:
    """Write `nb` to `path` atomically, in the canonical nbformat layout."""
    path = Path(path)
    text = nbformat.writes(nb) + "\n"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
