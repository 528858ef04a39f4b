"""Notebook collection for pytest: lessons are executed, solutions are output-checked.

- notebooks/*.ipynb run with nbval in *lax* mode: every cell must execute without error,
  and the numbers that matter are asserted inside the cells (plus any cell marked
  `# NBVAL_CHECK_OUTPUT`).
- solutions/*.ipynb run with nbval in *strict* mode: every stored output must be
  reproduced (after tests/nbval_sanitize.cfg masks addresses, timings and device names).
- exercises/ is not run here: it stops at its first stub by design (tests/test_exercises.py).
"""

from nbval.plugin import IPyNbFile

STRICT_FOLDERS = {"solutions"}
LAX_FOLDERS = {"notebooks"}


def pytest_collect_file(file_path, parent):
    if file_path.suffix != ".ipynb" or parent.config.option.nbval or parent.config.option.nbval_lax:
        return None  # with --nbval/--nbval-lax on the command line, nbval collects by itself
    folder = file_path.parent.name
    if folder not in STRICT_FOLDERS | LAX_FOLDERS or file_path.parent.parent != parent.config.rootpath:
        return None
    notebook = IPyNbFile.from_parent(parent, path=file_path)
    notebook.compare_outputs = folder in STRICT_FOLDERS
    return notebook
