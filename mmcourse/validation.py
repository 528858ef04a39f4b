"""Input checks with messages a learner can act on.

Every public function in mmcourse validates its arguments through these helpers, so
that a wrong shape or dtype gives one uniform message, naming the argument, what it got
and what was expected -- never a broadcast error from deep inside NumPy or PyTorch:

    >>> expect_shape("X", np.zeros((5, 3)), (3, None), hint="one sample per column")
    Traceback (most recent call last):
    ValueError: X must have shape (3, n) — one sample per column — but has shape (5, 3).
    Did you pass samples as rows? Try X.T.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "as_float_arrays",
    "expect_shape",
    "expect_ndim",
    "expect_finite",
    "expect_probabilities",
    "expect_one_hot",
    "expect_positive_int",
    "expect_number",
    "number_rule",
    "format_shape",
]

_DIM_NAMES = "nmpqrstuv"


def format_shape(shape) -> str:
    """Write a shape spec such as (3, None) as "(3, n)"; None becomes a letter."""
    letters = iter(_DIM_NAMES)
    parts = [next(letters) if dim is None else str(dim) for dim in shape]
    return "(" + ", ".join(parts) + (",)" if len(parts) == 1 else ")")


def as_float_arrays(**arrays):
    """Convert each keyword argument to a float64 NumPy array, or raise TypeError naming it.

    Returns the arrays in the order given: `W, X = as_float_arrays(W=W, X=X)`.
    Accepts lists, NumPy arrays and anything numeric; rejects strings, None, objects,
    and complex numbers.
    """
    converted = []
    for name, value in arrays.items():
        if value is None or isinstance(value, (str, bytes)):
            raise TypeError(
                f"{name} must be a NumPy array of numbers, but got {type(value).__name__} {value!r}."
            )
        try:
            array = np.asarray(value)
        except Exception as error:  # ragged lists and the like
            raise TypeError(
                f"{name} must be a NumPy array of numbers, but could not be converted: {error}"
            ) from None
        if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise TypeError(
                f"{name} must be a NumPy array of numbers, but has dtype {array.dtype} "
                f"(built from {type(value).__name__}). Are all rows the same length?"
            )
        if np.issubdtype(array.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers, but has dtype {array.dtype}.")
        converted.append(array.astype(np.float64, copy=False))
    return converted[0] if len(converted) == 1 else converted


def expect_ndim(name: str, array, ndim: int, hint: str = "") -> None:
    """Raise ValueError unless `array` has exactly `ndim` dimensions."""
    if np.ndim(array) != ndim:
        extra = f" — {hint} —" if hint else ""
        raise ValueError(
            f"{name} must be a {ndim}-D array{extra} but has {np.ndim(array)} dimension(s), "
            f"shape {tuple(np.shape(array))}."
        )


def expect_shape(name: str, array, shape, hint: str = "") -> None:
    """Raise ValueError unless `array.shape` matches `shape`, where None means "any size".

    `hint` says what the axes mean ("one sample per column"); when the array would fit
    after transposing, the message suggests `.T`.
    """
    actual = tuple(np.shape(array))
    wanted = format_shape(shape)
    matches = len(actual) == len(shape) and all(
        want is None or want == got for want, got in zip(shape, actual)
    )
    if matches:
        return
    extra = f" — {hint} —" if hint else ""
    message = f"{name} must have shape {wanted}{extra} but has shape {actual}."
    transposed = actual[::-1]
    if (
        len(actual) == 2
        and len(shape) == 2
        and all(want is None or want == got for want, got in zip(shape, transposed))
    ):
        message += f" Did you pass samples as rows? Try {name}.T."
    raise ValueError(message)


def expect_finite(name: str, array) -> None:
    """Raise ValueError if `array` holds NaN or infinity, saying how many and where."""
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite, but {int(bad.sum())} entries are NaN or inf "
            f"(the first at index {first})."
        )


def expect_probabilities(name: str, P, axis: int = 0, atol: float = 1e-6) -> None:
    """Raise ValueError unless P lies in [0, 1] and sums to 1 along `axis`."""
    expect_finite(name, P)
    if (P < 0).any() or (P > 1).any():
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], but ranges from {P.min():.3g} to {P.max():.3g}. "
            "Did you pass logits? Apply softmax first."
        )
    sums = P.sum(axis=axis)
    if not np.allclose(sums, 1.0, atol=atol):
        worst = float(np.abs(sums - 1).max())
        raise ValueError(
            f"{name} must sum to 1 along axis {axis} (one distribution per "
            f"{'column' if axis == 0 else 'row'}), but a sum is off by {worst:.3g}."
        )


def expect_one_hot(name: str, Y, axis: int = 0) -> None:
    """Raise ValueError unless Y is one-hot along `axis`: entries 0 or 1, one 1 each."""
    if not np.isin(Y, (0.0, 1.0)).all():
        raise ValueError(
            f"{name} must be one-hot (only 0s and 1s), but holds other values such as "
            f"{Y[~np.isin(Y, (0.0, 1.0))].flat[0]!r}. Integer class labels? Convert them "
            "with one_hot(labels, n_classes)."
        )
    counts = Y.sum(axis=axis)
    if not (counts == 1).all():
        raise ValueError(
            f"{name} must have exactly one 1 per {'column' if axis == 0 else 'row'} "
            f"(one class per sample), but some have {int(counts[counts != 1].flat[0])}."
        )


def number_rule(kind: str = "float", low=None, high=None, *, low_open: bool = False) -> str:
    """The rule a number must follow, in words: number_rule("int", 1) == "a whole number >= 1".

    kind: "int" (a whole number) or "float" (any real number); low, high: inclusive bounds
    (None: unbounded); low_open: the lower bound itself is excluded ("> 0", "(0, 1]").
    """
    if kind not in ("int", "float"):
        raise ValueError(f"kind must be 'int' or 'float', but got {kind!r}.")
    noun = "a whole number" if kind == "int" else "a number"
    if low is not None and high is not None:
        return f"{noun} in {'(' if low_open else '['}{low}, {high}]"
    if low is not None:
        return f"{noun} {'>' if low_open else '>='} {low}"
    return f"{noun} <= {high}" if high is not None else noun


def expect_number(name: str, value, kind: str = "float", low=None, high=None, *, low_open=False, rule=""):
    """Return `value` as an int or float if it follows the rule, else raise naming `name`.

    The one scalar check of the library and the command line:
    `expect_number("lr", -0.1, "float", 0, low_open=True)` raises
    `ValueError: lr must be a number > 0, but got -0.1.` A bool, a string, None or (for
    kind="int") a fraction raises TypeError; NaN, infinity or a number out of bounds,
    ValueError. rule: the rule in other words for the message ("a rate in [0, 1]").
    """
    rule = rule or number_rule(kind, low, high, low_open=low_open)
    wanted = numbers.Integral if kind == "int" else numbers.Real
    if isinstance(value, bool) or not isinstance(value, wanted):
        raise TypeError(f"{name} must be {rule}, but got {type(value).__name__} {value!r}.")
    number = int(value) if kind == "int" else float(value)
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and number > high
    if not math.isfinite(number) or too_low or too_high:
        raise ValueError(f"{name} must be {rule}, but got {value!r}.")
    return number


def expect_positive_int(name: str, value) -> int:
    """Return `value` as int if it is a positive integer, else raise TypeError/ValueError."""
    return expect_number(name, value, "int", 1, rule="a positive integer")
