"""Contrastive alignment (lesson 11): two encoders that meet only in a dot product, and the InfoNCE loss.

    model = build_model("clip", vocab_size=len(vocab))
    z_image = embed_images(model, images)                  # (B, D), unit length
    z_text = embed_texts(model, tokens, lengths)           # (B, D), unit length
    loss = info_nce(z_image, z_text, model.fusion.temperature, positive=same_meaning)

A dual encoder is lesson 07's `FusionClassifier` with `DotProductFusion` as its fusion:
the image and the caption are encoded *separately*, projected into one space, normalised,
and meet only in their cosine similarity. That is CLIP's architecture (Radford et al.,
2021, "Learning Transferable Visual Models From Natural Language Supervision", Fig. 3):
embeddings can be computed once per image and once per caption, so retrieval over N
images and N captions costs 2N encoder passes and one N x N matrix product -- a
cross-encoder (lesson 08's matcher) needs N^2 forward passes.

The temperature is learned in log space and clamped as in CLIP: logit_scale = log(1 / tau),
initialised to log(1 / 0.07) and clipped so that the logits are never scaled by more than 100.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .classifier import FusionClassifier, resolve_settings
from .encoders import ImageEncoder, TextEncoder
from .fusion import Fusion
from .layers import expect_pair

__all__ = ["info_nce", "DotProductFusion", "CLIP_DEFAULTS", "build_dual_encoder", "embed_images", "embed_texts",
           "similarity_matrix"]  # fmt: skip

MAX_LOGIT_SCALE = 100.0  # CLIP: "clipped to prevent scaling the logits by more than 100"


def _expect_embeddings(name: str, value) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.dim() != 2 or not value.is_floating_point():
        shape = tuple(value.shape) if hasattr(value, "shape") else type(value).__name__
        raise ValueError(f"{name} must be a float tensor (B, D), one embedding per row, but got {shape}.")
    return value


def info_nce(image_emb, text_emb, temperature, positive=None, hard_negatives=None) -> torch.Tensor:
    """CLIP's symmetric InfoNCE loss: a 0-dim tensor, differentiable in every argument.

    image_emb (B, D), text_emb (B, D): row i of each is one true pair; both are
    L2-normalised here. logits = image . text^T / temperature (B, B); the loss is the mean
    of the image->text cross-entropy (each row, its diagonal entry as the target) and the
    text->image one (each column).
    temperature: a positive number or 0-dim tensor (a learned one gets its gradient).
    positive: (B, B) bool, True where caption j is also true of image i; its diagonal must
    be True. The off-diagonal positives (false negatives: the same fact twice in a batch)
    are removed from both directions' denominators -- never the diagonal, the target itself.
    hard_negatives: (H, D) extra caption embeddings, false for every image (NegCLIP's
    swapped and reversed captions); they join the image->text denominators only.
    """
    image_emb, text_emb = _expect_embeddings("image_emb", image_emb), _expect_embeddings("text_emb", text_emb)
    if image_emb.shape != text_emb.shape:
        raise ValueError(
            f"image_emb and text_emb must have the same shape (B, D) -- row i of each is one pair -- but have "
            f"{tuple(image_emb.shape)} and {tuple(text_emb.shape)}."
        )
    if not isinstance(temperature, torch.Tensor):
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise TypeError(
                f"temperature must be a positive number or a 0-dim tensor, but got {temperature!r}."
            )
        temperature = torch.tensor(float(temperature), dtype=image_emb.dtype, device=image_emb.device)
    if temperature.dim() != 0 or not bool(temperature > 0):
        raise ValueError(f"temperature must be one positive number, but got {temperature}.")
    B = image_emb.shape[0]
    image_emb, text_emb = F.normalize(image_emb, dim=-1), F.normalize(text_emb, dim=-1)
    logits = image_emb @ text_emb.T / temperature  # (B, B): logits[i, j] = cos(image i, caption j) / tau
    if positive is not None:
        positive = torch.as_tensor(positive, device=logits.device)
        if positive.shape != (B, B) or positive.dtype != torch.bool:
            raise ValueError(
                f"positive must be a bool tensor of shape ({B}, {B}), but got {positive.dtype} "
                f"{tuple(positive.shape)}."
            )
        if not bool(positive.diagonal().all()):
            raise ValueError("positive must be True on its diagonal: caption i is always true of image i.")
        false_negative = positive & ~torch.eye(B, dtype=torch.bool, device=logits.device)
        logits = logits.masked_fill(false_negative, float("-inf"))  # out of both denominators
    image_logits = logits  # (B, B [+ H]): each image against every candidate caption
    if hard_negatives is not None:
        hard = F.normalize(_expect_embeddings("hard_negatives", hard_negatives), dim=-1)
        if hard.shape[1] != image_emb.shape[1]:
            raise ValueError(
                f"hard_negatives must have {image_emb.shape[1]} columns like the embeddings, but have {hard.shape[1]}."
            )
        image_logits = torch.cat([logits, image_emb @ hard.T / temperature], dim=1)
    targets = torch.arange(B, device=logits.device)
    return (F.cross_entropy(image_logits, targets) + F.cross_entropy(logits.T, targets)) / 2


class DotProductFusion(Fusion):
    """Two projections into one space, unit length, and a scaled cosine: how CLIP's two encoders meet.

    forward(image (B, Di), text (B, Dt)) -> (B, 1): logit_scale * cos(project(image), project(text)),
    the score of each pair -- the diagonal of `similarity_matrix`. embed_image / embed_text
    give the (B, joint_dim) unit vectors themselves. temperature: the initial tau (>= 0.01
    when learned); learn_temperature=False keeps it fixed (a buffer, not a parameter).
    """

    def __init__(self, image_dim: int, text_dim: int, joint_dim: int = 32, temperature: float = 0.07,
                 learn_temperature: bool = True):  # fmt: skip
        super().__init__()
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ValueError(f"temperature must be a positive number, but got {temperature!r}.")
        if learn_temperature and temperature < 1 / MAX_LOGIT_SCALE:
            raise ValueError(
                f"a learned temperature starts at {1 / MAX_LOGIT_SCALE} or above (CLIP's clamp), but got {temperature}; "
                "pass learn_temperature=False to fix a lower one."
            )
        self.image_dim, self.text_dim, self.out_dim = image_dim, text_dim, 1
        self.image_projection = nn.Linear(image_dim, joint_dim)
        self.text_projection = nn.Linear(text_dim, joint_dim)
        log_scale = torch.tensor(math.log(1 / temperature))
        if learn_temperature:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    @property
    def logit_scale(self) -> torch.Tensor:
        """1 / tau; a learned one is clamped to at most 100 (once the clamp binds, no gradient passes)."""
        if isinstance(self.log_scale, nn.Parameter):
            return self.log_scale.clamp(max=math.log(MAX_LOGIT_SCALE)).exp()
        return self.log_scale.exp()

    @property
    def temperature(self) -> torch.Tensor:
        """tau = 1 / logit_scale, a 0-dim tensor that carries the gradient to log_scale."""
        return 1 / self.logit_scale

    def embed_image(self, image: torch.Tensor) -> torch.Tensor:
        """image features (B, Di) -> unit vectors (B, joint_dim)."""
        return F.normalize(self.image_projection(image), dim=-1)

    def embed_text(self, text: torch.Tensor) -> torch.Tensor:
        """text features (B, Dt) -> unit vectors (B, joint_dim)."""
        return F.normalize(self.text_projection(text), dim=-1)

    def forward(self, image, text, grid=None):
        expect_pair(image, text, self.image_dim, self.text_dim)
        cosine = (self.embed_image(image) * self.embed_text(text)).sum(dim=-1, keepdim=True)  # (B, 1)
        return self.logit_scale * cosine

    def make_head(self, n_classes: int) -> nn.Module:
        """Match / mismatch scores from the one pair score: an affine map, trained or calibrated later."""
        return nn.Linear(1, n_classes)


CLIP_DEFAULTS = {
    "n_classes": 2,
    "vocab_size": 100,
    "in_channels": 3,
    "image_channels": [16, 32],
    "image_dim": 64,
    "embed_dim": 32,
    "text_dim": 64,
    "joint_dim": 32,
    "temperature": 0.07,
    "learn_temperature": True,
}


def build_dual_encoder(name: str = "clip", **config) -> FusionClassifier:
    """Lesson 11's dual encoder ("clip"): lesson 08's batch-norm CNN and lesson 05's LSTM, meeting in DotProductFusion.

    config (all optional, CLIP_DEFAULTS lists them): n_classes (of the match / mismatch
    head), vocab_size, in_channels, image_channels, image_dim, embed_dim (word vectors),
    text_dim (the LSTM's state), joint_dim (the shared space), temperature (initial tau),
    learn_temperature.
    """
    if name != "clip":
        raise ValueError(f"build_dual_encoder builds the model 'clip', not {name!r}.")
    c = resolve_settings("dual encoder 'clip'", config, CLIP_DEFAULTS)
    c["image_channels"] = [int(w) for w in c["image_channels"]]
    image = ImageEncoder(c["in_channels"], tuple(c["image_channels"]), c["image_dim"], batch_norm=True)
    text = TextEncoder(c["vocab_size"], c["embed_dim"], c["text_dim"])
    fusion = DotProductFusion(c["image_dim"], c["text_dim"], c["joint_dim"], float(c["temperature"]),
                              bool(c["learn_temperature"]))  # fmt: skip
    model = FusionClassifier(image, text, fusion, c["n_classes"])
    model.config = {"name": "clip", **c}
    return model


def _expect_dual_encoder(model) -> DotProductFusion:
    fusion = getattr(model, "fusion", None)
    if not isinstance(fusion, DotProductFusion):
        raise TypeError(
            f"model must be a dual encoder (build_model('clip', ...)), whose fusion is a DotProductFusion, but got "
            f"{type(model).__name__} with fusion {type(fusion).__name__}."
        )
    return fusion


def embed_images(model: FusionClassifier, images: torch.Tensor) -> torch.Tensor:
    """images (B, C, H, W) -> unit vectors (B, joint_dim): the image encoder, then the image projection."""
    return _expect_dual_encoder(model).embed_image(model.image_encoder(images))


def embed_texts(model: FusionClassifier, tokens: torch.Tensor, lengths) -> torch.Tensor:
    """tokens (B, T), lengths (B,) -> unit vectors (B, joint_dim): the LSTM, then the text projection."""
    return _expect_dual_encoder(model).embed_text(model.text_encoder(tokens, lengths))


def similarity_matrix(model: FusionClassifier, images, tokens, lengths) -> torch.Tensor:
    """(N_images, N_captions) scaled cosines logit_scale * z_image . z_text^T: every image against every caption."""
    fusion = _expect_dual_encoder(model)
    return fusion.logit_scale * embed_images(model, images) @ embed_texts(model, tokens, lengths).T
