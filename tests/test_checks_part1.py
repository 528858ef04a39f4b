"""The checkers of lessons 01-03 accept the reference answers and reject plausible mistakes with a useful hint."""

import copy

import numpy as np
import pytest

import mmcourse.numpy_nn as nn
from mmcourse.checks import ExerciseFailed, check

# --- the reference answers pass ---------------------------------------------------------


@pytest.mark.parametrize(
    "exercise_id, answer",
    [
        ("sigmoid", nn.sigmoid),
        ("relu", nn.relu),
        ("dense_forward", nn.dense_forward),
        ("softmax", nn.softmax),
        ("cross_entropy", nn.cross_entropy),
        ("softmax_cross_entropy_grad", nn.softmax_cross_entropy_grad),
        ("numerical_gradient", nn.numerical_gradient),
        ("two_layer_backward", nn.two_layer_backward),
    ],
)
def test_reference_answer_passes(exercise_id, answer, capsys):
    assert check(exercise_id, answer) is None
    assert capsys.readouterr().out.startswith(f"✓ {exercise_id}: correct on")


def test_textbook_sigmoid_is_rejected_because_it_overflows(capsys):
    # The decision (issue 14): the exercise asks for a sigmoid that never overflows, so right values
    # reached through e^10000 = inf do not pass; the hint names the overflow and the np.where trap.
    with pytest.raises(ExerciseFailed, match="overflowed.*np.where.*−|z|"):
        check("sigmoid", lambda Z: 1 / (1 + np.exp(-Z)))
    check("sigmoid", nn.sigmoid)
    assert "overflowed" not in capsys.readouterr().out


def test_alternative_correct_answers_pass():
    check("cross_entropy", lambda Y, P: -np.log(P[Y == 1]).mean())
    check("cross_entropy", lambda Y, P: -np.sum(Y * np.log(np.clip(P, 1e-12, 1))) / Y.shape[1])
    check("softmax", lambda Z: np.exp(Z - Z.max(0)) / np.exp(Z - Z.max(0)).sum(0))
    check("dense_forward", lambda W, b, X: np.dot(W, X) + b)


# --- wrong answers are rejected with a hint about the mistake -------------------------------------


def _naive_softmax(Z):
    E = np.exp(Z)
    return E / E.sum(axis=0, keepdims=True)


def _softmax_axis1(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _softmax_global_max(Z):
    E = np.exp(Z - Z.max())
    return E / E.sum(axis=0, keepdims=True)


def _softmax_row_max(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def _numgrad(divide_by=2, restore=True, one_sided=False, all_at_once=False):
    def numerical_gradient(f, X, eps=1e-5):
        grad = np.zeros_like(X)
        for index in np.ndindex(X.shape):
            original = X[index]
            if all_at_once:
                grad[index] = (f(X + eps) - f(X - eps)) / (2 * eps)
                continue
            X[index] = original + eps
            plus = f(X)
            X[index] = original if one_sided else original - eps
            minus = f(X)
            if restore:
                X[index] = original
            grad[index] = (plus - minus) / (eps if one_sided else divide_by * eps)
        return grad

    return numerical_gradient


def _backward(
    scale=1.0, sign=1.0, transpose_w2=False, transpose_w1=False, sigma="H(1-H)", db_axis=1, n_twice=False
):
    def two_layer_backward(params, cache, Y):
        X, Z1, H, P = cache["X"], cache["Z1"], cache["H"], cache["P"]
        n = X.shape[1]
        dZ2 = sign * scale * (P - Y) / n / (n if n_twice else 1)
        derivative = {"H(1-H)": H * (1 - H), "none": 1.0, "Z1(1-Z1)": Z1 * (1 - Z1)}[sigma]
        dZ1 = (params["W2"].T @ dZ2) * derivative
        return {
            "W1": X @ dZ1.T if transpose_w1 else dZ1 @ X.T,
            "b1": dZ1.sum(axis=db_axis, keepdims=True),
            "W2": H @ dZ2.T if transpose_w2 else dZ2 @ H.T,
            "b2": dZ2.sum(axis=db_axis, keepdims=True),
        }

    return two_layer_backward


WRONG_ANSWERS = [
    # lesson 01
    ("sigmoid", lambda Z: 1 / (1 + np.exp(Z)), "σ(−z)"),
    ("sigmoid", lambda Z: np.exp(Z) / (1 + np.exp(Z)), "NaN"),
    ("sigmoid", np.tanh, "tanh"),
    ("sigmoid", lambda Z: np.exp(-Z) / (1 + np.exp(-Z)), "σ(−z)"),
    ("sigmoid", lambda Z: 1 / (1 + np.exp(-Z)).ravel(), "shape"),
    ("sigmoid", lambda Z: None, "forget `return`"),
    ("sigmoid", lambda Z: 1 / (1 + np.exp(-2 * Z)), "values are wrong"),
    ("relu", lambda Z: np.max(Z, 0), "np.maximum"),
    ("relu", lambda Z: np.minimum(Z, 0), "negative part"),
    ("relu", lambda Z: (Z > 0).astype(float), "mask"),
    ("relu", np.abs, "|z|"),
    ("dense_forward", lambda W, b, X: W @ X, "left out the bias"),
    ("dense_forward", lambda W, b, X: W.T @ X + b, "transposed weights"),
    ("dense_forward", lambda W, b, X: X @ W + b, "X W + b"),
    ("dense_forward", lambda W, b, X: W @ X + b.T, "wrong axis"),
    ("dense_forward", lambda W, b, X: -(W @ X + b), "sign is flipped"),
    ("dense_forward", lambda W, b, X: nn.sigmoid(W @ X + b), "applied the sigmoid"),
    ("dense_forward", lambda W, b, X: (W @ X + b).T, "you returned Zᵀ"),
    ("dense_forward", lambda W, b, X: W @ X - b, "subtracted the bias"),
    # lesson 02
    ("softmax", _naive_softmax, "Subtract each column's max"),
    ("softmax", _softmax_axis1, "axis=1"),
    ("softmax", _softmax_global_max, "global max"),
    ("softmax", _softmax_row_max, "ROW's max"),
    ("softmax", lambda Z: nn.softmax(-Z), "softmax(−z)"),
    ("softmax", lambda Z: Z / Z.sum(axis=0, keepdims=True), "exponentiate"),
    ("softmax", lambda Z: np.exp(Z - Z.max(axis=0)), "do not sum to 1"),
    ("cross_entropy", lambda Y, P: -np.sum(Y * np.log(P)) / Y.shape[1], "0 · (−inf)"),
    ("cross_entropy", lambda Y, P: -np.log(P[Y == 1]).sum(), "SUM over"),
    ("cross_entropy", lambda Y, P: np.log(P[Y == 1]).mean(), "sign is flipped"),
    ("cross_entropy", lambda Y, P: -np.mean(Y * np.log(np.clip(P, 1e-12, 1))), "k·n"),
    (
        "cross_entropy",
        lambda Y, P: -np.log(P[Y.T == 1]).mean() if False else -np.log(P.T[Y.T == 1]),
        "ONE number",
    ),
    ("cross_entropy", lambda Y, P: -np.log10(P[Y == 1]).mean(), "natural log"),
    ("cross_entropy", lambda Y, P: -np.sum(P * np.log(np.clip(Y, 1e-12, 1))) / Y.shape[1], "(Y, P)"),
    ("softmax_cross_entropy_grad", lambda Y, Z: nn.softmax(Z) - Y, "forgot the 1/n"),
    ("softmax_cross_entropy_grad", lambda Y, Z: (Y - nn.softmax(Z)) / Y.shape[1], "sign is flipped"),
    ("softmax_cross_entropy_grad", lambda Y, Z: (Z - Y) / Y.shape[1], "scores Z"),
    ("softmax_cross_entropy_grad", lambda Y, Z: (_naive_softmax(Z) - Y) / Y.shape[1], "overflows"),
    ("softmax_cross_entropy_grad", lambda Y, Z: (nn.softmax(Z) - Y) / Y.size, "k·n"),
    # lesson 03
    ("numerical_gradient", _numgrad(divide_by=1), "twice too large"),
    ("numerical_gradient", _numgrad(restore=False), "left X changed"),
    ("numerical_gradient", _numgrad(one_sided=True), "one-sided"),
    ("numerical_gradient", _numgrad(divide_by=4), "half"),
    ("numerical_gradient", _numgrad(all_at_once=True), "ONE entry at a time"),
    ("numerical_gradient", lambda f, X: np.array([0.0] * X.size), "shape"),
    ("two_layer_backward", _backward(scale=7.0), "7 times too large"),  # the first case has n = 7
    ("two_layer_backward", _backward(n_twice=True), "divide by n once"),
    ("two_layer_backward", _backward(sign=-1.0), "wrong sign"),
    ("two_layer_backward", _backward(transpose_w2=True), "H @ dZ2.T"),
    ("two_layer_backward", _backward(transpose_w1=True), "X @ dZ1.T"),
    ("two_layer_backward", _backward(sigma="none"), "sigmoid's derivative"),
    ("two_layer_backward", _backward(sigma="Z1(1-Z1)"), "Z1 ⊙ (1 − Z1)"),
    ("two_layer_backward", _backward(db_axis=0), "sum dZ over the samples"),
    ("two_layer_backward", lambda p, c, Y: {"W1": 0, "W2": 0}, "'b1'"),
    ("two_layer_backward", lambda p, c, Y: [1, 2, 3, 4], "return a dict"),
]


@pytest.mark.parametrize(
    "exercise_id, wrong, fragment", WRONG_ANSWERS, ids=[f"{e}-{f[:24]}" for e, _, f in WRONG_ANSWERS]
)
def test_wrong_answer_is_rejected_with_a_hint(exercise_id, wrong, fragment):
    with pytest.raises(ExerciseFailed) as info:
        check(exercise_id, wrong)
    message = str(info.value)
    assert message.startswith(f"✗ {exercise_id}:")
    assert fragment in message, message


def test_a_learner_error_names_the_case_and_the_line():
    def dense_forward(W, b, X):
        return W @ X + b.reshape(W.shape[1], 1)  # right when k = d, breaks when k != d

    with pytest.raises(ExerciseFailed, match=r"raised ValueError.*line \d+ .*b\.reshape.*k = 4 units"):
        check("dense_forward", dense_forward)


def test_unfilled_stub_says_not_written_yet():
    def softmax(Z):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError, match="not written yet"):
        check("softmax", softmax)


def test_checker_does_not_let_a_learner_spoil_the_cache():
    calls = []

    def in_place(params, cache, Y):
        cache["P"] -= Y  # mutates its input, then answers correctly from the original values
        cache["P"] += Y
        calls.append(copy.deepcopy(cache["P"]))
        return nn.two_layer_backward(params, cache, Y)

    check("two_layer_backward", in_place)
    assert len(calls) == 3
