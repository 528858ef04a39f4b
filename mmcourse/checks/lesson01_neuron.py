"""Checks for lesson 01 (the neuron): `sigmoid`, `relu` and `dense_forward`.

Part I's convention: X is (d, n), one sample per column; W is (k, d); b is (k, 1).
The cases are non-square on purpose, so that a wrong axis or a transposed matrix shows.
"""

import warnings

import numpy as np

from ..numpy_nn.activations import sigmoid as _sigmoid
from .core import call_learner, exercise, expect_array_result, expect_callable, fail

LESSON = "01_neuron"


def _close(a, b):
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-7, atol=1e-12)


def _show(values):
    return np.array2string(np.round(np.ravel(values)[:4], 4), separator=", ")


def _sigmoid_cases():
    rng = np.random.default_rng(1)
    return [
        ("a 3 x 5 array of scores between -6 and 6", rng.uniform(-6, 6, size=(3, 5))),
        ("z = 0 (a 2 x 4 array of zeros)", np.zeros((2, 4))),
        ("extreme scores z = ±1e4, ±800, ±50", np.array([[-1e4, -800.0, -50.0], [50.0, 800.0, 1e4]])),
        ("a flat vector of 7 scores", np.linspace(-3, 3, 7)),
    ]


def _overflows(answer, Z):
    """True if the learner's (already correct) function made NumPy warn about overflow on Z."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        try:
            answer(Z.copy())
        except Exception:
            return False
    return any("overflow" in str(w.message) for w in caught)


@exercise("sigmoid", lesson=LESSON, description="σ(Z) = 1 / (1 + e^{-Z}), elementwise, for any shape")
def check_sigmoid(answer):
    """The logistic function, elementwise, stable for large |z|."""
    expect_callable(answer, "a function sigmoid(Z) returning an array shaped like Z")
    for case, Z in _sigmoid_cases():
        got = expect_array_result(call_learner(answer, case, Z), Z.shape, case)
        want = _sigmoid(Z)
        if _close(got, want):
            continue
        if np.isnan(got).any():
            bad = Z[np.isnan(got)].flat[0]
            fail(
                f"on {case} you returned NaN (for z = {bad:g}). np.exp overflows to inf for large |z|, and "
                "exp(z) / (1 + exp(z)) is then inf / inf. Write σ(z) = 1 / (1 + np.exp(-z)), which is fine "
                "for large positive z, or use the stable form from the lesson for negative z."
            )
        if _close(got, _sigmoid(-Z)):
            fail(
                f"on {case} you computed σ(−z): check the sign in the exponent — σ(z) = 1 / (1 + e^(−z)), "
                "so σ(2) ≈ 0.88 is above 0.5."
            )
        if _close(got, np.tanh(Z)):
            fail(
                f"on {case} you returned tanh(z), which ranges over (−1, 1); the sigmoid ranges over (0, 1)."
            )
        fail(f"on {case} the values are wrong: for z = {_show(Z)} expected {_show(want)}, got {_show(got)}.")
    summary = f"correct on {len(_sigmoid_cases())} cases, including z = ±1e4."
    if _overflows(answer, _sigmoid_cases()[2][1]):
        summary += (
            " (np.exp overflowed to inf on z = −1e4 along the way: harmless here, as 1 / (1 + inf) = 0, "
            "but the lesson's stable form avoids the warning.)"
        )
    return summary


def _relu_cases():
    rng = np.random.default_rng(2)
    return [
        ("a 3 x 5 array of scores", rng.normal(size=(3, 5))),
        ("a 2 x 3 array holding exact zeros", np.array([[0.0, -0.0, 2.5], [-1e-9, 0.0, -7.0]])),
        ("a flat vector of 6 integers", np.arange(-3, 3)),
    ]


@exercise("relu", lesson=LESSON, description="ReLU(Z) = max(0, Z), elementwise, for any shape")
def check_relu(answer):
    """The rectified linear unit, elementwise."""
    expect_callable(answer, "a function relu(Z) returning an array shaped like Z")
    for case, Z in _relu_cases():
        got = call_learner(answer, case, Z)
        if Z.ndim == 2 and np.shape(got) in {(Z.shape[1],), (Z.shape[0],)}:
            fail(
                f"on {case} you returned shape {np.shape(got)}: np.max(Z, 0) takes the maximum *along axis 0*. "
                "np.maximum(Z, 0) compares each entry with 0."
            )
        got = expect_array_result(got, Z.shape, case)
        want = np.maximum(Z, 0.0)
        if _close(got, want):
            continue
        if _close(got, np.minimum(Z, 0.0)) or _close(got, np.maximum(-Z, 0.0)):
            fail(
                f"on {case} you kept the negative part; ReLU keeps positive inputs and sets negative ones to 0."
            )
        if _close(got, (Z > 0).astype(float)):
            fail(f"on {case} you returned the mask Z > 0 (0s and 1s, ReLU's derivative), not max(0, z).")
        if _close(got, np.abs(Z)):
            fail(f"on {case} you returned |z|; negative inputs must become 0, not flip sign.")
        fail(f"on {case} the values are wrong: for z = {_show(Z)} expected {_show(want)}, got {_show(got)}.")
    return f"correct on {len(_relu_cases())} cases, including exact zeros and integer input."


def _dense_cases():
    rng = np.random.default_rng(3)
    cases = []
    for case, k, d, n in (
        ("W (3, 3), b (3, 1), X (3, 3): k = d = n", 3, 3, 3),
        ("W (4, 2), b (4, 1), X (2, 5): k = 4 units, d = 2 features, n = 5 samples", 4, 2, 5),
        ("a single sample: W (3, 2), b (3, 1), X (2, 1)", 3, 2, 1),
        ("one output unit: W (1, 3), b (1, 1), X (3, 6)", 1, 3, 6),
    ):
        W, b, X = rng.normal(size=(k, d)), rng.normal(size=(k, 1)) + 1.0, rng.normal(size=(d, n))
        cases.append((case, W, b, X))
    return cases


@exercise("dense_forward", lesson=LESSON, description="Z = W X + b for W (k, d), b (k, 1), X (d, n)")
def check_dense_forward(answer):
    """The affine map of a batch, one sample per column."""
    expect_callable(answer, "a function dense_forward(W, b, X) returning Z of shape (k, n)")
    for case, W, b, X in _dense_cases():
        k, n = W.shape[0], X.shape[1]
        got = expect_array_result(call_learner(answer, case, W, b, X), (k, n), case)
        want = W @ X + b
        mistakes = [
            (W @ X, "you left out the bias: Z = W X + b."),
            (-want, "the sign is flipped: Z = W X + b, not −(W X + b)."),
            (W @ X - b, "you subtracted the bias; Z = W X + b adds it."),
            (
                _sigmoid(want),
                "you applied the sigmoid; dense_forward is only the affine part Z = W X + b "
                "(the activation comes after, as its own step).",
            ),
        ]
        if W.shape[0] == W.shape[1]:
            mistakes += [
                (
                    W.T @ X + b,
                    "you used the transposed weights Wᵀ X + b. W is (k, d): row j holds the "
                    "weights of output unit j, so Z = W X + b with no transpose.",
                ),
                (
                    X @ W + b,
                    "you computed X W + b. Here X holds one sample per COLUMN, so the weights go "
                    "on the left: Z = W X + b.",
                ),
                (
                    (W @ X + b).T,
                    "you returned Zᵀ: Z is (k, n), one row per output unit, one column per sample.",
                ),
                (
                    W @ X + b.T,
                    "the bias is added along the wrong axis: b is (k, 1), one bias per output "
                    "unit (row), broadcast across the n columns. Did you flatten or transpose b?",
                ),
            ]
        if _close(got, want):
            continue
        for wrong, hint in mistakes:
            if _close(got, wrong):
                fail(f"on {case} {hint}")
        fail(f"on {case} the values are wrong: expected Z starting {_show(want)}, got {_show(got)}.")
    return f"correct on {len(_dense_cases())} cases, including k ≠ d ≠ n and a single sample."
