"""One step of an LSTM in NumPy (lesson 05), with PyTorch's weight layout.

Rows are samples (PyTorch's convention). For a batch x (B, D), state h, c (B, H):

    z = x W_ih^T + b_ih + h W_hh^T + b_hh        (B, 4H), split into four (B, H) blocks
    i = sigmoid(z_i)   input gate     -- how much of the candidate to write
    f = sigmoid(z_f)   forget gate    -- how much of the old cell state to keep
    g = tanh(z_g)      candidate      -- what to write
    o = sigmoid(z_o)   output gate    -- how much of the cell state to show
    c' = f * c + i * g
    h' = o * tanh(c')

The blocks are stacked in the order (i, f, g, o), exactly as in `torch.nn.LSTMCell`'s
`weight_ih` (4H, D), `weight_hh` (4H, H), `bias_ih` (4H,) and `bias_hh` (4H,), so weights
copied from PyTorch give the same numbers.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_arrays, expect_ndim, expect_shape

__all__ = ["lstm_cell", "GATE_ORDER"]

GATE_ORDER = ("i", "f", "g", "o")


def _sigmoid(z):
    """Numerically safe logistic function (no overflow warning for large |z|)."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step, equal to torch.nn.LSTMCell with the same weights.

    x: (B, D) inputs; h, c: (B, H) previous hidden and cell state;
    W_ih: (4H, D); W_hh: (4H, H); b_ih, b_hh: (4H,) -- gates stacked as (i, f, g, o).
    Returns (h_new, c_new), each (B, H).
    """
    x, h, c, W_ih, W_hh, b_ih, b_hh = as_float_arrays(
        x=x, h=h, c=c, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh
    )
    expect_ndim("x", x, 2, hint="(B, D), one sample per row")
    expect_ndim("h", h, 2, hint="(B, H), one sample per row")
    B, D = x.shape
    H = h.shape[1]
    expect_shape("h", h, (B, H), hint="(B, H), one sample per row")
    expect_shape("c", c, (B, H), hint="the cell state has the same shape as h")
    expect_shape("W_ih", W_ih, (4 * H, D), hint="(4H, D), gates stacked as i, f, g, o")
    expect_shape("W_hh", W_hh, (4 * H, H), hint="(4H, H), gates stacked as i, f, g, o")
    expect_shape("b_ih", b_ih, (4 * H,), hint="(4H,)")
    expect_shape("b_hh", b_hh, (4 * H,), hint="(4H,)")
    z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # (B, 4H)
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)
    i, f, g, o = _sigmoid(z_i), _sigmoid(z_f), np.tanh(z_g), _sigmoid(z_o)
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new
