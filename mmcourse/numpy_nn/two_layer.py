"""The two-layer network h = σ(W₁x + b₁), ŷ = softmax(W₂h + b₂), by hand (lesson 03).

Part I's convention: X is (d, n), ONE SAMPLE PER COLUMN. The parameters live in a dict

    params = {"W1": (h, d), "b1": (h, 1), "W2": (k, h), "b2": (k, 1)}

with d inputs, h hidden units and k classes. `two_layer_forward` returns the
probabilities and a `cache` of what the backward pass needs; `two_layer_backward`
turns that cache into the gradient of the mean cross-entropy for every parameter;
`gd_step` takes one step of gradient descent.
"""

import numpy as np

from ..validation import as_float_arrays, expect_positive_int, expect_shape
from .activations import sigmoid
from .dense import dense_forward
from .losses import softmax, softmax_cross_entropy

__all__ = [
    "TWO_LAYER_PARAMS",
    "init_two_layer",
    "two_layer_forward",
    "two_layer_backward",
    "two_layer_loss",
    "two_layer_predict",
    "gd_step",
]

TWO_LAYER_PARAMS = ("W1", "b1", "W2", "b2")


def init_two_layer(d, h, k, seed=0):
    """Random initial parameters for d inputs, h hidden units, k classes.

    Weights are drawn from N(0, 1/fan_in) (so W X starts with unit-sized scores),
    biases start at 0. The same seed gives the same parameters.
    Returns {"W1": (h, d), "b1": (h, 1), "W2": (k, h), "b2": (k, 1)}.
    """
    d, h, k = (expect_positive_int(name, v) for name, v in (("d", d), ("h", h), ("k", k)))
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0.0, 1.0 / np.sqrt(d), size=(h, d)),
        "b1": np.zeros((h, 1)),
        "W2": rng.normal(0.0, 1.0 / np.sqrt(h), size=(k, h)),
        "b2": np.zeros((k, 1)),
    }


def _check_params(params):
    """The four parameters as float arrays, after checking their keys and shapes agree."""
    if not isinstance(params, dict) or any(name not in params for name in TWO_LAYER_PARAMS):
        have = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise TypeError(f"params must be a dict with keys {list(TWO_LAYER_PARAMS)}, but got {have}.")
    W1, b1, W2, b2 = as_float_arrays(**{name: params[name] for name in TWO_LAYER_PARAMS})
    if W1.ndim != 2 or W2.ndim != 2:
        raise ValueError(f"W1 and W2 must be 2-D, but have shapes {W1.shape} and {W2.shape}.")
    h = W1.shape[0]
    expect_shape("b1", b1, (h, 1), hint="one bias per hidden unit")
    expect_shape("W2", W2, (None, h), hint="k rows, one column per hidden unit")
    expect_shape("b2", b2, (W2.shape[0], 1), hint="one bias per class")
    return W1, b1, W2, b2


def two_layer_forward(params, X):
    """Forward pass. X: (d, n), one sample per column.

    Returns (P, cache): P (k, n) class probabilities, and cache, a dict with
    X (d, n), Z1 (h, n), H (h, n) = σ(Z1), Z2 (k, n) and P (k, n).
    """
    W1, b1, W2, b2 = _check_params(params)
    X = as_float_arrays(X=X)
    expect_shape("X", X, (W1.shape[1], None), hint="one sample per column")
    Z1 = dense_forward(W1, b1, X)
    H = sigmoid(Z1)
    Z2 = dense_forward(W2, b2, H)
    P = softmax(Z2)
    return P, {"X": X, "Z1": Z1, "H": H, "Z2": Z2, "P": P}


def two_layer_backward(params, cache, Y):
    """Gradients of the mean cross-entropy L = −(1/n) Σ y log ŷ for every parameter.

    params: as from init_two_layer; cache: from two_layer_forward; Y: (k, n) one-hot.
    Returns {"W1": (h, d), "b1": (h, 1), "W2": (k, h), "b2": (k, 1)}, each the shape
    of its parameter:
        dZ2 = (P − Y) / n          dW2 = dZ2 Hᵀ    db2 = Σ_columns dZ2
        dZ1 = (W2ᵀ dZ2) ⊙ H(1 − H) dW1 = dZ1 Xᵀ    db1 = Σ_columns dZ1
    """
    _, _, W2, _ = _check_params(params)
    X, H, P, Y = as_float_arrays(X=cache["X"], H=cache["H"], P=cache["P"], Y=Y)
    expect_shape("Y", Y, P.shape, hint="one-hot targets (k, n), one sample per column")
    n = X.shape[1]
    dZ2 = (P - Y) / n
    dZ1 = (W2.T @ dZ2) * H * (1.0 - H)
    return {
        "W1": dZ1 @ X.T,
        "b1": dZ1.sum(axis=1, keepdims=True),
        "W2": dZ2 @ H.T,
        "b2": dZ2.sum(axis=1, keepdims=True),
    }


def two_layer_loss(params, X, Y):
    """Mean cross-entropy of the network on X (d, n) against one-hot Y (k, n); a float."""
    _, cache = two_layer_forward(params, X)
    return softmax_cross_entropy(Y, cache["Z2"])


def two_layer_predict(params, X):
    """Predicted class of every sample: X (d, n) -> integer labels (n,)."""
    P, _ = two_layer_forward(params, X)
    return P.argmax(axis=0)


def gd_step(params, grads, lr):
    """One step of gradient descent: a NEW dict {name: param − lr · grad} (params is not modified)."""
    if not isinstance(grads, dict) or set(grads) != set(params):
        raise ValueError(
            f"grads must have the same keys as params, {sorted(params)}, but has {sorted(grads)}."
        )
    for name in params:
        expect_shape(
            f"grads[{name!r}]", grads[name], np.shape(params[name]), hint="the shape of its parameter"
        )
    return {name: params[name] - lr * np.asarray(grads[name]) for name in params}
