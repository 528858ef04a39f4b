"""Checks for lesson 05 (reading: embeddings and LSTMs): `lstm_cell` and `last_hidden`.

The referee is PyTorch: `torch.nn.LSTMCell` with the same weights, and plain indexing
at length - 1 for the last hidden state.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from .core import call_learner, exercise, expect_array_result, expect_callable, fail

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
