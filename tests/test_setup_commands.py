"""The README's main command really serves lesson 00 (checked headlessly over HTTP)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8", "replace")


@pytest.mark.skipif(os.name == "nt", reason="uses POSIX process groups")
def test_run_py_lab_serves_lesson_00(tmp_path):
    port, token = _free_port(), "mmcourse-test-token"
    env = {**os.environ, "MMCOURSE_VENV": str(Path(sys.prefix)), "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    workspaces = tmp_path / "workspaces"  # not .venv's: a learner's saved layout must not leak in
    args = ["--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"]
    args.append(f"--LabApp.workspaces_dir={workspaces}")
    server = subprocess.Popen(
        [sys.executable, "run.py", "lab", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, page = _get(f"{base}/?token={token}")  # where the browser tab opens
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read().decode() if server.poll() is not None else "(still running)"
                    pytest.fail(f"JupyterLab did not answer on {base}: {output[-2000:]}")
                time.sleep(0.5)
        assert status == 200 and "JupyterLab" in page and '"treePath": "notebooks/00_welcome.ipynb"' in page
        status, body = _get(f"{base}/api/contents/notebooks/00_welcome.ipynb?token={token}")
        model = json.loads(body)
        assert status == 200 and model["type"] == "notebook" and model["name"] == "00_welcome.ipynb"
        assert "Welcome" in model["content"]["cells"][0]["source"]
        status, body = _get(f"{base}/api/contents/exercises?token={token}")  # the whole course is browsable
        assert status == 200 and any(
            item["name"] == "00_welcome_exercises.ipynb" for item in json.loads(body)["content"]
        )
        # /lab restores the "default" workspace, which run.py seeded with lesson 00 open
        status, body = _get(f"{base}/lab/api/workspaces/default?token={token}")
        layout = json.loads(body)["data"]
        assert layout["layout-restorer:data"]["main"]["dock"]["widgets"] == [
            "notebook:notebooks/00_welcome.ipynb"
        ]
        # a SIGTERM to run.py alone (as `kill PID` or a hub sends it) stops JupyterLab too
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        with pytest.raises(OSError):
            _get(f"{base}/api")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        else:  # run.py is gone; its JupyterLab must be too (killpg fails on an empty group)
            try:
                os.killpg(server.pid, 0)
            except ProcessLookupError:
                pass
            else:
                os.killpg(server.pid, signal.SIGKILL)
                pytest.fail("run.py exited but left JupyterLab running (killed now)")


def test_run_py_without_a_command_prints_usage():
    result = subprocess.run([sys.executable, "run.py"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "python3 run.py lab" in result.stdout


def test_run_py_test_runs_everything_or_with_quick_the_test_modules_alone(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_py", ROOT / "run.py")
    run_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_py)
    calls = []
    monkeypatch.setattr(run_py, "_pytest", lambda python, args: calls.append(args) or 0)
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    assert run_py.run_tests(Path("python"), []) == 0
    assert calls[-1] == ["-n", "2", "--dist", "loadfile", "tests", "notebooks", "solutions"]
    assert os.environ["OMP_NUM_THREADS"] == "1"  # one thread per worker and kernel
    run_py.run_tests(Path("python"), ["--quick", "-k", "checks"])
    assert calls[-1] == ["-n", "2", "--dist", "loadfile", "tests", "-k", "checks"]
    run_py.run_tests(Path("python"), ["tests/test_data.py", "-x"])
    assert calls[-1] == ["tests/test_data.py", "-x"]  # anything else goes to pytest as it is
