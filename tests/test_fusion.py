"""Fusion modules and the model zoo: shapes, gradients to both encoders, masking, gates, errors."""

import pytest
import torch

from mmcourse.models import (
    MODELS,
    CrossAttentionFusion,
    EarlyFusion,
    FiLMFusion,
    GatedFusion,
    LateFusion,
    ProductFusion,
    build_model,
    coordinate_grid,
    model_names,
)

B, VOCAB = 5, 12
CONFIG = {"n_classes": 3, "vocab_size": VOCAB, "in_channels": 3, "image_channels": [4, 8], "image_dim": 6,
          "embed_dim": 5, "text_dim": 7, "hidden_dim": 9}  # fmt: skip


def _batch(seed=0, T=6):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(B, 3, 16, 16, generator=g)
    lengths = torch.tensor([6, 3, 1, 4, 2])[:B]
    tokens = torch.randint(2, VOCAB, (B, T), generator=g)
    tokens[torch.arange(T)[None, :] >= lengths[:, None]] = 0
    return images, tokens, lengths


TRANSFORMER_CONFIG = {"n_classes": 3, "vocab_size": VOCAB, "in_channels": 3, "dim": 8, "depth": 1, "heads": 2}
# the dual encoder has no MLP (its two encoders meet in a scaled cosine), so no hidden_dim
CLIP_CONFIG = {**{k: v for k, v in CONFIG.items() if k != "hidden_dim"}, "joint_dim": 4}
OWN_CONFIG = {"transformer": TRANSFORMER_CONFIG, "clip": CLIP_CONFIG}


def _model(name, **extra):
    torch.manual_seed(0)
    return build_model(name, **{**OWN_CONFIG.get(name, CONFIG), **extra})


@pytest.mark.parametrize("name", model_names())
def test_every_model_gives_one_row_of_logits_per_pair(name):
    model = _model(name)
    logits = model(*_batch())
    assert logits.shape == (B, CONFIG["n_classes"]) and torch.isfinite(logits).all()
    assert model.config["name"] == name


@pytest.mark.parametrize(
    "name", [n for n in model_names() if n not in ("image-only", "text-only", "text-only-bow")]
)
def test_gradients_reach_both_encoders(name):
    model = _model(name)
    model(*_batch()).logsumexp(dim=1).sum().backward()
    for encoder in (model.image_encoder, model.text_encoder):
        grads = [p.grad for p in encoder.parameters() if p.requires_grad]
        assert all(g is not None for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0, f"{name}: no gradient reaches {type(encoder).__name__}"


@pytest.mark.parametrize("name, used, ignored", [("image-only", "image_encoder", "text_encoder"),
                                                   ("text-only", "text_encoder", "image_encoder")])  # fmt: skip
def test_unimodal_baselines_ignore_the_other_modality(name, used, ignored):
    model = _model(name)
    model(*_batch()).sum().backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in getattr(model, ignored).parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in getattr(model, used).parameters())


@pytest.mark.parametrize("name", model_names())
def test_extra_padding_changes_nothing(name):
    model = _model(name).eval()
    images, tokens, lengths = _batch()
    padded = torch.cat([tokens, torch.zeros(B, 4, dtype=tokens.dtype)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(model(images, tokens, lengths), model(images, padded, lengths))


@pytest.mark.parametrize("name", model_names())
def test_each_output_row_depends_only_on_its_own_pair(name):
    model = _model(name).eval()
    images, tokens, lengths = _batch()
    with torch.no_grad():
        full = model(images, tokens, lengths)
        alone = torch.cat([model(images[i : i + 1], tokens[i : i + 1], lengths[i : i + 1]) for i in range(B)])
    torch.testing.assert_close(full, alone, atol=1e-5, rtol=1e-4)


def test_late_fusion_is_additive_so_it_cannot_express_an_interaction():
    # s(image, text) = f(image) + g(text) for every combine rule that averages logits, hence
    # s(a, x) + s(b, y) == s(a, y) + s(b, x): the score of a pair never depends on the PAIRING.
    fusion = LateFusion(4, 3, n_classes=5, hidden_dim=8, combine="learned")
    with torch.no_grad():
        fusion.weight_logits.copy_(torch.tensor([0.3, -0.2]))
    a, b = torch.randn(2, 1, 4)
    x, y = torch.randn(2, 1, 3)
    torch.testing.assert_close(fusion(a, x) + fusion(b, y), fusion(a, y) + fusion(b, x))
    early = EarlyFusion(4, 3, hidden_dim=8)
    assert not torch.allclose(early(a, x) + early(b, y), early(a, y) + early(b, x))


def test_late_fusion_combine_rules():
    torch.manual_seed(0)
    image, text = torch.randn(B, 4), torch.randn(B, 3)
    results = {}
    for combine in LateFusion.COMBINE:
        torch.manual_seed(1)
        fusion = LateFusion(4, 3, n_classes=6, combine=combine)
        s_image, s_text = fusion.unimodal_logits(image, text)
        results[combine] = fusion(image, text)
        if combine == "logits":
            torch.testing.assert_close(results[combine], (s_image + s_text) / 2)
        if combine == "probs":
            torch.testing.assert_close(results[combine].exp().sum(dim=1), torch.ones(B))
            torch.testing.assert_close(results[combine].exp(), (s_image.softmax(1) + s_text.softmax(1)) / 2)
        if combine == "learned":
            torch.testing.assert_close(results[combine], (s_image + s_text) / 2)  # weights start equal
            assert fusion.modality_weights().sum() == pytest.approx(1)
    with pytest.raises(ValueError, match="combine must be one of"):
        LateFusion(4, 3, n_classes=2, combine="max")


def test_gates_are_per_sample_sum_to_one_and_are_kept():
    torch.manual_seed(0)
    fusion = GatedFusion(4, 3, hidden_dim=8)
    torch.nn.init.normal_(fusion.gate.weight)
    image, text = torch.randn(B, 4), torch.randn(B, 3)
    out = fusion(image, text)
    assert out.shape == (B, 8)
    gates = fusion.last_gates
    assert gates.shape == (B, 2) and not gates.requires_grad
    torch.testing.assert_close(gates.sum(dim=1), torch.ones(B))
    assert gates[:, 0].std() > 0.01, "gates must differ from sample to sample"
    torch.testing.assert_close(gates, fusion.gates(image, text).detach())


def test_gated_fusion_starts_as_early_fusion_with_even_gates():
    fusion = GatedFusion(4, 3, hidden_dim=8)
    gates = fusion.gates(torch.randn(B, 4), torch.randn(B, 3))
    torch.testing.assert_close(gates, torch.full((B, 2), 0.5))


def test_attention_maps_are_distributions_over_positions():
    torch.manual_seed(0)
    fusion = CrossAttentionFusion(6, 7, grid_channels=8, hidden_dim=9, heads=3)
    out = fusion(torch.randn(B, 6), torch.randn(B, 7), grid=torch.randn(B, 8, 4, 5))
    assert out.shape == (B, 9)
    assert fusion.last_attention.shape == (B, 3, 4, 5)
    torch.testing.assert_close(fusion.last_attention.sum(dim=(2, 3)), torch.ones(B, 3))


def test_coordinate_grid():
    grid = coordinate_grid(3, 4)
    assert grid.shape == (2, 3, 4)
    torch.testing.assert_close(grid[0, 0], torch.tensor([-1.0, -1 / 3, 1 / 3, 1.0]))  # x along a row
    torch.testing.assert_close(grid[1, :, 0], torch.tensor([-1.0, 0.0, 1.0]))  # y down a column
    assert coordinate_grid(1, 1).abs().sum() == 0


@pytest.mark.parametrize(
    "module", [EarlyFusion(4, 3), ProductFusion(4, 3), GatedFusion(4, 3), LateFusion(4, 3, n_classes=2)]
)
def test_fusion_modules_name_the_bad_argument(module):
    with pytest.raises(ValueError, match=r"image must be a tensor of shape \(B, 4\)"):
        module(torch.randn(B, 3), torch.randn(B, 3))
    with pytest.raises(ValueError, match=r"text must be a tensor of shape \(B, 3\)"):
        module(torch.randn(B, 4), torch.randn(3, B))
    with pytest.raises(ValueError, match="same number of pairs"):
        module(torch.randn(B, 4), torch.randn(B + 1, 3))


@pytest.mark.parametrize("module_class", [FiLMFusion, CrossAttentionFusion])
def test_grid_fusions_need_the_grid(module_class):
    module = module_class(4, 3, grid_channels=8)
    with pytest.raises(ValueError, match=r"grid must have shape \(B, 8, h, w\)"):
        module(torch.randn(B, 4), torch.randn(B, 3))
    with pytest.raises(ValueError, match=r"grid must have shape \(B, 8, h, w\)"):
        module(torch.randn(B, 4), torch.randn(B, 3), grid=torch.randn(B, 6, 2, 2))


def test_unknown_model_name_lists_the_valid_ones():
    with pytest.raises(ValueError) as error:
        build_model("erly")
    message = str(error.value)
    assert "Did you mean 'early'" in message
    for name in (
        "image-only",
        "text-only",
        "early",
        "late",
        "product",
        "film",
        "attention",
        "gated",
        "early-bow",
    ):
        assert name in message
    with pytest.raises(ValueError, match="unknown setting"):
        build_model("early", hiden_dim=3)


def test_registry_has_the_required_names_and_a_bag_of_words_variant_of_each_text_model():
    required = {"image-only", "text-only", "early", "late", "product", "gated", "film", "attention"}
    assert required <= set(MODELS)
    for name in required - {"image-only"}:
        assert f"{name}-bow" in MODELS
        assert type(_model(f"{name}-bow").text_encoder).__name__ == "BagOfWordsEncoder"
        assert type(_model(name).text_encoder).__name__ == "TextEncoder"


def test_config_rebuilds_the_same_model():
    model = _model("attention", heads=3)
    config = dict(model.config)
    again = build_model(config.pop("name"), **config)
    again.load_state_dict(model.state_dict())
    batch = _batch()
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(*batch), model.eval()(*batch))
    assert all(isinstance(v, (int, float, str, list)) for v in model.config.values())


def test_every_model_is_a_fusion_classifier_whose_fusion_says_what_it_reads():
    from torch import nn

    from mmcourse.models import (
        EvidenceAttentionFusion,
        Fusion,
        FusionClassifier,
        GridFusion,
        WordEvidenceFusion,
    )

    for name in model_names():
        model = _model(name)
        assert type(model) is FusionClassifier and isinstance(model.fusion, Fusion), name
        late = name.startswith("late")
        assert isinstance(model.classifier, nn.Identity if late else nn.Linear), name
        pair = model.encode(*_batch())
        assert pair.grid.dim() == 4 and pair.words.shape[:2] == pair.mask.shape == (B, 6)
        with torch.no_grad():
            torch.testing.assert_close(model.classifier(model.fusion.fuse(pair)), model(*_batch()))
    assert issubclass(EvidenceAttentionFusion, CrossAttentionFusion) and issubclass(
        CrossAttentionFusion, GridFusion
    )
    assert issubclass(WordEvidenceFusion, EvidenceAttentionFusion)


def test_a_classifier_needs_a_fusion_and_late_fusion_its_class_count():
    from mmcourse.models import FusionClassifier, ImageEncoder, TextEncoder

    with pytest.raises(TypeError, match="fusion must be a mmcourse.models.Fusion"):
        FusionClassifier(ImageEncoder(), TextEncoder(VOCAB), torch.nn.Linear(3, 3), n_classes=2)
    with pytest.raises(ValueError, match="returns 3 class scores, but n_classes is 2"):
        FusionClassifier(ImageEncoder(), TextEncoder(VOCAB), LateFusion(64, 64, n_classes=3), n_classes=2)


def test_evidence_attention_reuses_cross_attention_and_adds_the_best_score():
    from mmcourse.models import EvidenceAttentionFusion

    torch.manual_seed(0)
    module = EvidenceAttentionFusion(4, 3, grid_channels=8, heads=2, key_dim=5)
    image, text, grid = torch.randn(B, 4), torch.randn(B, 3), torch.randn(B, 8, 3, 3)
    features = module.sentence_features(image, text, grid)
    attended, scores = module.attend(text, grid)
    assert features.shape == (B, 3 + 2 * (8 + 2) + 2) == (B, module.fused_dim())
    torch.testing.assert_close(features[:, -2:], scores.amax(dim=2))
    assert torch.allclose(module.last_attention.sum(dim=(2, 3)), torch.ones(B, 2))
