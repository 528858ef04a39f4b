"""Softmax, cross-entropy and their stable combination (lesson 02).

Part I's convention: scores Z, probabilities P and one-hot targets Y are all (k, n):
k classes, ONE SAMPLE PER COLUMN. So softmax normalises over axis 0 (the classes),
and losses average over the n columns.
"""

import numpy as np

from ..validation import (
    as_float_arrays,
    expect_finite,
    expect_ndim,
    expect_one_hot,
    expect_positive_int,
    expect_probabilities,
    expect_shape,
)

__all__ = [
    "one_hot",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_grad",
]

LOG_EPS = 1e-12  # cross_entropy clips probabilities to [LOG_EPS, 1] before the log


def one_hot(labels, n_classes):
    """Integer class labels (n,) -> one-hot targets Y (n_classes, n), one sample per column."""
    n_classes = expect_positive_int("n_classes", n_classes)
    labels = np.asarray(labels)
    expect_ndim("labels", labels, 1, hint="one integer class per sample")
    if labels.size and (not np.issubdtype(labels.dtype, np.integer)):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise TypeError(f"labels must be integers 0 .. {n_classes - 1}, but has dtype {labels.dtype}.")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must lie in 0 .. {n_classes - 1} (n_classes={n_classes}), "
            f"but range from {labels.min()} to {labels.max()}."
        )
    Y = np.zeros((n_classes, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


def _scores(Z):
    Z = as_float_arrays(Z=Z)
    if Z.ndim not in (1, 2):
        expect_ndim("Z", Z, 2, hint="scores (k, n), one sample per column")
    expect_finite("Z", Z)
    return Z


def softmax(Z):
    """Probabilities from scores, normalised over axis 0 (the classes).

    Z: (k, n) scores, one sample per column (or a single sample (k,)).
    Returns P of the same shape; every column is positive and sums to 1.
    Stable for any finite scores (±1000 included): it subtracts each column's maximum
    first, which leaves the result unchanged, since softmax(z) = softmax(z − c).
    """
    Z = _scores(Z)
    E = np.exp(Z - Z.max(axis=0, keepdims=True))  # largest entry of each column is e^0 = 1
    return E / E.sum(axis=0, keepdims=True)


def log_softmax(Z):
    """log softmax(Z) computed with the log-sum-exp trick, never taking log(0).

    Z: (k, n) scores, one sample per column (or (k,)). Returns an array of the same shape:
    Z − m − log Σ_k e^{Z − m}, with m the column maximum.
    """
    Z = _scores(Z)
    shifted = Z - Z.max(axis=0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


def _targets(Y, other_name, other):
    expect_ndim("Y", Y, 2, hint="one-hot targets (k, n), one sample per column")
    expect_shape(other_name, other, Y.shape, hint="(k, n) like Y, one sample per column")
    expect_one_hot("Y", Y, axis=0)


def cross_entropy(Y, P):
    """Mean cross-entropy L = −(1/n) Σ_i Σ_k y_ki log ŷ_ki of probabilities P against targets Y.

    Y: (k, n) one-hot targets; P: (k, n) probabilities, each column summing to 1;
    one sample per column. Returns a float. Finite even when some ŷ is 0: P is clipped
    to [1e-12, 1] before the log (so a confident wrong answer costs about 27.6, not inf).
    """
    Y, P = as_float_arrays(Y=Y, P=P)
    _targets(Y, "P", P)
    expect_probabilities("P", P, axis=0)
    n = Y.shape[1]
    return float(-(Y * np.log(np.clip(P, LOG_EPS, 1.0))).sum() / n)


def softmax_cross_entropy(Y, Z):
    """Cross-entropy of softmax(Z) against Y, computed from the scores with log-sum-exp.

    Y: (k, n) one-hot targets; Z: (k, n) scores (logits); one sample per column.
    Returns a float, −(1/n) Σ y · log_softmax(Z); stable for scores of ±1000.
    """
    Y, Z = as_float_arrays(Y=Y, Z=Z)
    _targets(Y, "Z", Z)
    n = Y.shape[1]
    return float(-(Y * log_softmax(Z)).sum() / n)


def softmax_cross_entropy_grad(Y, Z):
    """∂L/∂Z for L = softmax_cross_entropy(Y, Z): (softmax(Z) − Y) / n.

    Y: (k, n) one-hot targets; Z: (k, n) scores; one sample per column. Returns (k, n).
    """
    Y, Z = as_float_arrays(Y=Y, Z=Z)
    _targets(Y, "Z", Z)
    return (softmax(Z) - Y) / Y.shape[1]
