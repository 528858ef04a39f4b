"""Activation functions, applied elementwise (lesson 01).

Each takes an array Z of any shape -- in Part I usually (k, n), one sample per
column -- and returns an array of the same shape. Each has a `*_grad` partner that
gives the derivative with respect to Z, used by backpropagation in lesson 03.
"""

import numpy as np

from ..validation import as_float_arrays

__all__ = ["sigmoid", "sigmoid_grad", "relu", "relu_grad", "tanh", "tanh_grad"]


def sigmoid(Z):
    """The logistic function σ(z) = 1 / (1 + e^{-z}), elementwise and without overflow.

    Z: array of any shape. Returns an array of the same shape, values in [0, 1].
    Stable for any |z| (1e4 included): it only ever exponentiates -|z| <= 0, using
    σ(z) = 1 / (1 + e^{-z}) for z >= 0 and σ(z) = e^{z} / (1 + e^{z}) for z < 0.
    """
    Z = as_float_arrays(Z=Z)
    e = np.exp(-np.abs(Z))  # in (0, 1]: cannot overflow
    return np.where(Z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(Z):
    """Derivative of the sigmoid, σ'(z) = σ(z) (1 − σ(z)). Z: any shape -> same shape."""
    S = sigmoid(Z)
    return S * (1.0 - S)


def relu(Z):
    """The rectified linear unit max(0, z), elementwise. Z: any shape -> same shape."""
    Z = as_float_arrays(Z=Z)
    return np.maximum(Z, 0.0)


def relu_grad(Z):
    """Derivative of ReLU: 1 where z > 0, else 0 (we pick 0 at z = 0). Z: any shape -> same shape."""
    Z = as_float_arrays(Z=Z)
    return (Z > 0).astype(np.float64)


def tanh(Z):
    """The hyperbolic tangent, elementwise, values in [-1, 1]. Z: any shape -> same shape."""
    Z = as_float_arrays(Z=Z)
    return np.tanh(Z)


def tanh_grad(Z):
    """Derivative of tanh, 1 − tanh(z)². Z: any shape -> same shape."""
    T = tanh(Z)
    return 1.0 - T * T
