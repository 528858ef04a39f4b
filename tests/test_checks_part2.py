"""The lesson 04-05 checkers: reference answers pass; each plausible mistake gets its own hint."""

import numpy as np
import pytest
import torch

from mmcourse.checks import ExerciseFailed, check
from mmcourse.numpy_nn import conv2d, conv2d_naive, lstm_cell, maxpool2d

# --- wrong answers to the convolution exercises ---------------------------------------


def conv_flipped(X, W, b, stride=1, padding=0):
    return conv2d(X, W[:, :, ::-1, ::-1], b, stride=stride, padding=padding)


def conv_no_bias(X, W, b, stride=1, padding=0):
    return conv2d(X, W, np.zeros_like(b), stride=stride, padding=padding)


def conv_ignores_padding(X, W, b, stride=1, padding=0):
    return conv2d(X, W, b, stride=stride, padding=0)


def conv_ignores_stride(X, W, b, stride=1, padding=0):
    return conv2d(X, W, b, stride=1, padding=padding)


def conv_first_channel_only(X, W, b, stride=1, padding=0):
    return conv2d(X[:, :1], W[:, :1], b, stride=stride, padding=padding)


def conv_pads_one_side(X, W, b, stride=1, padding=0):
    Xp = np.pad(X, ((0, 0), (0, 0), (0, 2 * padding), (0, 2 * padding)))
    return conv2d(Xp, W, b, stride=stride, padding=0)


def conv_returns_nothing(X, W, b, stride=1, padding=0):
    conv2d(X, W, b, stride=stride, padding=padding)


def conv_raises(X, W, b, stride=1, padding=0):
    return X @ W


def conv_stub(X, W, b, stride=1, padding=0):
    raise NotImplementedError()


@pytest.mark.parametrize("exercise_id, reference", [("conv2d_naive", conv2d_naive), ("conv2d", conv2d)])
def test_conv_references_pass(exercise_id, reference, capsys):
    assert check(exercise_id, reference) is None
    assert f"✓ {exercise_id}" in capsys.readouterr().out


@pytest.mark.parametrize("exercise_id", ["conv2d_naive", "conv2d"])
@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (conv_flipped, "flipped-kernel"),
        (conv_no_bias, "bias is missing"),
        (conv_ignores_padding, "padding is ignored"),
        (conv_ignores_stride, "stride is ignored"),
        (conv_first_channel_only, "only the first input channel"),
        (conv_pads_one_side, "values are wrong"),
        (conv_returns_nothing, "forget `return`"),
        (conv_raises, "your code raised ValueError"),
        (conv_stub, "not written yet"),
    ],
)
def test_conv_mistakes_get_their_hint(exercise_id, wrong, fragment):
    with pytest.raises(ExerciseFailed, match=fragment) as info:
        check(exercise_id, wrong)
    assert str(info.value).startswith(f"✗ {exercise_id}:")


def test_conv2d_rejects_slow_loops():
    with pytest.raises(ExerciseFailed, match="about as slow as loops"):
        check("conv2d", conv2d_naive)


def test_conv_rejects_a_non_function():
    with pytest.raises(ExerciseFailed, match="Pass the function itself"):
        check("conv2d", conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), np.zeros(1)))


# --- max pooling ------------------------------------------------------------------------


def pool_average(X, size=2, stride=2):
    return torch.nn.functional.avg_pool2d(torch.tensor(X), size, stride).numpy()


def pool_ignores_stride(X, size=2, stride=2):
    return maxpool2d(X, size, size)


def pool_from_zeros(X, size=2, stride=2):
    return np.maximum(maxpool2d(X, size, stride), 0)


def pool_across_channels(X, size=2, stride=2):
    out = maxpool2d(X, size, stride)
    return np.broadcast_to(out.max(axis=1, keepdims=True), out.shape)


def test_maxpool_reference_passes():
    assert check("maxpool2d", maxpool2d) is None


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (pool_average, "the \\*average\\*"),
        (pool_ignores_stride, "as if stride were"),
        (pool_from_zeros, "negative maxima came out as 0"),
        (pool_across_channels, "pool each channel on its own"),
    ],
)
def test_maxpool_mistakes_get_their_hint(wrong, fragment):
    with pytest.raises(ExerciseFailed, match=fragment):
        check("maxpool2d", wrong)


# --- the LSTM cell ----------------------------------------------------------------------


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _make_cell(order="ifgo", cell_tanh=True, use_b_hh=True, swap_outputs=False):
    def cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
        z = x @ W_ih.T + b_ih + h @ W_hh.T + (b_hh if use_b_hh else 0)
        blocks = dict(zip(order, np.split(z, 4, axis=1)))
        i, f, g, o = _sig(blocks["i"]), _sig(blocks["f"]), np.tanh(blocks["g"]), _sig(blocks["o"])
        c_new = f * c + i * g
        h_new = o * (np.tanh(c_new) if cell_tanh else c_new)
        return (c_new, h_new) if swap_outputs else (h_new, c_new)

    return cell


def lstm_sigmoid_candidate(x, h, c, W_ih, W_hh, b_ih, b_hh):
    z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = np.split(_sig(z), 4, axis=1)
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new


def lstm_returns_h_only(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh)[0]


def lstm_untransposed(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return lstm_cell(x, h, c, W_ih.T, W_hh.T, b_ih, b_hh)


def test_lstm_reference_passes():
    assert check("lstm_cell", lstm_cell) is None
    assert check("lstm_cell", _make_cell()) is None  # an independent correct implementation


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_make_cell(order="ifog"), r"order \(i, f, o, g\)"),
        (_make_cell(order="figo"), r"order \(f, i, g, o\)"),
        (_make_cell(order="igfo"), "PyTorch stacks"),
        (_make_cell(cell_tanh=False), "tanh on the cell state is missing"),
        (_make_cell(use_b_hh=False), "b_hh is missing"),
        (_make_cell(swap_outputs=True), "h and c come back swapped"),
        (lstm_sigmoid_candidate, "c_new is wrong"),
        (lstm_returns_h_only, "return a pair"),
        (lstm_untransposed, "your code raised ValueError"),
    ],
)
def test_lstm_mistakes_get_their_hint(wrong, fragment):
    with pytest.raises(ExerciseFailed, match=fragment):
        check("lstm_cell", wrong)


# --- last_hidden --------------------------------------------------------------------------


def last_hidden(outputs, lengths):
    return outputs[torch.arange(outputs.shape[0]), lengths - 1]


def last_hidden_loop(outputs, lengths):
    return torch.stack([outputs[b, int(n) - 1] for b, n in enumerate(lengths)])


@pytest.mark.parametrize("answer", [last_hidden, last_hidden_loop])
def test_last_hidden_references_pass(answer):
    assert check("last_hidden", answer) is None


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda outputs, lengths: outputs[:, -1], "last \\*padded\\* step"),
        (lambda outputs, lengths: outputs[:, lengths - 1], "picks every length"),
        (
            lambda outputs, lengths: outputs[
                torch.arange(len(lengths)), lengths.clamp(max=outputs.shape[1] - 1)
            ],
            "one past the end",
        ),
        (lambda outputs, lengths: outputs[:, 0], "the first step"),
        (lambda outputs, lengths: outputs.mean(dim=1), "values are wrong"),
        (lambda outputs, lengths: outputs[torch.arange(len(lengths)), lengths], "IndexError"),
    ],
)
def test_last_hidden_mistakes_get_their_hint(wrong, fragment):
    with pytest.raises(ExerciseFailed, match=fragment):
        check("last_hidden", wrong)
