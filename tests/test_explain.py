"""mmcourse.explain: saliency, input x gradient, word importance by occlusion, gates, masks and plots."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from mmcourse import explain  # noqa: E402
from mmcourse.models import build_model  # noqa: E402

torch.set_num_threads(1)


class PixelAndWordModel(nn.Module):
    """Logit of class 1 = 3 * pixel (0, 2, 5) + (weight of the first word); class 0 = 0. Known answers."""

    def __init__(self):
        super().__init__()
        self.word_weight = nn.Parameter(torch.tensor([0.0, 0.0, 2.0, -1.0, 0.0, 0.0]), requires_grad=False)
        self.training = True

    def forward(self, images, tokens, lengths):
        score = 3 * images[:, 0, 2, 5] + self.word_weight[tokens[:, 0]]
        return torch.stack([torch.zeros_like(score), score], dim=1)


def _batch(B=4):
    g = torch.Generator().manual_seed(0)
    images = torch.rand(B, 3, 8, 8, generator=g)
    tokens = torch.tensor([[2, 4, 5], [3, 4, 0], [2, 5, 0], [4, 2, 3]])[:B]
    lengths = torch.tensor([3, 2, 2, 3])[:B]
    return images, tokens, lengths


def test_gradient_saliency_finds_the_one_pixel_the_model_reads():
    model = PixelAndWordModel()
    images, tokens, lengths = _batch()
    saliency = explain.gradient_saliency(
        model, images, tokens, lengths, target=torch.ones(4, dtype=torch.long)
    )
    assert saliency.shape == (4, 8, 8)
    expected = torch.zeros(4, 8, 8)
    expected[:, 2, 5] = 3.0
    assert torch.allclose(saliency, expected)
    assert model.training  # the mode is restored


def test_input_x_gradient_weights_the_gradient_by_the_pixel():
    model = PixelAndWordModel()
    images, tokens, lengths = _batch()
    result = explain.input_x_gradient(model, images, tokens, lengths, target=torch.ones(4, dtype=torch.long))
    assert torch.allclose(result[:, 2, 5], 3 * images[:, 0, 2, 5])
    assert result.sum() == pytest.approx(float((3 * images[:, 0, 2, 5]).sum()), rel=1e-6)


def test_word_importance_is_the_drop_of_the_probability():
    model = PixelAndWordModel()
    images, tokens, lengths = _batch()
    importance = explain.word_importance(
        model, images, tokens, lengths, target=torch.ones(4, dtype=torch.long)
    )
    assert importance.shape == tokens.shape
    p = torch.sigmoid
    base = 3 * images[:, 0, 2, 5]
    first = torch.tensor([2.0, -1.0, 2.0, 0.0])
    assert torch.allclose(importance[:, 0], p(base + first) - p(base), atol=1e-6)
    assert torch.allclose(importance[:, 1:], torch.zeros(4, 2), atol=1e-6)  # later words are not read
    assert importance[1, 2] == 0 and importance[2, 2] == 0  # padding is never occluded


def test_word_importance_and_saliency_on_a_real_model_with_the_predicted_class():
    torch.manual_seed(0)
    model = build_model("attention", vocab_size=6, n_classes=2, in_channels=3)
    images, tokens, lengths = _batch()
    assert explain.word_importance(model, images, tokens, lengths).shape == (4, 3)
    assert explain.gradient_saliency(model, images, tokens, lengths).shape == (4, 8, 8)


def test_gate_weights_are_per_sample_and_sum_to_one():
    torch.manual_seed(0)
    model = build_model("gated", vocab_size=6, n_classes=2, in_channels=3)
    nn.init.normal_(model.fusion.gate.weight)
    images, tokens, lengths = _batch()
    gates = explain.gate_weights(model, images, tokens, lengths)
    assert gates.shape == (4, 2) and torch.allclose(gates.sum(dim=1), torch.ones(4))
    assert gates[:, 0].std() > 0  # not one global weight
    with pytest.raises(TypeError, match="GatedFusion"):
        explain.gate_weights(build_model("early", vocab_size=6), images, tokens, lengths)


def test_object_mask_and_mass_inside():
    centres = np.array([[[3, 4], [12, 4]]])  # one scene, two objects
    mask = explain.object_mask(centres, 16, half=2)
    assert mask.shape == (1, 16, 16) and mask.sum() == 2 * 25
    assert mask[0, 4, 3] and mask[0, 2, 1] and not mask[0, 4, 6]
    saliency = np.zeros((1, 16, 16))
    saliency[0, 4, 3], saliency[0, 10, 10] = 3.0, 1.0
    assert explain.mass_inside(saliency, mask) == pytest.approx([0.75])
    with pytest.raises(ValueError, match="same shape"):
        explain.mass_inside(saliency[:, :8], mask)
    with pytest.raises(ValueError, match=r"\(n, k, 2\)"):
        explain.object_mask(centres[0], 16)


def test_plots_draw_and_label():
    images, tokens, lengths = _batch()
    ax = explain.plot_saliency(images[0], torch.rand(8, 8), title="saliency")
    assert ax.get_xlabel() and ax.get_title() == "saliency"
    ax = explain.plot_word_importance(["a", "red", "circle"], [0.0, 0.3, -0.1])
    assert [t.get_text() for t in ax.texts] == ["a", "red", "circle"]
    with pytest.raises(ValueError, match="pair up"):
        explain.plot_word_importance(["a"], [0.1, 0.2])
    plt.close("all")
