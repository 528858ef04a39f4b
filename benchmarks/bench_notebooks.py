"""How long does each lesson take to run, against the time it promises?

Executes every notebook in notebooks/ (or those named) in a fresh kernel, as a learner's
"Run All" would, and prints its wall time beside the "Expected run time: about N s" its
first cell states, with the ratio. A ratio above 1 means the lesson broke its promise on
this machine. Run on an otherwise idle machine:

    .venv/bin/python benchmarks/bench_notebooks.py [notebooks/04_convolutions.ipynb ...]
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmcourse.refresh import execute_notebook  # noqa: E402


def stated_seconds(nb) -> float | None:
    """The run time a lesson's first cell promises, in seconds ("about 40 s", "about 70–90 s", "about 2 min").

    For a range, the upper end is the promise.
    """
    pattern = r"Expected run time:\**\s*about\s+(\d+(?:\.\d+)?)(?:\s*[–-]\s*(\d+(?:\.\d+)?))?\s*(s|min)"
    match = re.search(pattern, nb.cells[0].source)
    if not match:
        return None
    return float(match[2] or match[1]) * (60 if match[3] == "min" else 1)


def main(paths: list[str]) -> int:
    notebooks = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    print(f"{'notebook':<48} {'stated':>8} {'measured':>9} {'ratio':>6}")
    broken = 0
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        budget = stated_seconds(nb)
        start = time.perf_counter()
        execute_notebook(nb, path.parent)
        seconds = time.perf_counter() - start
        ratio = seconds / budget if budget else float("nan")
        broken += ratio > 1
        stated = f"{budget:.0f} s" if budget else "?"
        print(f"{path.name:<48} {stated:>8} {seconds:>7.1f} s {ratio:>6.2f}")
    print(f"{broken} notebook(s) over their stated run time.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
