"""The model zoo (lessons 07-08): every model of the course, built by name.

    model = build_model("early", vocab_size=len(vocab), n_classes=10, in_channels=1)
    logits = model(images, tokens, lengths)        # (B, C, H, W), (B, T), (B,) -> (B, n_classes)

Each is a `FusionClassifier` (mmcourse.models.classifier): image encoder + text encoder +
a fusion module (mmcourse.models.fusion) + a classifier. `REGISTRY` maps each name to
its description and the function that builds it -- lesson 07's fusions here, lesson 08's
"matcher" in mmcourse.models.matching, lesson 10's "transformer" in mmcourse.models.transformer, lesson 11's dual encoder "clip" in
mmcourse.models.contrastive; `model.config` holds everything needed to build
it again (plain numbers and strings, so a checkpoint can store it next to the weights).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import NamedTuple

from .classifier import FusionClassifier, resolve_settings
from .contrastive import build_dual_encoder
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
from .matching import build_matcher
from .transformer import build_transformer

__all__ = [
    "ModelEntry",
    "REGISTRY",
    "MODELS",
    "build_model",
    "build_fusion_classifier",
    "model_names",
    "expect_model_name",
]


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


def build_fusion_classifier(name: str, **config) -> FusionClassifier:
    """A lesson-07 model: the small CNN, an LSTM (or, for names ending in -bow, a bag of words), a fusion.

    config (all optional; DEFAULTS lists the values): n_classes; vocab_size (len(vocab));
    in_channels (image channels: 3 for shapes, 1 for digits); image_channels (the CNN's
    conv widths); image_dim, text_dim (encoder output sizes); embed_dim; hidden_dim (the
    fusion's width); combine ("logits", "probs" or "learned", late fusion only); heads
    (attention only).
    """
    c = resolve_settings(f"model {name!r}", config, DEFAULTS)
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


class ModelEntry(NamedTuple):
    """One model of the zoo: what it is, and build(name, **config) -> FusionClassifier."""

    description: str
    build: Callable[..., FusionClassifier]


REGISTRY: dict[str, ModelEntry] = {}
"""Every name build_model knows. Names ending in -bow read the caption as a bag of words
(no word order) instead of with an LSTM."""
for _name, (_, _text) in _FUSIONS.items():
    if _name == "image-only":
        REGISTRY[_name] = ModelEntry(_text, build_fusion_classifier)
        continue
    REGISTRY[_name] = ModelEntry(_text + " (LSTM text encoder)", build_fusion_classifier)
    REGISTRY[f"{_name}-bow"] = ModelEntry(_text + " (bag-of-words text encoder)", build_fusion_classifier)
REGISTRY["matcher"] = ModelEntry(
    "lesson 08's matcher: batch-norm CNN + LSTM + per-word evidence (mmcourse.models.matching)", build_matcher
)
REGISTRY["transformer"] = ModelEntry(
    "lesson 10's single-stream transformer: image patches and words in one sequence (mmcourse.models.transformer)",
    build_transformer,
)
REGISTRY["clip"] = ModelEntry(
    "lesson 11's dual encoder: CNN and LSTM embedded apart, meeting in a scaled cosine (mmcourse.models.contrastive)",
    build_dual_encoder,
)

MODELS: dict[str, str] = {name: entry.description for name, entry in REGISTRY.items()}
"""Every name build_model knows -> a one-line description."""


def model_names() -> list[str]:
    """The names build_model accepts, in the order of the lessons."""
    return list(REGISTRY)


def expect_model_name(name) -> str:
    """`name` if the zoo knows it; else ValueError with the closest names and the valid ones."""
    if name not in REGISTRY:
        close = difflib.get_close_matches(str(name), REGISTRY, n=2, cutoff=0.5)
        suggestion = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown model {name!r}.{suggestion} Valid names: {', '.join(REGISTRY)}.")
    return name


def build_model(name: str, **config) -> FusionClassifier:
    """A FusionClassifier by registry name (see MODELS), with its encoders; `.config` rebuilds it.

    config: the settings of that model's builder (build_fusion_classifier's DEFAULTS for
    lesson 07's models, MATCHER_DEFAULTS for "matcher"); unknown settings raise ValueError.
    """
    return REGISTRY[expect_model_name(name)].build(name, **config)
