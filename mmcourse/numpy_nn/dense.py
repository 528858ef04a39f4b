"""The dense (fully connected, affine) layer Z = W X + b, forward and backward (lessons 01, 03).

Part I's convention: X is (d, n), ONE SAMPLE PER COLUMN; W is (k, d), one row per
output unit; b is (k, 1) and broadcasts across the n columns.
"""

from ..validation import as_float_arrays, expect_ndim, expect_shape

__all__ = ["dense_forward", "dense_backward"]

_COLUMNS = "one sample per column"


def dense_forward(W, b, X):
    """Affine map of a batch: Z = W X + b.

    W: (k, d) weights; b: (k, 1) bias; X: (d, n), one sample per column.
    Returns Z: (k, n).
    """
    W, b, X = as_float_arrays(W=W, b=b, X=X)
    expect_ndim("W", W, 2, hint="one row per output unit, shape (k, d)")
    expect_shape("X", X, (W.shape[1], None), hint=_COLUMNS)
    expect_shape("b", b, (W.shape[0], 1), hint="a column, one bias per output unit")
    return W @ X + b


def dense_backward(dZ, W, X):
    """Gradients of a loss through Z = W X + b, given dZ = ∂L/∂Z.

    dZ: (k, n); W: (k, d); X: (d, n), one sample per column.
    Returns (dW, db, dX) with shapes (k, d), (k, 1), (d, n):
    dW = dZ Xᵀ, db = Σ_columns dZ, dX = Wᵀ dZ.
    """
    dZ, W, X = as_float_arrays(dZ=dZ, W=W, X=X)
    expect_ndim("W", W, 2, hint="one row per output unit, shape (k, d)")
    expect_shape("X", X, (W.shape[1], None), hint=_COLUMNS)
    expect_shape("dZ", dZ, (W.shape[0], X.shape[1]), hint="the gradient of Z = W X + b, shape (k, n)")
    return dZ @ X.T, dZ.sum(axis=1, keepdims=True), W.T @ dZ
