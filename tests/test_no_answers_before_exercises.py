"""A lesson never shows the answer to one of its own exercises (COURSE.md, "Exercises make the learner think").

The exercises of lesson NN are read from its solutions notebook, solutions/NN_*.ipynb, through the
markers that `mmcourse.exercises` turns into stubs: every code cell holding a `### BEGIN SOLUTION`
region is an exercise. Its *names* are the functions and classes that cell defines and the ids its
check cell passes to `check(...)`; its *solution lines* are the lines inside the region.

The lesson, notebooks/NN_*.ipynb, fails this test when

- it calls `show_source` (or `inspect.getsource`) on one of those names, or
- one of its code lines, or a line of code in its markdown, contains one of those solution lines.
  Lines are compared after dropping comments, all whitespace, a leading `return` and an assignment
  target, so `means = X.mean(axis=1, keepdims=True)` counts as the solution line
  `return X.mean(axis=1, keepdims=True)`. Lines too generic to give an answer away do not count:
  short ones (`n = X.shape[1]`), loop and `if` headers, and a single call on bare names
  (`loss.backward()`, `F.cross_entropy(logits, targets)`), which is a building block.

A lesson may teach the idea, show a different instance, and reveal the library's version after the
exercises (in the solutions notebook, or a later lesson).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from mmcourse.exercises import has_solution_region

ROOT = Path(__file__).resolve().parents[1]

# Lessons whose notebooks still show answers while issue 14 is being worked on. Remove a lesson's
# number from this list when its notebook passes; the test then holds it to the rule for good.
LESSONS_STILL_SHOWING_ANSWERS = []

MIN_LENGTH = 12  # a normalised solution line shorter than this is too generic to be an answer

_BEGIN = re.compile(r"^\s*### BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*### END SOLUTION\s*$")
_CHECK_ID = re.compile(r"""\bcheck\(\s*["']([\w-]+)["']""")
_SHOWN = re.compile(r"\b(?:show_source|getsource)\(\s*([\w.]+)")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _drop_comment(line: str) -> str:
    """The line without a trailing # comment (a # inside a string literal stays)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            return line[:index]
    return line


def _without_target(text: str) -> str:
    """`a, b[i] = expr` -> `expr`; augmented assignments (`+=`) and comparisons are kept whole."""
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "=" and depth == 0:
            before = text[index - 1] if index else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            if after == "=" or before in "=!<>+-*/%&|^@:":
                return text
            return text[index + 1 :]
    return text


def normalise(line: str) -> str:
    text = re.sub(r"\s+", "", _drop_comment(line))
    if text.startswith("return"):
        text = text[len("return") :]
    return _without_target(text)


_HEADER = re.compile(r"^\s*(for|if|elif|else|while|with|def|class|try|except)\b.*:\s*(#.*)?$")
_BARE_CALL = re.compile(r"^[\w.]+\((?:\*?\w+(?:,\*?\w+)*)?\)$")


def _substantive(line: str) -> bool:
    """Whether a solution line says enough to be (part of) an answer."""
    text = normalise(line)
    return (
        len(text) >= MIN_LENGTH
        and bool(re.search(r"[()@+\-*/]", text))
        and not _HEADER.match(line)  # `for j in range(n):` is how, not what
        and not _BARE_CALL.match(text)  # `loss.backward()`, `F.cross_entropy(a, b)`: building blocks
    )


def _code_of(path: Path) -> list[str]:
    """The lines of code a learner sees in a lesson: code cells, and code spans and blocks in markdown."""
    lines = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            lines += cell.source.split("\n")
        elif cell.cell_type == "markdown":
            for block in _FENCE.findall(cell.source):
                lines += block.split("\n")
            lines += _CODE_SPAN.findall(cell.source)
    return lines


def exercises_of(solution: Path) -> tuple[set[str], set[str]]:
    """(names, solution lines) of the exercises in a solutions notebook."""
    names, solution_lines = set(), set()
    for cell in nbformat.read(solution, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        names.update(_CHECK_ID.findall(cell.source))
        if not has_solution_region(cell):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
        inside = False
        for line in cell.source.split("\n"):
            if _BEGIN.match(line):
                inside = True
            elif _END.match(line):
                inside = False
            elif inside and _substantive(line):
                solution_lines.add(normalise(line))
    return names, solution_lines


def answers_shown(lesson: Path, solution: Path) -> list[str]:
    """What of the lesson's own exercises the lesson shows, in words (empty: nothing)."""
    names, solution_lines = exercises_of(solution)
    problems = []
    for line in _code_of(lesson):
        for shown in _SHOWN.findall(line):
            if shown.split(".")[-1] in names:
                problems.append(f"shows the source of {shown}, one of its exercises: {line.strip()!r}")
        text = normalise(line)
        for answer in sorted(solution_lines):
            if answer in text:
                problems.append(
                    f"contains the solution line {answer!r} of one of its exercises: {line.strip()!r}"
                )
    return problems


def _pairs():
    pairs = []
    for solution in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")):
        lesson = ROOT / "notebooks" / solution.name
        marks = []
        if solution.name[:2] in LESSONS_STILL_SHOWING_ANSWERS:
            marks = [pytest.mark.xfail(strict=False, reason="issue 14: lessons 05-09 in progress")]
        pairs.append(pytest.param(lesson, solution, id=solution.stem, marks=marks))
    return pairs


def test_every_lesson_from_00_to_11_has_a_solutions_notebook_to_read_its_exercises_from():
    numbers = {path.name[:2] for path in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")}
    assert {f"{n:02d}" for n in range(12)} <= numbers
    assert all((ROOT / "notebooks" / p.name).exists() for p in (ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("lesson, solution", _pairs())
def test_lesson_does_not_show_the_answer_to_its_own_exercises(lesson, solution):
    names, _ = exercises_of(solution)
    assert names, f"solutions/{solution.name} has no exercise"
    problems = answers_shown(lesson, solution)
    assert not problems, f"notebooks/{lesson.name}:\n" + "\n".join(problems)


# --- the detector itself: it finds what it should, and only that ----------------------------------


def _notebook(tmp_path, name, cells):
    path = tmp_path / name
    nb = nbformat.v4.new_notebook(cells=cells)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def solution(tmp_path):
    cells = [
        nbformat.v4.new_code_cell(
            "def column_means(X):\n    ### BEGIN SOLUTION\n    n = X.shape[1]\n"
            "    for j in np.ndindex(X.shape):\n        pass\n"
            "    return X.mean(axis=1, keepdims=True)  # the answer\n    ### END SOLUTION"
        ),
        nbformat.v4.new_code_cell('check("column_means", column_means)'),
    ]
    return _notebook(tmp_path, "solution.ipynb", cells)


@pytest.mark.parametrize(
    "code",
    [
        "mmcourse.show_source(column_means)",
        "show_source(mmcourse.somewhere.column_means)",
        "means = X.mean(axis = 1, keepdims=True)",
        "print(X.mean(axis=1, keepdims=True))  # shown",
    ],
)
def test_the_detector_finds_a_shown_answer(tmp_path, solution, code):
    lesson = _notebook(tmp_path, "lesson.ipynb", [nbformat.v4.new_code_cell(code)])
    assert answers_shown(lesson, solution)


def test_the_detector_reads_markdown_code_too(tmp_path, solution):
    lesson = _notebook(
        tmp_path, "lesson.ipynb", [nbformat.v4.new_markdown_cell("Use `X.mean(axis=1, keepdims=True)`.")]
    )
    assert answers_shown(lesson, solution)


@pytest.mark.parametrize(
    "code",
    [
        "X.mean(axis=0)",  # a different instance: the wrong axis
        "n = X.shape[1]",  # too generic to be an answer
        "mmcourse.show_source(pick_device)",  # not an exercise
        "check('column_means', column_means_wrong_axis)",
        "for j in np.ndindex(X.shape):",
    ],
)
def test_the_detector_lets_other_code_through(tmp_path, solution, code):
    lesson = _notebook(tmp_path, "lesson.ipynb", [nbformat.v4.new_code_cell(code)])
    assert not answers_shown(lesson, solution)


def test_normalise_drops_comments_whitespace_return_and_the_target():
    assert normalise("    return W @ X + b  # Z") == "W@X+b"
    assert normalise("Y[n, f, i, j] = np.sum(patch * W[f]) + b[f]") == "np.sum(patch*W[f])+b[f]"
    assert normalise("X[j] += eps") == "X[j]+=eps"
    assert normalise("ok = a == b") == "a==b"
    assert normalise("f(axis=1)") == "f(axis=1)"
    assert normalise('s = "#" + t') == '"#"+t'
