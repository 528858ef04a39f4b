"""Robustness (lesson 09): missing and corrupted modalities, robustness curves, modality dropout.

A trained fusion model is evaluated on test data that has been damaged on purpose:

- a **missing modality**: `blank_image` (all zeros), `empty_caption` (a caption of one
  `<pad>` token, whose embedding is zero: the LSTM reads nothing) or `unk_caption` (every
  word replaced by `<unk>`: the model knows a caption was there, not what it said);
- a **corruption** at a level in [0, 1] (`CORRUPTIONS`): images get `gaussian_noise` or
  an `occlusion` patch; captions get `word_dropout` (words -> `<unk>`) or `word_swap`
  (words trade places).

`robustness_curve` measures accuracy at several levels of one corruption;
`area_under_curve` summarises a curve by the trapezoid rule over the ACTUAL levels,
divided by their range (the mean accuracy over the range, so curves measured at
different levels compare), and `relative_robustness` divides that by the clean accuracy,
as corruption benchmarks do. `ModalityDropout` is the training-time cure: it blanks the
image OR the caption (never both) of a random fraction of the training pairs, so the
model learns to answer from either modality alone.

Batches are (images (B, C, H, W) float, tokens (B, T) int64, lengths (B,) int64), with
`<pad>` = 0 and `<unk>` = 1 (mmcourse.text); corruptions never change the inputs they
are given, and take a `seed` (or a torch.Generator) so every curve can be repeated.
"""

from __future__ import annotations

import numpy as np
import torch

from .text import PAD_ID, UNK_ID
from .validation import as_float_arrays, expect_finite, expect_ndim, expect_number

__all__ = [
    "blank_image",
    "empty_caption",
    "unk_caption",
    "MISSING",
    "gaussian_noise",
    "occlusion",
    "word_dropout",
    "word_swap",
    "CORRUPTIONS",
    "accuracy_on",
    "missing_modality_accuracy",
    "robustness_curve",
    "area_under_curve",
    "relative_robustness",
    "modality_dropout",
    "ModalityDropout",
    "plot_robustness_curves",
]


# --- checks ---------------------------------------------------------------------------


def _expect_images(images) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        got = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise ValueError(f"images must be a float tensor of shape (B, C, H, W), but got {got}.")
    return images


def _expect_text(tokens, lengths) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2 or tokens.is_floating_point():
        got = tuple(tokens.shape) if hasattr(tokens, "shape") else type(tokens).__name__
        raise ValueError(
            f"tokens must be an integer tensor of shape (B, T), one caption per row, but got {got}."
        )
    if not isinstance(lengths, torch.Tensor) or lengths.shape != (tokens.shape[0],):
        got = tuple(lengths.shape) if hasattr(lengths, "shape") else type(lengths).__name__
        raise ValueError(
            f"lengths must be a tensor of shape ({tokens.shape[0]},), one per caption, but got {got}."
        )
    return tokens, lengths


def _expect_level(level) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating, np.integer)):
        raise TypeError(f"level must be a number in [0, 1], but got {type(level).__name__} {level!r}.")
    if not 0 <= level <= 1:
        raise ValueError(f"level must lie in [0, 1] (0 = clean, 1 = the worst), but got {level!r}.")
    return float(level)


def _generator(seed, device) -> torch.Generator:
    """A torch.Generator on `device`: `seed` may be an int or a Generator already."""
    if isinstance(seed, torch.Generator):
        return seed
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


def _real_tokens(tokens, lengths) -> torch.Tensor:
    """(B, T) bool: True at the real words of each caption, False at padding."""
    positions = torch.arange(tokens.shape[1], device=tokens.device)
    return positions[None, :] < lengths.to(tokens.device)[:, None]


# --- missing modalities ---------------------------------------------------------------


def blank_image(images: torch.Tensor) -> torch.Tensor:
    """The image is missing: zeros of the same shape (B, C, H, W)."""
    return torch.zeros_like(_expect_images(images))


def empty_caption(tokens: torch.Tensor, lengths: torch.Tensor):
    """The caption is missing: every row becomes one `<pad>` token (length 1), the rest padding.

    tokens (B, T), lengths (B,) -> new (tokens (B, T) all `<pad>`, lengths (B,) all 1).
    The `<pad>` embedding is zero, so the text encoder reads nothing at all.
    """
    tokens, lengths = _expect_text(tokens, lengths)
    return torch.full_like(tokens, PAD_ID), torch.ones_like(lengths)


def unk_caption(tokens: torch.Tensor, lengths: torch.Tensor):
    """Every word of every caption becomes `<unk>`; the lengths stay. (tokens (B, T), lengths (B,))."""
    tokens, lengths = _expect_text(tokens, lengths)
    return torch.where(_real_tokens(tokens, lengths), UNK_ID, PAD_ID).to(tokens.dtype), lengths.clone()


MISSING = {  # name -> what is taken away
    "image blank": "image",
    "caption empty": "text",
    "caption all <unk>": "text",
}


# --- corruptions at a level in [0, 1] --------------------------------------------------


def gaussian_noise(images: torch.Tensor, level: float, seed=0) -> torch.Tensor:
    """images + level * N(0, 1) noise, clipped to [0, 1]: level is the noise's standard deviation."""
    images, level = _expect_images(images), _expect_level(level)
    noise = torch.randn(images.shape, generator=_generator(seed, images.device), device=images.device)
    return (images + level * noise).clamp(0.0, 1.0)


def occlusion(images: torch.Tensor, level: float, seed=0) -> torch.Tensor:
    """A black square covering about a fraction `level` of each image, at a random place per image.

    The square's side is round(sqrt(level) * min(H, W)) pixels; level 1 blanks the image.
    """
    images, level = _expect_images(images), _expect_level(level)
    B, _, H, W = images.shape
    side = int(round(level**0.5 * min(H, W)))
    out = images.clone()
    if side == 0:
        return out
    generator = _generator(seed, "cpu")
    tops = torch.randint(0, H - side + 1, (B,), generator=generator)
    lefts = torch.randint(0, W - side + 1, (B,), generator=generator)
    rows = torch.arange(H)[None, :, None]
    cols = torch.arange(W)[None, None, :]
    in_rows = (rows >= tops[:, None, None]) & (rows < tops[:, None, None] + side)  # (B, H, 1)
    in_cols = (cols >= lefts[:, None, None]) & (cols < lefts[:, None, None] + side)  # (B, 1, W)
    inside = in_rows & in_cols  # (B, H, W)
    return out.masked_fill(inside[:, None].to(images.device), 0.0)


def word_dropout(tokens: torch.Tensor, lengths: torch.Tensor, level: float, seed=0):
    """Each real word becomes `<unk>` with probability `level` (the length stays). -> (tokens, lengths)."""
    tokens, lengths = _expect_text(tokens, lengths)
    level = _expect_level(level)
    draw = torch.rand(tokens.shape, generator=_generator(seed, "cpu")).to(tokens.device)
    drop = (draw < level) & _real_tokens(tokens, lengths)
    return tokens.masked_fill(drop, UNK_ID), lengths.clone()


def word_swap(tokens: torch.Tensor, lengths: torch.Tensor, level: float, seed=0):
    """In each caption, round(level * length) randomly chosen words trade places at random.

    Level 1 shuffles the whole caption; the words themselves stay, only their order
    changes -- which a bag-of-words model would never notice. -> (tokens, lengths).
    """
    tokens, lengths = _expect_text(tokens, lengths)
    level = _expect_level(level)
    generator = _generator(seed, "cpu")
    out = tokens.clone()
    for row, length in enumerate(lengths.tolist()):
        k = int(round(level * length))
        if k < 2:
            continue
        chosen = torch.randperm(length, generator=generator)[:k]
        shuffled = chosen[torch.randperm(k, generator=generator)]
        out[row, chosen.to(out.device)] = tokens[row, shuffled.to(tokens.device)]
    return out, lengths.clone()


CORRUPTIONS = {  # name -> (modality, function)
    "gaussian noise": ("image", gaussian_noise),
    "occlusion": ("image", occlusion),
    "word dropout": ("text", word_dropout),
    "word swap": ("text", word_swap),
}


# --- measuring ------------------------------------------------------------------------


@torch.no_grad()
def accuracy_on(model, images, tokens, lengths, labels, batch_size: int = 500) -> float:
    """Accuracy of `model` (in eval mode) on the pairs: (B, C, H, W), (B, T), (B,), labels (B,)."""
    _expect_images(images)
    _expect_text(tokens, lengths)
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(labels), batch_size):
        part = slice(start, start + batch_size)
        logits = model(images[part], tokens[part], lengths[part])
        correct += int((logits.argmax(dim=1) == labels[part]).sum())
    model.train(was_training)
    return correct / len(labels)


def missing_modality_accuracy(model, images, tokens, lengths, labels) -> dict:
    """Accuracy with both modalities, and with each way of taking one away.

    Returns {"both": ..., "image blank": ..., "caption empty": ..., "caption all <unk>": ...}.
    """
    empty, unk = empty_caption(tokens, lengths), unk_caption(tokens, lengths)
    return {
        "both": accuracy_on(model, images, tokens, lengths, labels),
        "image blank": accuracy_on(model, blank_image(images), tokens, lengths, labels),
        "caption empty": accuracy_on(model, images, *empty, labels),
        "caption all <unk>": accuracy_on(model, images, *unk, labels),
    }


def robustness_curve(model, images, tokens, lengths, labels, corruption: str, levels, seed: int = 0):
    """Accuracy at each level of one corruption (a name in CORRUPTIONS): levels (L,) -> (L,) array."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {corruption!r}; valid names: {', '.join(CORRUPTIONS)}.")
    modality, corrupt = CORRUPTIONS[corruption]
    accuracies = []
    for level in levels:
        if modality == "image":
            damaged = (corrupt(images, level, seed=seed), tokens, lengths)
        else:
            damaged = (images, *corrupt(tokens, lengths, level, seed=seed))
        accuracies.append(accuracy_on(model, *damaged, labels))
    return np.array(accuracies)


def _expect_curve(levels, accuracies):
    levels, accuracies = as_float_arrays(levels=levels, accuracies=accuracies)
    expect_ndim("levels", levels, 1, hint="one level per point of the curve")
    expect_finite("levels", levels)
    expect_finite("accuracies", accuracies)
    if accuracies.shape != levels.shape:
        raise ValueError(
            f"accuracies must have one entry per level, shape {levels.shape}, but has shape {accuracies.shape}."
        )
    if len(levels) < 2:
        raise ValueError(f"levels must hold at least 2 points to span an area, but holds {len(levels)}.")
    if not (np.diff(levels) > 0).all():
        raise ValueError(f"levels must be strictly increasing, but are {levels.tolist()}. Sort them first.")
    return levels, accuracies


def area_under_curve(levels, accuracies) -> float:
    """The mean accuracy over the range of levels: trapezoid area over the ACTUAL levels / their range.

    levels (L,) strictly increasing, accuracies (L,). Uneven spacing is fine: each
    trapezoid is as wide as the gap between its two levels. (np.mean(accuracies) would
    weigh every point equally, as if the levels were evenly spaced.)
    """
    levels, accuracies = _expect_curve(levels, accuracies)
    widths = np.diff(levels)
    area = float(np.sum(widths * (accuracies[1:] + accuracies[:-1]) / 2))
    return area / float(levels[-1] - levels[0])


def relative_robustness(levels, accuracies) -> float:
    """area_under_curve / the accuracy at the first (cleanest) level: 1 = no loss at all."""
    levels, accuracies = _expect_curve(levels, accuracies)
    if accuracies[0] <= 0:
        raise ValueError("the accuracy at the first level must be > 0 to divide by it.")
    return area_under_curve(levels, accuracies) / float(accuracies[0])


# --- modality dropout -----------------------------------------------------------------


def modality_dropout(images, tokens, lengths, p: float, *, training: bool = True, generator=None):
    """Blank ONE modality of a random fraction p of the pairs; during training only.

    images (B, C, H, W), tokens (B, T), lengths (B,) -> new (images, tokens, lengths).
    Each pair is hit with probability p; a hit pair loses its image (zeros) or its caption
    (one `<pad>` token, length 1), with equal odds -- never both, which would leave
    nothing to learn from. With training=False the inputs come back unchanged: like
    ordinary dropout, it is a training-time regulariser, not something to do at test time.
    The inputs themselves are never modified.
    """
    images, (tokens, lengths) = _expect_images(images), _expect_text(tokens, lengths)
    p = expect_number("p", p, "float", 0, 1, rule="a probability in [0, 1]")
    if not training or p == 0:
        return images, tokens, lengths
    B = images.shape[0]
    hit = torch.rand(B, generator=generator) < p  # (B,) on the CPU: reproducible on any device
    which = torch.rand(B, generator=generator) < 0.5  # True: drop the image, False: drop the caption
    drop_image, drop_text = (hit & which).to(images.device), (hit & ~which).to(tokens.device)
    images = images.masked_fill(drop_image[:, None, None, None], 0.0)
    tokens = tokens.masked_fill(drop_text[:, None], PAD_ID)
    lengths = torch.where(drop_text.to(lengths.device), torch.ones_like(lengths), lengths)
    return images, tokens, lengths


class ModalityDropout:
    """A training-batch transform for `fit(..., train_transform=ModalityDropout(0.5))`.

    Called on a batch (images, tokens, lengths, labels, ...) it returns the same tuple
    with `modality_dropout` applied to the first three entries. fit applies it to
    training batches only; evaluation always sees the real inputs. A batch with fewer
    images than captions shares them -- (images, tokens, lengths, image_index, labels, ...),
    from AttributeNegatives(share_images=True) -- and first gets one image per pair
    (images[image_index]), since a modality is dropped pair by pair; image_index is then dropped.
    """

    def __init__(self, p: float = 0.5, seed: int = 0):
        self.p = expect_number("p", p, "float", 0, 1, rule="a probability in [0, 1]")
        self.generator = torch.Generator().manual_seed(int(seed))

    def __call__(self, batch):
        if not isinstance(batch, (tuple, list)) or len(batch) < 3:
            raise ValueError(
                "ModalityDropout expects a batch (images, tokens, lengths, labels, ...), but got "
                f"{type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}."
            )
        if len(batch) >= 5 and len(batch[0]) != len(batch[1]):  # shared images: give each pair its own, so that
            images, tokens, lengths, image_index, *rest = batch  # dropping one pair's image leaves the others
            batch = (images[image_index], tokens, lengths, *rest)
        images, tokens, lengths, *rest = batch
        return (*modality_dropout(images, tokens, lengths, self.p, generator=self.generator), *rest)

    def state_dict(self) -> dict:
        """The random state, for checkpoints: fit saves it, so a resumed run drops the same modalities."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])

    def __repr__(self) -> str:
        return f"ModalityDropout(p={self.p})"


# --- plotting -------------------------------------------------------------------------


def plot_robustness_curves(curves: dict, levels, ax=None, title: str = "", chance: float | None = None):
    """One accuracy-vs-level line per model: curves {label: accuracies (L,)}; the AUC goes in the legend."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5, 3.4))[1]
    for label, accuracies in curves.items():
        auc = area_under_curve(levels, accuracies)
        ax.plot(levels, accuracies, marker="o", label=f"{label} (AUC {auc:.2f})")
    if chance is not None:
        ax.axhline(chance, color="gray", linestyle=":", label="chance")
    ax.set_xlabel("corruption level (0 = clean, 1 = worst)")
    ax.set_ylabel("test accuracy (fraction)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
