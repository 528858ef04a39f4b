"""Where am I running? The device and environment report of lesson 00, and `mmcourse doctor`.

`pick_device()` is the one place the course chooses hardware: CUDA if present, then
Apple's MPS, then the CPU -- so every notebook runs unchanged on a laptop, on Colab's GPU
or on a Mac.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["pick_device", "environment_report", "format_report", "doctor_problems", "doctor"]

MIN_PYTHON = (3, 10)

# module to import -> (distribution name on PyPI, what the course needs it for)
REQUIRED_MODULES = {
    "numpy": ("numpy", "arrays, Part I"),
    "torch": ("torch", "every model from lesson 03 on"),
    "matplotlib": ("matplotlib", "plots"),
    "ipywidgets": ("ipywidgets", "interactive sliders"),
    "tqdm": ("tqdm", "progress bars"),
    "sklearn": ("scikit-learn", "the bundled handwritten digits"),
    "jupyterlab": ("jupyterlab", "running the notebooks"),
}
# Applications rather than libraries: found, not imported (importing JupyterLab takes seconds).
FIND_ONLY = {"jupyterlab"}


def pick_device(prefer: str = "auto"):
    """The torch.device to use: 'auto' picks CUDA, then Apple MPS, then CPU.

    prefer: 'auto', 'cpu', 'cuda' or 'mps'. Asking for a device that is not there raises
    ValueError saying which devices are.
    """
    import torch

    available = ["cpu"]
    if torch.cuda.is_available():
        available.insert(0, "cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        available.insert(len(available) - 1, "mps")
    if prefer == "auto":
        return torch.device(available[0])
    if prefer not in ("cpu", "cuda", "mps"):
        raise ValueError(f"prefer must be 'auto', 'cpu', 'cuda' or 'mps', but got {prefer!r}.")
    if prefer not in available:
        raise ValueError(f"device {prefer!r} is not available here; available: {', '.join(available)}.")
    return torch.device(prefer)


@dataclass
class EnvironmentReport:
    """What the course runs on. `gpu` is True when models will train on a GPU."""

    python: str
    platform: str
    packages: dict = field(default_factory=dict)
    device: str = "cpu"
    device_name: str = ""
    gpu: bool = False
    torch_threads: int = 0
    cpu_count: int = 0
    where: str = "local"


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _where() -> str:
    if "google.colab" in sys.modules:
        return "Google Colab"
    if os.environ.get("BINDER_SERVICE_HOST") or os.environ.get("BINDER_REQUEST"):
        return "Binder"
    if os.environ.get("JUPYTERHUB_USER"):
        return "JupyterHub"
    return "local"


def environment_report() -> EnvironmentReport:
    """Collect versions, the chosen device and its name, and thread counts."""
    import torch

    device = pick_device()
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        name = "Apple GPU (Metal)"
    else:
        name = platform.processor() or platform.machine() or "CPU"
    return EnvironmentReport(
        python=platform.python_version(),
        platform=f"{platform.system()} {platform.machine()}",
        packages={dist: _version(dist) for dist, _ in REQUIRED_MODULES.values()},
        device=device.type,
        device_name=name,
        gpu=device.type in ("cuda", "mps"),
        torch_threads=torch.get_num_threads(),
        cpu_count=os.cpu_count() or 1,
        where=_where(),
    )


def format_report(report: EnvironmentReport) -> str:
    """The report as aligned lines of text."""
    lines = [
        f"Python        {report.python} on {report.platform} ({report.where})",
        *(f"{dist:<13} {version or 'NOT INSTALLED'}" for dist, version in report.packages.items()),
        f"device        {report.device} — {report.device_name}",
        f"GPU in use    {'yes' if report.gpu else 'no — models train on the CPU (every lesson is sized for that)'}",
        f"threads       torch uses {report.torch_threads} of {report.cpu_count} CPU cores",
    ]
    return "\n".join(lines)


def _widget_extension_installed() -> bool:
    """Is JupyterLab's widget manager (from jupyterlab_widgets) where JupyterLab looks for it?"""
    candidates = [
        Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter-widgets" / "jupyterlab-manager"
    ]
    try:
        from jupyter_core.paths import jupyter_path

        candidates += [
            Path(p) / "@jupyter-widgets" / "jupyterlab-manager" for p in jupyter_path("labextensions")
        ]
    except ImportError:
        pass
    return any(p.is_dir() for p in candidates)


def doctor_problems(import_module=importlib.import_module) -> list[tuple[str, str]]:
    """Everything that stops the course from running, as (problem, fix) pairs."""
    problems = []
    if sys.version_info < MIN_PYTHON:
        problems.append(
            (
                f"Python {platform.python_version()} is too old",
                "install Python 3.10 or newer and recreate the environment",
            )
        )
    for module, (distribution, purpose) in REQUIRED_MODULES.items():
        try:
            if module in FIND_ONLY and import_module is importlib.import_module:
                if importlib.util.find_spec(module) is None:
                    raise ImportError(f"No module named {module!r}")
            else:
                import_module(module)
        except ImportError as error:
            problems.append((f"cannot import {module} ({purpose}): {error}", f"pip install {distribution}"))
    if not _widget_extension_installed():
        problems.append(
            (
                "JupyterLab's widget extension is missing, so sliders will not show",
                "pip install --force-reinstall jupyterlab_widgets ipywidgets, then restart JupyterLab",
            )
        )
    try:
        from sklearn.datasets import load_digits

        load_digits()
    except Exception as error:  # noqa: BLE001 - any failure here means the data is unusable
        problems.append(
            (
                f"scikit-learn's bundled digits do not load: {error}",
                "pip install --force-reinstall scikit-learn",
            )
        )
    return problems


def doctor(out=print) -> int:
    """Print the environment report and any problems with their fixes. Returns the exit code."""
    try:
        out(format_report(environment_report()))
    except ImportError as error:
        out(f"(no environment report: {error})")
    problems = doctor_problems()
    if not problems:
        out("\n✓ Everything the course needs is here.")
        return 0
    out(f"\n✗ {len(problems)} problem(s):")
    for problem, fix in problems:
        out(f"  - {problem}\n    fix: {fix}")
    return 1
