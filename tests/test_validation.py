"""The shared input checks: every message names the argument, what it got and what was expected."""

import numpy as np
import pytest

from mmcourse.validation import (
    as_float_arrays,
    expect_finite,
    expect_one_hot,
    expect_positive_int,
    expect_probabilities,
    expect_shape,
    format_shape,
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
