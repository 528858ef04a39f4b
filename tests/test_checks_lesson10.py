"""Lesson 10 checkers: the reference answers pass, each plausible mistake gets its own hint."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mmcourse.checks import ExerciseFailed, ExerciseNotStarted, check


def _fails(exercise_id, answer, fragment):
    with pytest.raises(ExerciseFailed) as info:
        check(exercise_id, answer)
    message = str(info.value)
    assert message.startswith(f"✗ {exercise_id}:"), message
    assert fragment in message, message
    return message


def _stub(*args, **kwargs):
    raise NotImplementedError()


# --- scaled_dot_product_attention -----------------------------------------------------------


def _attention(Q, K, V, mask=None, *, scale="sqrt", axis=-1, invert=False, fill=-np.inf, shift="row",
               operand="V", returns="pair"):  # fmt: skip
    """The reference answer, with one switch per classic mistake."""
    d = Q.shape[-1]
    scores = Q @ np.swapaxes(K, -1, -2)
    scores = scores / {"sqrt": np.sqrt(d), "d": d, "none": 1.0}[scale]
    if mask is not None:
        keep = ~mask if invert else mask
        scores = np.where(keep, scores, fill)
    if shift == "row":
        scores = scores - scores.max(axis=axis, keepdims=True)
    elif shift == "global":
        scores = scores - scores.max()
    e = np.exp(scores)
    weights = e / e.sum(axis=axis, keepdims=True)
    out = weights @ (V if operand == "V" else K)
    if returns == "out":
        return out
    return (weights, out) if returns == "swapped" else (out, weights)


def _attention_with(**switches):
    return lambda Q, K, V, mask=None: _attention(Q, K, V, mask, **switches)


def _attention_torch(Q, K, V, mask=None):
    """An independent correct answer: torch in float64."""
    q, k, v = (torch.tensor(a) for a in (Q, K, V))
    scores = q @ k.transpose(-2, -1) / np.sqrt(Q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~torch.tensor(mask), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return (weights @ v).numpy(), weights.numpy()


def _masked_after_softmax(Q, K, V, mask=None):
    out, weights = _attention(Q, K, V)
    if mask is not None:
        weights = weights * mask
    return weights @ V, weights


def _mask_as_zero_scores(Q, K, V, mask=None):
    return _attention(Q, K, V, mask, fill=0.0)


def _weights_transposed(Q, K, V, mask=None):
    out, weights = _attention(Q, K, V, mask)
    return out, np.swapaxes(weights, -1, -2)


def _k_dot_t(Q, K, V, mask=None):
    scores = Q @ K.T / np.sqrt(Q.shape[-1])
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights @ V, weights


def _attention_float32(Q, K, V, mask=None):
    return _attention(Q.astype(np.float32), K.astype(np.float32), V.astype(np.float32), mask)


def _out_without_batch(Q, K, V, mask=None):
    out, weights = _attention(Q, K, V, mask)
    return out[0], weights


@pytest.mark.parametrize("answer", [_attention_with(), _attention_torch], ids=["numpy", "torch"])
def test_attention_references_pass(answer, capsys):
    assert check("scaled_dot_product_attention", answer) is None
    assert "✓ scaled_dot_product_attention" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_attention_with(scale="none"), "the 1/sqrt(d) scaling is missing"),
        (_attention_with(scale="d"), "you divided the scores by d = 4; divide by sqrt(d)"),
        (_attention_with(axis=-2), "your softmax runs over the QUERIES"),
        (_attention_with(invert=True), "the mask polarity is inverted"),
        (_attention_with(invert=True, fill=-1e9), "the mask polarity is inverted"),
        (_attention_with(shift="none"), "Subtract the row maximum before exp"),
        (_attention_with(shift="global"), "you subtracted the global maximum"),
        (_attention_with(operand="K"), "you multiplied the weights by K: out = weights @ K"),
        (_attention_with(returns="out"), "you returned only `out`; return the pair (out, weights)"),
        (_attention_with(returns="swapped"), "out and weights come back swapped"),
        (_mask_as_zero_scores, "keys that the mask blocks (False) got weight"),
        (_masked_after_softmax, "some rows of your weights do not sum to 1"),
        (_weights_transposed, "your weights have shape (B, Tk, Tq)"),
        (_out_without_batch, "out has shape (3, 6), but should have shape (B, Tq, dv) = (2, 3, 6)"),
        (_attention_float32, "did you compute in float32?"),
        (_k_dot_t, ".T reverses ALL three axes"),
        (lambda Q, K, V, mask=None: None, "did you forget `return out, weights`?"),
    ],
)
def test_attention_mistakes_get_their_hint(wrong, fragment):
    _fails("scaled_dot_product_attention", wrong, fragment)


def test_attention_ignoring_the_mask_is_caught_on_the_padding_case():
    message = _fails(
        "scaled_dot_product_attention", lambda Q, K, V, mask=None: _attention(Q, K, V), "got weight"
    )
    assert "padding mask" in message


def test_attention_overflow_is_caught_on_the_large_scores():
    message = _fails("scaled_dot_product_attention", _attention_with(shift="none"), "NaN or inf")
    assert "scores near +2000 and -2000" in message


def test_attention_not_written_yet():
    with pytest.raises(ExerciseNotStarted, match="not written yet"):
        check("scaled_dot_product_attention", _stub)


# --- causal_mask ------------------------------------------------------------------------------


def _causal(T):
    return np.tril(np.ones((T, T), dtype=bool))


@pytest.mark.parametrize(
    "answer",
    [
        _causal,
        lambda T: torch.ones(T, T, dtype=torch.bool).tril(),
        lambda T: np.arange(T)[None] <= np.arange(T)[:, None],
    ],
    ids=["numpy", "torch", "comparison"],
)
def test_causal_mask_references_pass(answer):
    assert check("causal_mask", answer) is None


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda T: _causal(T).T, "it is transposed"),
        (lambda T: np.tril(np.ones((T, T), dtype=bool), k=-1), "the diagonal is False"),
        (lambda T: np.tril(np.ones((T, T))), "return booleans"),
        (lambda T: np.tril(np.ones((T, T), dtype=int)), "return booleans"),
        (lambda T: ~_causal(T), "True where attention is BLOCKED"),
        (lambda T: np.triu(np.full((T, T), -np.inf), k=1), "additive float mask"),
        (lambda T: _causal(T)[None], "should return shape (5, 5)"),
        (lambda T: _causal(T + 1), "should return shape (5, 5)"),
        (lambda T: np.ones((T, T), dtype=bool), "see the future"),
        (lambda T: None, "forget `return`"),
    ],
)
def test_causal_mask_mistakes_get_their_hint(wrong, fragment):
    _fails("causal_mask", wrong, fragment)


def test_causal_mask_not_written_yet():
    with pytest.raises(ExerciseNotStarted, match="not written yet"):
        check("causal_mask", _stub)


# --- patchify ---------------------------------------------------------------------------------


def _patchify(X, patch, order=(0, 2, 4, 1, 3, 5)):
    N, C, H, W = X.shape
    p = patch
    grid = X.reshape(N, C, H // p, p, W // p, p).transpose(order)
    return grid.reshape(N, (H // p) * (W // p), C * p * p)


def _patchify_loops(X, patch):
    N, C, H, W = X.shape
    rows = [
        X[:, :, r : r + patch, c : c + patch].reshape(N, -1)
        for r in range(0, H, patch)
        for c in range(0, W, patch)
    ]
    return np.stack(rows, axis=1)


def _patchify_unfold(X, patch):
    return F.unfold(torch.tensor(X), patch, stride=patch).transpose(1, 2)


@pytest.mark.parametrize(
    "answer", [_patchify, _patchify_loops, _patchify_unfold], ids=["reshape", "loops", "unfold"]
)
def test_patchify_references_pass(answer):
    assert check("patchify", answer) is None


def _patchify_strided(X, patch):
    N, C, H, W = X.shape
    p = patch
    grid = X.reshape(N, C, p, H // p, p, W // p).transpose(0, 3, 5, 1, 2, 4)
    return grid.reshape(N, -1, C * p * p)


def _patchify_grid(X, patch):
    N, C, H, W = X.shape
    return _patchify(X, patch).reshape(N, H // patch, W // patch, -1)


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda X, p: _patchify(X, p, order=(0, 2, 4, 3, 5, 1)), "flattened as (p, p, C), channels last"),
        (lambda X, p: _patchify(X, p, order=(0, 4, 2, 1, 3, 5)), "column-major"),
        (lambda X, p: X.reshape(X.shape[0], -1, X.shape[1] * p * p), "without moving any axis"),
        (lambda X, p: _patchify(X, p, order=(0, 2, 4, 1, 5, 3)), "rows and columns are swapped"),
        (_patchify_strided, "not contiguous p x p blocks"),
        (lambda X, p: _patchify_unfold(X, p).transpose(1, 2), "F.unfold's layout"),
        (_patchify_grid, "flatten it into one sequence"),
        (lambda X, p: _patchify(X, p).reshape(-1, X.shape[1] * p * p), "Keep the batch axis"),
        (lambda X, p: _patchify(X, p)[:, :-1], "should return shape (2, 6, 12)"),
        (lambda X, p: _patchify(X[:, ::-1].copy(), p), "the values are wrong"),
    ],
)
def test_patchify_mistakes_get_their_hint(wrong, fragment):
    _fails("patchify", wrong, fragment)


def test_patchify_not_written_yet():
    with pytest.raises(ExerciseNotStarted, match="not written yet"):
        check("patchify", _stub)


# --- attention_cost ---------------------------------------------------------------------------

T, d = 100, 32
RIGHT = {
    "score_entries": T * T,
    "score_multiply_adds": T * T * d,
    "lstm_sequential_steps": T,
    "attention_sequential_steps": 1,
    "crossover_T": 8 * d,
}


def test_attention_cost_right_answer_passes(capsys):
    assert check("attention_cost", dict(RIGHT)) is None
    assert check("attention_cost", {k: float(v) for k, v in RIGHT.items()}) is None
    assert check("attention_cost", {k: np.int64(v) for k, v in RIGHT.items()}) is None
    assert capsys.readouterr().out.count("✓ attention_cost") == 3


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"score_entries": T}, "Every query meets EVERY key"),
        ({"score_entries": T * d}, "how many numbers Q (or K) holds"),
        ({"score_entries": T * T * d}, "counts multiply-adds"),
        ({"score_entries": T * (T + 1) // 2}, "causal triangle"),
        ({"score_multiply_adds": T * T}, "a dot product of two d-vectors"),
        ({"score_multiply_adds": T * d * d}, "a projection such as Q = X W_Q"),
        ({"lstm_sequential_steps": 1, "attention_sequential_steps": T}, "the sequential steps are swapped"),
        ({"attention_sequential_steps": T}, "all positions are computed together"),
        ({"lstm_sequential_steps": 1}, "h_t needs h_(t-1)"),
        ({"crossover_T": d}, "the factor 8 is missing"),
        ({"crossover_T": 8 * d * d}, "that is one LSTM step's cost"),
        ({"crossover_T": 8}, "did you cost the scores as T²·d²?"),
        ({"crossover_T": 16}, "compared the scores with ONE LSTM step"),
        ({"crossover_T": 4 * d}, "one of the LSTM's two matrix products"),
        ({"crossover_T": 64 * d}, "off by a factor of 8"),
    ],
)
def test_attention_cost_mistakes_get_their_hint(changes, fragment):
    _fails("attention_cost", {**RIGHT, **changes}, fragment)


def test_attention_cost_malformed_answers():
    _fails("attention_cost", [T * T, 1], "expected a dict of numbers")
    _fails(
        "attention_cost",
        {k: v for k, v in RIGHT.items() if k != "crossover_T"},
        "your dict has no 'crossover_T'",
    )
    misspelt = {("crossover_t" if k == "crossover_T" else k): v for k, v in RIGHT.items()}
    _fails("attention_cost", misspelt, "did you mean 'crossover_T'?")
    _fails("attention_cost", {**RIGHT, "crossover_T": "8d"}, "must be a number")
    _fails("attention_cost", {**RIGHT, "crossover_T": None}, "'crossover_T' is still None")
    with pytest.raises(ExerciseNotStarted, match="not written yet"):
        check("attention_cost", dict.fromkeys(RIGHT))


# --- the library's own versions agree with the checkers --------------------------------------


def test_library_attention_functions_pass():
    attention = pytest.importorskip("mmcourse.numpy_nn.attention")
    assert check("scaled_dot_product_attention", attention.scaled_dot_product_attention) is None
    assert check("causal_mask", attention.causal_mask) is None
    assert check("patchify", attention.patchify) is None
