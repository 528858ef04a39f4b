"""Encoders: shapes, masking (extra padding changes nothing), true-last-token states, errors."""

import pytest
import torch
from torch import nn

from mmcourse.models import BagOfWordsEncoder, ImageEncoder, TextEncoder, gather_last, length_mask


def _padded_batch(seed=0, extra=0, vocab=20):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([5, 2, 7, 1, 4])
    T = int(lengths.max()) + extra
    tokens = torch.randint(1, vocab, (len(lengths), T), generator=g)
    tokens[length_mask(lengths, T) == 0] = 0
    return tokens, lengths


def test_length_mask_and_gather_last():
    mask = length_mask(torch.tensor([1, 3]), 4)
    assert mask.tolist() == [[True, False, False, False], [True, True, True, False]]
    outputs = torch.arange(2 * 4 * 1.0).reshape(2, 4, 1)
    assert gather_last(outputs, torch.tensor([1, 3])).squeeze(-1).tolist() == [0.0, 6.0]
    with pytest.raises(ValueError, match=r"outputs must have shape \(B, T, H\)"):
        gather_last(outputs[0], torch.tensor([1]))


def test_image_encoder_shapes_and_grid():
    torch.manual_seed(0)
    encoder = ImageEncoder(in_channels=3, channels=(8, 16), out_dim=10)
    features, grid = encoder(torch.randn(4, 3, 32, 32), return_grid=True)
    assert features.shape == (4, 10) and grid.shape == (4, 16, 8, 8)
    assert encoder(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_image_encoder_rejects_channels_last():
    encoder = ImageEncoder(in_channels=3)
    with pytest.raises(ValueError, match=r"images must have shape \(B, 3, H, W\).*permute"):
        encoder(torch.randn(2, 32, 32, 3))


@pytest.mark.parametrize("encoder_class", [TextEncoder, BagOfWordsEncoder])
def test_extra_padding_changes_nothing(encoder_class):
    torch.manual_seed(0)
    encoder = encoder_class(vocab_size=20, embed_dim=6)
    longer, lengths = _padded_batch(extra=5)
    tokens = longer[:, : int(lengths.max())]  # the same captions, 5 fewer padding steps
    a, b = encoder(tokens, lengths), encoder(longer, lengths)
    assert torch.allclose(a, b, atol=1e-5)
    # and the padding token's content is irrelevant: garbage in pad positions changes nothing
    garbage = longer.clone()
    garbage[length_mask(lengths, longer.shape[1]) == 0] = 7
    assert torch.allclose(encoder(garbage, lengths), a, atol=1e-5)


def test_text_encoder_returns_state_at_true_last_token():
    torch.manual_seed(0)
    encoder = TextEncoder(vocab_size=20, embed_dim=6, hidden_dim=5)
    tokens, lengths = _padded_batch(extra=3)
    last, states, mask = encoder(tokens, lengths, return_all=True)
    assert last.shape == (5, 5) and states.shape == (5, tokens.shape[1], 5)
    assert torch.equal(mask, length_mask(lengths, tokens.shape[1]))
    assert torch.allclose(last, gather_last(states, lengths), atol=1e-6)
    assert (states[~mask] == 0).all()
    # each caption alone (no padding at all) gives the same state
    for b in range(len(lengths)):
        alone = encoder(tokens[b : b + 1, : lengths[b]], lengths[b : b + 1])
        assert torch.allclose(alone[0], last[b], atol=1e-5)
    # ... which differs from reading the padded last step
    assert not torch.allclose(states[:, -1], last, atol=1e-3)


def test_text_encoder_matches_plain_lstm_loop():
    torch.manual_seed(1)
    encoder = TextEncoder(vocab_size=10, embed_dim=4, hidden_dim=3)
    tokens, lengths = torch.tensor([[3, 4, 5]]), torch.tensor([3])
    cell = nn.LSTMCell(4, 3)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(encoder.lstm, name + "_l0"))
        h = c = torch.zeros(1, 3)
        for t in range(3):
            h, c = cell(encoder.embedding(tokens[:, t]), (h, c))
        assert torch.allclose(encoder(tokens, lengths), h, atol=1e-5)


def test_bag_of_words_ignores_order():
    torch.manual_seed(0)
    encoder = BagOfWordsEncoder(vocab_size=10, embed_dim=4)
    a = encoder(torch.tensor([[1, 2, 3, 0]]), torch.tensor([3]))
    b = encoder(torch.tensor([[3, 1, 2, 0]]), torch.tensor([3]))
    assert torch.allclose(a, b, atol=1e-6)
    want = encoder.embedding(torch.tensor([1, 2, 3])).mean(0)
    assert torch.allclose(a[0], want, atol=1e-6)


@pytest.mark.parametrize("encoder_class", [TextEncoder, BagOfWordsEncoder])
def test_text_encoders_validate_lengths(encoder_class):
    encoder = encoder_class(vocab_size=10)
    tokens = torch.ones(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"lengths must have shape \(2,\)"):
        encoder(tokens, torch.tensor([4, 4, 4]))
    with pytest.raises(ValueError, match=r"lengths must lie in 1..4"):
        encoder(tokens, torch.tensor([5, 0]))
    with pytest.raises(ValueError, match=r"tokens must be an integer tensor of shape \(B, T\)"):
        encoder(torch.ones(2, 4), torch.tensor([4, 4]))


def test_image_encoder_global_pool_options():
    torch.manual_seed(0)
    images = torch.randn(2, 1, 8, 8)
    for pool in ("max", "mean"):
        assert ImageEncoder(1, (4,), out_dim=3, global_pool=pool)(images).shape == (2, 3)
    with pytest.raises(ValueError, match="global_pool must be 'max' or 'mean'"):
        ImageEncoder(1, global_pool="sum")


def test_image_encoder_batch_norm_and_pools_options():
    from torch import nn

    from mmcourse.models import ImageEncoder

    encoder = ImageEncoder(3, (8, 16, 16), 32, batch_norm=True, pools=2)
    kinds = [type(layer) for layer in encoder.features]
    assert kinds.count(nn.BatchNorm2d) == 3 and kinds.count(nn.MaxPool2d) == 2
    features, grid = encoder(torch.rand(2, 3, 32, 32), return_grid=True)
    assert features.shape == (2, 32) and grid.shape == (2, 16, 8, 8) and encoder.grid_channels == 16
    assert nn.BatchNorm2d not in [type(layer) for layer in ImageEncoder().features]
