"""Checks for lesson 07 (fusion strategies): `early_fusion`, `late_fusion`, `gated_fusion`.

The learner's functions receive small PyTorch modules (`mlp`, `image_head`, ...) from
the checker. These are *spies*: they record what they are called with, so a hint can
say exactly what went in ("mlp received shape (6, 4): the two batches stacked on top of
each other") instead of only that the result is wrong.
"""

from __future__ import annotations

import torch
from torch import nn

from .core import call_learner, exercise, expect_callable, fail

LESSON = "07_fusion_strategies"


def _close(a, b) -> bool:
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b, atol=1e-5)


def _as_tensor(result, what: str, case: str) -> torch.Tensor:
    if result is None:
        fail(f"{what} is None on {case} -- did you forget `return`?")
    if not isinstance(result, torch.Tensor):
        fail(f"{what} should be a torch tensor, but is {type(result).__name__} on {case}.")
    return result.detach()


class _Spy(nn.Module):
    """A linear layer that records its inputs; `inspect(x)` may stop the check with a hint first."""

    def __init__(self, in_dim: int, out_dim: int, seed: int, inspect=None):
        super().__init__()
        torch.manual_seed(seed)
        self.linear = nn.Linear(in_dim, out_dim)
        self.inputs, self.inspect = [], inspect

    def forward(self, x):
        if not isinstance(x, torch.Tensor):
            fail(f"a module was called with a {type(x).__name__}; pass it a tensor.")
        self.inputs.append(x.detach().clone())
        if self.inspect is not None:
            self.inspect(x)
        if x.dim() != 2 or x.shape[1] != self.linear.in_features:
            fail(
                f"a layer that expects ({{B}}, {self.linear.in_features}) inputs received shape {tuple(x.shape)}."
            )
        return self.linear(x)


def _features(seed: int, B: int, Di: int, Dt: int):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(B, Di, generator=generator), torch.randn(B, Dt, generator=generator)


_CASES = [  # (description, B, Di, Dt): equal sizes first, so a batch-axis mistake runs and is seen
    ("a batch of 3 pairs with 4 image and 4 text features", 3, 4, 4),
    ("a batch of 5 pairs with 6 image and 3 text features", 5, 6, 3),
    ("a single pair (B = 1) with 2 image and 7 text features", 1, 2, 7),
]


# --- early fusion --------------------------------------------------------------------


def _early_inspector(image, text, case):
    B, Di, Dt = image.shape[0], image.shape[1], text.shape[1]

    def inspect(x):
        if x.dim() == 3:
            fail(
                f"on {case}, mlp received shape {tuple(x.shape)}: a stack with a new axis. "
                "Concatenate instead, torch.cat([image_features, text_features], dim=1), so each "
                "row holds one pair's Di + Dt features."
            )
        if x.dim() == 2 and x.shape[0] == 2 * B and B > 1:
            fail(
                f"on {case}, mlp received shape {tuple(x.shape)} -- twice as many rows as pairs: you "
                "concatenated along the BATCH axis (dim=0), which stacks the text vectors under the "
                "image vectors as if they were extra samples. Concatenate the features of each pair: dim=1."
            )
        if x.dim() == 2 and x.shape == (B, Di) and Di == Dt:
            if _close(x, image + text) or _close(x, (image + text) / 2):
                fail(
                    f"on {case}, mlp received the sum (or mean) of the two feature vectors. Early fusion "
                    "CONCATENATES them (B, Di + Dt), so the network can tell image features from text ones."
                )
        if x.shape == (B, Di + Dt) and _close(x, torch.cat([text, image], dim=1)):
            fail(
                f"on {case}, mlp received [text, image]: the text features first. Put the image features "
                "first -- torch.cat([image_features, text_features], dim=1) -- the mlp's weights expect that order."
            )

    return inspect


@exercise("early_fusion", lesson=LESSON, description="concatenate each pair's features (dim=1), then the MLP")
def check_early_fusion(answer):
    """early_fusion(image_features (B, Di), text_features (B, Dt), mlp) -> mlp(concat) (B, H)."""
    expect_callable(answer, "a function early_fusion(image_features, text_features, mlp)")
    for seed, (case, B, Di, Dt) in enumerate(_CASES):
        image, text = _features(seed, B, Di, Dt)
        mlp = _Spy(Di + Dt, 5, seed, _early_inspector(image, text, case))
        got = _as_tensor(call_learner(answer, case, image, text, mlp), "the result", case)
        if not mlp.inputs:
            if got.shape == (B, Di + Dt):
                fail(
                    f"on {case} you returned the concatenation itself; pass it through `mlp` and return that."
                )
            fail(
                f"on {case} your function never called `mlp`; early fusion ends with mlp(concatenated features)."
            )
        want = mlp.linear(torch.cat([image, text], dim=1)).detach()
        if got.shape != want.shape:
            fail(
                f"on {case} you returned shape {tuple(got.shape)}, but should return {tuple(want.shape)} (B, H)."
            )
        if not torch.allclose(got, want, atol=1e-5):
            fail(f"on {case} the result is not mlp(torch.cat([image_features, text_features], dim=1)).")
    return f"correct on {len(_CASES)} cases, including equal feature sizes (where dim=0 would also run) and B = 1."


# --- late fusion ---------------------------------------------------------------------


def _late_inspector(image, text, case, which):
    B = image.shape[0]

    def inspect(x):
        own, other = (image, text) if which == "image" else (text, image)
        if x.dim() == 2 and x.shape[0] == 2 * B and B > 1:
            fail(
                f"on {case}, {which}_head received {tuple(x.shape)}: both batches stacked along the batch "
                f"axis. Give each head only its own modality: {which}_head({which}_features)."
            )
        if _close(x, own):
            return
        if _close(x, other):
            fail(
                f"on {case}, {which}_head received the {'text' if which == 'image' else 'image'} features: "
                "the heads are swapped. Each modality has its own classifier."
            )
        if x.shape == image.shape and (_close(x, (image + text) / 2) or _close(x, image + text)):
            fail(
                f"on {case}, {which}_head received the average (or sum) of the two FEATURE vectors: that "
                "mixes the modalities before classifying (a kind of early fusion). Late fusion classifies "
                "each modality on its own and averages the PREDICTIONS: "
                "(image_head(image_features) + text_head(text_features)) / 2."
            )
        fail(
            f"on {case}, {which}_head received something other than the {which} features ({tuple(x.shape)})."
        )

    return inspect


@exercise("late_fusion", lesson=LESSON, description="average the two unimodal classifiers' logits")
def check_late_fusion(answer):
    """late_fusion(image_features, text_features, image_head, text_head) -> mean of the two heads' logits (B, C)."""
    expect_callable(answer, "a function late_fusion(image_features, text_features, image_head, text_head)")
    for seed, (case, B, Di, Dt) in enumerate(_CASES):
        image, text = _features(seed, B, Di, Dt)
        image_head = _Spy(Di, 4, 10 + seed, _late_inspector(image, text, case, "image"))
        text_head = _Spy(Dt, 4, 20 + seed, _late_inspector(image, text, case, "text"))
        got = _as_tensor(call_learner(answer, case, image, text, image_head, text_head), "the result", case)
        s_image, s_text = image_head.linear(image).detach(), text_head.linear(text).detach()
        want = (s_image + s_text) / 2
        if not image_head.inputs or not text_head.inputs:
            fail(
                f"on {case} only one head was called; late fusion asks BOTH classifiers and averages "
                "their logits."
            )
        if got.shape != want.shape:
            fail(
                f"on {case} you returned shape {tuple(got.shape)}, but should return {tuple(want.shape)}: "
                "one row of C class scores per pair (average the two (B, C) logits elementwise)."
            )
        if _close(got, s_image + s_text):
            fail(f"on {case} you returned the SUM of the logits; the average divides by 2.")
        probs = (s_image.softmax(dim=1) + s_text.softmax(dim=1)) / 2
        if _close(got, probs) or _close(got, probs.log()):
            fail(
                f"on {case} you averaged the probabilities (softmax of each head). That is a valid late "
                "fusion too (LateFusion(combine='probs')), but this exercise asks for the average of the LOGITS."
            )
        if _close(got, s_image) or _close(got, s_text):
            fail(f"on {case} you returned one head's logits; average the two.")
        if not torch.allclose(got, want, atol=1e-5):
            fail(f"on {case} the result is not (image_head(image_features) + text_head(text_features)) / 2.")
    return f"correct on {len(_CASES)} cases: each head sees only its modality, and the logits are averaged."


# --- gated fusion --------------------------------------------------------------------


def _gate_inspector(image, text, case):
    B, D = image.shape

    def inspect(x):
        if x.dim() == 2 and x.shape == (B, D):
            fail(
                f"on {case}, gate_layer received only one modality {tuple(x.shape)}. The gate decides "
                "between the two, so it must see both: gate_layer(torch.cat([image_h, text_h], dim=1))."
            )
        if x.dim() == 2 and x.shape[0] == 2 * B and B > 1:
            fail(
                f"on {case}, gate_layer received {tuple(x.shape)}: the two batches stacked along the batch "
                "axis (dim=0). Concatenate each pair's vectors: dim=1."
            )
        if x.dim() == 2 and x.shape[0] == 1 and B > 1:
            fail(
                f"on {case}, gate_layer received a single row {tuple(x.shape)} -- an average over the batch? "
                "Gates must be PER SAMPLE: feed it every pair, (B, 2D)."
            )

    return inspect


_GATE_CASES = [
    ("a batch of 4 pairs of 3-dimensional vectors", 4, 3),
    ("a batch of 6 pairs of 5-dimensional vectors", 6, 5),
    ("a single pair (B = 1) of 2-dimensional vectors", 1, 2),
]


def _check_gates(gates, want, B, case):
    if gates.dim() == 1 or (gates.dim() == 2 and gates.shape[0] == 1 and B > 1):
        fail(
            f"on {case} the gates have shape {tuple(gates.shape)}: one pair of weights for the whole "
            f"batch. Adaptive fusion weighs each SAMPLE: gates must be ({B}, 2), one row per pair."
        )
    if gates.shape != (B, 2):
        fail(
            f"on {case} the gates have shape {tuple(gates.shape)}, but should be ({B}, 2): (image, text) per pair."
        )
    rows = gates.sum(dim=1)
    if not torch.allclose(rows, torch.ones(B), atol=1e-5):
        columns = gates.sum(dim=0)
        where = (
            " Their COLUMNS sum to 1: you took the softmax over dim=0, the batch, which makes samples "
            "compete with each other."
            if torch.allclose(columns, torch.ones(2), atol=1e-5)
            else ""
        )
        fail(
            f"on {case} the gates of a sample do not sum to 1 (row sums {[round(v, 3) for v in rows.tolist()]})."
            f"{where} Use torch.softmax(..., dim=1): the two modalities share a weight of 1 per sample."
        )
    if B > 1 and torch.allclose(gates, gates[:1].expand_as(gates), atol=1e-6):
        fail(
            f"on {case} every sample got the same gates {[round(v, 3) for v in gates[0].tolist()]}: they are "
            "not per-sample. Compute them from each pair's own features."
        )
    if _close(gates, want.flip(1)):
        fail(f"on {case} the gates are in the order (text, image); return them as (image, text).")
    if not _close(gates, want):
        fail(f"on {case} the gates are not softmax(gate_layer(torch.cat([image_h, text_h], dim=1)), dim=1).")


@exercise("gated_fusion", lesson=LESSON, description="per-sample softmax gates weigh the two modalities")
def check_gated_fusion(answer):
    """gated_fusion(image_h (B, D), text_h (B, D), gate_layer) -> (fused (B, 2D), gates (B, 2))."""
    expect_callable(answer, "a function gated_fusion(image_h, text_h, gate_layer)")
    for seed, (case, B, D) in enumerate(_GATE_CASES):
        image, text = _features(30 + seed, B, D, D)
        gate_layer = _Spy(2 * D, 2, 30 + seed, _gate_inspector(image, text, case))
        with torch.no_grad():  # larger weights, so the gates differ clearly from sample to sample
            gate_layer.linear.weight.mul_(3)
        result = call_learner(answer, case, image, text, gate_layer)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            fail(f"on {case} return two things, (fused, gates); you returned {type(result).__name__}.")
        fused, gates = (_as_tensor(r, what, case) for r, what in zip(result, ("fused", "gates")))
        if not gate_layer.inputs:
            fail(f"on {case} gate_layer was never called; the gates come from gate_layer(both modalities).")
        want_gates = torch.softmax(gate_layer.linear(torch.cat([image, text], dim=1)), dim=1).detach()
        _check_gates(gates, want_gates, B, case)
        g_image, g_text = want_gates[:, :1], want_gates[:, 1:]
        want = torch.cat([g_image * image, g_text * text], dim=1)
        if fused.shape == (B, D) and _close(fused, g_image * image + g_text * text):
            fail(
                f"on {case} you ADDED the weighted vectors (B, D). Concatenate them instead (B, 2D), so the "
                "layers after the gate can still tell the modalities apart."
            )
        if fused.shape != want.shape:
            fail(
                f"on {case} fused has shape {tuple(fused.shape)}, but should be {tuple(want.shape)} (B, 2D)."
            )
        if _close(fused, torch.cat([g_text * image, g_image * text], dim=1)):
            fail(f"on {case} the image vector is weighted by the TEXT gate: use gates[:, 0] for the image.")
        if not _close(fused, want):
            fail(f"on {case} fused is not torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1).")
    return f"correct on {len(_GATE_CASES)} cases: per-sample gates that sum to 1, and the weighted vectors concatenated."
