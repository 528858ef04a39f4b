"""lstm_cell against torch.nn.LSTMCell with copied weights, and its errors."""

import numpy as np
import pytest
import torch

from mmcourse.numpy_nn import GATE_ORDER, lstm_cell


def _torch_cell(D, H, seed):
    torch.manual_seed(seed)
    return torch.nn.LSTMCell(D, H).double()


def _weights(cell):
    return [p.detach().numpy().copy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]


@pytest.mark.parametrize("B, D, H", [(1, 1, 1), (4, 5, 3), (7, 2, 6)])
def test_lstm_cell_matches_torch(B, D, H):
    cell = _torch_cell(D, H, seed=B + D + H)
    rng = np.random.default_rng(B)
    x, h, c = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    want_h, want_c = cell(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
    got_h, got_c = lstm_cell(x, h, c, *_weights(cell))
    np.testing.assert_allclose(got_h, want_h.detach().numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(got_c, want_c.detach().numpy(), atol=1e-5, rtol=0)


def test_lstm_cell_runs_a_sequence_like_nn_lstm():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, batch_first=True).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    out, (h_n, c_n) = lstm(x)
    weights = [
        p.detach().numpy() for p in (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    ]
    h, c = np.zeros((2, 4)), np.zeros((2, 4))
    for t in range(6):
        h, c = lstm_cell(x[:, t].numpy(), h, c, *weights)
        np.testing.assert_allclose(h, out[:, t].detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(c, c_n[0].detach().numpy(), atol=1e-5)


def test_gate_order_is_pytorchs():
    assert GATE_ORDER == ("i", "f", "g", "o")
    # with only the forget gate's bias large and everything else zero, c' = sigmoid(big) * c = c
    H = 2
    b = np.zeros(4 * H)
    b[H : 2 * H] = 50.0
    c = np.array([[0.3, -0.7]])
    _, c_new = lstm_cell(
        np.zeros((1, 1)), np.zeros((1, H)), c, np.zeros((4 * H, 1)), np.zeros((4 * H, H)), b, 0 * b
    )
    np.testing.assert_allclose(c_new, c, atol=1e-12)


def test_lstm_cell_no_overflow_warning_for_large_inputs():
    H = 2
    with np.errstate(all="raise"):
        h, c = lstm_cell(
            np.full((1, 1), 1e4),
            np.zeros((1, H)),
            np.zeros((1, H)),
            np.ones((4 * H, 1)),
            np.zeros((4 * H, H)),
            np.zeros(4 * H),
            np.zeros(4 * H),
        )
    assert np.isfinite(h).all() and np.isfinite(c).all()


def test_lstm_cell_errors_name_the_argument():
    B, D, H = 2, 3, 4
    good = dict(
        x=np.zeros((B, D)),
        h=np.zeros((B, H)),
        c=np.zeros((B, H)),
        W_ih=np.zeros((4 * H, D)),
        W_hh=np.zeros((4 * H, H)),
        b_ih=np.zeros(4 * H),
        b_hh=np.zeros(4 * H),
    )
    for name, bad, pattern in [
        ("W_ih", np.zeros((D, 4 * H)), r"W_ih must have shape \(16, 3\).*Try W_ih.T"),
        ("W_hh", np.zeros((4 * H, D)), r"W_hh must have shape \(16, 4\)"),
        ("c", np.zeros((B, H + 1)), r"c must have shape \(2, 4\)"),
        ("b_ih", np.zeros(H), r"b_ih must have shape \(16,\)"),
        ("x", np.zeros(D), r"x must be a 2-D array"),
    ]:
        with pytest.raises(ValueError, match=pattern):
            lstm_cell(**{**good, name: bad})
    with pytest.raises(TypeError, match="h must be a NumPy array"):
        lstm_cell(**{**good, "h": None})
