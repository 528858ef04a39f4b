#!/usr/bin/env python3
"""Set up and run the course with one command, on any machine with Python >= 3.10.

    python3 run.py lab     create/reuse .venv, install the course, open JupyterLab at lesson 00
    python3 run.py test    create/reuse .venv, install the course and its test tools, run every test
    python3 run.py test --quick   ... only the test modules (tests/): no lesson, exercise or solution is run
    python3 run.py site    create/reuse .venv, build the course's website into _build/html/

Anything after the command is passed on: `python3 run.py lab --no-browser --port 8899`,
`python3 run.py test tests/test_checks_core.py -x`.

The environment lives in .venv/ beside this file; nothing is installed system-wide. The
install step is skipped when pyproject.toml has not changed since the last one.
To get a CPU-only PyTorch (about 200 MB instead of several GB on Linux), set
TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu before the first run.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("MMCOURSE_VENV", ROOT / ".venv"))
STAMP = VENV / "mmcourse-install.stamp"
FIRST_LESSON = "notebooks/00_welcome.ipynb"
# `site` runs the lessons, so it gets what `lab` has, and Sphinx
EXTRAS = {
    "lab": ["export", "mobile"],
    "test": ["dev", "export", "mobile"],
    "site": ["export", "mobile", "site"],
}
# What JupyterLab shows at /lab the first time: lesson 00 open (JupyterLab restores this
# "default" workspace, and saves the learner's own layout over it from then on).
FIRST_WORKSPACE = {
    "data": {
        "layout-restorer:data": {
            "main": {
                "dock": {"type": "tab-area", "currentIndex": 0, "widgets": [f"notebook:{FIRST_LESSON}"]},
                "current": f"notebook:{FIRST_LESSON}",
            },
            "left": {"collapsed": False, "current": "filebrowser", "widgets": ["filebrowser"]},
        },
        f"notebook:{FIRST_LESSON}": {"data": {"path": FIRST_LESSON, "factory": "Notebook"}},
    },
    "metadata": {"id": "default"},
}


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


def seed_workspaces(python: Path, args: list[str]) -> list[str]:
    """Make /lab open lesson 00 on a first start; returns the JupyterLab option naming the folder.

    The course keeps its JupyterLab layouts in .venv/lab-workspaces (or the folder given with
    --LabApp.workspaces_dir=...). While that folder holds no layout, FIRST_WORKSPACE is imported.
    """
    given = [a.split("=", 1)[1] for a in args if a.startswith("--LabApp.workspaces_dir=")]
    folder = Path(given[-1]) if given else VENV / "lab-workspaces"
    option = [] if given else [f"--LabApp.workspaces_dir={folder}"]
    if folder.is_dir() and any(folder.glob("*.jupyterlab-workspace")):
        return option
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        layout = Path(scratch) / "lesson-00.json"
        layout.write_text(json.dumps(FIRST_WORKSPACE))
        command = [str(python), "-m", "jupyter", "lab", "workspaces", "import", str(layout)]
        subprocess.run(
            [*command, f"--LabWorkspaceImportApp.workspaces_dir={folder}"], cwd=ROOT, capture_output=True
        )
    if not any(folder.glob("*.jupyterlab-workspace")):
        say(f"could not prepare {folder}: /lab will open the Launcher (open lesson 00 from the file browser)")
    return option


def serve(command: list[str]) -> int:
    """Run `command` and wait for it; SIGTERM, SIGINT and SIGHUP sent to run.py are passed on.

    So `kill PID`, a process manager or a hub stopping run.py stops JupyterLab too, instead of
    leaving it serving on its port.
    """
    child = subprocess.Popen(command, cwd=ROOT)

    def forward(signum, _frame):
        if child.poll() is None:
            try:
                child.send_signal(signum)
            except (OSError, ValueError):  # gone meanwhile, or a signal Windows cannot send
                pass

    names = [n for n in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, n)]
    previous = {n: signal.signal(getattr(signal, n), forward) for n in names}
    try:
        return child.wait()
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def run_lab(python: Path, args: list[str]) -> int:
    # Serve the whole course folder (so exercises/ and solutions/ are in the file browser)
    # and open lesson 00 in the browser tab, at / and at /lab alike.
    command = [
        str(python),
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.default_url=/lab/tree/{FIRST_LESSON}",
        *seed_workspaces(python, args),
        *args,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in args:
        command.append("--allow-root")  # containers and classroom VMs often run as root
    say("starting JupyterLab at lesson 00 -- stop it with Ctrl+C")
    return serve(command)


def run_site(python: Path, args: list[str]) -> int:
    """Build the course's website (mmcourse.site; Sphinx + MyST-NB) into _build/html/."""
    return subprocess.call([str(python), "-m", "mmcourse.site", *args], cwd=ROOT)


def _pytest(python: Path, args: list[str]) -> int:
    code = subprocess.call([str(python), "-m", "pytest", *args], cwd=ROOT)
    if code == 5:
        say("pytest collected no tests -- check the paths or -k expression you passed.")
        return 1
    return code


def run_tests(python: Path, args: list[str]) -> int:
    """pytest with `args`; with none, the whole suite on two workers; with --quick, tests/ alone on two workers.

    The test modules and the notebooks run in ONE pytest session spread over two worker
    processes (pytest-xdist), one file per worker at a time (--dist loadfile: a notebook's
    cells stay together, in order, and a module's fixtures are built once), so that both
    cores work from the first test to the last. Every worker and every notebook kernel
    computes on one thread (OMP_NUM_THREADS=1 for the session and its kernels; tests/conftest.py;
    the lessons that set a thread count set 1), so the two never fight over a core and every
    machine gets the same numbers. `--quick` (a first check while editing the library) skips the
    notebooks and solutions; more pytest options may follow it (`--quick -k checks`).
    """
    quick = bool(args) and args[0] == "--quick"
    if args and not quick:
        return _pytest(python, args)
    # one thread for every process, the notebook kernels included: a kernel on two threads beside the other
    # worker leaves three threads on two cores, and PyTorch's threads then wait for each other (lesson 08
    # took minutes instead of seconds)
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    paths = ["tests"] if quick else ["tests", "notebooks", "solutions"]
    return _pytest(python, ["-n", "2", "--dist", "loadfile", *paths, *args[1:]])


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 10):  # noqa: UP036 -- run.py is started by whatever python3 a learner has
        sys.exit(f"[run.py] the course needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_venv()
    ensure_installed(python, EXTRAS[command])
    runner = {"lab": run_lab, "test": run_tests, "site": run_site}[command]
    return runner(python, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
