"""The checkers added or mended for lessons 00-04 by issue 14: each plausible mistake gets its own hint.

The older batteries (tests/test_checks_core.py, test_checks_part1.py, test_checks_part2.py) stay as they
are; this file covers the new exercises that need a derivation, a prediction or a design, and the quirks
that learners' tries hit.
"""

import numpy as np
import pytest

import mmcourse.numpy_nn as nn
from mmcourse.checks import ExerciseFailed, check


def _rejected(exercise_id, answer):
    with pytest.raises(ExerciseFailed) as info:
        check(exercise_id, answer)
    message = str(info.value)
    assert message.startswith(f"✗ {exercise_id}:")
    return message


# --- lesson 01: sigmoid in float32, the stability decision, relu with np.max ----------------------


def test_sigmoid_in_float32_passes():
    check("sigmoid", lambda Z: nn.sigmoid(Z).astype(np.float32))

    def float32_sigmoid(Z):
        Z = np.asarray(Z, dtype=np.float32)
        e = np.exp(-np.abs(Z))
        return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))

    check("sigmoid", float32_sigmoid)


@pytest.mark.parametrize(
    "overflowing",
    [
        lambda Z: 1 / (1 + np.exp(-Z)),
        lambda Z: np.where(Z >= 0, 1 / (1 + np.exp(-Z)), np.exp(Z) / (1 + np.exp(Z))),
    ],
    ids=["textbook", "np.where over both full forms"],
)
def test_a_sigmoid_that_overflows_is_rejected_with_the_reason(overflowing):
    message = _rejected("sigmoid", overflowing)
    assert "overflowed" in message and "np.where" in message and "−|z|" in message


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda Z: np.max(0, Z), "np.max(0, Z)"),
        (lambda Z: max(0, Z), "Python's max(0, Z)"),
    ],
)
def test_relu_with_max_instead_of_maximum_is_told_to_use_np_maximum(wrong, fragment):
    message = _rejected("relu", wrong)
    assert fragment in message and "np.maximum(Z, 0)" in message


# --- lesson 01: logic_gates, a design ----------------------------------------------------------------

GATES = {
    "AND": ((10.0, 10.0), -15.0),
    "OR": ((10.0, 10.0), -5.0),
    "NAND": ((-10.0, -10.0), 15.0),
    "XOR": None,
}


def test_logic_gates_accepts_any_right_design():
    check("logic_gates", GATES)
    check(
        "logic_gates",
        {
            "AND": (np.array([[6.0, 5.0]]), np.array([[-8.5]])),  # arrays of any shape, unequal weights
            "OR": ([6, 6], -3),
            "NAND": ((-5.0, -5.0), 7.5),
            "XOR": None,
        },
    )


LOGIC_GATE_MISTAKES = [
    ({**GATES, "AND": ((1.0, 1.0), 0.0)}, "ON the boundary line"),  # (0, 0) gives z = 0
    ({**GATES, "AND": ((1.0, 1.0), -1.0)}, "ON the boundary line"),  # (0, 1) and (1, 0) give z = 0
    ({**GATES, "AND": GATES["OR"]}, "your AND neuron computes OR"),
    ({**GATES, "AND": GATES["OR"], "OR": GATES["AND"]}, "swapped?"),
    ({**GATES, "NAND": GATES["AND"]}, "computes AND, NOT NAND"),
    ({**GATES, "OR": ((-10.0, -10.0), 5.0)}, "computes NOR, NOT OR"),
    ({**GATES, "AND": ((1.0, 1.0), -1.5)}, "Scale w and b together"),  # right line, only 62 % sure
    ({**GATES, "AND": ((10.0, 0.0), -5.0)}, "looks at one input only"),
    ({**GATES, "AND": ((1.0, 1.0), 5.0)}, "says 1 on every input"),
    ({**GATES, "XOR": ((10.0, 10.0), -5.0)}, "no single neuron computes XOR"),
    ({**GATES, "AND": None}, "a single neuron can compute AND"),
    ({k: v for k, v in GATES.items() if k != "XOR"}, "no 'XOR'"),
    ({**GATES, "AND": ((1.0, 1.0, 1.0), -2.0)}, "w with 3 numbers"),
    ([GATES["AND"], GATES["OR"]], "expected a dict"),
]


@pytest.mark.parametrize("wrong, fragment", LOGIC_GATE_MISTAKES, ids=[f for _, f in LOGIC_GATE_MISTAKES])
def test_logic_gates_mistakes_get_their_hint(wrong, fragment):
    assert fragment in _rejected("logic_gates", wrong)


# --- lesson 02: cross_entropy and its gradient name the mistake instead of a catch-all ---------------


def _clipped(P):
    return np.clip(P, 1e-12, 1 - 1e-12)


CROSS_ENTROPY_MISTAKES = [
    (lambda Y, P: -np.log(P[Y == 1]).sum() / Y.shape[0], "you divided by k = 3"),
    (
        lambda Y, P: -np.sum(Y * np.log(_clipped(P)) + (1 - Y) * np.log(1 - _clipped(P))) / Y.shape[1],
        "BINARY cross-entropy",
    ),
    (lambda Y, P: -np.mean(Y * np.log(_clipped(P)) + (1 - Y) * np.log(1 - _clipped(P))), "k·n = 15"),
    (lambda Y, P: -np.log(P.max(axis=0)).mean(), "LARGEST probability"),
    (lambda Y, P: -np.log(P.max(axis=0)).sum(), "LARGEST probability, and summed"),
    (lambda Y, P: -np.sum(P * np.log(np.clip(Y, 1e-12, 1))) / Y.shape[1], "you swapped the arguments"),
    (lambda Y, P: -np.log(P[Y == 1]).mean() + 0.1, "of −log of the probability P gives to the TRUE class"),
]


@pytest.mark.parametrize(
    "wrong, fragment", CROSS_ENTROPY_MISTAKES, ids=[f for _, f in CROSS_ENTROPY_MISTAKES]
)
def test_cross_entropy_mistakes_are_named(wrong, fragment):
    message = _rejected("cross_entropy", wrong)
    assert fragment in message
    if "swapped" not in fragment:
        assert "argument" not in message  # the old catch-all blamed the argument order for everything


def _row_softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda Y, Z: (nn.softmax(Z) - Y) / Y.shape[0], "you divided by k = 3, the number of classes"),
        (lambda Y, Z: (_row_softmax(Z) - Y) / Y.shape[1], "normalises over axis=1"),
        (lambda Y, Z: (_row_softmax(Z) - Y) / Y.shape[0], "both axes are swapped"),
    ],
)
def test_softmax_cross_entropy_grad_names_dividing_by_k_and_the_wrong_axis(wrong, fragment):
    assert fragment in _rejected("softmax_cross_entropy_grad", wrong)


# --- lesson 02: initial_loss, a prediction ----------------------------------------------------------


def test_initial_loss_accepts_ln_k_in_any_form():
    check("initial_loss", lambda k: np.log(k))
    check("initial_loss", lambda k: -np.log(1 / k))
    check("initial_loss", lambda k: np.array([np.log(k)]))


INITIAL_LOSS_MISTAKES = [
    (lambda k: 1 / k, "you returned 1/k"),
    (lambda k: np.log(1 / k), "the sign is flipped"),
    (lambda k: np.log10(k), "log base 10"),
    (lambda k: np.log2(k), "log base 2"),
    (lambda k: np.log(k) / k, "you divided by k"),
    (lambda k: k * np.log(k), "summed −log(1/k) over all k classes"),
    (lambda k: 1 - 1 / k, "error rate of a random guess"),
    (lambda k: np.log(k - 1), "you used k − 1"),
    (lambda k: 0.0, "loss of a perfect prediction"),
    (lambda k: np.full(k, 1 / k), "ONE number"),
    (lambda k: 2.0, "an untrained network starts near 1.099"),
]


@pytest.mark.parametrize("wrong, fragment", INITIAL_LOSS_MISTAKES, ids=[f for _, f in INITIAL_LOSS_MISTAKES])
def test_initial_loss_mistakes_get_their_hint(wrong, fragment):
    assert fragment in _rejected("initial_loss", wrong)


# --- lesson 02: sigmoid_cross_entropy_grad, a derivation ------------------------------------------


def test_sigmoid_cross_entropy_grad_accepts_the_derived_gradient():
    check("sigmoid_cross_entropy_grad", lambda y, z: (nn.sigmoid(z) - y) / z.shape[1])
    check(
        "sigmoid_cross_entropy_grad", lambda y, z: (1 / (1 + np.exp(-z)) - y) / y.size
    )  # warns, but is right
    # the two-class softmax gradient, read off for class 1: the same thing
    check("sigmoid_cross_entropy_grad", lambda y, z: (nn.softmax(np.vstack([z, 0 * z]))[:1] - y) / z.shape[1])


def _s(z):
    return nn.sigmoid(z)


SIGMOID_GRAD_MISTAKES = [
    (lambda y, z: _s(z) - y, "you forgot the 1/n"),
    (lambda y, z: (y - _s(z)) / z.shape[1], "the sign is flipped"),
    (lambda y, z: _s(z) * (1 - _s(z)) * (_s(z) - y) / z.shape[1], "σ'(z) = σ(z)(1 − σ(z)) once too often"),
    (lambda y, z: (_s(z) - y) / (_s(z) * (1 - _s(z))) / z.shape[1], "that is ∂L/∂ŷ"),
    (lambda y, z: (z - y) / z.shape[1], "the score z where the probability σ(z) belongs"),
    (lambda y, z: (nn.softmax(z) - y) / z.shape[1], "a softmax over one class is always 1"),
    (lambda y, z: -y / _s(z) / z.shape[1], "only the y log σ(z) term"),
    (lambda y, z: (np.exp(z) / (1 + np.exp(z)) - y) / z.shape[1], "NaN or inf"),
    (lambda y, z: ((_s(z) - y) / z.shape[1]).ravel(), "shape (1, 6)"),
]


@pytest.mark.parametrize(
    "wrong, fragment", SIGMOID_GRAD_MISTAKES, ids=[f[:30] for _, f in SIGMOID_GRAD_MISTAKES]
)
def test_sigmoid_cross_entropy_grad_mistakes_get_their_hint(wrong, fragment):
    assert fragment in _rejected("sigmoid_cross_entropy_grad", wrong)


# --- lesson 03: the quirks, and tanh_two_layer_backward ---------------------------------------------


def _restore_by_arithmetic(f, X, eps=1e-5):
    grad = np.zeros_like(X)
    for j in np.ndindex(X.shape):
        X[j] += eps
        plus = f(X)
        X[j] -= 2 * eps
        minus = f(X)
        X[j] += eps  # back where it was, up to rounding
        grad[j] = (plus - minus) / (2 * eps)
    return grad


def test_restoring_x_by_arithmetic_is_explained_as_rounding():
    message = _rejected("numerical_gradient", _restore_by_arithmetic)
    assert "rounding error" in message and "original = X[i]" in message


def _with(grads_of, name, factor):
    def backward(params, cache, Y):
        grads = grads_of(params, cache, Y)
        return {**grads, name: grads[name] * factor}

    return backward


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("b2", "db2 sums dZ2 over the samples"),
        ("b1", "db1 sums dZ1"),
        ("W2", "dW2 = dZ2 Hᵀ needs no further / n"),
    ],
)
def test_a_gradient_divided_by_n_a_second_time_is_named(name, fragment):
    n = 7  # the first case's number of samples
    message = _rejected("two_layer_backward", _with(nn.two_layer_backward, name, 1 / n))
    assert f"grads[{name!r}] is n = 7 times too small" in message and fragment in message


def test_one_wrong_gradient_is_named_in_the_singular():
    message = _rejected("two_layer_backward", _with(nn.two_layer_backward, "b1", 2.0))
    assert "but b1 is wrong" in message
    message = _rejected("two_layer_backward", _with(nn.two_layer_backward, "W1", 2.0))
    assert "but W1 is wrong" in message


def _tanh_backward(derivative="1 - H²", transpose_w1=False, sign=1.0, db1_mean=False):
    def tanh_two_layer_backward(params, cache, Y):
        X, Z1, H, P = cache["X"], cache["Z1"], cache["H"], cache["P"]
        n = X.shape[1]
        dZ2 = sign * (P - Y) / n
        local = {
            "1 - H²": 1 - H**2,
            "sech²(Z1)": 1 / np.cosh(Z1) ** 2,
            "H(1 - H)": H * (1 - H),
            "1 - Z1²": 1 - Z1**2,
            "1 - H": 1 - H,
            "none": 1.0,
            "(1 - H²) / 2": (1 - H**2) / 2,
            "(1 - H²) / 4": (1 - H**2) / 4,
            "1 - tanh(H)²": 1 - np.tanh(H) ** 2,
        }[derivative]
        dZ1 = (params["W2"].T @ dZ2) * local
        return {
            "W1": X @ dZ1.T if transpose_w1 else dZ1 @ X.T,
            "b1": dZ1.mean(axis=1, keepdims=True) if db1_mean else dZ1.sum(axis=1, keepdims=True),
            "W2": dZ2 @ H.T,
            "b2": dZ2.sum(axis=1, keepdims=True),
        }

    return tanh_two_layer_backward


@pytest.mark.parametrize("derivative", ["1 - H²", "sech²(Z1)"])
def test_tanh_backward_passes_in_any_correct_form(derivative):
    check("tanh_two_layer_backward", _tanh_backward(derivative))


TANH_MISTAKES = [
    (_tanh_backward("H(1 - H)"), "the SIGMOID's derivative"),
    (nn.two_layer_backward, "the SIGMOID's derivative"),  # the lesson's backward pass, unchanged
    (_tanh_backward("1 - Z1²"), "in terms of Z1 where it is in terms of tanh(Z1)"),
    (_tanh_backward("1 - H"), "1 − H is not tanh's derivative"),
    (_tanh_backward("none"), "you left out the derivative of the tanh layer"),
    (_tanh_backward("(1 - H²) / 2"), "half the right one"),
    (_tanh_backward("(1 - H²) / 4"), "a quarter of the right one"),
    (_tanh_backward("1 - tanh(H)²"), "you applied tanh to H again"),
    (_tanh_backward(transpose_w1=True), "dZ1 @ X.T, not X @ dZ1.T"),
    (_tanh_backward(sign=-1.0), "every gradient has the wrong sign"),
    (_tanh_backward(db1_mean=True), "grads['b1'] is n = 7 times too small"),
    (lambda params, cache, Y: {"W1": 0, "b1": 0, "W2": 0}, "no 'b2'"),
]


@pytest.mark.parametrize("wrong, fragment", TANH_MISTAKES, ids=[f[:30] for _, f in TANH_MISTAKES])
def test_tanh_backward_mistakes_get_their_hint(wrong, fragment):
    assert fragment in _rejected("tanh_two_layer_backward", wrong)


def test_tanh_hints_name_the_mistake_without_giving_the_derivative():
    for wrong, _ in TANH_MISTAKES[:8]:
        message = _rejected("tanh_two_layer_backward", wrong)
        assert "1 − H²" not in message and "1 - H**2" not in message, message


def test_the_tanh_formula_the_hints_rely_on_agrees_with_the_numerical_referee():
    from mmcourse.checks.lesson03_backpropagation import (
        _backward_cases,
        _tanh_analytic,
        _tanh_reference,
        tanh_two_layer_forward,
    )

    for _, params, X, Y in _backward_cases():
        _, cache = tanh_two_layer_forward(params, X)
        analytic, numeric = _tanh_analytic(params, cache, Y), _tanh_reference(params, X, Y)
        assert all(nn.relative_error(analytic[m], numeric[m]) < 1e-7 for m in analytic)


# --- lesson 04: im2col layout mistakes, and conv2d_backward -------------------------------------------


def _im2col_conv(layout):
    """conv2d by im2col, with one of the layout mistakes learners make (or none)."""

    def conv2d(X, W, b, stride=1, padding=0):
        N, C, H, Wd = X.shape
        F, _, kh, kw = W.shape
        Ho, Wo = (H + 2 * padding - kh) // stride + 1, (Wd + 2 * padding - kw) // stride + 1
        Xp = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        patches = np.empty((N, C, kh, kw, Ho, Wo))
        for u in range(kh):
            for v in range(kw):
                patches[:, :, u, v] = Xp[:, :, u : u + stride * Ho : stride, v : v + stride * Wo : stride]
        order = {"(kh, kw, C) rows": (0, 4, 5, 2, 3, 1), "no transpose": (0, 1, 2, 3, 4, 5)}
        cols = patches.transpose(order.get(layout, (0, 4, 5, 1, 2, 3))).reshape(N * Ho * Wo, -1)
        Y = cols @ W.reshape(F, -1).T + b
        if layout == "final reshape":
            return Y.reshape(N, F, Ho, Wo)
        if layout == "final .T.reshape":
            return Y.T.reshape(N, F, Ho, Wo)
        return Y.reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)

    return conv2d


def test_a_right_im2col_passes():
    check("conv2d", _im2col_conv("right"))


@pytest.mark.parametrize(
    "layout, fragment",
    [
        ("(kh, kw, C) rows", "flattened in the order (kh, kw, C)"),
        ("no transpose", "reshaped the patches straight from (N, C, kh, kw, Ho, Wo)"),
        ("final reshape", "reshaping it straight to (N, F, Ho, Wo)"),
        ("final .T.reshape", "you transposed the (N*Ho*Wo, F) product"),
    ],
)
def test_im2col_layout_mistakes_are_named(layout, fragment):
    message = _rejected("conv2d", _im2col_conv(layout))
    assert fragment in message and "values are wrong" not in message


def _conv_backward(
    flip=False,
    first_image=False,
    divide=1,
    sign=1.0,
    swap_uv=False,
    db_axes=(0, 2, 3),
    db="sum",
    order="dW, db",
):
    def conv2d_backward(X, W, dY):
        N = X.shape[0]
        F, C, kh, kw = W.shape
        Ho, Wo = dY.shape[2:]
        Xs, dYs = (X[:1], dY[:1]) if first_image else (X, dY)
        dW = np.zeros((F, C, kh, kw))
        for u in range(kh):
            for v in range(kw):
                uu, vv = (kh - 1 - u, kw - 1 - v) if flip else (u, v)
                dW[:, :, u, v] = np.einsum("nfij,ncij->fc", dYs, Xs[:, :, uu : uu + Ho, vv : vv + Wo])
        if swap_uv:
            dW = dW.transpose(0, 1, 3, 2)
        dW = sign * dW / {"N": N, "N Ho Wo": N * Ho * Wo}.get(divide, 1)
        gradient_b = {
            "sum": dY.sum(axis=db_axes),
            "mean": dY.mean(axis=db_axes),
            "first": dY[0].sum(axis=(1, 2)),
        }
        result = {"dW": dW, "db": gradient_b[db], "dW.T": dW.transpose(1, 0, 2, 3)}
        return tuple(result[name] for name in order.split(", "))

    return conv2d_backward


def test_conv2d_backward_accepts_the_right_gradients():
    check("conv2d_backward", _conv_backward())

    def with_loops(X, W, dY):  # the same thing, written as loops over the outputs
        dW, db = np.zeros_like(W), np.zeros(W.shape[0])
        for n, f, i, j in np.ndindex(dY.shape):
            dW[f] += dY[n, f, i, j] * X[n, :, i : i + W.shape[2], j : j + W.shape[3]]
            db[f] += dY[n, f, i, j]
        return [dW, db]

    check("conv2d_backward", with_loops)


CONV_BACKWARD_MISTAKES = [
    (_conv_backward(flip=True), "flipped in both kernel axes"),
    (_conv_backward(first_image=True), "your dW uses the first image only"),
    (_conv_backward(divide="N"), "your dW is divided by N = 2"),
    (_conv_backward(divide="N Ho Wo"), "dW is an average over the images and positions"),
    (_conv_backward(sign=-1.0), "the sign of dW is flipped"),
    (_conv_backward(swap_uv=True), "rows and columns swapped"),
    (_conv_backward(db_axes=(0,)), "db[f] sums dY[:, f] over the images and all positions"),
    (_conv_backward(db_axes=(0, 2)), "one number per filter"),
    (_conv_backward(db="mean"), "db is an average"),
    (_conv_backward(db="first"), "db uses the first image only"),
    (_conv_backward(order="db, dW"), "you returned (db, dW)"),
    (_conv_backward(order="dW.T, db"), "the filter and channel axes are swapped"),
    (lambda X, W, dY: np.zeros_like(W), "return a pair (dW, db)"),
    (lambda X, W, dY: (np.zeros_like(W), None), "db is None"),
    (lambda X, W, dY: (np.ones_like(W), dY.sum(axis=(0, 2, 3))), "dW is wrong (relative error"),
]


@pytest.mark.parametrize(
    "wrong, fragment", CONV_BACKWARD_MISTAKES, ids=[f[:30] for _, f in CONV_BACKWARD_MISTAKES]
)
def test_conv2d_backward_mistakes_get_their_hint(wrong, fragment):
    assert fragment in _rejected("conv2d_backward", wrong)


def test_the_conv_gradient_formula_the_hints_rely_on_agrees_with_the_numerical_referee():
    from mmcourse.checks.lesson04_convolutions import (
        _backward_cases,
        _numerical_weight_gradients,
        _weight_gradients,
    )

    for _, X, W, dY in _backward_cases():
        (dW, db), (num_dW, num_db) = _weight_gradients(X, W, dY), _numerical_weight_gradients(X, W, dY)
        assert nn.relative_error(dW, num_dW) < 1e-9 and nn.relative_error(db, num_db) < 1e-9
