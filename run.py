#!/usr/bin/env python3
"""Set up and run the course with one command, on any machine with Python >= 3.10.

    python3 run.py lab     create/reuse .venv, install the course, open JupyterLab at lesson 00
    python3 run.py test    create/reuse .venv, install the course and its test tools, run every test

Anything after the command is passed on: `python3 run.py lab --no-browser --port 8899`,
`python3 run.py test tests/test_checks_core.py -x`.

The environment lives in .venv/ beside this file; nothing is installed system-wide. The
install step is skipped when pyproject.toml has not changed since the last one.
To get a CPU-only PyTorch (about 200 MB instead of several GB on Linux), set
TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu before the first run.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("MMCOURSE_VENV", ROOT / ".venv"))
STAMP = VENV / "mmcourse-install.stamp"
FIRST_LESSON = "notebooks/00_welcome.ipynb"
EXTRAS = {"lab": [], "test": ["dev"]}


def say(message: str) -> None:
    print(f"[run.py] {message}", flush=True)


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def ensure_venv() -> Path:
    python = venv_python()
    if not python.exists():
        say(f"creating a virtual environment in {VENV} ...")
        try:
            venv.create(VENV, with_pip=True)
        except Exception as error:  # Debian/Ubuntu without python3-venv land here
            sys.exit(
                f"[run.py] could not create {VENV}: {error}\n"
                "On Debian/Ubuntu install the venv module first: sudo apt install python3-venv"
            )
    return python


def install_fingerprint(extras: list[str]) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest} {','.join(sorted(extras))}"


def installed_extras() -> tuple[str, set[str]]:
    if not STAMP.exists():
        return "", set()
    digest, _, extras = STAMP.read_text().strip().partition(" ")
    return digest, {e for e in extras.split(",") if e}


def ensure_installed(python: Path, extras: list[str]) -> None:
    digest, have = installed_extras()
    wanted = install_fingerprint(extras).split(" ")[0]
    if digest == wanted and set(extras) <= have:
        return
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    index = os.environ.get("TORCH_INDEX_URL")
    if index:
        say(f"installing PyTorch from {index} ...")
        subprocess.run([*pip, "torch", "--index-url", index], check=True)
    target = "." + (f"[{','.join(extras)}]" if extras else "")
    say(f"installing the course ({target}) into {VENV} -- the first time takes a few minutes ...")
    result = subprocess.run([*pip, "-e", target], cwd=ROOT)
    if result.returncode != 0:
        sys.exit("[run.py] installation failed (see pip's message above). `python3 run.py lab` retries it.")
    STAMP.write_text(install_fingerprint(sorted(set(extras) | (have if digest == wanted else set()))) + "\n")


def run_lab(python: Path, args: list[str]) -> int:
    # Serve the whole course folder (so exercises/ and solutions/ are in the file browser)
    # and open lesson 00 in the browser tab.
    command = [
        str(python),
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.default_url=/lab/tree/{FIRST_LESSON}",
        *args,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in args:
        command.append("--allow-root")  # containers and classroom VMs often run as root
    say("starting JupyterLab at lesson 00 -- stop it with Ctrl+C")
    return subprocess.call(command, cwd=ROOT)


def _pytest(python: Path, args: list[str]) -> int:
    code = subprocess.call([str(python), "-m", "pytest", *args], cwd=ROOT)
    if code == 5:
        say("pytest collected no tests -- check the paths or -k expression you passed.")
        return 1
    return code


def run_tests(python: Path, args: list[str]) -> int:
    """pytest with `args`; with none, the whole suite in two phases.

    The test modules run in one process; then the notebooks, whose kernels each compute on
    one thread (so that every machine gets the same numbers), run two at a time -- one
    notebook file per worker (pytest-xdist, --dist loadfile) -- so that both cores work.
    """
    if args:
        return _pytest(python, args)
    tests = _pytest(python, ["tests"])
    notebooks = _pytest(python, ["-n", "2", "--dist", "loadfile", "notebooks", "solutions"])
    return tests or notebooks


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 10):  # noqa: UP036 -- run.py is started by whatever python3 a learner has
        sys.exit(f"[run.py] the course needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_venv()
    ensure_installed(python, EXTRAS[command])
    return run_lab(python, rest) if command == "lab" else run_tests(python, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
