"""The fusion model zoo (lesson 07): one classifier shape, many fusion strategies, built by name.

    model = build_model("early", vocab_size=len(vocab), n_classes=10, in_channels=1)
    logits = model(images, tokens, lengths)        # (B, C, H, W), (B, T), (B,) -> (B, n_classes)

`FusionClassifier` = image encoder + text encoder + a fusion module (mmcourse.models.fusion)
+ a linear classifier. `build_model(name, **config)` makes one from the registry `MODELS`;
`model.config` holds everything needed to build it again (plain numbers and strings, so
a checkpoint can store it next to the weights).
"""

from __future__ import annotations

import difflib

import torch
from torch import nn

from .encoders import BagOfWordsEncoder, ImageEncoder, TextEncoder
from .fusion import (
    CrossAttentionFusion,
    EarlyFusion,
    FiLMFusion,
    GatedFusion,
    ImageOnly,
    LateFusion,
    ProductFusion,
    TextOnly,
)

__all__ = ["FusionClassifier", "MODELS", "build_model", "model_names"]


class FusionClassifier(nn.Module):
    """image encoder + text encoder + fusion + classifier.

    forward(images (B, C, H, W), tokens (B, T), lengths (B,)) -> logits (B, n_classes).
    The fusion module receives the image features (B, Di), the text features (B, Dt)
    and, if it asks for it (`needs_grid`), the image encoder's grid (B, C', h, w). A
    fusion that already returns class scores (`outputs_logits`, late fusion) gets no
    classifier on top. `features(images, tokens, lengths)` returns the fused vector.
    """

    def __init__(self, image_encoder: nn.Module, text_encoder: nn.Module, fusion: nn.Module, n_classes: int):
        super().__init__()
        self.image_encoder, self.text_encoder, self.fusion = image_encoder, text_encoder, fusion
        if getattr(fusion, "outputs_logits", False):
            if fusion.out_dim != n_classes:
                raise ValueError(
                    f"the fusion returns {fusion.out_dim} class scores, but n_classes is {n_classes}."
                )
            self.classifier = nn.Identity()
        else:
            self.classifier = nn.Linear(fusion.out_dim, n_classes)
        self.n_classes = n_classes
        self.config: dict = {}

    def features(self, images, tokens, lengths) -> torch.Tensor:
        """The fused vector (B, fusion.out_dim)."""
        if getattr(self.fusion, "needs_grid", False):
            image, grid = self.image_encoder(images, return_grid=True)
        else:
            image, grid = self.image_encoder(images), None
        text = self.text_encoder(tokens, lengths)
        return self.fusion(image, text, grid=grid)

    def forward(self, images, tokens, lengths) -> torch.Tensor:
        return self.classifier(self.features(images, tokens, lengths))


def _image_only(c):
    return ImageOnly(c["image_dim"], c["text_dim"], c["hidden_dim"])


def _text_only(c):
    return TextOnly(c["image_dim"], c["text_dim"], c["hidden_dim"])


def _early(c):
    return EarlyFusion(c["image_dim"], c["text_dim"], c["hidden_dim"])


def _late(c):
    return LateFusion(c["image_dim"], c["text_dim"], c["n_classes"], c["hidden_dim"], combine=c["combine"])


def _product(c):
    return ProductFusion(c["image_dim"], c["text_dim"], c["hidden_dim"], rank=c["hidden_dim"])


def _film(c):
    return FiLMFusion(c["image_dim"], c["text_dim"], c["image_channels"][-1], c["hidden_dim"])


def _attention(c):
    return CrossAttentionFusion(
        c["image_dim"], c["text_dim"], c["image_channels"][-1], c["hidden_dim"], heads=c["heads"]
    )


def _gated(c):
    return GatedFusion(c["image_dim"], c["text_dim"], c["hidden_dim"])


_FUSIONS = {
    "image-only": (_image_only, "unimodal baseline: the image alone"),
    "text-only": (_text_only, "unimodal baseline: the caption alone"),
    "early": (_early, "feature level: concat(image, text) -> MLP"),
    "late": (_late, "decision level: average of an image classifier's and a text classifier's logits"),
    "product": (_product, "model level: elementwise product of the two projections"),
    "film": (_film, "model level: the text scales and shifts the image grid's channels (FiLM)"),
    "attention": (_attention, "model level: text-to-image-grid cross-attention"),
    "gated": (_gated, "adaptive: per-sample gates weigh the two modalities"),
}

MODELS: dict[str, str] = {}
"""Every name build_model knows -> a one-line description. Names ending in -bow read the
caption as a bag of words (no word order) instead of with an LSTM."""
for _name, (_, _text) in _FUSIONS.items():
    MODELS[_name] = _text + " (LSTM text encoder)" if _name != "image-only" else _text
    if _name != "image-only":
        MODELS[f"{_name}-bow"] = _text + " (bag-of-words text encoder)"
MODELS["matcher"] = (
    "lesson 08's matcher: batch-norm CNN + LSTM + per-word evidence (mmcourse.models.matching)"
)

DEFAULTS = {
    "n_classes": 2,
    "vocab_size": 100,
    "in_channels": 3,
    "image_channels": [16, 32],
    "image_dim": 64,
    "embed_dim": 32,
    "text_dim": 64,
    "hidden_dim": 64,
    "combine": "logits",
    "heads": 2,
}


def model_names() -> list[str]:
    """The names build_model accepts, in the order of the lesson."""
    return list(MODELS)


def _expect_name(name) -> str:
    if name not in MODELS:
        close = difflib.get_close_matches(str(name), MODELS, n=2, cutoff=0.5)
        suggestion = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown model {name!r}.{suggestion} Valid names: {', '.join(MODELS)}.")
    return name


def build_model(name: str, **config) -> FusionClassifier:
    """A FusionClassifier by registry name (see MODELS), with its encoders.

    config (all optional; DEFAULTS lists the values): n_classes; vocab_size (len(vocab));
    in_channels (image channels: 3 for shapes, 1 for digits); image_channels (the CNN's
    conv widths); image_dim, text_dim (encoder output sizes); embed_dim; hidden_dim (the
    fusion's width); combine ("logits", "probs" or "learned", late fusion only); heads
    (attention only). The result's `.config` holds name + every setting used.
    """
    _expect_name(name)
    if name == "matcher":  # lesson 08's model has its own module and settings (it builds on this one)
        from .matching import build_matcher

        return build_matcher(name, **config)
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown setting(s) {unknown} for build_model; valid settings: {', '.join(DEFAULTS)}."
        )
    c = {**DEFAULTS, **config}
    c["image_channels"] = [int(w) for w in c["image_channels"]]
    base, bow = (name[: -len("-bow")], True) if name.endswith("-bow") else (name, False)
    image_encoder = ImageEncoder(c["in_channels"], tuple(c["image_channels"]), c["image_dim"])
    if bow:
        text_encoder = BagOfWordsEncoder(c["vocab_size"], c["text_dim"])
    else:
        text_encoder = TextEncoder(c["vocab_size"], c["embed_dim"], c["text_dim"])
    fusion = _FUSIONS[base][0](c)
    model = FusionClassifier(image_encoder, text_encoder, fusion, c["n_classes"])
    model.config = {"name": name, **c}
    return model
