"""Transformers (lesson 10): multi-head self-attention, a pre-norm block, patches as words, one stream.

- `MultiHeadSelfAttention`: softmax(Q K^T / sqrt(d)) V in `heads` slices of the width, with a
  mask (True = may attend); keeps its weights in `last_attention` (B, heads, S, S).
- `TransformerBlock`: pre-norm, as in GPT-2 and ViT: x + Attention(LN(x)), then x + MLP(LN(x)).
- `PatchEmbedding`: a ViT's "patches as words": each p x p patch, flattened, through one linear
  map (a Conv2d with kernel = stride = p), kept as a grid (B, dim, H/p, W/p).
- `FrozenEncoder`: a trained image encoder that is read, not trained (no gradients, always in
  eval mode) -- `stem="matcher"` makes lesson 08's trained CNN the transformer's eyes, the way
  BLIP-2 and LLaVA read a frozen pretrained vision encoder (a "hybrid" ViT: the tokens are the
  cells of a CNN's feature grid, Dosovitskiy et al. 2021, section 3.1).
- `SingleStreamFusion`: ViLT-style fusion: [CLS] + image patch tokens + word tokens, each with
  a position and a type (image or text) embedding, in ONE sequence through the blocks; the CLS
  token's output is the pair's vector. `build_transformer` puts it in a FusionClassifier.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from .classifier import FusionClassifier, resolve_settings
from .encoders import BagOfWordsEncoder
from .fusion import EncodedPair, Fusion

__all__ = [
    "MultiHeadSelfAttention",
    "TransformerBlock",
    "PatchEmbedding",
    "FrozenEncoder",
    "STEMS",
    "SingleStreamFusion",
    "TRANSFORMER_DEFAULTS",
    "build_transformer",
]


class MultiHeadSelfAttention(nn.Module):
    """x (B, S, dim) -> (B, S, dim): every token attends to every token it may, in `heads` heads.

    q, k, v = x W_qkv split in three, each (B, heads, S, d) with d = dim / heads;
    weights = softmax(q k^T / sqrt(d)) over the keys, masked where mask is False;
    out = concat_heads(weights v) W_out. mask: bool, broadcastable to (B, heads, S, S).
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"heads must divide dim, but got dim={dim}, heads={heads}.")
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.last_attention = None

    def forward(self, x, mask=None):
        B, S, dim = x.shape
        q, k, v = (
            self.qkv(x).view(B, S, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        )  # (B, h, S, d) each
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, h, S, S)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        self.last_attention = weights.detach()
        return self.out((weights @ v).transpose(1, 2).reshape(B, S, dim))


class TransformerBlock(nn.Module):
    """A pre-norm transformer block: x + Attention(LN(x)), then x + MLP(LN(x)); (B, S, dim) -> (B, S, dim).

    The MLP widens each token to mlp_ratio * dim with a GELU and narrows it back. The residual
    connections let each block add to the tokens rather than replace them.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.norm1, self.attention = nn.LayerNorm(dim), MultiHeadSelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x, mask=None):
        x = x + self.attention(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))


class PatchEmbedding(nn.Module):
    """images (B, C, H, W) -> (mean patch token (B, dim)[, grid of patch tokens (B, dim, H/p, W/p)]).

    The Conv2d with kernel_size = stride = patch is the same as patchify + one Linear map: it
    never looks across a patch's border. The grid keeps the patches where they were, so the
    fusion can add a position to each.
    """

    def __init__(self, in_channels: int = 3, dim: int = 64, patch: int = 4):
        super().__init__()
        self.in_channels, self.patch, self.out_dim, self.grid_channels = in_channels, patch, dim, dim
        self.project = nn.Conv2d(in_channels, dim, kernel_size=patch, stride=patch)

    def forward(self, images, return_grid: bool = False):
        if images.dim() != 4 or images.shape[1] != self.in_channels or images.shape[2] % self.patch:
            raise ValueError(
                f"images must have shape (B, {self.in_channels}, H, W) with H and W multiples of {self.patch}, "
                f"but have shape {tuple(images.shape)}."
            )
        grid = self.project(images)  # (B, dim, H/p, W/p)
        features = grid.mean(dim=(2, 3))
        return (features, grid) if return_grid else features


class FrozenEncoder(nn.Module):
    """An image encoder used as it was trained: images (B, C, H, W) -> (features, [grid (B, channels, h, w)]).

    Its parameters get no gradients, and `train()` leaves it in eval mode, so its batch-norm
    statistics stay those it was trained with. Its weights are still part of the model's
    state_dict, so a checkpoint holds the whole model.
    """

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder.eval()
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)
        self.in_channels, self.out_dim = encoder.in_channels, encoder.out_dim
        self.grid_channels = encoder.grid_channels

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # frozen: batch norm keeps its trained statistics
        return self

    def forward(self, images, return_grid: bool = False):
        with torch.no_grad():
            return self.encoder(images, return_grid=return_grid)


MATCHER_FILE = Path(__file__).resolve().parents[1] / "assets" / "shapes_matcher.pt"
"""The shipped "shapes-matcher" (mmcourse.assets.asset_path gives the same path; it is not imported here because
loading an asset builds models, which would make this module import itself)."""


def _matcher_stem() -> FrozenEncoder:
    """Lesson 08's trained CNN (the shipped "shapes-matcher"), frozen: 16 x 16 scenes -> a 4 x 4 grid of 64 channels."""
    from .matching import build_matcher

    checkpoint = torch.load(MATCHER_FILE, map_location="cpu", weights_only=True)
    matcher = build_matcher(**{k: v for k, v in checkpoint["config"].items() if k != "name"})
    matcher.load_state_dict(checkpoint["state_dict"])
    return FrozenEncoder(matcher.image_encoder)


STEMS = ("patches", "matcher")
"""Where the transformer's image tokens come from: "patches" (a PatchEmbedding trained with the model, a
ViT) or "matcher" (lesson 08's trained CNN, frozen: the cells of its feature grid are the tokens)."""


class SingleStreamFusion(Fusion):
    """One sequence for both modalities: [CLS] + patches + words -> `depth` blocks -> CLS output (B, dim).

    Each patch token gets a learned position (its place in the grid) and each word token a
    learned position (its place in the caption) -- unless positions=False, which leaves the
    model a bag of patches and a bag of words (self-attention alone ignores order). Every
    token also gets a type embedding (0: image, 1: text), so the two modalities stay apart.
    Padding words are masked out as keys: no token attends to them.
    """

    def __init__(self, dim: int = 64, n_patches: int = 16, max_words: int = 12, depth: int = 2, heads: int = 4,
                 positions: bool = True):  # fmt: skip
        super().__init__()
        self.image_dim = self.text_dim = self.out_dim = dim
        self.n_patches, self.max_words, self.positions = n_patches, max_words, positions
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.types = nn.Embedding(2, dim)
        nn.init.normal_(
            self.types.weight, std=0.02
        )  # small, like the positions: N(0, 1) would drown a patch's content
        self.image_positions = nn.Parameter(torch.randn(1, n_patches, dim) * 0.02)
        self.text_positions = nn.Parameter(torch.randn(1, max_words, dim) * 0.02)
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def fuse(self, pair: EncodedPair) -> torch.Tensor:
        return self(pair.grid, pair.words, pair.mask)

    def sequence(self, grid, words):
        """The input sequence (B, 1 + P + T, dim): [CLS], patch tokens, word tokens, with positions and types."""
        patches = grid.flatten(2).transpose(1, 2)  # (B, P, dim), row by row
        B, P, T = patches.shape[0], patches.shape[1], words.shape[1]
        if P != self.n_patches or T > self.max_words:
            raise ValueError(f"the model reads {self.n_patches} patches and at most {self.max_words} words, "
                             f"but got {P} patches and {T} words.")  # fmt: skip
        if self.positions:
            patches, words = patches + self.image_positions, words + self.text_positions[:, :T]
        patches, words = patches + self.types.weight[0], words + self.types.weight[1]
        return torch.cat([self.cls.expand(B, -1, -1), patches, words], dim=1)

    def forward(self, grid, words, mask):
        """grid (B, dim, h, w), words (B, T, dim), mask (B, T) True at real words -> (B, dim)."""
        x = self.sequence(grid, words)
        real = torch.cat(
            [torch.ones(x.shape[0], 1 + self.n_patches, dtype=torch.bool, device=x.device), mask], 1
        )
        attend = real[:, None, None, :]  # (B, 1, 1, S): every query may attend to every real token
        for block in self.blocks:
            x = block(x, attend)
        return self.norm(x[:, 0])

    def attention_maps(self) -> list[torch.Tensor]:
        """The attention weights of each block's last forward pass, (B, heads, S, S) each."""
        return [block.attention.last_attention for block in self.blocks]


TRANSFORMER_DEFAULTS = {
    "n_classes": 2,
    "vocab_size": 100,
    "in_channels": 3,
    "image_size": 16,
    "patch": 4,
    "dim": 64,
    "depth": 2,
    "heads": 4,
    "max_words": 12,
    "positions": True,
    "stem": "patches",
}


def build_transformer(name: str = "transformer", **config) -> FusionClassifier:
    """The single-stream transformer as a FusionClassifier: image tokens + word embeddings + SingleStreamFusion.

    config (all optional, TRANSFORMER_DEFAULTS lists them): n_classes, vocab_size, in_channels,
    image_size (H = W), patch, dim (the width of every token), depth (blocks), heads,
    max_words (the longest caption, in tokens), positions (False: no position embeddings),
    stem (STEMS: "patches", a PatchEmbedding of patch x patch pixels trained with the model; or
    "matcher", lesson 08's trained CNN, frozen -- its 4 x 4 grid of 64 channels are the image
    tokens, so it needs dim = 64, 3 channels and 16 x 16 images, and `patch` is not used).
    """
    if name != "transformer":
        raise ValueError(f"build_transformer builds the model 'transformer', not {name!r}.")
    c = resolve_settings("transformer", config, TRANSFORMER_DEFAULTS)
    if c["stem"] not in STEMS:
        raise ValueError(f"stem must be one of {STEMS}, but got {c['stem']!r}.")
    if c["stem"] == "matcher":
        expected = {"dim": 64, "in_channels": 3, "image_size": 16}
        wrong = {key: c[key] for key, value in expected.items() if c[key] != value}
        if wrong:
            raise ValueError(f"stem='matcher' reads 16 x 16 colour scenes into 64-channel tokens, so it needs "
                             f"{expected}, but got {wrong}.")  # fmt: skip
        image, n_patches = _matcher_stem(), (16 // 4) ** 2
    else:
        if c["image_size"] % c["patch"]:
            raise ValueError(
                f"patch must divide image_size, but got patch={c['patch']}, image_size={c['image_size']}."
            )
        image, n_patches = (
            PatchEmbedding(c["in_channels"], c["dim"], c["patch"]),
            (c["image_size"] // c["patch"]) ** 2,
        )
    text = BagOfWordsEncoder(c["vocab_size"], c["dim"])  # its embedding gives the word tokens
    fusion = SingleStreamFusion(c["dim"], n_patches, c["max_words"], c["depth"], c["heads"],
                                positions=bool(c["positions"]))  # fmt: skip
    model = FusionClassifier(image, text, fusion, c["n_classes"])
    model.config = {"name": "transformer", **c}
    return model
