"""Checks for lesson 05 (reading: embeddings and LSTMs).

`lstm_cell` and `rnn_cell` (the referee is PyTorch: `torch.nn.LSTMCell` / `torch.nn.RNNCell` with
the same weights), `last_hidden` (plain indexing at length - 1), and the derivation
`vanishing_length` (the smallest T with |w|^T < eps, worked out from the chain rule).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from .core import (
    ExerciseFailed,
    ExerciseNotStarted,
    call_learner,
    exercise,
    expect_array_result,
    expect_callable,
    fail,
)

LESSON = "05_embeddings_lstms"
_GATES = "ifgo"


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _cell_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifgo", cell_tanh=True, biases=(1, 1)):
    """The LSTM step with the blocks read in `order` (a permutation of 'ifgo') -- for diagnosing mistakes."""
    z = x @ W_ih.T + biases[0] * b_ih + h @ W_hh.T + biases[1] * b_hh
    blocks = dict(zip(order, np.split(z, 4, axis=1)))
    i, f, g, o = _sigmoid(blocks["i"]), _sigmoid(blocks["f"]), np.tanh(blocks["g"]), _sigmoid(blocks["o"])
    c_new = f * c + i * g
    return o * (np.tanh(c_new) if cell_tanh else c_new), c_new


def _lstm_cases():
    """(description, inputs, (h, c) from torch.nn.LSTMCell)."""
    cases = []
    for text, B, D, H, seed in [
        ("a batch of 3, input size 4, hidden size 2", 3, 4, 2, 0),
        ("one sample, input size 1, hidden size 3", 1, 1, 3, 1),
        ("a batch of 5, input size 6, hidden size 4, large weights", 5, 6, 4, 2),
    ]:
        torch.manual_seed(seed)
        cell = torch.nn.LSTMCell(D, H).double()
        if "large" in text:
            with torch.no_grad():
                for p in cell.parameters():
                    p.mul_(4)
        rng = np.random.default_rng(seed)
        x, h, c = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H)) * 2
        weights = [
            p.detach().numpy().copy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        ]
        with torch.no_grad():
            h_t, c_t = cell(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
        cases.append((text, (x, h, c, *weights), (h_t.numpy(), c_t.numpy())))
    return cases


def _diagnose_lstm(case, inputs, got_h, got_c, want_h, want_c):
    close = np.allclose
    if close(got_h, want_c) and close(got_c, want_h) and not close(want_h, want_c):
        fail(f"on {case}, h and c come back swapped: return (h_new, c_new), in that order.")
    for order in ("".join(p) for p in itertools.permutations(_GATES)):
        if order != _GATES and close(got_c, _cell_variant(*inputs, order=order)[1]):
            fail(
                f"on {case}, your gates are in the order ({', '.join(order)}), but PyTorch stacks the "
                "rows of W_ih, W_hh and the biases as (i, f, g, o): input gate, forget gate, candidate "
                "g (with tanh), output gate."
            )
    if close(got_c, want_c) and close(got_h, _cell_variant(*inputs, cell_tanh=False)[0]):
        fail(
            f"on {case}, c is right but h is not: h_new = o * tanh(c_new) -- the tanh on the cell state is missing."
        )
    for biases, which in (((1, 0), "b_hh"), ((0, 1), "b_ih")):
        if close(got_c, _cell_variant(*inputs, biases=biases)[1]):
            fail(
                f"on {case}, {which} is missing: PyTorch adds both biases, z = x W_ih^T + b_ih + h W_hh^T + b_hh."
            )
    if not close(got_c, want_c):
        fail(
            f"on {case}, c_new is wrong (largest error {np.abs(got_c - want_c).max():.3g}). "
            "c_new = f * c + i * g, with i, f = sigmoid, g = tanh of their blocks of z."
        )
    fail(
        f"on {case}, c_new is right but h_new is wrong (largest error {np.abs(got_h - want_h).max():.3g}): h_new = o * tanh(c_new)."
    )


@exercise("lstm_cell", lesson=LESSON, description="one LSTM step in NumPy, equal to nn.LSTMCell")
def check_lstm_cell(answer):
    """lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh) -> (h_new, c_new), equal to torch.nn.LSTMCell."""
    expect_callable(answer, "a function lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh)")
    cases = _lstm_cases()
    for case, inputs, (want_h, want_c) in cases:
        got = call_learner(answer, case, *inputs)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(f"on {case}, you returned {type(got).__name__}; return a pair (h_new, c_new).")
        got_h = expect_array_result(got[0], want_h.shape, case, name="h_new")
        got_c = expect_array_result(got[1], want_c.shape, case, name="c_new")
        if not (np.allclose(got_h, want_h, atol=1e-6) and np.allclose(got_c, want_c, atol=1e-6)):
            _diagnose_lstm(case, inputs, got_h, got_c, want_h, want_c)
    return f"equal to torch.nn.LSTMCell with copied weights on {len(cases)} cases."


def _last_hidden_cases():
    g = torch.Generator().manual_seed(5)
    return [
        (
            "3 sequences of lengths 4, 2, 3 padded to T = 4",
            torch.randn(3, 4, 5, generator=g),
            torch.tensor([4, 2, 3]),
        ),
        ("one sequence of length 1 padded to T = 6", torch.randn(1, 6, 2, generator=g), torch.tensor([1])),
        (
            "4 sequences of lengths 2, 5, 1, 3 padded to T = 7",
            torch.randn(4, 7, 3, generator=g),
            torch.tensor([2, 5, 1, 3]),
        ),
        (
            "2 sequences with no padding at all (lengths = T = 3)",
            torch.randn(2, 3, 4, generator=g),
            torch.tensor([3, 3]),
        ),
    ]


@exercise("last_hidden", lesson=LESSON, description="each sequence's state at its true last token")
def check_last_hidden(answer):
    """last_hidden(outputs (B, T, H), lengths (B,)) -> (B, H), reading step lengths[b] - 1."""
    expect_callable(answer, "a function last_hidden(outputs, lengths)")
    cases = _last_hidden_cases()
    for case, outputs, lengths in cases:
        B, T, H = outputs.shape
        got = call_learner(answer, case, outputs, lengths)
        if np.shape(got) == (B, B, H):
            fail(
                f"on {case}, you returned shape {(B, B, H)}: outputs[:, lengths - 1] picks every length "
                "for every sequence. Pair each row with its own length: outputs[torch.arange(B), lengths - 1]."
            )
        got = expect_array_result(got, (B, H), case)
        want = outputs[torch.arange(B), lengths - 1].numpy()
        if np.allclose(got, want, atol=1e-6):
            continue
        if np.allclose(got, outputs[:, -1].numpy()):
            fail(
                f"on {case}, you read the last *padded* step, outputs[:, -1]: for every sequence shorter "
                "than T that is a padding step, not a word. Read outputs[b, lengths[b] - 1] instead."
            )
        clipped = torch.clamp(lengths, max=T - 1)
        if np.allclose(got, outputs[torch.arange(B), clipped].numpy()):
            fail(
                f"on {case}, you read step lengths[b], one past the end: a sequence of length L has its "
                "last token at index L - 1 (Python counts from 0)."
            )
        if np.allclose(got, outputs[:, 0].numpy()):
            fail(f"on {case}, you read the first step, outputs[:, 0]; the last token is at lengths[b] - 1.")
        fail(f"on {case}, the values are wrong: row b must equal outputs[b, lengths[b] - 1].")
    return f"correct on {len(cases)} cases, never reading a padding step."


# --- rnn_cell -----------------------------------------------------------------------


def _rnn_cases():
    """(description, inputs, h from torch.nn.RNNCell). The square case (D = H) lets an untransposed W run."""
    cases = []
    for text, B, D, H, seed in [
        ("a batch of 3, input size 4, hidden size 2", 3, 4, 2, 0),
        ("a batch of 2, input size 3, hidden size 3 (D = H)", 2, 3, 3, 1),
        ("one sample, input size 1, hidden size 5, large weights", 1, 1, 5, 2),
    ]:
        torch.manual_seed(seed)
        cell = torch.nn.RNNCell(D, H).double()
        if "large" in text:
            with torch.no_grad():
                for p in cell.parameters():
                    p.mul_(4)
        rng = np.random.default_rng(seed)
        x, h = rng.normal(size=(B, D)), rng.normal(size=(B, H))
        weights = [
            p.detach().numpy().copy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        ]
        with torch.no_grad():
            want = cell(torch.tensor(x), torch.tensor(h)).numpy()
        cases.append((text, (x, h, *weights), want))
    return cases


def _rnn_hint(case, inputs, got):
    """The likely mistake behind a wrong h_new (already of the right shape)."""
    x, h, W_ih, W_hh, b_ih, b_hh = inputs
    z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    close = np.allclose
    if close(got, z):
        return (
            f"on {case}, you returned z = x W_ih^T + b_ih + h W_hh^T + b_hh itself: the nonlinearity is "
            "missing. A plain RNN squashes it: h_new = tanh(z)."
        )
    if close(got, _sigmoid(z)):
        return f"on {case}, you used the sigmoid; nn.RNNCell (and this exercise) uses tanh: h_new = tanh(z)."
    if close(got, np.maximum(z, 0)):
        return (
            f"on {case}, you used ReLU; this exercise asks for tanh (nn.RNNCell's default): h_new = tanh(z)."
        )
    for missing, z_without in (("b_hh", z - b_hh), ("b_ih", z - b_ih), ("both biases", z - b_ih - b_hh)):
        if close(got, np.tanh(z_without)):
            return f"on {case}, {missing} is missing: PyTorch adds both biases, z = x W_ih^T + b_ih + h W_hh^T + b_hh."
    if close(got, np.tanh(h)) or close(got, np.tanh(h @ W_hh.T + b_hh)):
        return f"on {case}, the input x never reached the new state: z needs x W_ih^T + b_ih as well."
    if close(got, np.tanh(x @ W_ih.T + b_ih)):
        return (
            f"on {case}, the previous state h never reached the new state: z needs h W_hh^T + b_hh as well -- "
            "that term is what makes the network recurrent."
        )
    if x.shape[1] == h.shape[1]:
        if close(got, np.tanh(x @ W_ih + b_ih + h @ W_hh + b_hh)):
            return (
                f"on {case}, you multiplied by W_ih and W_hh without transposing them (it only runs because "
                "D = H here). PyTorch stores W_ih as (H, D), one row per hidden unit: use x @ W_ih.T."
            )
        if close(got, np.tanh(x @ W_hh.T + b_ih + h @ W_ih.T + b_hh)):
            return f"on {case}, W_ih and W_hh are swapped: W_ih multiplies the input x, W_hh the previous state h."
    return (
        f"on {case}, h_new is wrong (largest error {np.abs(got - np.tanh(z)).max():.3g}): "
        "h_new = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."
    )


@exercise(
    "rnn_cell", lesson=LESSON, description="one step of a plain (Elman) RNN in NumPy, equal to nn.RNNCell"
)
def check_rnn_cell(answer):
    """rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh) -> h_new (B, H), equal to torch.nn.RNNCell."""
    expect_callable(answer, "a function rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh)")
    cases = _rnn_cases()
    for case, inputs, want in cases:
        got = call_learner(answer, case, *inputs)
        if isinstance(got, (tuple, list)):
            fail(
                f"on {case}, you returned a {type(got).__name__} of {len(got)}; a plain RNN has no cell state, "
                "so return h_new alone, a (B, H) array."
            )
        got = expect_array_result(got, want.shape, case, name="h_new")
        if not np.allclose(got, want, atol=1e-6):
            fail(_rnn_hint(case, inputs, got))
    return f"equal to torch.nn.RNNCell with copied weights on {len(cases)} cases."


# --- vanishing_length -----------------------------------------------------------------


def _steps_below(factor: float, eps: float):
    """The smallest T >= 1 with factor**T < eps, for 0 <= factor < 1 (math.inf for factor >= 1)."""
    if factor >= 1:
        return math.inf
    if factor == 0:
        return 1
    T = max(1, math.floor(math.log(eps) / math.log(factor)) + 1)
    while T > 1 and factor ** (T - 1) < eps:
        T -= 1
    while factor**T >= eps:
        T += 1
    return T


_VANISH_CASES = [  # (w, eps): none of them sits on an exact power, where rounding could decide
    (0.5, 1e-3),
    (0.9, 1e-2),
    (0.25, 1e-2),
    (-0.8, 1e-3),
    (0.99, 1e-3),
    (1.0, 1e-3),
    (1.5, 1e-3),
    (-1.2, 1e-2),
    (0.0, 1e-3),
]


def _vanish_hint(w, eps, got, want):
    case = f"w = {w}, eps = {eps:g}"
    size = abs(w)
    if want == math.inf:
        return (
            f"for {case} you returned {got!r}, but |w| = {size:g} >= 1: the gradient w^T never shrinks "
            "(it stays at size 1 or grows -- that is the *exploding* gradient). Return math.inf."
        )
    if w == 0:
        return (
            f"for {case} you returned {got!r}: with w = 0 the very first step multiplies the gradient by 0, so "
            "T = 1. (math.log(0) is undefined: treat w = 0 on its own.)"
        )
    if got == math.inf:
        return f"for {case} you returned math.inf, but |w| = {size:g} < 1: |w|^T does fall below eps, at T = {want}."
    ratio = math.log(eps) / math.log(size)
    if not float(got).is_integer():
        if math.isclose(got, ratio, rel_tol=1e-6):
            return (
                f"for {case} you returned log(eps) / log|w| = {got:.4g} itself. T counts steps: return the "
                "smallest WHOLE number T with |w|^T < eps (round up, and check the power)."
            )
        return f"for {case} you returned {got!r}; T is a whole number of steps (an int)."
    got = int(got)
    if got == _steps_below(size / 4, eps):
        return (
            f"for {case} you returned {got}, as if each step multiplied by |w| / 4. The factor is "
            "w * tanh'(0), and tanh'(0) = 1 - tanh(0)^2 = 1 (it is the sigmoid whose slope at 0 is 1/4)."
        )
    if math.isclose(got, math.ceil(math.log(size) / math.log(eps))) and want > 2:
        return f"for {case} you returned {got}: the ratio is upside down. |w|^T < eps means T > log(eps) / log|w|."
    if got == want - 1:
        return (
            f"for {case} you returned {got}, one step too few: |w|^{got} = {size**got:.3g} is not yet below "
            f"eps = {eps:g}. You want the FIRST T with |w|^T < eps (round log(eps) / log|w| up, not down)."
        )
    if got == want + 1:
        return (
            f"for {case} you returned {got}, one step too many: already |w|^{want} = {size**want:.3g} < eps. "
            "Count the steps from h_0: after T steps the gradient is w^T (T = 0 gives 1)."
        )
    return (
        f"for {case} you returned {got}, expected {want}. After T steps from the zero state, "
        "dh_T/dh_0 = (w tanh'(0))^T = w^T; find the smallest T with |w|^T < eps."
    )


@exercise(
    "vanishing_length",
    lesson=LESSON,
    description="predict after how many steps a plain RNN's gradient falls below eps",
)
def check_vanishing_length(answer):
    """vanishing_length(w, eps) -> the smallest T >= 1 with |dh_T / dh_0| < eps, or math.inf."""
    expect_callable(answer, "a function vanishing_length(w, eps) -> a number of steps")
    for w, eps in _VANISH_CASES:
        case = f"w = {w}, eps = {eps:g}"
        want = _steps_below(abs(w), eps)
        try:
            got = call_learner(answer, case, w, eps)
        except ExerciseFailed as failure:
            if isinstance(failure, ExerciseNotStarted):
                raise
            if w < 0:
                fail(
                    failure.hint
                    + " A negative w makes the gradient's SIGN alternate, but its size is |w|^T: "
                    "take the logarithm of abs(w)."
                )
            if abs(w) >= 1:
                fail(
                    failure.hint + f" With |w| = {abs(w):g} >= 1 the gradient never shrinks: return math.inf "
                    "before taking any logarithm."
                )
            if w == 0:
                fail(failure.hint + " With w = 0 the gradient is 0 after one step: return 1.")
            raise
        if got is None:
            fail(f"your function returned None for {case} -- did you forget `return`?")
        try:
            value = float(got)
        except (TypeError, ValueError):
            fail(
                f"for {case} you returned {type(got).__name__} {got!r}; return a number of steps (or math.inf)."
            )
        if math.isnan(value):
            hint = "log of a negative number" if w < 0 else "an undefined logarithm"
            fail(
                f"for {case} you returned NaN ({hint}). The gradient's size is |w|^T: use abs(w)"
                + (", and return math.inf when |w| >= 1." if abs(w) >= 1 else ".")
            )
        if value == want:
            continue
        fail(_vanish_hint(w, eps, value, want))
    return f"correct on {len(_VANISH_CASES)} cases, including a negative w, |w| >= 1 (never: math.inf) and w = 0."
