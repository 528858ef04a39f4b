"""`FusionClassifier` (lesson 07): image encoder + text encoder + a fusion module + a classifier.

    model = FusionClassifier(ImageEncoder(), TextEncoder(vocab_size=40), EarlyFusion(64, 64), n_classes=2)
    logits = model(images, tokens, lengths)        # (B, C, H, W), (B, T), (B,) -> (B, n_classes)

Every model of the zoo (mmcourse.models.zoo), lesson 08's matcher included, is one of
these; they differ only in their parts. The forward pass is the same for all of them:
`encode` runs both encoders once and collects everything a fusion might read in an
`EncodedPair`, the fusion's `fuse` takes what it needs, and the head scores the classes.
"""

from __future__ import annotations

import torch
from torch import nn

from .encoders import length_mask
from .fusion import EncodedPair, Fusion

__all__ = ["FusionClassifier", "resolve_settings"]


class FusionClassifier(nn.Module):
    """image encoder + text encoder + fusion + classifier.

    forward(images (B, C, H, W), tokens (B, T), lengths (B,)) -> logits (B, n_classes);
    forward(images (N, C, H, W), tokens, lengths, image_index (B,)) when pairs share images.
    `encode(...)` returns the EncodedPair, `features(...)` the fused vector (B, fusion.out_dim).
    The classifier is whatever the fusion asks for (`fusion.make_head(n_classes)`): a
    Linear layer, or nothing for late fusion, which already returns class scores.
    `config` holds what build_model needs to build the same model again.
    """

    def __init__(self, image_encoder: nn.Module, text_encoder: nn.Module, fusion: Fusion, n_classes: int):
        super().__init__()
        if not isinstance(fusion, Fusion):
            raise TypeError(
                f"fusion must be a mmcourse.models.Fusion (e.g. EarlyFusion), but got {type(fusion).__name__}."
            )
        self.image_encoder, self.text_encoder, self.fusion = image_encoder, text_encoder, fusion
        self.classifier = fusion.make_head(n_classes)
        self.n_classes = n_classes
        self.config: dict = {}

    def encode(self, images, tokens, lengths, image_index=None) -> EncodedPair:
        """Both encoders, run once: image features, text features, grid, word embeddings, mask.

        image_index: None (pair b shows images[b]) or (B,) int64, the row of `images` that each
        pair shows -- so a batch whose pairs share images (AttributeNegatives(share_images=True))
        runs the image encoder once per distinct image, then hands each pair its image's features.
        """
        image, grid = self.image_encoder(images, return_grid=True)  # (N, Di), (N, Di, h, w)
        if image_index is not None:
            image, grid = image[image_index], grid[image_index]  # (B, Di), (B, Di, h, w)
        text = self.text_encoder(tokens, lengths)  # (B, Dt): for the LSTM, its state at the last real word
        words = self.text_encoder.embedding(tokens)  # (B, T, E)
        mask = length_mask(torch.as_tensor(lengths, device=tokens.device), tokens.shape[1])  # (B, T)
        return EncodedPair(image, text, grid, words, mask)

    def features(self, images, tokens, lengths, image_index=None) -> torch.Tensor:
        """The fused vector (B, fusion.out_dim)."""
        return self.fusion.fuse(self.encode(images, tokens, lengths, image_index))

    def forward(self, images, tokens, lengths, image_index=None) -> torch.Tensor:
        return self.classifier(self.features(images, tokens, lengths, image_index))


def resolve_settings(model: str, given: dict, defaults: dict) -> dict:
    """A builder's settings: `defaults` with `given` on top; ValueError naming any setting the model lacks."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(
            f"unknown setting(s) {unknown} for the {model}; valid settings: {', '.join(defaults)}."
        )
    return {**defaults, **given}
