"""Fusion modules (lesson 07): how an image feature vector and a text feature vector become one.

Every module here takes the two encoders' outputs for a batch of B pairs and returns
one fused vector per pair, `(B, out_dim)`; `FusionClassifier` (mmcourse.models.zoo) puts
an image encoder, a text encoder, one of these and a linear classifier together.

    forward(image (B, Di), text (B, Dt), grid=None) -> (B, out_dim)

Each is a `Fusion`, which says in two methods how it plugs into a classifier:
`fuse(pair)` takes what the encoders produced -- an `EncodedPair` of image features,
text features, the image's feature grid (B, C, h, w), the caption's word embeddings and
their mask -- and passes on what this module reads (FiLM and cross-attention also read
the grid: they look *where* things are); `make_head(n_classes)` is the classifier that
goes on top (a Linear layer; none for late fusion, which already returns class scores).

| strategy | module | what meets what |
|---|---|---|
| unimodal baseline | `ImageOnly`, `TextOnly` | one modality, the other ignored |
| early (feature level) | `EarlyFusion` | concat(image, text) -> MLP |
| late (decision level) | `LateFusion` | one classifier per modality; their predictions are averaged |
| model level | `ProductFusion`, `FiLMFusion`, `CrossAttentionFusion` | multiplicative interaction inside the network |
| adaptive | `GatedFusion` | per-sample weights on each modality, readable as `last_gates` |
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .layers import coordinate_grid, expect_grid, expect_pair, mlp

__all__ = [
    "EncodedPair",
    "Fusion",
    "GridFusion",
    "ImageOnly",
    "TextOnly",
    "EarlyFusion",
    "LateFusion",
    "ProductFusion",
    "FiLMFusion",
    "CrossAttentionFusion",
    "GatedFusion",
]


class EncodedPair(NamedTuple):
    """What the two encoders make of a batch of B pairs; each fusion reads the parts it needs.

    image (B, Di): the image features; text (B, Dt): the caption's features;
    grid (B, C, h, w): the image encoder's last feature map, before pooling;
    words (B, T, E): the caption's word embeddings; mask (B, T): True at real words.
    """

    image: torch.Tensor
    text: torch.Tensor
    grid: torch.Tensor
    words: torch.Tensor
    mask: torch.Tensor


class Fusion(nn.Module):
    """The base of every fusion module: how it reads an EncodedPair and what goes on top of it.

    A subclass sets image_dim, text_dim and out_dim and defines forward(image, text, ...).
    """

    def fuse(self, pair: EncodedPair) -> torch.Tensor:
        """The fused vector (B, out_dim) from the encoders' outputs: forward(image, text) by default."""
        return self(pair.image, pair.text)

    def make_head(self, n_classes: int) -> nn.Module:
        """The classifier on top: out_dim -> n_classes scores."""
        return nn.Linear(self.out_dim, n_classes)


class GridFusion(Fusion):
    """A fusion that also reads the image's feature grid: forward(image, text, grid)."""

    def fuse(self, pair: EncodedPair) -> torch.Tensor:
        return self(pair.image, pair.text, pair.grid)


class ImageOnly(Fusion):
    """Unimodal baseline: image (B, Di) -> (B, hidden_dim); the text is ignored.

    When to use it: always, as a baseline. A fusion model is only worth its cost if it
    beats the better of the two unimodal models; reporting them exposes a task that one
    modality solves alone, or a fusion model that ignores a modality.
    """

    def __init__(self, image_dim: int, text_dim: int, hidden_dim: int = 64):
        super().__init__()
        self.image_dim, self.text_dim, self.out_dim = image_dim, text_dim, hidden_dim
        self.mlp = mlp(image_dim, hidden_dim)

    def forward(self, image, text, grid=None):
        expect_pair(image, text, self.image_dim, self.text_dim)
        return self.mlp(image)


class TextOnly(Fusion):
    """Unimodal baseline: text (B, Dt) -> (B, hidden_dim); the image is ignored.

    When to use it: always, as a baseline (see `ImageOnly`). A text-only model that does
    well warns of a data set whose captions give the answer away.
    """

    def __init__(self, image_dim: int, text_dim: int, hidden_dim: int = 64):
        super().__init__()
        self.image_dim, self.text_dim, self.out_dim = image_dim, text_dim, hidden_dim
        self.mlp = mlp(text_dim, hidden_dim)

    def forward(self, image, text, grid=None):
        expect_pair(image, text, self.image_dim, self.text_dim)
        return self.mlp(text)


class EarlyFusion(Fusion):
    """Feature-level fusion: concat([image, text], dim=1) (B, Di + Dt) -> MLP -> (B, hidden_dim).

    When to use it: the default first try. The hidden layer sees both modalities at
    once, so it can learn interactions ("plus three" means something different for each
    digit), and it costs nothing beyond one wider layer. Its weakness: the two feature
    vectors must be available, aligned and on comparable scales; a missing modality has
    to be filled in (zeros), and one loud modality can drown the other.
    """

    def __init__(self, image_dim: int, text_dim: int, hidden_dim: int = 64):
        super().__init__()
        self.image_dim, self.text_dim, self.out_dim = image_dim, text_dim, hidden_dim
        self.mlp = nn.Sequential(mlp(image_dim + text_dim, hidden_dim), mlp(hidden_dim, hidden_dim))

    def forward(self, image, text, grid=None):
        expect_pair(image, text, self.image_dim, self.text_dim)
        return self.mlp(torch.cat([image, text], dim=1))  # dim=1: features; dim=0 would stack samples


class LateFusion(Fusion):
    """Decision-level fusion: one classifier per modality, their predictions combined -> (B, n_classes).

    combine="logits": (s_image + s_text) / 2, the average of the two classifiers' logits;
    combine="probs": log of the average of their softmax probabilities (a log-probability,
    so cross-entropy applies unchanged); combine="learned": w_image s_image + w_text s_text
    with w = softmax of two learned numbers (the same weights for every sample).
    `unimodal_logits(image, text)` returns the two classifiers' own logits.

    When to use it: when each modality can decide on its own and they err independently
    (redundant, noisy modalities; a sensor that may be missing: drop its term). It cannot
    learn anything that needs the two modalities *together*: the combined score is a sum
    of a function of the image and a function of the text, and no such sum can express
    (digit + k) mod 10.
    """

    COMBINE = ("logits", "probs", "learned")

    def __init__(self, image_dim: int, text_dim: int, n_classes: int, hidden_dim: int = 64, combine="logits"):
        super().__init__()
        if combine not in self.COMBINE:
            raise ValueError(f"combine must be one of {list(self.COMBINE)}, but got {combine!r}.")
        self.image_dim, self.text_dim, self.out_dim, self.combine = image_dim, text_dim, n_classes, combine
        self.image_head = nn.Sequential(mlp(image_dim, hidden_dim), nn.Linear(hidden_dim, n_classes))
        self.text_head = nn.Sequential(mlp(text_dim, hidden_dim), nn.Linear(hidden_dim, n_classes))
        self.weight_logits = nn.Parameter(torch.zeros(2)) if combine == "learned" else None

    def make_head(self, n_classes: int) -> nn.Module:
        """Nothing goes on top: the average of the two classifiers already scores each class."""
        if n_classes != self.out_dim:
            raise ValueError(f"the fusion returns {self.out_dim} class scores, but n_classes is {n_classes}.")
        return nn.Identity()

    def unimodal_logits(self, image, text):
        """(image logits (B, n_classes), text logits (B, n_classes))."""
        expect_pair(image, text, self.image_dim, self.text_dim)
        return self.image_head(image), self.text_head(text)

    def modality_weights(self) -> torch.Tensor:
        """(2,): the weights of the image and the text predictions."""
        if self.weight_logits is None:
            return torch.full((2,), 0.5)
        return torch.softmax(self.weight_logits.detach(), dim=0)

    def forward(self, image, text, grid=None):
        image_logits, text_logits = self.unimodal_logits(image, text)
        if self.combine == "logits":
            return (image_logits + text_logits) / 2
        if self.combine == "probs":
            probs = (image_logits.softmax(dim=1) + text_logits.softmax(dim=1)) / 2
            return probs.clamp_min(1e-12).log()
        w = torch.softmax(self.weight_logits, dim=0)
        return w[0] * image_logits + w[1] * text_logits


class ProductFusion(Fusion):
    """Model-level fusion by an elementwise product: (U image) * (V text) (B, rank) -> MLP -> (B, hidden_dim).

    The product of the two projections is a low-rank version of the full outer product
    (tensor fusion): every output unit multiplies a direction of the image by a direction
    of the text, so "this digit AND this operation" is a single unit's job.

    When to use it: when the answer depends on a *combination* of the two modalities
    (a question about an image, an instruction applied to an input). Cheaper than the
    outer product (Di x Dt features) and easier to train than hoping an MLP discovers
    multiplication. Weaker than early fusion if one modality is missing or useless
    (a product with a zero vector is zero).
    """

    def __init__(self, image_dim: int, text_dim: int, hidden_dim: int = 64, rank: int = 64):
        super().__init__()
        self.image_dim, self.text_dim, self.out_dim = image_dim, text_dim, hidden_dim
        self.image_proj, self.text_proj = nn.Linear(image_dim, rank), nn.Linear(text_dim, rank)
        self.mlp = mlp(rank, hidden_dim)

    def forward(self, image, text, grid=None):
        expect_pair(image, text, self.image_dim, self.text_dim)
        return self.mlp(torch.tanh(self.image_proj(image)) * torch.tanh(self.text_proj(text)))


class FiLMFusion(GridFusion):
    """Text-conditioned image pathway (FiLM): the text scales and shifts every channel of the image grid.

    grid (B, C, h, w), text (B, Dt): gamma, beta = Linear(text) (B, C) each;
    modulated = ReLU((1 + gamma) * grid + beta), with 2 coordinate channels appended
    (B, C + 2, h, w) -> 3x3 conv (B, C, h, w) -> max over positions (B, C) -> MLP
    together with the image features and the text -> (B, hidden_dim).

    When to use it: when the text says *what to look for* in the image (visual
    questions, instructions): the image pathway itself changes with the text, before
    any pooling throws positions away. Cheap (two numbers per channel). Needs the grid,
    so it is tied to a convolutional image encoder.
    """

    def __init__(self, image_dim: int, text_dim: int, grid_channels: int, hidden_dim: int = 64):
        super().__init__()
        self.image_dim, self.text_dim, self.out_dim = image_dim, text_dim, hidden_dim
        self.grid_channels = grid_channels
        self.film = nn.Linear(text_dim, 2 * grid_channels)
        nn.init.zeros_(
            self.film.weight
        )  # start as the identity (gamma = beta = 0): the text learns to modulate
        nn.init.zeros_(self.film.bias)
        self.conv = nn.Conv2d(grid_channels + 2, grid_channels, 3, padding=1)
        self.mlp = nn.Sequential(
            mlp(image_dim + grid_channels + text_dim, hidden_dim), mlp(hidden_dim, hidden_dim)
        )

    def forward(self, image, text, grid=None):
        expect_pair(image, text, self.image_dim, self.text_dim)
        expect_grid(grid, image.shape[0], self.grid_channels)
        gamma, beta = self.film(text)[:, :, None, None].chunk(2, dim=1)  # (B, C, 1, 1) each
        modulated = torch.relu((1 + gamma) * grid + beta)
        coords = coordinate_grid(*grid.shape[2:], device=grid.device).expand(grid.shape[0], -1, -1, -1)
        pooled = torch.relu(self.conv(torch.cat([modulated, coords], dim=1))).amax(dim=(2, 3))
        return self.mlp(torch.cat([image, pooled, text], dim=1))


class CrossAttentionFusion(GridFusion):
    """Text-to-image cross-attention: the caption asks, each grid position answers.

    grid (B, C, h, w) + 2 coordinate channels -> keys K (B, hw, d) and values
    V = [features, x, y] (B, hw, C + 2); text (B, Dt) -> `heads` queries q (B, heads, d);
    attention a = softmax_over_positions(q K^T / sqrt(d)) (B, heads, hw), readable as
    `last_attention`; attended = a V (B, heads, C + 2), which includes *where* each head
    looked. MLP([image, text, attended heads]) -> (B, hidden_dim).

    When to use it: when the text refers to particular regions or objects ("the red
    circle ... the blue square") and their relation matters. Each head can fetch one
    object named in the caption, coordinates included, so relations such as "left of"
    become a comparison of two numbers. The attention maps show what the model looked
    at. Costs more than FiLM, and needs the grid.
    """

    def __init__(
        self,
        image_dim: int,
        text_dim: int,
        grid_channels: int,
        hidden_dim: int = 64,
        heads: int = 2,
        key_dim: int = 32,
    ):
        super().__init__()
        self.image_dim, self.text_dim, self.out_dim = image_dim, text_dim, hidden_dim
        self.grid_channels, self.heads, self.key_dim = grid_channels, heads, key_dim
        self.keys = self.key_layer(grid_channels + 2, key_dim)
        self.queries = nn.Linear(text_dim, heads * key_dim)
        self.mlp = nn.Sequential(mlp(self.fused_dim(), hidden_dim), mlp(hidden_dim, hidden_dim))
        self.last_attention = None

    def key_layer(self, in_dim: int, key_dim: int) -> nn.Module:
        """How a grid position [features, x, y] becomes its key: one linear map."""
        return nn.Linear(in_dim, key_dim)

    def fused_dim(self) -> int:
        """The width of what the MLP reads: [image, text, attended heads]."""
        return self.image_dim + self.text_dim + self.heads * (self.grid_channels + 2)

    def attend(self, text, grid):
        """Each head's look at the grid: (attended (B, heads * (C + 2)), scores (B, heads, hw)).

        Keeps the attention weights in `last_attention` (B, heads, h, w).
        """
        B, _, h, w = grid.shape
        coords = coordinate_grid(h, w, device=grid.device).to(grid.dtype).expand(B, -1, -1, -1)
        values = torch.cat([grid, coords], dim=1).flatten(2).transpose(1, 2)  # (B, hw, C + 2)
        keys = self.keys(values)  # (B, hw, d)
        queries = self.queries(text).view(B, self.heads, self.key_dim)  # (B, heads, d)
        scores = queries @ keys.transpose(1, 2) / self.key_dim**0.5  # (B, heads, hw)
        attention = torch.softmax(scores, dim=2)
        self.last_attention = attention.detach().view(B, self.heads, h, w)
        return (attention @ values).flatten(1), scores

    def forward(self, image, text, grid=None):
        expect_pair(image, text, self.image_dim, self.text_dim)
        expect_grid(grid, image.shape[0], self.grid_channels)
        attended, _ = self.attend(text, grid)
        return self.mlp(torch.cat([image, text, attended], dim=1))


class GatedFusion(Fusion):
    """Adaptive fusion: per-sample gates decide how much of each modality goes on.

    image (B, Di), text (B, Dt); gates g = softmax(W_g [image, text], dim=1) (B, 2): one
    pair of weights per SAMPLE, summing to 1; fused = 2 [g_image image, g_text text]
    (B, Di + Dt) -> MLP -> (B, hidden_dim). The weighted vectors are concatenated, not
    added, so the layers after can still tell the modalities apart and combine them. The
    gate layer starts at zero, so g = (1/2, 1/2) and (thanks to the factor 2) the model
    starts out as early fusion; the gates then learn to move. The gates of the last batch
    are kept in `last_gates` (B, 2) so they can be plotted.

    When to use it: when the reliability of each modality varies from sample to sample
    (a noisy caption here, a blurred image there), or to *see* which modality a model
    leans on. The gates are a diagnostic, not a proof: a gate near 0 does not mean
    the modality is unused, only down-weighted.
    """

    def __init__(self, image_dim: int, text_dim: int, hidden_dim: int = 64):
        super().__init__()
        self.image_dim, self.text_dim, self.out_dim = image_dim, text_dim, hidden_dim
        self.gate = nn.Linear(image_dim + text_dim, 2)
        nn.init.zeros_(self.gate.weight)  # start at g = (1/2, 1/2): early fusion, until the gates learn
        nn.init.zeros_(self.gate.bias)
        self.mlp = nn.Sequential(mlp(image_dim + text_dim, hidden_dim), mlp(hidden_dim, hidden_dim))
        self.last_gates = None

    def gates(self, image, text) -> torch.Tensor:
        """(B, 2): each sample's weights for (image, text); every row sums to 1."""
        expect_pair(image, text, self.image_dim, self.text_dim)
        return torch.softmax(self.gate(torch.cat([image, text], dim=1)), dim=1)

    def forward(self, image, text, grid=None):
        g = self.gates(image, text)
        self.last_gates = g.detach()
        fused = 2 * torch.cat([g[:, :1] * image, g[:, 1:] * text], dim=1)  # (B, Di + Dt)
        return self.mlp(fused)
