"""Exercise checks: `check(exercise_id, answer)` gives immediate feedback.

    >>> from mmcourse.checks import check
    >>> check("column_means", column_means)
    ✓ column_means: correct on 4 cases, including a 3 x 5 batch (d != n).

A wrong answer raises `ExerciseFailed` (an AssertionError) with a hint about the
mistake. `list_exercises()` lists every exercise with the lesson it belongs to.

Each lesson's checkers live in a module `lessonNN_*.py` of this package; they are
imported here automatically, so adding a lesson needs no edit to this file.
"""

import importlib
import pkgutil

from .core import (
    Exercise,
    ExerciseFailed,
    ExerciseNotStarted,
    call_learner,
    check,
    exercise,
    expect_array_result,
    expect_callable,
    fail,
    get_exercise,
    list_exercises,
)

__all__ = [
    "Exercise",
    "ExerciseFailed",
    "ExerciseNotStarted",
    "check",
    "list_exercises",
    "get_exercise",
    "exercise",
    "fail",
    "expect_callable",
    "call_learner",
    "expect_array_result",
]

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _module.name.startswith("lesson"):
        importlib.import_module(f"{__name__}.{_module.name}")
