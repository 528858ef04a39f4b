"""Re-execute the solution notebooks and store their outputs (`mmcourse exercises refresh`).

The stored outputs of solutions/ are what nbval compares against in CI, so they are
written the same way every time: a fresh kernel per notebook, cells run top to bottom,
execution counts 1, 2, 3, ..., consecutive prints joined, no timing metadata, canonical JSON.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from .exercises import ExerciseBuildError, render


def execute_notebook(nb, cwd: Path, timeout: int = 600, allow_errors: bool = False):
    """Run every cell of `nb` in a fresh python3 kernel started in `cwd`; returns the notebook."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    client.execute()
    return nb


def coalesce_streams(cell) -> None:
    """Join consecutive stdout (or stderr) outputs of `cell` into one, as they were printed.

    How a kernel splits a cell's printing into messages depends on timing; joined, the
    stored outputs are the same on every run.
    """
    outputs = []
    for output in cell.get("outputs", []):
        previous = outputs[-1] if outputs else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
        else:
            outputs.append(output)
    if "outputs" in cell:
        cell.outputs = outputs


def refresh_solutions(root: Path, names: list[str] | None = None, log=print) -> None:
    """Execute solutions/*.ipynb (or just `names`) in place, storing deterministic outputs."""
    folder = Path(root) / "solutions"
    paths = sorted(folder.glob("*.ipynb"))
    if names:
        wanted = {Path(n).name for n in names}
        unknown = wanted - {p.name for p in paths}
        if unknown:
            raise ExerciseBuildError(f"no such solution notebook: {', '.join(sorted(unknown))}")
        paths = [p for p in paths if p.name in wanted]
    for path in paths:
        log(f"executing solutions/{path.name} ...")
        nb = nbformat.read(path, as_version=4)
        execute_notebook(nb, folder, allow_errors=False)
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
            coalesce_streams(cell)
        nb.metadata.pop("widgets", None)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(render(nb), encoding="utf-8")
        temporary.replace(path)
