"""Checks for lesson 10 (attention and transformers).

`scaled_dot_product_attention`, `causal_mask`, `patchify` and the prediction `attention_cost`.

The referees are PyTorch: `torch.nn.functional.scaled_dot_product_attention` in float64 (its
boolean mask: True = may attend) with the softmax weights computed by torch, and
`torch.nn.functional.unfold` for patches. The cases use Tq != Tk and d != dv, so a wrong axis
or a wrong operand shows, and scores near ±2000, so a softmax without max-subtraction shows.
"""

from __future__ import annotations

import difflib
import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from .core import (
    ExerciseFailed,
    ExerciseNotStarted,
    call_learner,
    exercise,
    expect_array_result,
    expect_callable,
    fail,
)

LESSON = "10_attention_transformers"


def _close(a, b):
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True))


def _softmax(scores, axis=-1):
    """A stable softmax that leaves a row of nothing but -inf as NaN (as torch does)."""
    with np.errstate(all="ignore"):
        top = scores.max(axis=axis, keepdims=True)
        e = np.exp(scores - np.where(np.isfinite(top), top, 0.0))
        return e / e.sum(axis=axis, keepdims=True)


def _naive_softmax(scores):
    with np.errstate(all="ignore"):
        e = np.exp(scores)
        return e / e.sum(axis=-1, keepdims=True)


# --- scaled_dot_product_attention ---------------------------------------------------------


def _attention_cases():
    """(description, Q, K, V, mask or None). Every query may attend at least one key."""
    rng = np.random.default_rng(10)
    cases = [
        (
            "2 sequences of 3 queries against 5 keys, d = 4, dv = 6, no mask",
            rng.normal(size=(2, 3, 4)),
            rng.normal(size=(2, 5, 4)),
            rng.normal(size=(2, 5, 6)),
            None,
        )
    ]
    lengths = np.array([5, 3, 2])
    padding = (np.arange(5)[None, :] < lengths[:, None])[:, None, :]  # (3, 1, 5): key j < length b
    cases.append(
        (
            "a padding mask of shape (3, 1, 5): 3 sequences with 5, 3 and 2 real keys of 5",
            rng.normal(size=(3, 4, 4)) * 1.5,
            rng.normal(size=(3, 5, 4)),
            rng.normal(size=(3, 5, 3)),
            padding,
        )
    )
    cases.append(
        (
            "a causal (6, 6) mask over 2 sequences of 6 tokens, d = 8, dv = 4",
            rng.normal(size=(2, 6, 8)),
            rng.normal(size=(2, 6, 8)),
            rng.normal(size=(2, 6, 4)),
            np.tril(np.ones((6, 6), dtype=bool)),
        )
    )
    Q, K, V = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 2))
    Q[0, :, 0], Q[1, :, 0] = 100.0, -100.0  # scores = (100 * 40 + small) / 2: about +2000 and -2000
    K[..., 0] = 40.0 + 0.02 * rng.normal(size=(2, 5))
    cases.append(("scores near +2000 and -2000 (large Q and K), d = 4, dv = 2", Q, K, V, None))
    return cases


def _reference_attention(Q, K, V, mask):
    """(out, weights) from PyTorch in float64."""
    q, k, v = (torch.tensor(a, dtype=torch.float64) for a in (Q, K, V))
    m = None if mask is None else torch.tensor(np.asarray(mask, dtype=bool))
    scores = q @ k.transpose(-2, -1) / math.sqrt(Q.shape[-1])
    if m is not None:
        scores = scores.masked_fill(~m, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    return out.numpy(), weights.numpy()


def _masked(scores, mask):
    return scores if mask is None else np.where(mask, scores, -np.inf)


def _expect_pair(got, case, shapes):
    """The learner's (out, weights) pair, or a hint about what came back instead."""
    out_shape, weights_shape = shapes
    if got is None:
        fail(f"your function returned None on {case} — did you forget `return out, weights`?")
    if not isinstance(got, (tuple, list)):
        if np.shape(got) == out_shape:
            fail(
                f"on {case}: you returned only `out`; return the pair (out, weights): the weights are "
                "what shows WHERE each query looked."
            )
        fail(f"on {case}: you returned {type(got).__name__}; return a pair (out, weights).")
    if len(got) != 2:
        fail(f"on {case}: you returned {len(got)} things; return exactly two: (out, weights).")
    if np.shape(got[0]) == weights_shape and np.shape(got[1]) == out_shape:
        fail(f"on {case}: out and weights come back swapped: return (out, weights), in that order.")
    return got


def _expect_shape(value, shape, case, what, letters):
    """`value` as a float array of `shape`, or a hint naming `what` and its shape in `letters`."""
    if np.ndim(value) != len(shape) or tuple(np.shape(value)) != shape:
        fail(
            f"on {case}: {what} has shape {tuple(np.shape(value))}, but should have shape {letters} = {shape}."
        )
    return expect_array_result(value, shape, case, name=what)


def _call_attention(answer, case, Q, K, V, mask):
    """The learner's result; a K.T on 3-D arrays gets a word about what .T does."""
    args = (Q, K, V) if mask is None else (Q, K, V, mask)
    try:
        return call_learner(answer, case, *args)
    except ExerciseFailed as failure:
        if "raised ValueError" in failure.hint and ".T" in failure.hint:
            fail(
                failure.hint
                + " Note: for a 3-D array, .T reverses ALL three axes: K.T is (d, Tk, B), not (B, d, Tk). "
                "Swap only the last two: K.transpose(0, 2, 1), or np.swapaxes(K, -1, -2)."
            )
        raise


def _attention_weights_hint(case, Q, K, mask, got_w, want_w):
    """The likely mistake behind wrong attention weights (`got_w` already has the right shape)."""
    raw = Q @ K.transpose(0, 2, 1)
    d = Q.shape[-1]
    if mask is not None:
        allowed = np.broadcast_to(mask, want_w.shape)
        mixed = allowed.any(axis=-1) & ~allowed.all(axis=-1)  # rows with both allowed and blocked keys
        rows = mixed & np.isfinite(got_w).all(axis=-1)
        if rows.any():
            on_allowed = np.where(allowed, got_w, 0).sum(axis=-1)[rows]
            on_blocked = np.where(allowed, 0, got_w).sum(axis=-1)[rows]
            if (on_allowed < 1e-6).all() and (on_blocked > 0.5).all():
                return (
                    f"on {case}: your weights are 0 exactly where the mask is True: the mask polarity is "
                    "inverted. Here True means 'may attend' (PyTorch's convention), so block the False "
                    "entries: np.where(mask, scores, -np.inf)."
                )
    scaled = _masked(raw / np.sqrt(d), mask)
    if not np.isfinite(got_w).all():
        global_shift = _naive_softmax(scaled - scaled[np.isfinite(scaled)].max())
        if np.array_equal(np.isnan(got_w), np.isnan(global_shift)):
            return (
                f"on {case}: you returned NaN in the rows whose scores are all far below the largest score "
                "of the whole array: you subtracted the global maximum. Subtract each row's own maximum, "
                "scores.max(axis=-1, keepdims=True), so that every row keeps an entry e^0 = 1."
            )
        return (
            f"on {case}: your weights contain NaN or inf: np.exp overflows to inf for large scores (exp(710) "
            "already does) and underflows to 0 far below 0, giving inf / inf or 0 / 0. Subtract the row "
            "maximum before exp: "
            "softmax(s) = softmax(s - max s), with the max over the keys (axis=-1, keepdims=True), "
            "so the largest exponent is e^0 = 1."
        )
    if _close(got_w, _softmax(_masked(raw, mask))):
        return (
            f"on {case}: your weights are softmax(Q K^T): the 1/sqrt(d) scaling is missing. Without it the "
            "scores grow with d and the softmax saturates; use softmax(Q K^T / sqrt(d))."
        )
    if _close(got_w, _softmax(_masked(raw / d, mask))):
        return (
            f"on {case}: you divided the scores by d = {d}; divide by sqrt(d) = {np.sqrt(d):g}. A dot product of "
            "two random d-vectors has variance d, so sqrt(d) brings its spread back to about 1."
        )
    if _close(got_w, _softmax(scaled, axis=-2)) or np.allclose(np.nansum(got_w, axis=-2), 1.0):
        return (
            f"on {case}: your softmax runs over the QUERIES (axis 1), so each column sums to 1. Each row "
            "(one query) must be a distribution over the keys: softmax over the last axis, axis=-1."
        )
    if mask is not None:
        blocked = ~np.broadcast_to(mask, want_w.shape)
        if np.abs(got_w[blocked]).max(initial=0.0) > 1e-6:
            return (
                f"on {case}: keys that the mask blocks (False) got weight. Set their scores to -inf BEFORE the "
                "softmax, so that exp gives exactly 0 (not to 0: e^0 = 1 is a real weight)."
            )
    sums = got_w.sum(axis=-1)
    off = ~np.isclose(sums, 1.0)
    if off.any():
        sums = sums[off]
        return (
            f"on {case}: some rows of your weights do not sum to 1 (they sum to "
            f"{np.round(sums[:4], 3)}): normalise over the keys, after masking the scores — "
            "masking the weights after the softmax breaks the sums."
        )
    if np.allclose(got_w, want_w, rtol=1e-4, atol=1e-6):
        return (
            f"on {case}: the weights are close but not equal (largest error {np.abs(got_w - want_w).max():.3g}): "
            "did you compute in float32? Work in float64, NumPy's default."
        )
    return (
        f"on {case}: the weights are wrong (largest error {np.abs(got_w - want_w).max():.3g}): "
        "weights = softmax(Q K^T / sqrt(d)) over the keys, with blocked scores set to -inf."
    )


@exercise(
    "scaled_dot_product_attention",
    lesson=LESSON,
    description="softmax(Q K^T / sqrt(d)) V in NumPy with a boolean mask, equal to F.scaled_dot_product_attention",
)
def check_scaled_dot_product_attention(answer):
    """scaled_dot_product_attention(Q, K, V, mask=None) -> (out (B, Tq, dv), weights (B, Tq, Tk))."""
    expect_callable(answer, "a function scaled_dot_product_attention(Q, K, V, mask=None) -> (out, weights)")
    cases = _attention_cases()
    for case, Q, K, V, mask in cases:
        want_out, want_w = _reference_attention(Q, K, V, mask)
        (B, Tq, d), Tk = Q.shape, K.shape[1]
        got = _call_attention(answer, case, Q, K, V, mask)
        got_out, got_w = _expect_pair(got, case, (want_out.shape, want_w.shape))
        if Tq != Tk and np.shape(got_w) == (B, Tk, Tq):
            fail(
                f"on {case}: your weights have shape (B, Tk, Tq) = {(B, Tk, Tq)}: one row per KEY. The scores "
                "are Q K^T — query i against key j at [b, i, j] — so weights must be (B, Tq, Tk)."
            )
        got_w = _expect_shape(got_w, want_w.shape, case, "weights", "(B, Tq, Tk)")
        if np.shape(got_out) == (B, Tq, d) and _close(np.asarray(got_out, dtype=float), got_w @ K):
            fail(
                f"on {case}: you multiplied the weights by K: out = weights @ K. The keys only decide WHERE "
                "to look; the output is the weighted average of the VALUES, out = weights @ V, of shape (B, Tq, dv)."
            )
        got_out = _expect_shape(got_out, want_out.shape, case, "out", "(B, Tq, dv)")
        if not _close(got_w, want_w):
            fail(_attention_weights_hint(case, Q, K, mask, got_w, want_w))
        if not _close(got_out, want_out):
            if not np.isfinite(got_out).all():
                fail(f"on {case}: the weights are right but out contains NaN or inf: out = weights @ V.")
            if np.allclose(got_out, want_out, rtol=1e-4, atol=1e-6):
                fail(
                    f"on {case}: out is close but not equal (largest error {np.abs(got_out - want_out).max():.3g}): "
                    "did you compute in float32? Work in float64, NumPy's default."
                )
            fail(
                f"on {case}: the weights are right but out is not (largest error "
                f"{np.abs(got_out - want_out).max():.3g}): out = weights @ V, one weighted average of the "
                "value rows per query."
            )
    return (
        f"equal to torch's scaled_dot_product_attention on {len(cases)} cases, including a padding mask, "
        "a causal mask and scores near ±2000."
    )


# --- causal_mask --------------------------------------------------------------------------


@exercise("causal_mask", lesson=LESSON, description="(T, T) bool, True where query i may attend key j <= i")
def check_causal_mask(answer):
    """causal_mask(T) -> (T, T) bool array, True on and below the diagonal."""
    expect_callable(answer, "a function causal_mask(T) -> (T, T) boolean array")
    sizes = (5, 1, 8)
    for T in sizes:
        case = f"T = {T}"
        got = call_learner(answer, case, T)
        if got is None:
            fail(f"causal_mask returned None on {case} — did you forget `return`?")
        if hasattr(got, "detach"):
            got = got.detach().cpu().numpy()
        got = np.asarray(got)
        if got.shape != (T, T):
            extra = ""
            if got.size == T * T:
                extra = " Broadcasting adds any batch axis later; return the plain (T, T) matrix."
            fail(
                f"causal_mask returned shape {got.shape} on {case}, but should return shape ({T}, {T}): "
                f"one row per query i, one column per key j.{extra}"
            )
        if got.dtype.kind not in "biuf":
            fail(
                f"causal_mask returned an array of dtype {got.dtype} on {case}; return booleans (dtype bool)."
            )
        if got.dtype.kind == "f" and np.isneginf(got).any():
            fail(
                f"on {case}: you returned an additive float mask (0 where allowed, -inf where blocked), as "
                "nn.Transformer.generate_square_subsequent_mask does. Here return booleans: True where query i "
                "may attend key j."
            )
        want = np.tril(np.ones((T, T), dtype=bool))
        values = got != 0
        if np.array_equal(values, want):
            if got.dtype != bool:
                fail(
                    f"on {case}: the pattern is right but you returned dtype {got.dtype}: return booleans "
                    "(dtype=bool, e.g. with .astype(bool)). torch ADDS a float attn_mask to the scores, so a "
                    "0/1 float mask would block nothing."
                )
            continue
        if T > 1 and np.array_equal(values, want.T):
            fail(
                f"on {case}: your mask is True ABOVE the diagonal (upper triangular): it is transposed. Row i is "
                "query i and column j key j; query i may see keys j <= i, the entries on and BELOW the diagonal."
            )
        if np.array_equal(values, np.tril(want, k=-1)):
            fail(
                f"on {case}: the diagonal is False: a token must be allowed to attend to itself (j = i), "
                "or the first token attends to nothing at all. Keep the diagonal True."
            )
        if np.array_equal(values, ~want):
            fail(
                f"on {case}: your mask is True where attention is BLOCKED (strictly above the diagonal) — "
                "nn.MultiheadAttention's convention. Here True means 'may attend', as in "
                "F.scaled_dot_product_attention: True on and below the diagonal."
            )
        if values.all():
            fail(f"on {case}: every entry is True: that lets each token see the future. Block keys j > i.")
        fail(
            f"on {case}: expected True exactly where key j <= query i (on and below the diagonal), got\n{got}."
        )
    return f"correct for T = {', '.join(map(str, sizes))}: booleans, True on and below the diagonal."


# --- patchify -----------------------------------------------------------------------------


def _patch_cases():
    rng = np.random.default_rng(11)
    return [
        ("2 RGB images of 4 x 6 pixels, patch 2", rng.normal(size=(2, 3, 4, 6)), 2),
        ("2 RGB images of 8 x 12 pixels, patch 4", rng.normal(size=(2, 3, 8, 12)), 4),
        ("2 RGB images of 6 x 4 pixels (taller than wide), patch 2", rng.normal(size=(2, 3, 6, 4)), 2),
    ]


def _patch_variants(X, p):
    """name -> what a classic mistake returns on images X with patch size p."""
    N, C, H, W = X.shape
    h, w = H // p, W // p
    grid = X.reshape(N, C, h, p, w, p)
    strided = X.reshape(N, C, p, h, p, w)  # H split as (p, H/p): every (H/p)-th pixel
    return {
        "channels last": grid.transpose(0, 2, 4, 3, 5, 1).reshape(N, h * w, -1),
        "column-major grid": grid.transpose(0, 4, 2, 1, 3, 5).reshape(N, h * w, -1),
        "plain reshape": X.reshape(N, -1, C * p * p),
        "pixels transposed": grid.transpose(0, 2, 4, 1, 5, 3).reshape(N, h * w, -1),
        "strided": strided.transpose(0, 3, 5, 1, 2, 4).reshape(N, h * w, -1),
    }


_PATCH_HINTS = {
    "channels last": (
        "each patch is flattened as (p, p, C), channels last. Flatten it as (C, p, p) — all of channel 0's "
        "pixels, then channel 1's, ... — as F.unfold and a Conv2d patch embedding do."
    ),
    "column-major grid": (
        "your patches run down the columns of the patch grid first (column-major). Number them row by row: "
        "left to right along the top row of patches, then the next row, as one reads text."
    ),
    "plain reshape": (
        "you reshaped X straight to (N, L, C p p) without moving any axis: each 'patch' is then a run of "
        "consecutive pixels of ONE row, not a p x p square. Split H and W into (H/p, p) and (W/p, p), move "
        "the two grid axes in front, then flatten."
    ),
    "pixels transposed": (
        "inside each patch, rows and columns are swapped: flatten each channel's p x p block row by row, "
        "as (C, p rows, p columns)."
    ),
    "strided": (
        "your patches are not contiguous p x p blocks: you split H into (p, H/p) instead of (H/p, p) (and "
        "W likewise), so a 'patch' gathers pixels spread over the whole image."
    ),
}


@exercise(
    "patchify", lesson=LESSON, description="images (N, C, H, W) -> sequences of flattened p x p patches"
)
def check_patchify(answer):
    """patchify(X (N, C, H, W), patch) -> (N, (H/p)(W/p), C p p), equal to F.unfold(...).transpose(1, 2)."""
    expect_callable(answer, "a function patchify(X, patch) -> (N, L, C * patch * patch) array")
    cases = _patch_cases()
    for case, X, p in cases:
        N, C, H, W = X.shape
        L, D = (H // p) * (W // p), C * p * p
        want = F.unfold(torch.tensor(X), kernel_size=p, stride=p).transpose(1, 2).numpy()
        got = call_learner(answer, case, X, p)
        shape = np.shape(got)
        if shape == (N, D, L):
            fail(
                f"on {case}: you returned shape {(N, D, L)}, F.unfold's layout with one COLUMN per patch. A "
                "transformer reads a sequence of tokens, one ROW per patch: (N, L, C p p) — transpose the last two axes."
            )
        if shape == (N, H // p, W // p, D):
            fail(
                f"on {case}: you returned the patch grid {shape}; flatten it into one sequence of "
                f"(H/p)(W/p) = {L} patches: shape (N, L, C p p) = {(N, L, D)}."
            )
        if shape == (N * L, D):
            fail(
                f"on {case}: you returned {shape}: the images' patches are all in one list. Keep the batch "
                f"axis: shape (N, L, C p p) = {(N, L, D)}."
            )
        got = expect_array_result(got, (N, L, D), case)
        if _close(got, want):
            continue
        for name, variant in _patch_variants(X, p).items():
            if _close(got, variant):
                fail(f"on {case}: {_PATCH_HINTS[name]}")
        fail(
            f"on {case}: the values are wrong: patch k (row-major over the grid) must hold the (C, p, p) block "
            "X[n, :, r*p:(r+1)*p, c*p:(c+1)*p] flattened, for r, c = divmod(k, W // p)."
        )
    return f"equal to F.unfold(X, p, stride=p).transpose(1, 2) on {len(cases)} cases, non-square images included."


# --- attention_cost (a prediction) ----------------------------------------------------------

COST_T, COST_D = 100, 32  # the sequence length and model width the questions are about
COST_KEYS = (
    "score_entries",
    "score_multiply_adds",
    "lstm_sequential_steps",
    "attention_sequential_steps",
    "crossover_T",
)


def _cost_answer(answer) -> dict:
    """The learner's dict with every key a number, or a hint about what is missing."""
    example = "{" + ", ".join(f"{k!r}: ..." for k in COST_KEYS[:2]) + ", ...}"
    if not isinstance(answer, dict):
        fail(f"expected a dict of numbers such as {example}, but got {type(answer).__name__}.")
    missing = [k for k in COST_KEYS if k not in answer]
    if missing:
        unknown = [k for k in answer if k not in COST_KEYS]
        near = [
            f"{u!r} (did you mean {c[0]!r}?)"
            for u in unknown
            if (c := difflib.get_close_matches(str(u), missing, 1))
        ]
        fail(
            f"your dict has no {', '.join(map(repr, missing))}; it needs the keys {list(COST_KEYS)}."
            + (f" Misspelt: {', '.join(near)}." if near else "")
        )
    if all(answer[k] is None for k in COST_KEYS):
        raise ExerciseNotStarted(
            "not written yet — put your numbers in place of the Nones, then run this check."
        )
    values = {}
    for key in COST_KEYS:
        value = answer[key]
        if value is None:
            fail(f"{key!r} is still None: put a number there.")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            fail(f"{key!r} must be a number (an int such as 4096), but is {type(value).__name__} {value!r}.")
        values[key] = float(value)
    return values


def _is(value, target) -> bool:
    return bool(np.isclose(value, target, rtol=1e-9, atol=1e-9))


def _score_entries_hint(n, T, d):
    if _is(n, T):
        return (
            f"score_entries = {n:g} = T: one score per query? Every query meets EVERY key, so S = Q K^T "
            "holds one entry per (query, key) pair."
        )
    if _is(n, T * d):
        return (
            f"score_entries = {n:g} = T·d: that is how many numbers Q (or K) holds, T × d. S = Q K^T is "
            "(T × d)(d × T): one entry per (query, key) pair. Entries are its size, not the work to fill it."
        )
    if _is(n, T * T * d):
        return (
            f"score_entries = {n:g} = T²·d counts multiply-adds — that is the next question. The entries are "
            "the size of S."
        )
    if _is(n, T * (T + 1) / 2) or _is(n, T * T / 2) or _is(n, T * (T - 1) / 2):
        return f"score_entries = {n:g} counts only a causal triangle; the question is about the full, unmasked S."
    if _is(n, d * d):
        return (
            f"score_entries = {n:g} = d²: that is the size of a weight matrix such as W_Q, not of S = Q K^T."
        )
    return f"score_entries = {n:g} is not the number of entries of S = Q K^T for Q, K of shape (T, d)."


def _score_cost_hint(n, T, d):
    if _is(n, T * T):
        return (
            f"score_multiply_adds = {n:g} = T²: one multiply-add per entry? Each entry is a dot product of "
            "two d-vectors, d multiply-adds."
        )
    if _is(n, T * d * d):
        return (
            f"score_multiply_adds = {n:g} = T·d²: that is a projection such as Q = X W_Q, (T × d)(d × d). "
            "The scores are Q K^T, (T × d)(d × T)."
        )
    if _is(n, T * d):
        return (
            f"score_multiply_adds = {n:g} = T·d: that would be one key per query. Every query meets every one "
            "of the T keys."
        )
    if _is(n, 2 * T * T * d):
        return f"score_multiply_adds = {n:g} counts a multiply and an add separately; count one multiply-add as 1."
    if _is(n, T * T * d * d):
        return f"score_multiply_adds = {n:g} = T²·d²: each entry is ONE dot product of length d, so d multiply-adds."
    return f"score_multiply_adds = {n:g} is wrong: how many entries has S, and what does each cost?"


def _steps_hint(lstm, attention, T):
    if _is(lstm, 1) and _is(attention, T):
        return (
            "the sequential steps are swapped: the LSTM is the one that waits — h_t needs h_(t-1), so T steps "
            "one after another — while attention computes all T positions in one step."
        )
    if not _is(lstm, T):
        return (
            f"lstm_sequential_steps = {lstm:g}: the LSTM computes h_1, h_2, ..., h_T, and h_t needs h_(t-1), so "
            "none can start before the previous one is done. How many is that?"
        )
    return (
        f"attention_sequential_steps = {attention:g}: no output of a self-attention layer needs another output "
        "of the same layer — each reads only Q, K and V — so all positions are computed together, in one step."
    )


def _crossover_hint(n, T, d):
    right = 8 * d
    if _is(n, d):
        return (
            f"crossover_T = {n:g} = d: the factor 8 is missing. One LSTM step is two products with "
            "(4d × d) matrices, W_ih x_t and W_hh h_(t-1): 4d² + 4d² = 8d² multiply-adds."
        )
    if _is(n, 8 * d * d):
        return (
            f"crossover_T = {n:g} = 8d²: that is one LSTM step's cost, not the length at which the costs "
            "meet — a d² where a d belongs. Solve T²·d = T·8d² for T: divide both sides by T·d."
        )
    if _is(n, 8):
        return (
            f"crossover_T = {n:g}: did you cost the scores as T²·d²? Each of the T² entries is ONE dot product "
            "of length d, so the scores cost T²·d."
        )
    if _is(n, math.sqrt(8 * d)):
        return (
            f"crossover_T = {n:g} = sqrt(8d): you compared the scores with ONE LSTM step. Compare whole "
            "sequences: the LSTM takes T steps of 8d² each."
        )
    if _is(n, 4 * d):
        return (
            f"crossover_T = {n:g} = 4d: you counted one of the LSTM's two matrix products per step. Each step "
            "has both W_ih x_t and W_hh h_(t-1)."
        )
    if _is(n, 2 * d):
        return (
            f"crossover_T = {n:g} = 2d: the 4 gates are missing. W_ih and W_hh are (4d × d): four gates, each "
            "with its own d × d block."
        )
    if _is(n * 8, right) or _is(n, right * 8):
        return f"crossover_T = {n:g} is off by a factor of 8: solve T²·d = T·8d² for T."
    return f"crossover_T = {n:g} is wrong: solve T²·d (the scores) = T·8d² (the LSTM over T steps) for T."


@exercise(
    "attention_cost",
    lesson=LESSON,
    description="predict attention's and an LSTM's cost: T² scores, T vs 1 sequential steps, crossover at T = 8d",
)
def check_attention_cost(answer):
    """A dict of five numbers for T = 100 tokens of width d = 32 (see the exercise's statement)."""
    values = _cost_answer(answer)
    T, d = COST_T, COST_D
    if not _is(values["score_entries"], T * T):
        fail(_score_entries_hint(values["score_entries"], T, d))
    if not _is(values["score_multiply_adds"], T * T * d):
        fail(_score_cost_hint(values["score_multiply_adds"], T, d))
    lstm, attention = values["lstm_sequential_steps"], values["attention_sequential_steps"]
    if not (_is(lstm, T) and _is(attention, 1)):
        fail(_steps_hint(lstm, attention, T))
    if not _is(values["crossover_T"], 8 * d):
        fail(_crossover_hint(values["crossover_T"], T, d))
    return (
        f"all five right: T² = {T * T} scores costing T²·d = {T * T * d} multiply-adds, {T} sequential steps "
        f"for the LSTM against 1 for attention, and equal cost at T = 8d = {8 * d}."
    )
