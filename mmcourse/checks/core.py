"""The machinery behind `check(exercise_id, answer)`.

A *checker* is a function that receives the learner's answer, runs it on prepared
cases, and either returns a one-line summary of what passed or calls `fail(hint)`
with a hint about the likely *mistake*. Checkers are registered per lesson with
the `@exercise` decorator in the `lessonNN` modules of this package:

    @exercise("column_means", lesson="00_welcome")
    def check_column_means(answer):
        expect_callable(answer, "a function X -> (d, 1) array")
        got = call_learner(answer, "a 3x5 X", X)
        got = expect_array_result(got, (3, 1), "a 3x5 X")
        if not np.allclose(got, X.mean(axis=1, keepdims=True)):
            fail("the values are wrong — ...")
        return "correct on 1 case."

The learner calls `check("column_means", column_means)` and sees either
`✓ column_means: correct on 1 case.` or an `ExerciseFailed` whose message is the hint.
"""

from __future__ import annotations

import difflib
import sys
import sysconfig
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = [
    "Exercise",
    "ExerciseFailed",
    "ExerciseNotStarted",
    "check",
    "exercise",
    "fail",
    "get_exercise",
    "list_exercises",
    "expect_callable",
    "call_learner",
    "expect_array_result",
    "learner_copy",
]

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_LIBRARY_DIRS = tuple(
    str(Path(p).resolve())
    for p in {
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
    }
)


class ExerciseFailed(AssertionError):
    """A learner's answer is wrong; the message is a hint about the mistake.

    Attributes: `exercise_id` (None while the checker runs) and `hint`.
    """

    def __init__(self, hint: str, exercise_id: str | None = None):
        self.hint, self.exercise_id = hint, exercise_id
        super().__init__(f"✗ {exercise_id}: {hint}" if exercise_id else hint)


class ExerciseNotStarted(ExerciseFailed, NotImplementedError):
    """The learner's answer still raises NotImplementedError: the stub has not been filled in."""


@dataclass(frozen=True)
class Exercise:
    """One registered exercise: its id, the lesson it belongs to, and its checker."""

    id: str
    lesson: str
    checker: Callable[[Any], str]
    description: str = ""


_REGISTRY: dict[str, Exercise] = {}


def exercise(exercise_id: str, *, lesson: str, description: str = ""):
    """Decorator registering `checker(answer) -> summary` under `exercise_id`."""

    def register(checker):
        if exercise_id in _REGISTRY:
            raise ValueError(f"exercise id {exercise_id!r} is registered twice")
        doc = description or (checker.__doc__ or "").strip().splitlines()[0:1]
        _REGISTRY[exercise_id] = Exercise(
            exercise_id, lesson, checker, doc if isinstance(doc, str) else "".join(doc)
        )
        return checker

    return register


def list_exercises() -> list[Exercise]:
    """Every registered exercise, sorted by lesson, then id."""
    return sorted(_REGISTRY.values(), key=lambda e: (e.lesson, e.id))


def get_exercise(exercise_id: str) -> Exercise:
    """The registered exercise `exercise_id`, or a ValueError listing close matches."""
    if not isinstance(exercise_id, str):
        raise TypeError(
            f"exercise_id must be a string such as 'softmax', but got {type(exercise_id).__name__} "
            f"{exercise_id!r}. Call check('exercise_id', your_answer)."
        )
    if exercise_id not in _REGISTRY:
        close = difflib.get_close_matches(exercise_id, _REGISTRY, n=3, cutoff=0.5)
        suggestion = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"There is no exercise called {exercise_id!r}.{suggestion} "
            f"Known exercises: {', '.join(sorted(_REGISTRY))}."
        )
    return _REGISTRY[exercise_id]


def fail(hint: str) -> NoReturn:
    """Stop the check with a hint about the learner's mistake."""
    raise ExerciseFailed(hint)


def _show_hint(shell, etype, value, tb, tb_offset=None):
    """IPython handler: show a failed check as its hint alone, without a traceback into mmcourse."""
    try:
        shell.showtraceback((etype, value, None), tb_offset=0)
    except Exception:  # an IPython that cannot show a traceback-less error: show the usual one
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def _install_hint_display() -> None:
    """In Jupyter, make ExerciseFailed display as `ExerciseFailed: ✗ id: hint` and nothing else.

    The cell still fails (nbgrader and nbval see an error); only the display is shorter.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    if shell is not None and ExerciseFailed not in getattr(shell, "custom_exceptions", ()):
        shell.set_custom_exc((ExerciseFailed,), _show_hint)


def check(exercise_id: str, answer: Any) -> None:
    """Check the learner's `answer` to exercise `exercise_id`.

    Prints `✓ id: summary` when the answer is right, and returns None, so that a check
    cell shows its ✓ line and nothing else (a returned True would be echoed by Jupyter,
    and nbgrader would try to read it as a score). Raises ExerciseFailed (an
    AssertionError) whose message is a hint when the answer is wrong.
    """
    entry = get_exercise(exercise_id)
    _install_hint_display()
    try:
        summary = entry.checker(answer)
    except ExerciseFailed as failure:
        raise type(failure)(failure.hint, exercise_id) from None
    except Exception as error:  # a checker tripped over an answer of an unexpected kind
        hint = (
            f"the check could not use your answer ({type(error).__name__}: {error}). "
            "Does it return what the exercise asks for?"
        )
        raise ExerciseFailed(hint, exercise_id) from None
    print(f"✓ {exercise_id}: {summary}")


# --- helpers for writing checkers -------------------------------------------------


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expect_callable(answer: Any, what: str = "a function") -> None:
    """Fail with a hint unless `answer` can be called."""
    if not callable(answer):
        fail(
            f"expected {what}, but got {type(answer).__name__} {_short_repr(answer)}. "
            "Pass the function itself, e.g. check('id', my_function) — not the result of calling it."
        )


def _learner_frame(tb) -> traceback.FrameSummary | None:
    """The innermost frame of the traceback that belongs to the learner's own code."""
    frames = traceback.extract_tb(tb)
    for frame in reversed(frames):
        path = str(Path(frame.filename).resolve()) if not frame.filename.startswith("<") else frame.filename
        if path.startswith(str(_PACKAGE_DIR)) or path.startswith(_LIBRARY_DIRS):
            continue
        return frame
    return None


def learner_copy(value: Any) -> Any:
    """A copy of a case input, so a learner's in-place edit cannot spoil the next case."""
    if isinstance(value, np.ndarray):
        return value.copy()
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return value.detach().clone()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return value


def call_learner(function: Callable, case: str, *args, copy_inputs: bool = True, **kwargs) -> Any:
    """Call the learner's `function(*args, **kwargs)`; turn any exception into a hint.

    `case` describes the inputs in words ("logits of ±1000") so the hint can name it.
    NumPy warnings (overflow, divide by zero) are silenced here: the checker looks at
    the result instead and says what the warning meant.
    """
    if copy_inputs:
        args = tuple(learner_copy(a) for a in args)
        kwargs = {k: learner_copy(v) for k, v in kwargs.items()}
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return function(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseNotStarted(
            "not written yet — replace `raise NotImplementedError()` with your code, "
            "run that cell again, then run this check."
        ) from None
    except ExerciseFailed:
        raise
    except Exception as error:
        frame = _learner_frame(sys.exc_info()[2])
        where = f" at line {frame.lineno} of your code (`{frame.line}`)" if frame and frame.line else ""
        fail(f"your code raised {type(error).__name__}: {error}{where}, on {case}.")


def expect_array_result(result: Any, shape: tuple, case: str, name: str = "your function") -> np.ndarray:
    """Convert a learner's result to a float array of `shape` (None = any size), or fail with a hint."""
    if result is None:
        fail(f"{name} returned None on {case} — did you forget `return`?")
    try:
        if hasattr(result, "detach"):
            result = result.detach().cpu().numpy()
        array = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{name} returned {type(result).__name__} {_short_repr(result)} on {case}; expected an array.")
    shape_ok = array.ndim == len(shape) and all(w is None or w == g for w, g in zip(shape, array.shape))
    if not shape_ok:
        from ..validation import format_shape

        hint = (
            f"{name} returned shape {array.shape} on {case}, but should return shape {format_shape(shape)}."
        )
        if array.ndim == len(shape) and tuple(array.shape[::-1]) == tuple(shape):
            hint += " It looks transposed — check which axis holds the samples."
        elif array.size == int(np.prod([s for s in shape if s is not None])) and None not in shape:
            hint += " The numbers are all there but the shape is not — keepdims=True, or a reshape?"
        fail(hint)
    return array
