"""pyproject.toml, environment.yml and the README agree, and keep the promises made to learners."""

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONDA_TO_PYPI = {"pytorch-cpu": "torch", "pytorch": "torch"}
# tools the course names to its users, beyond the runtime: nbval executes and checks the notebooks
COURSE_TOOLS = {"nbval"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def _conda_packages() -> set[str]:
    names, in_pip = set(), False
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:") :].splitlines():
        stripped = line.split("#")[0].rstrip()
        if re.match(r"^\s{2}- pip:", stripped):
            in_pip = True
        elif re.match(r"^\s{2}- ", stripped):
            in_pip = False
            names.add(CONDA_TO_PYPI.get(_name(stripped[4:]), _name(stripped[4:])))
        elif in_pip and stripped.strip():
            assert stripped.strip() == "- -e .", "environment.yml installs only mmcourse itself with pip"
    return names - {"python", "pip"}


def test_environment_yml_names_the_same_packages_as_pyproject():
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    export = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["export"]}
    assert _conda_packages() == runtime | export | COURSE_TOOLS


def test_the_course_tools_in_environment_yml_are_dev_tools_with_the_same_lower_bound():
    dev = {_name(r): r for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}
    text = (ROOT / "environment.yml").read_text()
    for tool in COURSE_TOOLS:
        assert tool in dev, f"{tool} is in environment.yml but not in pyproject's dev extra"
        bound = dev[tool][len(tool) :]
        assert re.search(rf"^\s+- {tool}{re.escape(bound)}\s*$", text, flags=re.M), (tool, bound)


def test_environment_yml_uses_conda_forge_python_311_and_cpu_torch():
    text = (ROOT / "environment.yml").read_text()
    assert "conda-forge" in text and "python=3.11" in text and "pytorch-cpu" in text


@pytest.mark.parametrize("package", ["torch", "numpy"])
def test_torch_and_numpy_have_lower_bounds_only(package):
    [requirement] = [r for r in PYPROJECT["project"]["dependencies"] if _name(r) == package]
    assert ">=" in requirement and "<" not in requirement.replace(">=", "") and "==" not in requirement


def test_required_runtime_packages_and_console_script():
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert {"numpy", "torch", "matplotlib", "ipywidgets", "jupyterlab", "tqdm", "scikit-learn"} <= runtime
    assert {"pytest", "nbval", "ruff", "nbgrader"} <= {
        _name(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]
    }
    assert PYPROJECT["project"]["scripts"]["mmcourse"] == "mmcourse.cli:main"
    assert PYPROJECT["project"]["requires-python"] == ">=3.10"


def test_readme_gives_exactly_two_setup_commands_and_ci_uses_the_test_one():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^python3 run\.py (\w+)\s*$", readme, flags=re.M)
    assert commands[:2] == ["lab", "test"] and len(set(commands)) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert "torch==2.13.0" in ci and re.search(r"^exec python3 run\.py test$", ci, flags=re.M)
    assert ci.index("torch==2.13.0") < ci.index("run.py test")


def test_readme_lesson_table_links_every_lesson_with_its_run_time():
    readme = (ROOT / "README.md").read_text()
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert lessons
    for lesson in lessons:
        row = next((line for line in readme.splitlines() if f"(notebooks/{lesson.name})" in line), None)
        assert row, f"README's lesson table does not link notebooks/{lesson.name}"
        assert re.search(r"\d+\s*(s|min)\b", row), f"README row for {lesson.name} gives no CPU run time"
        assert "colab.research.google.com/github/" in row and lesson.name in row.split("colab")[-1]


def test_the_shipped_checkpoints_go_into_the_package():
    """mmcourse.assets' .pt files are package data, so a non-editable install (Colab, a wheel) has them."""
    from mmcourse.assets import ASSETS

    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["mmcourse.assets"]
    for asset in ASSETS.values():
        assert any(Path(asset.file).match(p) for p in patterns), asset.file
        assert (ROOT / "mmcourse" / "assets" / asset.file).is_file()


def test_lesson_00_parts_table_adds_up_the_lessons_stated_run_times():
    import importlib.util
    import json

    import nbformat

    spec = importlib.util.spec_from_file_location(
        "bench_notebooks", ROOT / "benchmarks" / "bench_notebooks.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    stated_seconds = bench.stated_seconds  # the same parser the run-time benchmark uses

    welcome = json.loads((ROOT / "notebooks" / "00_welcome.ipynb").read_text(encoding="utf-8"))
    table = "".join(
        next(c["source"] for c in welcome["cells"] if "| part | lessons |" in "".join(c["source"]))
    )
    rows = re.findall(
        r"^\| [IV]+ · [^|]+\| (\d\d)–(\d\d) \| about (\d+)(?:–\d+)? (s|min) \|", table, re.MULTILINE
    )
    assert len(rows) == 4, table
    for first, last, stated, unit in rows:
        total = 0.0
        for number in range(int(first), int(last) + 1):
            path = next((ROOT / "notebooks").glob(f"{number:02d}_*.ipynb"))
            total += stated_seconds(nbformat.read(path, as_version=4))
        claimed = float(stated) * (60 if unit == "min" else 1)
        assert abs(claimed - total) <= 0.25 * total, (
            f"lessons {first}-{last}: the table says {claimed:.0f} s, their stated times add up to {total:.0f} s"
        )
