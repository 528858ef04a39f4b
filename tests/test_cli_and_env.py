"""`mmcourse doctor`, the environment report and device choice."""

import subprocess
import sys

import pytest
import torch

from mmcourse import env
from mmcourse.cli import main as cli


def test_pick_device_prefers_a_gpu_and_falls_back_to_cpu():
    expected = (
        "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert env.pick_device().type == expected
    assert env.pick_device("cpu").type == "cpu"


def test_pick_device_explains_bad_or_missing_devices(monkeypatch):
    with pytest.raises(ValueError, match="'auto', 'cpu', 'cuda' or 'mps'"):
        env.pick_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device 'cuda' is not available here; available: .*cpu"):
        env.pick_device("cuda")


def test_environment_report_lists_versions_device_and_threads():
    report = env.environment_report()
    text = env.format_report(report)
    assert (
        report.packages["torch"] == torch.__version__.split("+")[0]
        or report.packages["torch"] == torch.__version__
    )
    for needed in ("Python", "numpy", "torch", "device", "GPU in use", "threads"):
        assert needed in text
    assert report.torch_threads >= 1 and report.gpu == (report.device != "cpu")


def test_doctor_passes_here_and_exits_zero():
    result = subprocess.run([sys.executable, "-m", "mmcourse.cli", "doctor"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ Everything the course needs is here." in result.stdout


def test_doctor_names_a_missing_package_and_its_fix(monkeypatch, capsys):
    real_import = env.importlib.import_module

    def no_tqdm(name):
        if name == "tqdm":
            raise ImportError("No module named 'tqdm'")
        return real_import(name)

    problems = env.doctor_problems(import_module=no_tqdm)
    assert ("cannot import tqdm (progress bars): No module named 'tqdm'", "pip install tqdm") in problems
    monkeypatch.setattr(env, "doctor_problems", lambda: problems)
    assert env.doctor() == 1
    out = capsys.readouterr().out
    assert "✗ 1 problem(s)" in out and "fix: pip install tqdm" in out


def test_doctor_notices_a_missing_widget_extension(monkeypatch):
    monkeypatch.setattr(env, "_widget_extension_installed", lambda: False)
    assert any("widget extension" in problem for problem, _ in env.doctor_problems())


def test_cli_without_a_command_prints_usage_and_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli([])
    assert info.value.code == 2 and "usage: mmcourse" in capsys.readouterr().err


def test_exercises_list_shows_ids_and_lessons(capsys):
    assert cli(["exercises", "list"]) == 0
    assert "00_welcome" in capsys.readouterr().out
