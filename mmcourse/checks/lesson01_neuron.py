"""Checks for lesson 01 (the neuron): `sigmoid`, `relu`, `dense_forward` and the design `logic_gates`.

Part I's convention: X is (d, n), one sample per column; W is (k, d); b is (k, 1).
The cases are non-square on purpose, so that a wrong axis or a transposed matrix shows.

Values are compared with a relative tolerance of 1e-6, so an answer computed in float32
(about 7 significant digits) passes as well as one in float64. The sigmoid must be
*stable*: an answer whose values are right but which makes np.exp overflow on the way
(the textbook 1 / (1 + e^-z) at z = -1e4) is rejected, because the exercise asks for a
sigmoid that never overflows.
"""

import warnings

import numpy as np

from ..numpy_nn.activations import sigmoid as _sigmoid
from .core import ExerciseFailed, call_learner, exercise, expect_array_result, expect_callable, fail

LESSON = "01_neuron"


RTOL = 1e-6  # float32 rounding (about 6e-8 relative) passes; any real mistake is far larger


def _close(a, b):
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=RTOL, atol=1e-12)


def _show(values):
    return np.array2string(np.round(np.ravel(values)[:4], 4), separator=", ")


def _sigmoid_cases():
    rng = np.random.default_rng(1)
    return [
        ("a 3 x 5 array of scores between -6 and 6", rng.uniform(-6, 6, size=(3, 5))),
        ("z = 0 (a 2 x 4 array of zeros)", np.zeros((2, 4))),
        ("extreme scores z = ±1e4, ±800, ±50", np.array([[-1e4, -800.0, -50.0], [50.0, 800.0, 1e4]])),
        ("a flat vector of 7 scores", np.linspace(-3, 3, 7)),
        ("a float32 array of scores between -100 and 100", np.linspace(-100, 100, 9, dtype=np.float32)),
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
                "exp(z) / (1 + exp(z)) is then inf / inf. Use each of the lesson's two forms only where its "
                "exponent is ≤ 0: both can be written with e = np.exp(-np.abs(Z))."
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
    if _overflows(answer, _sigmoid_cases()[2][1]):
        fail(
            "your values are right, but np.exp overflowed to inf on the way (NumPy warned 'overflow "
            "encountered in exp' on z = ±1e4). This exercise asks for a sigmoid that never overflows: "
            "1 / (1 + np.exp(-z)) computes e^10000 = inf at z = −1e4 and is right only by luck. If you "
            "used np.where(Z >= 0, A, B): NumPy computes A and B for EVERY entry before it picks, so the "
            "branch it throws away still overflows. Exponentiate only −|z|, which is ≤ 0."
        )
    return f"correct on {len(_sigmoid_cases())} cases, including z = ±1e4 (without overflow) and float32."


def _relu_cases():
    rng = np.random.default_rng(2)
    return [
        ("a 3 x 5 array of scores", rng.normal(size=(3, 5))),
        ("a 2 x 3 array holding exact zeros", np.array([[0.0, -0.0, 2.5], [-1e-9, 0.0, -7.0]])),
        ("a flat vector of 6 integers", np.arange(-3, 3)),
    ]


def _call_relu(answer, case, Z):
    """The learner's relu(Z); the errors of np.max(0, Z) and max(0, Z) get a hint naming np.maximum."""
    try:
        return call_learner(answer, case, Z)
    except ExerciseFailed as failure:
        if "TypeError" in failure.hint and "index" in failure.hint:
            fail(
                f"{failure.hint} That is what np.max(0, Z) does: np.max takes ONE array and reduces it, so "
                "it reads Z as the axis argument. To compare each entry with 0, use np.maximum(Z, 0)."
            )
        if "truth value of an array" in failure.hint:
            fail(
                f"{failure.hint} That is what Python's max(0, Z) does: it compares the whole array with 0 "
                "at once. To compare each entry with 0, use np.maximum(Z, 0)."
            )
        raise


@exercise("relu", lesson=LESSON, description="ReLU(Z) = max(0, Z), elementwise, for any shape")
def check_relu(answer):
    """The rectified linear unit, elementwise."""
    expect_callable(answer, "a function relu(Z) returning an array shaped like Z")
    for case, Z in _relu_cases():
        got = _call_relu(answer, case, Z)
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


# --- logic_gates: a design the lesson does not give -------------------------------------------

CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))
GATES = {  # the output of each gate on the four corners, in the order of CORNERS
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
    "XOR": (0, 1, 1, 0),
    "XNOR": (1, 0, 0, 1),
    "x1": (0, 0, 1, 1),
    "x2": (0, 1, 0, 1),
    "NOT x1": (1, 1, 0, 0),
    "NOT x2": (1, 0, 1, 0),
}
NEGATION = {"AND": "NAND", "NAND": "AND", "OR": "NOR", "NOR": "OR", "XOR": "XNOR", "XNOR": "XOR"}
CONFIDENCE = 0.9  # σ(z) >= 0.9 where the gate says 1, <= 0.1 where it says 0: |z| >= ln 9
DESIGNED = ("AND", "OR", "NAND")


def _neuron(value, gate):
    """(w as 2 floats, b as a float) from the learner's `((w1, w2), b)`, or fail saying what is expected."""
    form = (
        f"logic_gates[{gate!r}] must be a pair (w, b): w two numbers (w1, w2), b one number, "
        f"e.g. ((1.0, 1.0), 0.0)"
    )
    try:
        w, b = value
        w = np.asarray(w, dtype=float).ravel()
        b = np.asarray(b, dtype=float).ravel()
    except (TypeError, ValueError):
        fail(f"{form}; got {value!r}.")
    if w.size != 2 or b.size != 1:
        fail(f"{form}; got w with {w.size} numbers and b with {b.size}.")
    return w, float(b[0])


def _corner(index):
    return f"({CORNERS[index][0]}, {CORNERS[index][1]})"


def _computes(outputs):
    """The name of the gate with these four outputs, or None."""
    return next((name for name, table in GATES.items() if table == tuple(outputs)), None)


def _check_gate(gate, w, b, answer):
    z = np.array([w @ np.array(x, dtype=float) + b for x in CORNERS])
    want = np.array(GATES[gate])
    on_line = [i for i in range(4) if z[i] == 0]
    if on_line:
        fail(
            f"your {gate} neuron has z = w·x + b = 0 on input {_corner(on_line[0])}: that corner lies ON the "
            "boundary line, where σ(z) = 1/2 — the neuron cannot decide. Move the line off the corner "
            "(change b), so that it separates the corners where the gate says 1 from those where it says 0."
        )
    said = (z > 0).astype(int)
    if (said != want).any():
        other = _computes(said)
        first = int(np.flatnonzero(said != want)[0])
        if other == NEGATION.get(gate):
            fail(
                f"your {gate} neuron computes {other}, NOT {gate}: every answer is inverted. Negate both w "
                "and b — σ(−z) = 1 − σ(z) flips every output and keeps the line."
            )
        if other in set(GATES) - {"x1", "x2", "NOT x1", "NOT x2"}:
            swapped = ""
            if other in answer and other != gate:
                try:
                    w2, b2 = _neuron(answer[other], other)
                    z2 = np.array([w2 @ np.array(x, dtype=float) + b2 for x in CORNERS])
                    if tuple((z2 > 0).astype(int)) == GATES[gate]:
                        swapped = f" (and your {other} neuron computes {gate}: swapped?)"
                except ExerciseFailed:
                    pass
            fail(
                f"your {gate} neuron computes {other}: on input {_corner(first)} it says {said[first]}, where "
                f"{gate} says {want[first]}{swapped}. Draw the four corners and the line w·x + b = 0: the "
                "corners on the side w points to are the ones where the neuron says 1."
            )
        if other is not None:
            fail(
                f"your {gate} neuron computes {other}: it looks at one input only (on {_corner(first)} it says "
                f"{said[first]}, {gate} says {want[first]}). {gate} depends on both inputs, so both weights must "
                "be non-zero."
            )
        if len(set(said)) == 1:
            fail(
                f"your {gate} neuron says {said[0]} on every input: its line w·x + b = 0 misses the square of "
                f"the four corners. {gate} says 1 on {', '.join(_corner(i) for i in range(4) if want[i])}; "
                "put the line between those corners and the others."
            )
        fail(
            f"your {gate} neuron is wrong on input {_corner(first)}: it says {said[first]}, {gate} says "
            f"{want[first]}."
        )
    sure = _sigmoid(np.where(want == 1, z, -z))  # the probability given to the right answer
    weakest = int(np.argmin(sure))
    if sure[weakest] < CONFIDENCE:
        fail(
            f"your {gate} neuron is right on all four inputs, but on {_corner(weakest)} it is only "
            f"{sure[weakest]:.0%} sure (σ(z) = {_sigmoid(z[weakest]):.2f}); the exercise asks for at least "
            f"{CONFIDENCE:.0%}. Scale w and b together: the line stays where it is, and the step from 0 to 1 "
            "gets sharper (lesson 01, section 4)."
        )


@exercise(
    "logic_gates",
    lesson=LESSON,
    description="design (w, b) for AND, OR and NAND on inputs in {0, 1}; XOR: None, as no single neuron can",
)
def check_logic_gates(answer):
    """Neurons designed to compute AND, OR and NAND, at least 90 % sure; XOR answered None."""
    if not isinstance(answer, dict):
        fail(
            f"expected a dict {{'AND': (w, b), 'OR': (w, b), 'NAND': (w, b), 'XOR': (w, b) or None}}, but got "
            f"{type(answer).__name__}."
        )
    missing = [gate for gate in (*DESIGNED, "XOR") if gate not in answer]
    if missing:
        fail(
            f"your dict has no {', '.join(repr(m) for m in missing)}: it needs the keys 'AND', 'OR', 'NAND', 'XOR'."
        )
    for gate in DESIGNED:
        if answer[gate] is None:
            fail(
                f"you answered None for {gate}, but a single neuron can compute {gate}: find a line that puts "
                f"the corners where {gate} says 1 on one side and the others on the other side."
            )
        w, b = _neuron(answer[gate], gate)
        _check_gate(gate, w, b, answer)
    if answer["XOR"] is not None:
        w, b = _neuron(answer["XOR"], "XOR")
        z = np.array([w @ np.array(x, dtype=float) + b for x in CORNERS])
        wrong = [i for i in range(4) if int(z[i] > 0) != GATES["XOR"][i] or z[i] == 0]
        fail(
            f"no single neuron computes XOR, and yours is wrong on {', '.join(_corner(i) for i in wrong)}. "
            "XOR says 1 on (0, 1) and (1, 0) and 0 on (0, 0) and (1, 1): no straight line has the first two "
            "on one side and the last two on the other. (Write the four conditions on w1, w2, b and add "
            "them up.) Answer 'XOR': None."
        )
    return (
        "AND, OR and NAND are right on all four inputs and at least 90 % sure; "
        "XOR is None: no line separates (0, 1) and (1, 0) from (0, 0) and (1, 1)."
    )
