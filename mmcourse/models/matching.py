"""Lesson 08's CNN+LSTM matcher: does the caption describe the scene? Built to check every word.

Lesson 07's cross-attention model solves swapped and reversed captions but misses most
*attribute* mismatches ("a green circle ..." when the scene holds a red circle). Two
reasons, and one fix each:

1. The softmax of attention always sums to 1: a query for "green circle" lands
   *somewhere* even when nothing is green, and the attended vector alone does not say
   how good the match was. `EvidenceAttentionFusion` keeps the best raw score of each
   head ("how well did the best position fit?") as a feature.
2. One sentence vector has to carry every word. `WordEvidenceFusion` also asks, for
   EVERY word of the caption, how strongly the image supports it (a bilinear score
   between the word's embedding and the image features), and hands the classifier
   these per-word scores in caption order.

`build_matcher(**config)` puts a batch-normalised CNN (`ImageEncoder(batch_norm=True)`), the
LSTM `TextEncoder` and `WordEvidenceFusion` together in a `FusionClassifier`, like every model
of the zoo, and records `.config`, so `build_model("matcher")` and checkpoints rebuild it:

    model = build_matcher(vocab_size=len(vocab))         # name "matcher"
    logits = model(images, tokens, lengths)              # (B, 3, H, W), (B, T), (B,) -> (B, 2)
"""

from __future__ import annotations

import torch
from torch import nn

from .classifier import FusionClassifier, resolve_settings
from .encoders import ImageEncoder, TextEncoder
from .fusion import CrossAttentionFusion, EncodedPair
from .layers import expect_grid, expect_pair, mlp

__all__ = [
    "EvidenceAttentionFusion",
    "WordEvidenceFusion",
    "MATCHER_DEFAULTS",
    "build_matcher",
]


class EvidenceAttentionFusion(CrossAttentionFusion):
    """Lesson 07's cross-attention + the evidence of each match.

    The same attention over the grid (CrossAttentionFusion.attend), with two changes:
    keys are a small MLP of [features, x, y] (B, hw, d) instead of one linear map, and
    each head also reports evidence = max over positions of its raw score q.k / sqrt(d)
    (B, heads): how well the best position fits, which softmax weights alone do not say.
    MLP([text, attended heads, evidence]) -> (B, hidden_dim).
    """

    def key_layer(self, in_dim: int, key_dim: int) -> nn.Module:
        return nn.Sequential(mlp(in_dim, key_dim), nn.Linear(key_dim, key_dim))

    def fused_dim(self) -> int:
        """[text, attended heads, evidence]: Dt + heads * (C + 2) + heads."""
        return self.text_dim + self.heads * (self.grid_channels + 2) + self.heads

    def sentence_features(self, image, text, grid):
        """[text, attended heads, evidence]: (B, fused_dim())."""
        expect_pair(image, text, self.image_dim, self.text_dim)
        expect_grid(grid, image.shape[0], self.grid_channels)
        attended, scores = self.attend(text, grid)
        evidence = scores.amax(dim=2)  # (B, heads): how well the best position fits each query
        return torch.cat([text, attended, evidence], dim=1)

    def forward(self, image, text, grid=None):
        return self.mlp(self.sentence_features(image, text, grid))


class WordEvidenceFusion(EvidenceAttentionFusion):
    """EvidenceAttentionFusion + how strongly the image supports EACH word.

    words (B, T, E): the caption's word embeddings; mask (B, T): True at real tokens.
    For word t and each of `word_heads` heads: evidence[t] = (W_q e_t) . (W_k image) / sqrt(d)
    + b(e_t), a bilinear score between the word and the image features plus a learned
    per-word offset (so "a" or "is" can always be satisfied) -> (B, T, word_heads), zero
    at padding, padded to `max_words` positions and flattened, in caption order.
    MLP([sentence features, word evidence]) -> (B, hidden_dim).
    """

    def __init__(
        self,
        image_dim: int,
        text_dim: int,
        grid_channels: int,
        hidden_dim: int = 64,
        heads: int = 2,
        key_dim: int = 32,
        word_dim: int = 32,
        word_heads: int = 2,
        max_words: int = 12,
    ):
        super().__init__(image_dim, text_dim, grid_channels, hidden_dim, heads, key_dim)
        self.word_heads, self.max_words = word_heads, max_words
        self.word_queries = nn.Linear(word_dim, word_heads * key_dim)
        self.word_keys = nn.Linear(image_dim, word_heads * key_dim)
        self.word_offset = nn.Linear(word_dim, word_heads)
        # a wider MLP replaces the sentence-level one; made last, as when the recorded results were
        # trained, so that a seed still draws the same initial weights
        width = self.fused_dim() + word_heads * max_words
        self.mlp = nn.Sequential(mlp(width, hidden_dim), mlp(hidden_dim, hidden_dim))

    def fuse(self, pair: EncodedPair) -> torch.Tensor:
        return self(pair.image, pair.text, pair.grid, words=pair.words, mask=pair.mask)

    def word_evidence(self, image, words, mask):
        """(B, T, word_heads): how strongly the image supports each word; 0 at padding."""
        B, T, _ = words.shape
        keys = self.word_keys(image).view(B, 1, self.word_heads, self.key_dim)  # (B, 1, m, d)
        queries = self.word_queries(words).view(B, T, self.word_heads, self.key_dim)  # (B, T, m, d)
        evidence = (queries * keys).sum(dim=3) / self.key_dim**0.5 + self.word_offset(words)
        return evidence.masked_fill(~mask[:, :, None], 0.0)

    def forward(self, image, text, grid=None, words=None, mask=None):
        if words is None or mask is None:
            raise ValueError(
                "WordEvidenceFusion needs words (B, T, E) and mask (B, T): use it inside a FusionClassifier."
            )
        T = words.shape[1]
        if T > self.max_words:
            raise ValueError(
                f"captions have {T} tokens, but this model reads at most max_words={self.max_words}."
            )
        evidence = self.word_evidence(image, words, mask)
        # pad to max_words positions: pad by max_words, then keep the first max_words -- both
        # constants, so a traced or ONNX-exported model works for any caption length <= max_words
        evidence = nn.functional.pad(evidence, (0, 0, 0, self.max_words))[:, : self.max_words].flatten(1)
        return self.mlp(torch.cat([self.sentence_features(image, text, grid), evidence], dim=1))


MATCHER_DEFAULTS = {
    "n_classes": 2,
    "vocab_size": 100,
    "in_channels": 3,
    "image_channels": [32, 64, 64],
    "pools": 2,
    "image_dim": 64,
    "embed_dim": 32,
    "text_dim": 64,
    "hidden_dim": 64,
    "heads": 2,
    "word_heads": 2,
    "max_words": 12,
}


def build_matcher(name: str = "matcher", **config) -> FusionClassifier:
    """Lesson 08's matcher (CNN with batch norm + LSTM + word evidence); `.config` rebuilds it.

    config (all optional, MATCHER_DEFAULTS lists them): n_classes, vocab_size, in_channels,
    image_channels (conv widths), pools (how many of them halve the resolution), image_dim,
    embed_dim, text_dim, hidden_dim, heads (sentence-level attention heads), word_heads,
    max_words (the longest caption, in tokens).
    """
    if name != "matcher":
        raise ValueError(f"build_matcher builds the model 'matcher', not {name!r}.")
    c = resolve_settings("matcher", config, MATCHER_DEFAULTS)
    c["image_channels"] = [int(w) for w in c["image_channels"]]
    image = ImageEncoder(
        c["in_channels"], tuple(c["image_channels"]), c["image_dim"], batch_norm=True, pools=c["pools"]
    )
    text = TextEncoder(c["vocab_size"], c["embed_dim"], c["text_dim"])
    fusion = WordEvidenceFusion(
        c["image_dim"], c["text_dim"], image.grid_channels, c["hidden_dim"], heads=c["heads"],
        word_dim=c["embed_dim"], word_heads=c["word_heads"], max_words=c["max_words"],
    )  # fmt: skip
    model = FusionClassifier(image, text, fusion, c["n_classes"])
    model.config = {"name": "matcher", **c}
    return model
