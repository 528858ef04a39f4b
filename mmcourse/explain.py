"""Interpretability (lesson 09): which pixels and which words did the model use?

- `gradient_saliency`: |d score / d pixel|, the largest over the colour channels -- how
  much a tiny change of each pixel would move the score of the class (B, H, W);
- `input_x_gradient`: |x * d score / d x| summed over channels -- the gradient weighted
  by the pixel itself, so dark background pixels count for little (B, H, W);
- `word_importance`: occlusion -- replace one word at a time by `<unk>` and measure how
  far the probability of the class falls (B, T);
- `gate_weights`: the gated model's per-sample weights on (image, text) (B, 2);
- `object_mask`, `mass_inside`: how much of a saliency map lies on the objects
  (shapes data: the boxes around the two objects, from the metadata);
- `plot_saliency`, `plot_word_importance`: the map over the scene, the words coloured.

The "score" is the logit of a target class: the true label if given, else the
model's own prediction.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from .text import UNK_ID

__all__ = [
    "gradient_saliency",
    "input_x_gradient",
    "word_importance",
    "gate_weights",
    "object_mask",
    "mass_inside",
    "plot_saliency",
    "plot_word_importance",
]


def _no_cudnn(device):
    """cuDNN's LSTM cannot run backward in eval mode; the plain kernels can."""
    if device.type == "cuda":
        return torch.backends.cudnn.flags(enabled=False)
    return contextlib.nullcontext()


def _pixel_gradients(model, images, tokens, lengths, target=None):
    """(images with requires_grad, their gradient (B, C, H, W)) of the target-class logit."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        got = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise ValueError(f"images must be a tensor of shape (B, C, H, W), but got {got}.")
    was_training = model.training
    model.eval()
    x = images.detach().clone().requires_grad_(True)
    with _no_cudnn(x.device), torch.enable_grad():
        logits = model(x, tokens, lengths)  # (B, K)
        chosen = logits.argmax(dim=1) if target is None else torch.as_tensor(target, device=logits.device)
        score = logits.gather(1, chosen.view(-1, 1)).sum()  # samples are independent: one backward for all
        (gradient,) = torch.autograd.grad(score, x)
    model.train(was_training)
    return x.detach(), gradient


def gradient_saliency(model, images, tokens, lengths, target=None) -> torch.Tensor:
    """max over channels of |d logit_target / d pixel|: (B, C, H, W) images -> (B, H, W) saliency."""
    _, gradient = _pixel_gradients(model, images, tokens, lengths, target)
    return gradient.abs().amax(dim=1)


def input_x_gradient(model, images, tokens, lengths, target=None) -> torch.Tensor:
    """|sum over channels of x * d logit_target / d x|: (B, C, H, W) images -> (B, H, W)."""
    x, gradient = _pixel_gradients(model, images, tokens, lengths, target)
    return (x * gradient).sum(dim=1).abs()


@torch.no_grad()
def word_importance(model, images, tokens, lengths, target=None, unk_id: int = UNK_ID) -> torch.Tensor:
    """Occlusion: p(target | caption) - p(target | caption with word t replaced by <unk>), per word.

    images (B, C, H, W), tokens (B, T), lengths (B,) -> (B, T); 0 at padding. A large
    positive value: the model needed that word; near 0: it did not care. One word is
    occluded at a time (the others are left as they were), so T + 1 forward passes.
    """
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2:
        got = tuple(tokens.shape) if hasattr(tokens, "shape") else type(tokens).__name__
        raise ValueError(f"tokens must be a tensor of shape (B, T), but got {got}.")
    was_training = model.training
    model.eval()
    probs = model(images, tokens, lengths).softmax(dim=1)  # (B, K)
    chosen = probs.argmax(dim=1) if target is None else torch.as_tensor(target, device=probs.device)
    base = probs.gather(1, chosen.view(-1, 1))[:, 0]  # (B,)
    importance = torch.zeros(tokens.shape, dtype=probs.dtype, device=probs.device)
    real = torch.arange(tokens.shape[1], device=tokens.device)[None, :] < lengths.to(tokens.device)[:, None]
    for t in range(tokens.shape[1]):
        occluded = tokens.clone()
        occluded[:, t] = torch.where(real[:, t], unk_id, tokens[:, t])
        p = model(images, occluded, lengths).softmax(dim=1).gather(1, chosen.view(-1, 1))[:, 0]
        importance[:, t] = torch.where(real[:, t], base - p, torch.zeros_like(p))
    model.train(was_training)
    return importance


@torch.no_grad()
def gate_weights(model, images, tokens, lengths) -> torch.Tensor:
    """(B, 2): a gated model's weights on (image, text) for each pair; each row sums to 1."""
    if not hasattr(getattr(model, "fusion", None), "gates"):
        raise TypeError(
            f"gate_weights needs a model with a GatedFusion (build_model('gated', ...)), but this one fuses with "
            f"{type(getattr(model, 'fusion', model)).__name__}."
        )
    was_training = model.training
    model.eval()
    pair = model.encode(images, tokens, lengths)
    gates = model.fusion.gates(pair.image, pair.text)
    model.train(was_training)
    return gates


def object_mask(centres, image_size: int, half: int | None = None) -> np.ndarray:
    """(n, H, W) bool: True inside the square box (centre +- half) around each object.

    centres: (n, k, 2) pixel centres (x, y) of k objects (make_shapes' meta["centre"]);
    half: the boxes' half width (default: the half size make_shapes draws with).
    """
    from .data.shapes import object_half_size

    centres = np.asarray(centres)
    if centres.ndim != 3 or centres.shape[2] != 2:
        raise ValueError(
            f"centres must have shape (n, k, 2) -- (x, y) per object -- but has shape {centres.shape}."
        )
    half = object_half_size(image_size) if half is None else half
    rows = np.arange(image_size)[None, None, :, None]
    cols = np.arange(image_size)[None, None, None, :]
    x, y = centres[..., 0][..., None, None], centres[..., 1][..., None, None]
    inside = (np.abs(rows - y) <= half) & (np.abs(cols - x) <= half)  # (n, k, H, W)
    return inside.any(axis=1)


def mass_inside(saliency, mask) -> np.ndarray:
    """(n,): the fraction of each map's total saliency that lies where mask is True. saliency, mask (n, H, W)."""
    saliency = saliency.detach().cpu().numpy() if hasattr(saliency, "detach") else np.asarray(saliency)
    mask = np.asarray(mask, dtype=bool)
    if saliency.shape != mask.shape:
        raise ValueError(
            f"saliency and mask must have the same shape, but have {saliency.shape} and {mask.shape}."
        )
    total = saliency.reshape(len(saliency), -1).sum(axis=1)
    inside = (saliency * mask).reshape(len(saliency), -1).sum(axis=1)
    return inside / np.maximum(total, 1e-12)


def plot_saliency(image, saliency, ax=None, title: str = "", alpha: float = 0.6):
    """The scene (C, H, W) in grey with the saliency map (H, W) laid over it in colour."""
    import matplotlib.pyplot as plt

    image = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    saliency = saliency.detach().cpu().numpy() if hasattr(saliency, "detach") else np.asarray(saliency)
    ax = ax or plt.subplots(figsize=(3, 3))[1]
    ax.imshow(image.transpose(1, 2, 0).squeeze(), cmap="gray" if image.shape[0] == 1 else None)
    ax.imshow(saliency / max(float(saliency.max()), 1e-12), cmap="inferno", alpha=alpha, vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("x (pixel)")
    ax.set_ylabel("y (pixel)")
    return ax


def plot_word_importance(words, importance, ax=None, title: str = ""):
    """Each word of a caption on a background whose colour is its importance (red: needed, blue: against)."""
    import matplotlib.pyplot as plt
    from matplotlib import colormaps

    importance = np.asarray(importance.detach().cpu() if hasattr(importance, "detach") else importance, float)
    if len(words) != len(importance):
        raise ValueError(
            f"words and importance must pair up, but have {len(words)} and {len(importance)} entries."
        )
    ax = ax or plt.subplots(figsize=(7, 0.8))[1]
    scale = max(float(np.abs(importance).max()), 1e-12)
    cmap = colormaps["coolwarm"]
    x = 0.0
    for word, value in zip(words, importance):
        ax.text(x, 0.5, word, fontsize=12, va="center", family="monospace",
                bbox={"facecolor": cmap(0.5 + 0.5 * value / scale), "edgecolor": "none", "pad": 3})  # fmt: skip
        x += 0.025 * (len(word) + 2)
    ax.set_xlim(0, max(x, 1.0))
    ax.set_axis_off()
    ax.set_title(title or f"word importance (occlusion), red = needed; max {scale:.3f}", fontsize=9)
    return ax
