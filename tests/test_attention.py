"""Lesson 10's library: attention in NumPy equals PyTorch; the transformer block, patches and the single stream."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmcourse.models import MultiHeadSelfAttention, PatchEmbedding, build_model
from mmcourse.numpy_nn import (
    causal_mask,
    multi_head_attention,
    patchify,
    scaled_dot_product_attention,
    sinusoidal_positions,
)

rng = np.random.default_rng(0)


def _qkv(B=2, Tq=3, Tk=5, d=4, dv=6, scale=1.0):
    return (
        rng.normal(size=(B, Tq, d)) * scale,
        rng.normal(size=(B, Tk, d)) * scale,
        rng.normal(size=(B, Tk, dv)),
    )


@pytest.mark.parametrize("mask_kind", [None, "padding", "causal", "random"])
def test_attention_equals_pytorch_with_and_without_masks(mask_kind):
    Q, K, V = _qkv(Tq=5, Tk=5)
    mask = {
        None: None,
        "padding": np.array([True, True, True, False, False])[None, None, :],
        "causal": causal_mask(5),
        "random": (rng.random((2, 5, 5)) < 0.6) | np.eye(5, dtype=bool),
    }[mask_kind]
    out, weights = scaled_dot_product_attention(Q, K, V, mask)
    torch_mask = None if mask is None else torch.tensor(mask)
    want = F.scaled_dot_product_attention(*(torch.tensor(x) for x in (Q, K, V)), attn_mask=torch_mask)
    np.testing.assert_allclose(out, want.numpy(), atol=1e-12)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0)
    if mask is not None:
        assert (weights[~np.broadcast_to(mask, weights.shape)] == 0).all()


def test_attention_is_stable_for_scores_in_the_thousands_and_shapes_follow_q_and_v():
    Q, K, V = _qkv(scale=60.0)  # scores ~ 60 * 60 * 4 / 2: thousands
    out, weights = scaled_dot_product_attention(Q, K, V)
    want = F.scaled_dot_product_attention(*(torch.tensor(x) for x in (Q, K, V)))
    assert out.shape == (2, 3, 6) and weights.shape == (2, 3, 5) and np.isfinite(out).all()
    np.testing.assert_allclose(out, want.numpy(), atol=1e-9)


def test_attention_errors_name_the_argument():
    Q, K, V = _qkv()
    with pytest.raises(ValueError, match=r"Q must be a 3-D array — \(B, T, d\), batch first"):
        scaled_dot_product_attention(Q[0], K, V)
    with pytest.raises(ValueError, match="K must have shape"):
        scaled_dot_product_attention(Q, K[..., :3], V)
    with pytest.raises(ValueError, match="V must have shape .* one value per key"):
        scaled_dot_product_attention(Q, K, V[:, :4])
    with pytest.raises(TypeError, match="mask must be boolean"):
        scaled_dot_product_attention(Q, K, V, mask=np.ones((3, 5)))
    with pytest.raises(ValueError, match="does not broadcast"):
        scaled_dot_product_attention(Q, K, V, mask=np.ones((4, 4), dtype=bool))


def test_causal_mask_is_the_lower_triangle():
    mask = causal_mask(4)
    assert mask.dtype == bool and mask.shape == (4, 4)
    assert mask[2, :3].all() and not mask[2, 3:].any() and mask.sum() == 10
    with pytest.raises(ValueError, match="T must be a whole number >= 1"):
        causal_mask(0)


def test_patchify_equals_unfold_on_non_square_images_and_rejects_a_bad_patch():
    X = rng.normal(size=(2, 3, 8, 12))
    for p in (2, 4):
        want = F.unfold(torch.tensor(X), p, stride=p).transpose(1, 2).numpy()
        np.testing.assert_array_equal(patchify(X, p), want)
    assert patchify(X, 4).shape == (2, 6, 48)
    with pytest.raises(ValueError, match="patch must divide the image's height and width, but X is 8 x 12"):
        patchify(X, 5)


def test_sinusoidal_positions_follow_the_formula_and_need_an_even_width():
    pe = sinusoidal_positions(50, 8)
    t, i = 7, 2
    assert pe[t, 2 * i] == pytest.approx(np.sin(t / 10000 ** (2 * i / 8)))
    assert pe[t, 2 * i + 1] == pytest.approx(np.cos(t / 10000 ** (2 * i / 8)))
    assert len({row.tobytes() for row in pe}) == 50  # every position its own pattern
    with pytest.raises(ValueError, match="d must be even"):
        sinusoidal_positions(4, 7)


def test_multi_head_attention_equals_nn_multihead_attention():
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(8, 4, batch_first=True).double()
    q, kv = torch.randn(2, 3, 8, dtype=torch.float64), torch.randn(2, 5, 8, dtype=torch.float64)
    keep = rng.random((2, 3, 5)) < 0.7
    keep[..., 0] = True
    with torch.no_grad():
        want, want_weights = mha(q, kv, kv, attn_mask=torch.tensor(~keep).repeat_interleave(4, 0),
                                 average_attn_weights=False)  # fmt: skip
    weights = [
        p.detach().numpy()
        for p in (mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias)
    ]
    out, got_weights = multi_head_attention(q.numpy(), kv.numpy(), kv.numpy(), *weights, heads=4, mask=keep)
    np.testing.assert_allclose(out, want.numpy(), atol=1e-12)
    np.testing.assert_allclose(got_weights, want_weights.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="heads must divide the width E = 8"):
        multi_head_attention(q.numpy(), kv.numpy(), kv.numpy(), *weights, heads=3)


def test_torch_self_attention_equals_nn_multihead_attention_and_keeps_its_weights():
    torch.manual_seed(1)
    ours, reference = MultiHeadSelfAttention(8, 2), nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        ours.qkv.weight.copy_(reference.in_proj_weight)
        ours.qkv.bias.copy_(reference.in_proj_bias)
        ours.out.weight.copy_(reference.out_proj.weight)
        ours.out.bias.copy_(reference.out_proj.bias)
        x = torch.randn(3, 6, 8)
        keep = torch.tensor(causal_mask(6))
        want, _ = reference(x, x, x, attn_mask=~keep)
        torch.testing.assert_close(ours(x, keep), want, atol=1e-6, rtol=1e-5)
    assert ours.last_attention.shape == (3, 2, 6, 6) and (ours.last_attention[..., 0, 1:] == 0).all()


def test_patch_embedding_is_a_linear_map_of_each_patch():
    torch.manual_seed(0)
    embed = PatchEmbedding(in_channels=3, dim=5, patch=4)
    images = torch.rand(2, 3, 8, 8)
    features, grid = embed(images, return_grid=True)
    conv = embed.project
    flat = torch.tensor(patchify(images.numpy(), 4), dtype=torch.float32)  # (2, 4, 48)
    want = flat @ conv.weight.reshape(5, -1).T + conv.bias  # (2, 4, 5)
    torch.testing.assert_close(grid.flatten(2).transpose(1, 2), want, atol=1e-5, rtol=1e-5)
    assert features.shape == (2, 5)
    with pytest.raises(ValueError, match="multiples of 4"):
        embed(torch.rand(2, 3, 6, 8))


def _transformer(**settings):
    torch.manual_seed(0)
    return build_model("transformer", vocab_size=20, n_classes=2, dim=16, depth=1, heads=2, **settings).eval()


def _pair(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.rand(3, 3, 16, 16, generator=g),
        torch.randint(2, 20, (3, 7), generator=g),
        torch.tensor([7, 7, 7]),
    )


def test_without_positions_the_single_stream_reads_a_bag_of_words():
    images, tokens, lengths = _pair()
    shuffled = tokens[:, torch.tensor([3, 0, 6, 1, 5, 2, 4])]
    with torch.no_grad():
        bag = _transformer(positions=False)
        torch.testing.assert_close(bag(images, tokens, lengths), bag(images, shuffled, lengths))
        ordered = _transformer(positions=True)
        assert not torch.allclose(ordered(images, tokens, lengths), ordered(images, shuffled, lengths))


def test_single_stream_attention_covers_patches_and_words_and_rejects_too_many():
    model = _transformer()
    images, tokens, lengths = _pair()
    lengths = torch.tensor([7, 3, 5])
    with torch.no_grad():
        model(images, tokens, lengths)
    maps = model.fusion.attention_maps()
    assert len(maps) == 1 and maps[0].shape == (3, 2, 1 + 16 + 7, 1 + 16 + 7)
    assert (maps[0][1, :, :, 1 + 16 + 3 :] == 0).all()  # nobody attends to caption 1's padding
    with pytest.raises(ValueError, match="at most 12 words"):
        model(images, torch.randint(2, 20, (3, 13)), torch.tensor([13, 13, 13]))


def test_mmcourse_train_trains_the_transformer(tmp_path):
    from mmcourse.cli import main

    code = main(["train", "--task", "shapes", "--model", "transformer", "--epochs", "1", "--n-train", "64",
                 "--device", "cpu", "--out", str(tmp_path), "--no-progress"])  # fmt: skip
    assert code == 0 and (tmp_path / "model.pt").is_file()
    from mmcourse.checkpoint import load_checkpoint

    model, _, checkpoint = load_checkpoint(tmp_path / "model.pt")
    assert checkpoint["config"]["name"] == "transformer" and model.fusion.n_patches == 16


def test_the_matcher_stem_is_lesson_08s_trained_cnn_and_stays_frozen():
    from mmcourse.assets import load_asset
    from mmcourse.models import FrozenEncoder

    matcher = load_asset("shapes-matcher")[0]
    torch.manual_seed(0)
    model = build_model("transformer", vocab_size=20, n_classes=2, stem="matcher", depth=1)
    assert isinstance(model.image_encoder, FrozenEncoder) and model.fusion.n_patches == 16
    for mine, theirs in zip(
        model.image_encoder.encoder.state_dict().values(), matcher.image_encoder.state_dict().values()
    ):
        torch.testing.assert_close(mine, theirs)
    before = {k: v.clone() for k, v in model.image_encoder.state_dict().items()}
    model.train()
    assert not model.image_encoder.encoder.training  # batch norm keeps the statistics it was trained with
    images, tokens, lengths = _pair()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    torch.nn.functional.cross_entropy(model(images, tokens, lengths), torch.tensor([0, 1, 1])).backward()
    optimizer.step()
    assert all(p.grad is None for p in model.image_encoder.parameters())
    for key, value in model.image_encoder.state_dict().items():
        torch.testing.assert_close(value, before[key])  # neither the weights nor the running statistics moved
    assert any(p.grad is not None for p in model.fusion.parameters())  # ... while the fusion learns


@pytest.mark.parametrize(
    "settings, message",
    [({"stem": "vit"}, "stem must be one of"), ({"stem": "matcher", "dim": 32}, "needs"),
     ({"stem": "matcher", "image_size": 32}, "16 x 16")],
)  # fmt: skip
def test_a_bad_stem_or_a_stem_that_cannot_fit_is_a_clear_error(settings, message):
    with pytest.raises(ValueError, match=message):
        build_model("transformer", vocab_size=20, **settings)


def test_the_shapes_preset_reads_the_matchers_cnn():
    from mmcourse.tasks import config_for

    config = config_for("shapes", "transformer")
    assert config.model_settings["stem"] == "matcher" and config.target is not None
    assert config_for("digits-captions", "transformer").model_settings.get("stem", "patches") == "patches"


def test_the_stems_file_is_the_shipped_matcher():
    from mmcourse.assets import asset_path
    from mmcourse.models.transformer import MATCHER_FILE

    assert MATCHER_FILE == asset_path("shapes-matcher") and MATCHER_FILE.is_file()
