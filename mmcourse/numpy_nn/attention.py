"""Attention in NumPy (lesson 10): a soft dictionary look-up, its masks, patches and positions.

    out, weights = scaled_dot_product_attention(Q, K, V, mask=causal_mask(T))

Each query asks every key how well it matches (a dot product), softmax turns the scores
into weights that sum to 1, and the answer is the weighted mean of the values:

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d)) V        (Vaswani et al., 2017, eq. 1)

Shapes are batch first, as in PyTorch: Q (B, Tq, d), K (B, Tk, d), V (B, Tk, dv). A mask is
boolean and, as in torch.nn.functional.scaled_dot_product_attention, True means "may attend".
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_arrays, expect_ndim, expect_number

__all__ = [
    "scaled_dot_product_attention",
    "causal_mask",
    "patchify",
    "sinusoidal_positions",
    "multi_head_attention",
]


def _stable_softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis; rows whose entries are all -inf (nothing to attend to) give zeros."""
    top = scores.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.exp(scores - top)  # the largest entry becomes exp(0) = 1: no overflow for scores in the thousands
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(d)) V with an optional mask: returns (out (B, Tq, dv), weights (B, Tq, Tk)).

    Q: (B, Tq, d) queries; K: (B, Tk, d) keys; V: (B, Tk, dv) values; mask: bool, broadcastable
    to (B, Tq, Tk), True where query i may attend to key j (a masked score becomes -inf, so its
    weight is exactly 0). Each row of `weights` sums to 1. Equal to
    torch.nn.functional.scaled_dot_product_attention(Q, K, V, attn_mask=mask).
    """
    Q, K, V = as_float_arrays(Q=Q, K=K, V=V)
    for name, array in (("Q", Q), ("K", K), ("V", V)):
        expect_ndim(name, array, 3, hint="(B, T, d), batch first")
    if K.shape[:1] != Q.shape[:1] or K.shape[2] != Q.shape[2]:
        raise ValueError(f"K must have shape (B, Tk, d) = ({Q.shape[0]}, Tk, {Q.shape[2]}) to match Q {Q.shape}, "
                         f"but has shape {K.shape}.")  # fmt: skip
    if V.shape[:2] != K.shape[:2]:
        raise ValueError(f"V must have shape (B, Tk, dv) = ({K.shape[0]}, {K.shape[1]}, dv) to match K, "
                         f"but has shape {V.shape}: one value per key.")  # fmt: skip
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(Q.shape[-1])  # (B, Tq, Tk)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"mask must be boolean (True = may attend), but has dtype {mask.dtype}.")
        try:
            mask = np.broadcast_to(mask, scores.shape)
        except ValueError:
            raise ValueError(
                f"mask of shape {mask.shape} does not broadcast to (B, Tq, Tk) = {scores.shape}."
            ) from None
        scores = np.where(mask, scores, -np.inf)
    weights = _stable_softmax(scores)
    return weights @ V, weights


def causal_mask(T: int) -> np.ndarray:
    """(T, T) bool: True on and below the diagonal -- token i may attend to tokens 0..i, never ahead."""
    T = expect_number("T", T, "int", 1)
    return np.tril(np.ones((T, T), dtype=bool))


def patchify(X, patch: int) -> np.ndarray:
    """Images to sequences of flattened patches, as a ViT reads them: (N, C, H, W) -> (N, (H/p)(W/p), C p p).

    Patches are taken in row-major order over the patch grid (left to right, then top to
    bottom), each flattened as (C, p, p) -- equal to F.unfold(X, p, stride=p).transpose(1, 2).
    """
    X = as_float_arrays(X=X)
    expect_ndim("X", X, 4, hint="(N, C, H, W), channels first")
    p = expect_number("patch", patch, "int", 1)
    N, C, H, W = X.shape
    if H % p or W % p:
        raise ValueError(f"patch must divide the image's height and width, but X is {H} x {W} and patch is {p}: "
                         f"crop or pad the images to a multiple of {p} first.")  # fmt: skip
    grid = X.reshape(N, C, H // p, p, W // p, p)  # (N, C, rows, p, cols, p)
    grid = grid.transpose(0, 2, 4, 1, 3, 5)  # (N, rows, cols, C, p, p): one patch per (row, col)
    return grid.reshape(N, (H // p) * (W // p), C * p * p)


def sinusoidal_positions(T: int, d: int) -> np.ndarray:
    """(T, d): PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(t / 10000^(2i/d)) (Vaswani et al., 2017)."""
    T = expect_number("T", T, "int", 1)
    d = expect_number("d", d, "int", 2)
    if d % 2:
        raise ValueError(f"d must be even (one sin and one cos per frequency), but got {d}.")
    t = np.arange(T)[:, None]  # (T, 1)
    frequencies = 1.0 / 10000 ** (np.arange(0, d, 2) / d)  # (d/2,)
    pe = np.zeros((T, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(t * frequencies), np.cos(t * frequencies)
    return pe


def multi_head_attention(query, key, value, in_weight, in_bias, out_weight, out_bias, heads: int, mask=None):
    """Multi-head attention from its equations, with nn.MultiheadAttention's weight layout.

    query (B, Tq, E), key and value (B, Tk, E); in_weight (3E, E) stacks W_q, W_k, W_v (rows),
    in_bias (3E,); out_weight (E, E), out_bias (E,); heads divides E; mask as in
    scaled_dot_product_attention. Each head h attends with its own slice of the projections,
    of width E / heads: head_h = Attention(Q W_q^h, K W_k^h, V W_v^h); the heads are
    concatenated and projected: out = [head_1, ..., head_H] W_o^T + b_o.
    Returns (out (B, Tq, E), weights (B, heads, Tq, Tk)).
    """
    query, key, value = as_float_arrays(query=query, key=key, value=value)
    in_weight, in_bias, out_weight, out_bias = as_float_arrays(
        in_weight=in_weight, in_bias=in_bias, out_weight=out_weight, out_bias=out_bias
    )
    B, Tq, E = query.shape
    heads = expect_number("heads", heads, "int", 1)
    if E % heads:
        raise ValueError(f"heads must divide the width E = {E}, but got heads = {heads}.")
    W_q, W_k, W_v = np.split(in_weight, 3)  # (E, E) each
    b_q, b_k, b_v = np.split(in_bias, 3)
    d = E // heads

    def split_heads(x):  # (B, T, E) -> (B * heads, T, d)
        return x.reshape(x.shape[0], x.shape[1], heads, d).transpose(0, 2, 1, 3).reshape(-1, x.shape[1], d)

    q, k, v = (
        split_heads(x @ W.T + b) for x, W, b in ((query, W_q, b_q), (key, W_k, b_k), (value, W_v, b_v))
    )
    if mask is not None:
        mask = np.asarray(mask)
        mask = (
            np.broadcast_to(mask, (B, Tq, key.shape[1]))[:, None]
            .repeat(heads, axis=1)
            .reshape(-1, Tq, key.shape[1])
        )
    out, weights = scaled_dot_product_attention(q, k, v, mask)  # (B * heads, Tq, d), (B * heads, Tq, Tk)
    out = out.reshape(B, heads, Tq, d).transpose(0, 2, 1, 3).reshape(B, Tq, E)  # concatenate the heads
    return out @ out_weight.T + out_bias, weights.reshape(B, heads, Tq, -1)
