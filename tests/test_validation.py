"""The shared input checks: every message names the argument, what it got and what was expected."""

import numpy as np
import pytest

from mmcourse.validation import (
    as_float_arrays,
    expect_finite,
    expect_number,
    expect_one_hot,
    expect_positive_int,
    expect_probabilities,
    expect_shape,
    format_shape,
    number_rule,
)


def test_format_shape_names_free_dimensions():
    assert format_shape((3, None)) == "(3, n)"
    assert format_shape((None, None, 2)) == "(n, m, 2)"
    assert format_shape((4,)) == "(4,)"


def test_expect_shape_suggests_transpose_when_samples_are_rows():
    with pytest.raises(ValueError) as info:
        expect_shape("X", np.zeros((5, 3)), (3, None), hint="one sample per column")
    message = str(info.value)
    assert "X must have shape (3, n)" in message and "(5, 3)" in message
    assert "one sample per column" in message and "X.T" in message


def test_expect_shape_accepts_matching_and_rejects_wrong_rank():
    expect_shape("b", np.zeros((4, 1)), (4, 1))
    with pytest.raises(ValueError, match=r"b must have shape \(4, 1\) but has shape \(4,\)"):
        expect_shape("b", np.zeros(4), (4, 1))


@pytest.mark.parametrize("bad", ["abc", None, [[1, 2], [3]], {"a": 1}, np.array([1j])])
def test_as_float_arrays_rejects_non_numbers_naming_the_argument(bad):
    with pytest.raises(TypeError, match="^W must"):
        as_float_arrays(W=bad)


def test_as_float_arrays_converts_in_order():
    W, X = as_float_arrays(W=[[1, 2]], X=np.ones((2, 3), dtype=np.int32))
    assert W.dtype == X.dtype == np.float64 and W.shape == (1, 2) and X.shape == (2, 3)


def test_probabilities_one_hot_finite_and_positive_int():
    expect_probabilities("P", np.full((4, 3), 0.25))
    with pytest.raises(ValueError, match="Did you pass logits"):
        expect_probabilities("P", np.array([[2.0], [-1.0]]))
    with pytest.raises(ValueError, match="sum to 1 along axis 0"):
        expect_probabilities("P", np.full((4, 3), 0.3))
    expect_one_hot("Y", np.eye(3))
    with pytest.raises(ValueError, match="one_hot"):
        expect_one_hot("Y", np.array([[0, 2], [1, 0]]))
    with pytest.raises(ValueError, match="exactly one 1 per column"):
        expect_one_hot("Y", np.array([[1.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"index \(1,\)"):
        expect_finite("Z", np.array([0.0, np.nan]))
    assert expect_positive_int("n", np.int64(3)) == 3
    with pytest.raises(TypeError, match="n must be a positive integer"):
        expect_positive_int("n", 2.5)
    with pytest.raises(ValueError, match="got 0"):
        expect_positive_int("n", 0)


@pytest.mark.parametrize(
    "value, kind, bounds, error, message",
    [
        (0, "int", dict(low=1), ValueError, "epochs must be a whole number >= 1, but got 0."),
        (2.5, "int", dict(low=1), TypeError, "epochs must be a whole number >= 1, but got float 2.5."),
        (True, "int", dict(low=1), TypeError, "epochs must be a whole number >= 1, but got bool True."),
        ("3", "float", dict(), TypeError, "epochs must be a number, but got str '3'."),
        (
            None,
            "float",
            dict(low=0, low_open=True),
            TypeError,
            "epochs must be a number > 0, but got NoneType",
        ),
        (0.0, "float", dict(low=0, low_open=True), ValueError, "epochs must be a number > 0, but got 0.0."),
        (
            float("nan"),
            "float",
            dict(low=0, high=1),
            ValueError,
            r"epochs must be a number in [0, 1], but got nan.",
        ),
        (float("inf"), "float", dict(), ValueError, "epochs must be a number, but got inf."),
        (1.5, "float", dict(low=0, high=1), ValueError, "epochs must be a number in [0, 1], but got 1.5."),
        (0.0, "float", dict(low=0, high=1, low_open=True), ValueError, "epochs must be a number in (0, 1]"),
        (7, "int", dict(high=5), ValueError, "epochs must be a whole number <= 5, but got 7."),
    ],
)
def test_expect_number_names_the_argument_the_rule_and_the_value(value, kind, bounds, error, message):
    with pytest.raises(error) as info:
        expect_number("epochs", value, kind, **bounds)
    assert str(info.value).startswith(message)


def test_expect_number_returns_plain_numbers_and_accepts_the_bounds_themselves():
    assert (
        expect_number("n", np.int64(3), "int", 1) == 3 and type(expect_number("n", np.int64(3), "int")) is int
    )
    assert expect_number("p", 1, "float", 0, 1) == 1.0 and type(expect_number("p", 1, "float")) is float
    assert expect_number("p", 0, "float", 0, 1) == 0.0 and expect_number("k", -4, "int") == -4
    with pytest.raises(ValueError, match="rate must be a rate in"):
        expect_number("rate", 2, "float", 0, 1, rule="a rate in [0, 1]")
    with pytest.raises(ValueError, match="kind must be 'int' or 'float'"):
        number_rule("complex")
