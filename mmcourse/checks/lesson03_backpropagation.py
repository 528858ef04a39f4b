"""Checks for lesson 03 (backpropagation): `numerical_gradient`, `two_layer_backward` and
`tanh_two_layer_backward`.

The two-layer network h = σ(W₁x + b₁), ŷ = softmax(W₂h + b₂) with Part I's convention:
X (d, n), one sample per column; the cases use d, h, k and n all different, so a
transposed product or a sum over the wrong axis gives a wrong shape.

`tanh_two_layer_backward` is the same network with a tanh hidden layer, whose derivative the
lesson does not give; its referee is the numerical gradient of the loss itself, not a formula.
"""

import copy

import numpy as np

from ..numpy_nn.gradcheck import numerical_gradient as _numerical_gradient
from ..numpy_nn.gradcheck import relative_error
from ..numpy_nn.losses import one_hot, softmax, softmax_cross_entropy
from ..numpy_nn.two_layer import TWO_LAYER_PARAMS, init_two_layer, two_layer_backward, two_layer_forward
from .core import call_learner, exercise, expect_array_result, expect_callable, fail

LESSON = "03_backpropagation"


def _close(a, b):
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=1e-6, atol=1e-10))


def _numgrad_cases():
    rng = np.random.default_rng(7)
    return [
        (
            "f(X) = Σ X³ + (Σ X)² at a 2 x 3 X",
            lambda A: float(np.sum(A**3) + np.sum(A) ** 2),
            lambda A: 3 * A**2 + 2 * np.sum(A),
            rng.normal(size=(2, 3)),
        ),
        (
            "f(x) = Σ sin(x) · x at a vector of 4",
            lambda a: float(np.sum(np.sin(a) * a)),
            lambda a: np.cos(a) * a + np.sin(a),
            rng.normal(size=4),
        ),
        (
            "f(X) = exp(x₀) · x₁ + x₂² at a 3 x 1 X",
            lambda A: float(np.exp(A[0, 0]) * A[1, 0] + A[2, 0] ** 2),
            lambda A: np.array([[np.exp(A[0, 0]) * A[1, 0]], [np.exp(A[0, 0])], [2 * A[2, 0]]]),
            rng.normal(size=(3, 1)),
        ),
    ]


@exercise(
    "numerical_gradient",
    lesson=LESSON,
    description="central-difference gradient of a scalar f at X, leaving X unchanged",
)
def check_numerical_gradient(answer):
    """Central differences (f(X + eps e_i) − f(X − eps e_i)) / (2 eps), one entry at a time."""
    expect_callable(answer, "a function numerical_gradient(f, X) returning an array shaped like X")
    for case, f, grad_f, X in _numgrad_cases():
        before = X.copy()
        got = call_learner(answer, case, f, X, copy_inputs=False)
        if not np.array_equal(X, before):
            change = np.abs(X - before).max()
            if change < 1e-12 * max(1.0, np.abs(before).max()):
                fail(
                    f"on {case} your function left X changed by a rounding error (up to {change:.2g}). Moving "
                    "X[i] back by arithmetic — += eps, then −= 2 * eps, then += eps — does not restore it "
                    "exactly: every floating-point addition rounds, and (x + ε) − 2ε + ε is often not x. Save "
                    "the value first (original = X[i]) and assign it back (X[i] = original)."
                )
            fail(
                f"on {case} your function left X changed (by up to {change:.2g}): after "
                "nudging X[i] by ±eps, put the original value back before moving to the next entry — "
                "otherwise every later entry is measured at the wrong point, and so is the caller's next step."
            )
        got = expect_array_result(got, X.shape, case)
        want = grad_f(X)
        error = relative_error(got, want)
        if error < 1e-7:
            continue
        if _close(got, 2 * want):
            fail(
                f"on {case} your gradient is twice too large: the central difference spans 2·eps, so divide by 2 * eps."
            )
        if _close(got, want / 2):
            fail(
                f"on {case} your gradient is half what it should be: divide f(X + eps) − f(X − eps) by 2 * eps, not 4 * eps."
            )
        if _close(got, -want):
            fail(f"on {case} the sign is flipped: (f(X + eps) − f(X − eps)) / (2 eps), plus before minus.")
        if np.allclose(got, got.flat[0]) and not np.allclose(want, want.flat[0]):
            fail(
                f"on {case} every entry of your gradient is the same: did you nudge all of X at once (X + eps)? "
                "Nudge ONE entry at a time — loop over np.ndindex(X.shape) — and record how f changes."
            )
        if error < 1e-3:
            fail(
                f"on {case} your gradient is close but not close enough (relative error {error:.1e}; a central "
                "difference gets about 1e-10). A one-sided difference (f(X + eps) − f(X)) / eps? Use "
                "(f(X + eps) − f(X − eps)) / (2 eps), with eps = 1e-5."
            )
        fail(f"on {case} the gradient is wrong (relative error {error:.2g} against the exact one).")
    return f"correct on {len(_numgrad_cases())} cases (relative error < 1e-7), and X is left unchanged."


def _backward_cases():
    cases = []
    for case, d, h, k, n, seed in (
        ("d = 3 inputs, h = 5 hidden, k = 4 classes, n = 7 samples", 3, 5, 4, 7, 8),
        ("d = 2, h = 6, k = 3, n = 10", 2, 6, 3, 10, 9),
        ("a single sample: d = 4, h = 2, k = 3, n = 1", 4, 2, 3, 1, 10),
    ):
        rng = np.random.default_rng(seed)
        params = init_two_layer(d, h, k, seed=seed)
        params["b1"] = rng.normal(size=(h, 1))
        params["b2"] = rng.normal(size=(k, 1))
        X = rng.normal(size=(d, n))
        Y = one_hot(rng.integers(0, k, size=n), k)
        cases.append((case, params, X, Y))
    return cases


def _variants(params, cache, Y):
    """Gradients from the common wrong backward passes: name -> dict of gradients."""
    X, Z1, H, P = cache["X"], cache["Z1"], cache["H"], cache["P"]
    n = X.shape[1]
    dZ2 = (P - Y) / n
    dH = params["W2"].T @ dZ2
    out = {}
    for name, dZ1 in (
        ("no_sigma_prime", dH),
        ("sigma_prime_of_Z1", dH * Z1 * (1 - Z1)),
        ("sigma_prime_of_H", dH * (1 / (1 + np.exp(-H))) * (1 - 1 / (1 + np.exp(-H)))),
        ("H_only", dH * H),
    ):
        out[name] = {"W1": dZ1 @ X.T, "b1": dZ1.sum(axis=1, keepdims=True)}
    return out


_HINTS = {
    "no_sigma_prime": "you left out the sigmoid's derivative: dZ1 = (W2ᵀ dZ2) ⊙ σ'(Z1), with σ'(Z1) = H ⊙ (1 − H).",
    "sigma_prime_of_Z1": "you multiplied by Z1 ⊙ (1 − Z1); the sigmoid's derivative is σ(Z1) ⊙ (1 − σ(Z1)) = H ⊙ (1 − H).",
    "sigma_prime_of_H": "you applied σ' to H; H is already σ(Z1), so σ'(Z1) = H ⊙ (1 − H) — no second sigmoid.",
    "H_only": "you multiplied by H alone; σ'(Z1) = H ⊙ (1 − H).",
}


def _shape_hint(name, got_shape, want_shape, n):
    if tuple(got_shape) == tuple(want_shape[::-1]):
        product = {"W1": "dZ1 @ X.T, not X @ dZ1.T", "W2": "dZ2 @ H.T, not H @ dZ2.T"}.get(name, "")
        return (
            f"grads[{name!r}] has shape {tuple(got_shape)}, but {name} has shape {tuple(want_shape)}: a gradient "
            f"always has its parameter's shape. A transposed product? {product}."
        )
    if name.startswith("b") and tuple(got_shape) in {
        (want_shape[0], n),
        (1, n),
        (n,),
        (1, want_shape[0]),
        (want_shape[0],),
    }:
        return (
            f"grads[{name!r}] has shape {tuple(got_shape)}, but {name} has shape {tuple(want_shape)}: sum dZ over the "
            "samples, .sum(axis=1, keepdims=True) — the bias is shared by every column."
        )
    return f"grads[{name!r}] has shape {tuple(got_shape)}, but must have {name}'s shape {tuple(want_shape)}."


def _grads_of(got, params, case, n):
    """The learner's dict of gradients as float arrays of the parameters' shapes, or fail saying why."""
    if not isinstance(got, dict):
        fail(
            f"on {case} you returned {type(got).__name__}; return a dict {{'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}}."
        )
    missing = [name for name in TWO_LAYER_PARAMS if name not in got]
    if missing:
        fail(
            f"on {case} your dict has no {', '.join(repr(m) for m in missing)}; it needs keys {list(TWO_LAYER_PARAMS)}."
        )
    grads = {}
    for name in TWO_LAYER_PARAMS:
        value = got[name]
        if value is None:
            fail(f"on {case} grads[{name!r}] is None — did you forget to compute it?")
        if np.shape(value) != params[name].shape:
            fail(f"on {case} " + _shape_hint(name, np.shape(value), params[name].shape, n))
        grads[name] = expect_array_result(value, params[name].shape, case, name=f"grads[{name!r}]")
    return grads


def _are(names):
    return f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'}"


def _diagnose_backward(grads, want, case, n, variants, hints, first_layer):
    """Fail with the hint for the mistake behind `grads` (they differ from `want`)."""
    wrong = [name for name in TWO_LAYER_PARAMS if not _close(grads[name], want[name])]
    if all(_close(grads[m], -want[m]) for m in TWO_LAYER_PARAMS):
        fail(f"on {case} every gradient has the wrong sign: dZ2 = (ŷ − y) / n, not (y − ŷ) / n.")
    if n > 1 and all(_close(grads[m], n * want[m]) for m in TWO_LAYER_PARAMS):
        fail(
            f"on {case} every gradient is n = {n} times too large: the loss is a MEAN, so dZ2 = (ŷ − y) / n."
        )
    if n > 1 and all(_close(grads[m], want[m] / n) for m in TWO_LAYER_PARAMS):
        fail(f"on {case} every gradient is n = {n} times too small: divide by n once (in dZ2), not twice.")
    for name in wrong:
        if n > 1 and _close(grads[name], want[name] / n):
            how = (
                f"d{name} sums dZ{name[1]} over the samples, .sum(axis=1, keepdims=True); .mean divides by n "
                "a second time"
                if name.startswith("b")
                else f"d{name} = dZ{name[1]} {'Hᵀ' if name == 'W2' else 'Xᵀ'} needs no further / n"
            )
            fail(
                f"on {case} grads[{name!r}] is n = {n} times too small: dZ2 = (ŷ − y) / n already holds the "
                f"1/n of the mean, so {how}."
            )
    if set(wrong) <= {"W1", "b1"}:
        for variant, wrong_grads in variants.items():
            if all(_close(grads[m], wrong_grads[m]) for m in ("W1", "b1")):
                fail(f"on {case} W2 and b2 are right, but {hints[variant]}")
        fail(f"on {case} W2 and b2 are right, but {_are(wrong)} wrong: check {first_layer}")
    worst = max(wrong, key=lambda m: relative_error(grads[m], want[m]))
    fail(
        f"on {case} {_are(wrong)} wrong (worst: {worst}, relative error "
        f"{relative_error(grads[worst], want[worst]):.2g}). Work from the top: dZ2 = (ŷ − y) / n, "
        "dW2 = dZ2 Hᵀ, db2 = Σ_columns dZ2."
    )


@exercise(
    "two_layer_backward",
    lesson=LESSON,
    description="gradients of the two-layer net: (params, cache, Y) -> dict of W1, b1, W2, b2",
)
def check_two_layer_backward(answer):
    """Backpropagation through softmax cross-entropy, the second dense layer, the sigmoid and the first."""
    expect_callable(answer, "a function two_layer_backward(params, cache, Y) returning a dict of gradients")
    for case, params, X, Y in _backward_cases():
        n = X.shape[1]
        _, cache = two_layer_forward(params, X)
        want = two_layer_backward(params, cache, Y)
        got = call_learner(answer, case, copy.deepcopy(params), copy.deepcopy(cache), Y.copy())
        grads = _grads_of(got, params, case, n)
        if all(_close(grads[name], want[name]) for name in TWO_LAYER_PARAMS):
            continue
        _diagnose_backward(
            grads,
            want,
            case,
            n,
            _variants(params, cache, Y),
            _HINTS,
            "dH = W2ᵀ dZ2, dZ1 = dH ⊙ H(1 − H), dW1 = dZ1 Xᵀ, db1 = Σ_columns dZ1.",
        )
    return f"correct on {len(_backward_cases())} cases, with d, h, k and n all different."


# --- tanh_two_layer_backward: a derivation the lesson leaves to the learner ------------------------


def tanh_two_layer_forward(params, X):
    """The lesson's network with a tanh hidden layer: H = tanh(W1 X + b1). Returns (P, cache)."""
    Z1 = params["W1"] @ X + params["b1"]
    H = np.tanh(Z1)
    Z2 = params["W2"] @ H + params["b2"]
    P = softmax(Z2)
    return P, {"X": X, "Z1": Z1, "H": H, "Z2": Z2, "P": P}


def _tanh_reference(params, X, Y):
    """The gradients by the referee: central differences of the loss, one parameter entry at a time."""

    def loss(name):
        def of(value):
            _, cache = tanh_two_layer_forward({**params, name: value}, X)
            return softmax_cross_entropy(Y, cache["Z2"])

        return of

    return {name: _numerical_gradient(loss(name), params[name]) for name in TWO_LAYER_PARAMS}


def _tanh_analytic(params, cache, Y):
    """The same gradients by formula (tanh' = 1 − H²); used only to name mistakes, the referee decides."""
    X, H, P = cache["X"], cache["H"], cache["P"]
    dZ2 = (P - Y) / X.shape[1]
    dZ1 = (params["W2"].T @ dZ2) * (1 - H**2)
    return {
        "W1": dZ1 @ X.T,
        "b1": dZ1.sum(axis=1, keepdims=True),
        "W2": dZ2 @ H.T,
        "b2": dZ2.sum(axis=1, keepdims=True),
    }


def _tanh_variants(params, cache, Y):
    X, Z1, H, P = cache["X"], cache["Z1"], cache["H"], cache["P"]
    dH = params["W2"].T @ ((P - Y) / X.shape[1])
    out = {}
    for name, derivative in (
        ("sigmoid_prime", H * (1 - H)),
        ("of_Z1", 1 - Z1**2),
        ("no_square", 1 - H),
        ("none", 1.0),
        ("half", (1 - H**2) / 2),
        ("quarter", (1 - H**2) / 4),
        ("twice_tanh", 1 - np.tanh(H) ** 2),
    ):
        dZ1 = dH * derivative
        out[name] = {"W1": dZ1 @ X.T, "b1": dZ1.sum(axis=1, keepdims=True)}
    return out


_TANH_HINTS = {
    "sigmoid_prime": "you multiplied by H ⊙ (1 − H), the SIGMOID's derivative. This hidden layer is tanh, which "
    "has its own: differentiate tanh(z) = 2σ(2z) − 1 (lesson 01), and write the result in terms of H = tanh(Z1).",
    "of_Z1": "you wrote tanh's derivative in terms of Z1 where it is in terms of tanh(Z1): the cache's H, not Z1.",
    "no_square": "1 − H is not tanh's derivative: test yours at z = 0, where tanh's slope is 1, and at large "
    "NEGATIVE z, where it goes to 0 (1 − H goes to 2 there).",
    "none": "you left out the derivative of the tanh layer: dZ1 = dH ⊙ tanh'(Z1), in terms of H.",
    "half": "your tanh' is half the right one. From tanh(z) = 2σ(2z) − 1: the outer 2 and the chain rule's "
    "inner 2 (from σ(2z)) both multiply σ'(2z).",
    "quarter": "your tanh' is a quarter of the right one: from tanh(z) = 2σ(2z) − 1, keep the outer factor 2 and "
    "the chain rule's inner factor 2 (from σ(2z)).",
    "twice_tanh": "you applied tanh to H again: H is already tanh(Z1), so use it as it is.",
}


@exercise(
    "tanh_two_layer_backward",
    lesson=LESSON,
    description="the two-layer net's gradients with a tanh hidden layer: derive tanh' in terms of H",
)
def check_tanh_two_layer_backward(answer):
    """Backpropagation through a tanh hidden layer, refereed by the numerical gradient of the loss."""
    expect_callable(
        answer, "a function tanh_two_layer_backward(params, cache, Y) returning a dict of gradients"
    )
    for case, params, X, Y in _backward_cases():
        n = X.shape[1]
        _, cache = tanh_two_layer_forward(params, X)
        referee = _tanh_reference(params, X, Y)
        got = call_learner(answer, case, copy.deepcopy(params), copy.deepcopy(cache), Y.copy())
        grads = _grads_of(got, params, case, n)
        if max(relative_error(grads[m], referee[m]) for m in TWO_LAYER_PARAMS) < 1e-6:
            continue
        want = _tanh_analytic(params, cache, Y)
        sigmoid_grads = two_layer_backward(params, cache, Y)  # the lesson's backward pass, unchanged
        if all(_close(grads[m], sigmoid_grads[m]) for m in TWO_LAYER_PARAMS):
            fail(f"on {case} W2 and b2 are right, but {_TANH_HINTS['sigmoid_prime']}")
        _diagnose_backward(
            grads,
            want,
            case,
            n,
            _tanh_variants(params, cache, Y),
            _TANH_HINTS,
            "dH = W2ᵀ dZ2, then dZ1 = dH ⊙ tanh'(Z1) written in terms of H, dW1 = dZ1 Xᵀ, db1 = Σ_columns dZ1.",
        )
    return (
        f"agrees with the numerical gradient of the loss (relative error < 1e-6) on {len(_backward_cases())} "
        "cases, with d, h, k and n all different."
    )
