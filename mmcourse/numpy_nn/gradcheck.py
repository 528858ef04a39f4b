"""Numerical gradients, the referee for every analytic gradient (lesson 03)."""

import numpy as np

from ..validation import as_float_arrays

__all__ = ["numerical_gradient", "relative_error"]


def numerical_gradient(f, X, eps=1e-5):
    """Central-difference gradient of a scalar function f at X.

    f: callable taking an array shaped like X and returning a number.
    X: array of any shape (it is not modified). eps: the step, a small positive float.
    Returns an array shaped like X whose entry i is (f(X + eps e_i) − f(X − eps e_i)) / (2 eps).
    The error is O(eps²): about 1e-10 relative for smooth f and the default eps.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of X returning a number, but got {type(f).__name__}.")
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise ValueError(f"eps must be a small positive number such as 1e-5, but got {eps!r}.")
    X = np.array(as_float_arrays(X=X), dtype=np.float64)  # a private copy: the caller's X never moves
    grad = np.zeros_like(X)
    for index in np.ndindex(X.shape):
        original = X[index]
        X[index] = original + eps
        f_plus = float(f(X))
        X[index] = original - eps
        f_minus = float(f(X))
        X[index] = original  # restore before moving on to the next entry
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b):
    """How far apart two arrays are, relative to their size: ‖a − b‖ / (‖a‖ + ‖b‖).

    a, b: arrays of the same shape. Returns a float in [0, 1] (0 when both are zero).
    For a correct analytic gradient against numerical_gradient expect below 1e-7;
    around 1e-2 or more means a bug.
    """
    a, b = as_float_arrays(a=a, b=b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, but have shapes {a.shape} and {b.shape}.")
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)
