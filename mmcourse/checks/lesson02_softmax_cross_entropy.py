"""Checks for lesson 02 (softmax and cross-entropy).

`softmax`, `cross_entropy` and `softmax_cross_entropy_grad` follow the lesson; `initial_loss` (a
prediction: the loss an untrained network starts at) and `sigmoid_cross_entropy_grad` (a derivation:
the gradient of the two-class, one-neuron loss) ask for something the lesson does not print.

Part I's convention: scores Z, probabilities P and one-hot targets Y are (k, n),
k classes, one sample per column. The cases use k ≠ n, so a wrong axis shows, and
logits of ±1000, so a softmax without max-subtraction shows.
"""

import numpy as np

from ..numpy_nn.activations import sigmoid as _sigmoid
from ..numpy_nn.losses import cross_entropy as _cross_entropy
from ..numpy_nn.losses import one_hot
from ..numpy_nn.losses import softmax as _softmax
from .core import call_learner, exercise, expect_array_result, expect_callable, fail

LESSON = "02_softmax_cross_entropy"


def _close(a, b, rtol=1e-7):
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=1e-12))


def _show(values):
    return np.array2string(np.round(np.ravel(values)[:4], 4), separator=", ")


def _naive_softmax(Z, axis=0):
    with np.errstate(all="ignore"):
        E = np.exp(Z)
        return E / E.sum(axis=axis, keepdims=True)


def _row_softmax(Z):
    """Softmax over the wrong axis (each row sums to 1), computed stably."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _softmax_cases():
    rng = np.random.default_rng(4)
    return [
        ("3 x 5 scores (k = 3 classes, n = 5 samples)", rng.normal(scale=2.0, size=(3, 5))),
        (
            "logits of ±1000 (3 x 4)",
            np.array(
                [[1000.0, -1000.0, 0.0, 1000.0], [999.0, -1000.0, 0.0, -1000.0], [0.0, -999.0, 0.0, 1000.0]]
            ),
        ),
        ("5 x 2 scores (more classes than samples)", rng.normal(size=(5, 2))),
        ("a single sample, shape (4, 1)", np.array([[1.0], [2.0], [3.0], [4.0]])),
    ]


def _softmax_hint(case, Z, got):
    """The likely mistake behind a wrong softmax result `got` on scores Z."""
    if np.isnan(got).any() or np.isinf(got).any():
        global_shift = _naive_softmax(Z - Z.max())
        if np.isnan(global_shift).any() and np.array_equal(np.isnan(global_shift), np.isnan(got)):
            return (
                f"on {case} you returned NaN in the columns whose scores are all far below the largest score "
                "of the whole array: you subtracted the global max. Subtract each column's own max, "
                "Z.max(axis=0, keepdims=True), so every column keeps an entry e^0 = 1."
            )
        return (
            f"on {case} you returned NaN or inf: np.exp(1000) overflows to inf, and inf / inf is NaN. "
            "Subtract each column's max first — softmax(z) = softmax(z − max z) — so the largest exponent is e^0 = 1."
        )
    if _close(got, _naive_softmax(Z, axis=1)) or np.allclose(got.sum(axis=1), 1.0):
        return (
            f"on {case} the columns do not sum to 1 — did you normalise over axis=1 (rows)? "
            "Each column is one sample here, so sum over axis=0."
        )
    if _close(got, _softmax(-Z)):
        return f"on {case} you computed softmax(−z): the largest score must get the largest probability, e^z not e^(−z)."
    if not np.allclose(got.sum(axis=0), 1.0):
        return f"on {case} the columns do not sum to 1 (they sum to {_show(got.sum(axis=0))}): divide by the column sums."
    if _close(got, _naive_softmax(Z - Z.max(axis=1, keepdims=True))):
        return (
            f"on {case} you subtracted each ROW's max: a different constant for each class changes the "
            "probabilities. Subtract each column's max, Z.max(axis=0, keepdims=True)."
        )
    if _close(got, Z / Z.sum(axis=0, keepdims=True)):
        return f"on {case} you normalised the raw scores; exponentiate them first: e^z / Σ e^z."
    return f"on {case} the values are wrong: expected {_show(_softmax(Z))}, got {_show(got)}."


@exercise("softmax", lesson=LESSON, description="P = softmax(Z) over axis 0 (classes), stable for ±1000")
def check_softmax(answer):
    """Softmax over the classes (axis 0), one sample per column."""
    expect_callable(answer, "a function softmax(Z) returning P shaped like Z")
    for case, Z in _softmax_cases():
        got = expect_array_result(call_learner(answer, case, Z), Z.shape, case)
        if not _close(got, _softmax(Z)):
            fail(_softmax_hint(case, Z, got))
    return f"correct on {len(_softmax_cases())} cases, including logits of ±1000."


def _ce_cases():
    rng = np.random.default_rng(5)
    labels = np.array([0, 2, 1, 2, 0])
    return [
        (
            "k = 3, n = 5, P from softmax of random scores",
            one_hot(labels, 3),
            _softmax(rng.normal(size=(3, 5))),
        ),
        (
            "P with zeros in wrong classes (k = 3, n = 3)",
            one_hot([0, 1, 2], 3),
            np.array([[1.0, 0.2, 0.0], [0.0, 0.8, 0.3], [0.0, 0.0, 0.7]]),
        ),
        ("k = 4, n = 2", one_hot([3, 1], 4), np.array([[0.1, 0.25], [0.2, 0.25], [0.3, 0.25], [0.4, 0.25]])),
        ("a perfect prediction, P = Y (k = 2, n = 4)", one_hot([0, 1, 1, 0], 2), one_hot([0, 1, 1, 0], 2)),
    ]


def _scalar(got, case, n):
    if got is None:
        fail(f"your function returned None on {case} — did you forget `return`?")
    if hasattr(got, "detach"):
        got = got.detach().cpu().numpy()
    try:
        array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"your function returned {type(got).__name__} on {case}; expected one number (a float).")
    if array.size != 1:
        per_sample = " (one per sample?)" if n in array.shape else ""
        fail(
            f"on {case} you returned an array of shape {array.shape}{per_sample}; the loss is ONE number: "
            "the mean over the n samples of −Σ_k y log ŷ."
        )
    return float(array.reshape(()))


def _ce_mistakes(Y, P, want):
    """(the loss a common wrong formula gives, its hint) for targets Y and probabilities P."""
    k, n = Y.shape
    with np.errstate(all="ignore"):
        clipped = np.clip(P, 1e-12, 1 - 1e-12)
        binary = -np.sum(Y * np.log(clipped) + (1 - Y) * np.log(1 - clipped))
        largest = -np.log(np.clip(P.max(axis=0), 1e-12, 1))
        swapped = -np.sum(P * np.log(np.clip(Y, 1e-12, 1)))
    binary_hint = (
        "you added the (1 − y) log(1 − ŷ) terms of the BINARY cross-entropy. With k classes and a softmax, "
        "L = −(1/n) Σ y log ŷ alone: the wrong classes are already penalised, because probability they take "
        "is missing from the true class."
    )
    return [
        (
            want * n / k,
            f"you divided by k = {k}, the number of classes; the loss is a mean over the n = {n} samples, "
            "so divide by n = Y.shape[1].",
        ),
        (binary / n, binary_hint),
        (binary / (k * n), binary_hint + f" (And np.mean divided by k·n = {k * n}; divide by n = {n}.)"),
        (
            largest.mean(),
            "you took −log of each sample's LARGEST probability (P.max(axis=0)). The loss uses the "
            "probability of the TRUE class, where Y is 1, whether it is the largest or not.",
        ),
        (
            largest.sum(),
            "you took −log of each sample's LARGEST probability, and summed; use the TRUE class's, and the mean.",
        ),
        (
            swapped / n,
            "you swapped the arguments: the order is (Y, P), targets first, and L = −(1/n) Σ Y log P.",
        ),
    ]


@exercise(
    "cross_entropy",
    lesson=LESSON,
    description="L = −(1/n) Σ y log ŷ for one-hot Y and probabilities P, both (k, n)",
)
def check_cross_entropy(answer):
    """Mean cross-entropy of probabilities P against one-hot Y."""
    expect_callable(answer, "a function cross_entropy(Y, P) returning a float")
    for case, Y, P in _ce_cases():
        k, n = Y.shape
        got = _scalar(call_learner(answer, case, Y, P), case, n)
        want = _cross_entropy(Y, P)
        if np.isclose(got, want, rtol=1e-6, atol=1e-9):
            continue
        if not np.isfinite(got):
            fail(
                f"on {case} you returned {got}: log(0) = −inf, and 0 · (−inf) is NaN. A ŷ of 0 in a class "
                "that is NOT the true one must contribute nothing: take the log only where y = 1 "
                "(e.g. P[Y == 1]), or clip P to [1e-12, 1] before np.log."
            )
        if np.isclose(got, -want, rtol=1e-6) and want != 0:
            fail(f"on {case} the sign is flipped: L = −(1/n) Σ y log ŷ is positive, since log ŷ ≤ 0.")
        if np.isclose(got, n * want, rtol=1e-6):
            fail(
                f"on {case} you returned the SUM over the {n} samples; divide by n = Y.shape[1] for the mean."
            )
        if np.isclose(got, want / k, rtol=1e-6):
            fail(
                f"on {case} you divided by k·n = {k * n} (np.mean over every entry of Y log P); "
                f"divide by the number of samples n = {n} only."
            )
        if np.isclose(got, want / np.log(10), rtol=1e-6) or np.isclose(got, want / np.log(2), rtol=1e-6):
            fail(f"on {case} you used log base 10 or 2; cross-entropy uses the natural log, np.log.")
        for wrong, hint in _ce_mistakes(Y, P, want):
            if np.isclose(got, wrong, rtol=1e-6):
                fail(f"on {case} {hint}")
        fail(
            f"on {case} expected L = {want:.6g}, got {got:.6g}. L is the mean, over the n = {n} samples "
            "(columns), of −log of the probability P gives to the TRUE class of that sample."
        )
    return f"correct on {len(_ce_cases())} cases, including ŷ = 0 in wrong classes."


def _grad_cases():
    rng = np.random.default_rng(6)
    return [
        ("k = 3, n = 5 random scores", one_hot([0, 2, 1, 1, 0], 3), rng.normal(size=(3, 5))),
        (
            "logits of ±1000 (k = 3, n = 2)",
            one_hot([0, 2], 3),
            np.array([[1000.0, -1000.0], [0.0, -1000.0], [-1000.0, 1000.0]]),
        ),
        ("k = 4, n = 2", one_hot([3, 0], 4), rng.normal(size=(4, 2))),
    ]


@exercise(
    "softmax_cross_entropy_grad",
    lesson=LESSON,
    description="∂L/∂Z = (softmax(Z) − Y) / n for L = mean cross-entropy of softmax(Z)",
)
def check_softmax_cross_entropy_grad(answer):
    """The gradient of the mean softmax cross-entropy with respect to the scores."""
    expect_callable(answer, "a function softmax_cross_entropy_grad(Y, Z) returning dZ of shape (k, n)")
    for case, Y, Z in _grad_cases():
        k, n = Y.shape
        got = expect_array_result(call_learner(answer, case, Y, Z), (k, n), case)
        P = _softmax(Z)
        want = (P - Y) / n
        if _close(got, want):
            continue
        if np.isnan(got).any() or np.isinf(got).any():
            fail(
                f"on {case} you returned NaN or inf: your softmax overflows. Subtract each column's max first."
            )
        mistakes = [
            (P - Y, f"you forgot the 1/n: the loss is a mean over n = {n} samples, so dZ = (ŷ − y) / n."),
            (
                (Y - P) / n,
                "the sign is flipped: dZ = (ŷ − y) / n. Raising the true class's score lowers the loss.",
            ),
            (Y - P, "the sign is flipped and the 1/n is missing: dZ = (ŷ − y) / n."),
            (
                (P - Y) / (k * n),
                f"you divided by k·n = {k * n}; divide by the number of samples n = {n} only.",
            ),
            (
                (Z - Y) / n,
                "you used the scores Z where the probabilities ŷ = softmax(Z) belong: dZ = (ŷ − y) / n.",
            ),
            (P / n, "you left out y: dZ = (ŷ − y) / n."),
            (
                (P - Y) / k,
                f"you divided by k = {k}, the number of classes; the loss is a mean over the n = {n} samples, "
                "so divide by n = Y.shape[1].",
            ),
            (
                (_row_softmax(Z) - Y) / n,
                "your softmax normalises over axis=1, across the samples; each column is one sample, so its "
                "probabilities must sum to 1 over axis=0 (the classes).",
            ),
            (
                (_row_softmax(Z) - Y) / k,
                "your softmax normalises over axis=1, across the samples, and you divided by k: both axes are "
                "swapped. Normalise each column (axis=0) and divide by the number of samples n = Y.shape[1].",
            ),
        ]
        for wrong, hint in mistakes:
            if _close(got, wrong):
                fail(f"on {case} {hint}")
        fail(f"on {case} expected dZ starting {_show(want)}, got {_show(got)}.")
    return f"correct on {len(_grad_cases())} cases, including logits of ±1000."


# --- initial_loss: a prediction ---------------------------------------------------------------------


def _number(got, case):
    if got is None:
        fail(f"your function returned None for {case} — did you forget `return`?")
    try:
        array = np.asarray(got.detach().cpu().numpy() if hasattr(got, "detach") else got, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"your function returned {type(got).__name__} for {case}; expected one number.")
    if array.size != 1:
        fail(f"for {case} you returned an array of shape {array.shape}; the loss is ONE number.")
    return float(array.reshape(()))


@exercise(
    "initial_loss",
    lesson=LESSON,
    description="predict the loss of an untrained k-class network (all scores equal): ln k",
)
def check_initial_loss(answer):
    """The cross-entropy when softmax spreads its bets evenly over k classes."""
    expect_callable(answer, "a function initial_loss(k) returning one number")
    for k in (3, 10, 2, 1000):  # k = 3 first: there, unlike at k = 2, no two mistakes give the same number
        case = f"k = {k} classes"
        got = _number(call_learner(answer, case, k), case)
        want = np.log(k)
        if np.isclose(got, want, rtol=1e-6):
            continue
        mistakes = [
            (
                1 / k,
                "you returned 1/k, the probability every class gets when all scores are equal. The loss is "
                "−log of the probability of the true class.",
            ),
            (-want, "the sign is flipped: log(1/k) is negative, and a loss is −log ŷ ≥ 0."),
            (
                np.log10(k),
                "you used log base 10; the cross-entropy of the lesson, and of PyTorch, uses the natural log (nats).",
            ),
            (
                np.log2(k),
                "you used log base 2 (bits); the lesson's cross-entropy uses the natural log (nats).",
            ),
            (
                want / k,
                "you divided by k. The mean is over the samples, not the classes, and every sample has the "
                "same loss here: only the true class's term −y log ŷ survives.",
            ),
            (
                k * want,
                "you summed −log(1/k) over all k classes. Y is one-hot: only the TRUE class's term survives.",
            ),
            (
                1 - 1 / k,
                "you returned 1 − 1/k, the error rate of a random guess. The question asks for the "
                "cross-entropy: −log of the probability the true class gets.",
            ),
            (
                np.log(k - 1) if k > 1 else np.nan,
                "you used k − 1: the softmax denominator sums the exponentials of ALL k scores, the true "
                "class's own included, so every class gets e^0 / (k · e^0) = 1/k.",
            ),
            (
                0.0,
                "0 is the loss of a perfect prediction. An untrained network has no idea which class is "
                "right: with all k scores equal, what probability does softmax give the true class?",
            ),
        ]
        for wrong, hint in mistakes:
            if np.isclose(got, wrong, rtol=1e-6):
                fail(f"for {case}: {hint}")
        fail(
            f"for {case} you predicted {got:.4g}, but an untrained network starts near {want:.4g}. With all k "
            "scores equal, what does softmax give each class, and what is −log of that?"
        )
    return (
        "right for k = 3, 10, 2 and 1000: an untrained 10-class network starts near ln 10 ≈ 2.303. "
        "A first loss far from ln k means a bug in the loss or in the initialisation."
    )


# --- sigmoid_cross_entropy_grad: the two-class gradient, derived -------------------------------------


def _bce_grad_cases():
    rng = np.random.default_rng(11)
    return [
        (
            "n = 6 random scores",
            rng.integers(0, 2, size=(1, 6)).astype(float),
            rng.normal(scale=2, size=(1, 6)),
        ),
        (
            "scores of ±1000 (n = 4)",
            np.array([[1.0, 0.0, 1.0, 0.0]]),
            np.array([[1000.0, 1000.0, -1000.0, -30.0]]),
        ),
        ("all labels 1, n = 3", np.ones((1, 3)), rng.normal(size=(1, 3))),
        ("a single sample with label 0", np.zeros((1, 1)), np.array([[0.7]])),
    ]


@exercise(
    "sigmoid_cross_entropy_grad",
    lesson=LESSON,
    description="dL/dz of the binary cross-entropy of σ(z), for one output neuron: (σ(z) − y) / n",
)
def check_sigmoid_cross_entropy_grad(answer):
    """The gradient of L = −(1/n) Σ [y log σ(z) + (1 − y) log(1 − σ(z))] with respect to z."""
    expect_callable(answer, "a function sigmoid_cross_entropy_grad(y, z) returning dL/dz of shape (1, n)")
    for case, y, z in _bce_grad_cases():
        n = z.shape[1]
        got = expect_array_result(call_learner(answer, case, y, z), (1, n), case)
        s = _sigmoid(z)
        want = (s - y) / n
        if _close(got, want):
            continue
        if np.isnan(got).any() or np.isinf(got).any():
            fail(
                f"on {case} you returned NaN or inf: your sigmoid overflows (e^z / (1 + e^z) is inf / inf at "
                "z = 1000), or you divided by σ(z)(1 − σ(z)), which is 0 there. Simplify on paper first: "
                "every division cancels."
            )
        with np.errstate(all="ignore"):
            mistakes = [
                (s - y, f"you forgot the 1/n: the loss is a mean over n = {n} samples, so divide by n."),
                (
                    (y - s) / n,
                    "the sign is flipped: raising z raises σ(z), which lowers the loss when y = 1.",
                ),
                (
                    s * (1 - s) * (s - y) / n,
                    "you multiplied by σ'(z) = σ(z)(1 − σ(z)) once too often. Differentiate the log terms: "
                    "−y/σ and (1 − y)/(1 − σ), times σ' = σ(1 − σ) — the σ(1 − σ) cancels.",
                ),
                (
                    (s - y) / (s * (1 - s)) / n,
                    "that is ∂L/∂ŷ, the derivative with respect to the probability ŷ = σ(z). The exercise "
                    "asks for ∂L/∂z: multiply by dŷ/dz = σ(z)(1 − σ(z)).",
                ),
                ((z - y) / n, "you used the score z where the probability σ(z) belongs."),
                (
                    (1 - y) / n,
                    "you applied softmax to the single score of each sample: a softmax over one class is "
                    "always 1. One output neuron uses the sigmoid, σ(z) = softmax((z, 0))₁.",
                ),
                (
                    -y / s / n,
                    "you differentiated only the y log σ(z) term, and only with respect to σ. Both terms "
                    "count, and the derivative is with respect to z.",
                ),
            ]
        for wrong, hint in mistakes:
            if _close(got, wrong):
                fail(f"on {case} {hint}")
        fail(f"on {case} expected dL/dz starting {_show(want)}, got {_show(got)}.")
    return (
        f"correct on {len(_bce_grad_cases())} cases, including scores of ±1000: (σ(z) − y) / n, the "
        "softmax's ŷ − y for two classes."
    )
