"""Checks for lesson 07 (fusion strategies): early, late, gated, tensor fusion, and one prediction.

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


# --- tensor fusion -------------------------------------------------------------------


def _with_one(v: torch.Tensor, value: float = 1.0, first: bool = False) -> torch.Tensor:
    ones = torch.full((v.shape[0], 1), value, dtype=v.dtype)
    return torch.cat([ones, v] if first else [v, ones], dim=1)


def _outer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bi,bj->bij", a, b).flatten(1)


def _tensor_fusion(image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    return _outer(_with_one(image), _with_one(text))


_TENSOR_CASES = [  # equal sizes first, so a Hadamard product or a swapped order still runs and is seen
    ("a batch of 3 pairs with 4 image and 4 text features", 3, 4, 4),
    ("a batch of 5 pairs with 3 image and 6 text features", 5, 3, 6),
    ("a single pair (B = 1) with 2 image and 3 text features", 1, 2, 3),
]


def _tensor_fusion_hint(case, image, text, got):
    """The likely mistake behind a wrong tensor fusion."""
    B, Di = image.shape
    Dt = text.shape[1]
    want_shape = (B, (Di + 1) * (Dt + 1))
    shape = tuple(got.shape)
    if shape == (B, Di + 1, Dt + 1):
        return (
            f"on {case} you returned the outer products themselves, shape {shape}. Flatten each pair's "
            f"(Di + 1) x (Dt + 1) table into one row: shape {want_shape}, e.g. .flatten(1) or .reshape(B, -1)."
        )
    if shape in ((Di + 1, Dt + 1), (Di, Dt)):
        return (
            f"on {case} you returned shape {shape}: one table for the whole batch. A matrix product x^T y sums "
            "over the samples -- it mixes the pairs. The outer product must be taken PER PAIR: "
            "torch.einsum('bi,bj->bij', x, y), or x[:, :, None] * y[:, None, :]."
        )
    if len(shape) == 2 and shape[0] == B * B:
        return (
            f"on {case} you returned {shape[0]} rows for {B} pairs: torch.kron multiplies every row of one "
            "batch with every row of the other. Take the outer product per pair: torch.einsum('bi,bj->bij', ...)."
        )
    if shape == (B, Di * Dt):
        return (
            f"on {case} you returned shape {shape}: the products x_i y_j only. Append a 1 to each vector first, "
            "[x; 1] and [y; 1]: then the fused vector also holds every x_i, every y_j and a constant 1 -- "
            "tensor fusion contains early and late fusion's linear terms as well as the interactions."
        )
    if shape in ((B, Di + Dt), (B, Di + Dt + 1), (B, Di + Dt + 2)):
        return (
            f"on {case} you returned shape {shape}: that is a concatenation, early fusion's input. Tensor "
            "fusion MULTIPLIES: every entry of [x; 1] with every entry of [y; 1], (Di + 1)(Dt + 1) numbers."
        )
    if shape in ((B, Di), (B, Di + 1)) and Di == Dt:
        return (
            f"on {case} you returned shape {shape}: an elementwise (Hadamard) product, the interaction of "
            "ProductFusion, which pairs feature i with feature i only (and needs Di = Dt). Tensor fusion pairs "
            "EVERY image feature with EVERY text feature: the outer product."
        )
    if shape != want_shape:
        return f"on {case} you returned shape {shape}; tensor fusion of ({B}, {Di}) and ({B}, {Dt}) is {want_shape}."
    variants = {
        "the 1 at the START of each vector; put it at the END, [x; 1] and [y; 1], as the exercise says (the "
        "layout decides which weights a layer on top reads)": _outer(
            _with_one(image, first=True), _with_one(text, first=True)
        ),
        "the TEXT vector first: entry i (Dt + 1) + j must be [x; 1]_i [y; 1]_j, with the image index i "
        "outermost -- einsum('bi,bj->bij', image, text), then flatten": _outer(
            _with_one(text), _with_one(image)
        ),
        "0 appended instead of 1: then the x_i and y_j entries are all 0, and the fused vector keeps only "
        "the products x_i y_j. Append ones": _outer(_with_one(image, 0.0), _with_one(text, 0.0)),
    }
    for what, variant in variants.items():
        if variant.shape == got.shape and torch.allclose(got, variant, atol=1e-5):
            return f"on {case} you put {what}."
    if torch.allclose(got.abs(), _tensor_fusion(image, text).abs(), atol=1e-5):
        return f"on {case} some signs are wrong: tensor fusion multiplies the features as they are (no abs, no ReLU)."
    return f"on {case} the values are wrong: entry i (Dt + 1) + j of row b must be [x_b; 1]_i [y_b; 1]_j."


@exercise(
    "tensor_fusion",
    lesson=LESSON,
    description="the flattened per-pair outer product of [x_img; 1] and [x_txt; 1] (Zadeh et al., 2017)",
)
def check_tensor_fusion(answer):
    """tensor_fusion(image_features (B, Di), text_features (B, Dt)) -> (B, (Di + 1)(Dt + 1))."""
    expect_callable(answer, "a function tensor_fusion(image_features, text_features)")
    for seed, (case, B, Di, Dt) in enumerate(_TENSOR_CASES):
        image, text = _features(40 + seed, B, Di, Dt)
        got = _as_tensor(call_learner(answer, case, image, text), "the result", case)
        want = _tensor_fusion(image, text)
        if got.shape == want.shape and torch.allclose(got.float(), want, atol=1e-5):
            continue
        fail(_tensor_fusion_hint(case, image, text, got.float()))
    return f"correct on {len(_TENSOR_CASES)} cases: every [x; 1]_i times every [y; 1]_j, per pair, image index first."


# --- late fusion inside tensor fusion ----------------------------------------------------

_LATE_CASES = [  # (description, C, Di, Dt): equal sizes first, so swapped blocks still fit and are seen
    ("C = 3 classes, Di = Dt = 2", 3, 2, 2),
    ("C = 4 classes, Di = 3, Dt = 5", 4, 3, 5),
    ("C = 2 classes, Di = 1, Dt = 4", 2, 1, 4),
]


def _late_heads(seed: int, C: int, Di: int, Dt: int):
    g = torch.Generator().manual_seed(70 + seed)
    return (torch.randn(C, Di, generator=g), torch.randn(C, generator=g), torch.randn(C, Dt, generator=g),
            torch.randn(C, generator=g))  # fmt: skip


def _late_weights(A, a, Bw, b):
    C, Di = A.shape
    Dt = Bw.shape[1]
    M = torch.zeros(C, Di + 1, Dt + 1)
    M[:, :Di, Dt], M[:, Di, :Dt], M[:, Di, Dt] = A / 2, Bw / 2, (a + b) / 2
    return M.flatten(1)


def _late_weights_hint(case, A, a, Bw, b, W):
    C, Di = A.shape
    Dt = Bw.shape[1]
    n = (Di + 1) * (Dt + 1)
    if tuple(W.shape) == (n, C):
        return f"on {case} W has shape {tuple(W.shape)}: transposed. One ROW per class: ({C}, {n}), as nn.Linear stores it."
    if tuple(W.shape) != (C, n):
        return (
            f"on {case} W has shape {tuple(W.shape)}; it must be ({C}, {n}): one row per class, one column per "
            "entry of tensor_fusion's (Di + 1)(Dt + 1) numbers."
        )
    M = W.reshape(C, Di + 1, Dt + 1)
    if Di == Dt and torch.allclose(M, _late_weights(A, a, Bw, b).reshape(C, Di + 1, Dt + 1).transpose(1, 2)):
        return (
            f"on {case} the image weights sit where the text features are, and the other way round. Entry "
            "i (Dt + 1) + Dt of the fused vector is x_i * 1 (row i, last column of the table); entry "
            "Di (Dt + 1) + j is 1 * y_j (last row)."
        )
    if torch.allclose(M[:, :Di, :Dt], torch.zeros(C, Di, Dt), atol=1e-6):
        image_block, text_block, constant = M[:, :Di, Dt], M[:, Di, :Dt], M[:, Di, Dt]
        if torch.allclose(image_block, A) and torch.allclose(text_block, Bw):
            if torch.allclose(constant, a + b):
                return (
                    f"on {case} W reproduces the SUM of the two heads' logits. Late fusion averages them: "
                    "halve everything, A / 2, B / 2 and (a + b) / 2."
                )
            return f"on {case} the weights are not halved: late fusion is (f(x) + g(y)) / 2, so use A / 2 and B / 2."
        if torch.allclose(image_block, A / 2) and torch.allclose(text_block, Bw / 2):
            if torch.allclose(constant, torch.zeros(C)):
                return (
                    f"on {case} the biases are missing. tensor_fusion has no separate bias, but it has a constant "
                    "entry, 1 * 1, the last one: its weight is (a + b) / 2."
                )
            if torch.allclose(constant, a + b):
                return f"on {case} the biases are not halved: the constant entry's weight is (a + b) / 2."
            if torch.allclose(constant, a / 2) or torch.allclose(constant, b / 2):
                return f"on {case} only one head's bias is there: the constant entry's weight is (a + b) / 2."
            return f"on {case} the linear weights are right, but the constant entry's weight should be (a + b) / 2."
    if torch.allclose(M[:, 1:, 0], A / 2) and torch.allclose(M[:, 0, 1:], Bw / 2):
        return (
            f"on {case} you placed the weights as if the 1 came FIRST in each vector. tensor_fusion appends it: "
            "x_i * 1 is entry i (Dt + 1) + Dt, 1 * y_j is entry Di (Dt + 1) + j, and 1 * 1 is the last entry."
        )
    if not torch.allclose(M[:, :Di, :Dt], torch.zeros(C, Di, Dt), atol=1e-6):
        return (
            f"on {case} some weights sit on the products x_i y_j. Late fusion has no interaction term -- that is "
            "lesson 07's whole point -- so every weight on an x_i y_j entry is 0; only the x_i, the y_j and the "
            "constant entry carry weights."
        )
    return (
        f"on {case} W does not reproduce late fusion. Reshape it to ({C}, {Di + 1}, {Dt + 1}): the last column "
        "holds A / 2, the last row B / 2, the corner (a + b) / 2, and everything else is 0."
    )


@exercise(
    "late_fusion_weights",
    lesson=LESSON,
    description="derive the linear layer on tensor fusion that computes late fusion exactly",
)
def check_late_fusion_weights(answer):
    """late_fusion_weights(A (C, Di), a (C,), B (C, Dt), b (C,)) -> W (C, (Di + 1)(Dt + 1))."""
    expect_callable(answer, "a function late_fusion_weights(A, a, B, b) -> W")
    for seed, (case, C, Di, Dt) in enumerate(_LATE_CASES):
        A, a, Bw, b = _late_heads(seed, C, Di, Dt)
        W = _as_tensor(call_learner(answer, case, A, a, Bw, b), "W", case).float()
        image, text = _features(80 + seed, 6, Di, Dt)
        want = ((image @ A.T + a) + (text @ Bw.T + b)) / 2
        if W.shape == (C, (Di + 1) * (Dt + 1)) and torch.allclose(
            _tensor_fusion(image, text) @ W.T, want, atol=1e-5
        ):
            continue
        fail(_late_weights_hint(case, A, a, Bw, b, W))
    return (
        f"correct on {len(_LATE_CASES)} cases: tensor_fusion(x, y) @ W.T equals (f(x) + g(y)) / 2 -- late fusion "
        "is tensor fusion with every interaction weight set to 0."
    )


_CHANCE_BAND = (0.4, 0.6)  # the solution notebook trains the model and asserts that it lands here


@exercise(
    "early_fusion_on_shapes",
    lesson=LESSON,
    description="predict early fusion's test accuracy on shapes with the recipe that takes cross-attention past 2/3",
)
def check_early_fusion_on_shapes(answer):
    """predict_early_fusion_on_shapes() -> the expected test accuracy, a number in [0, 1]."""
    expect_callable(answer, "a function predict_early_fusion_on_shapes() -> a test accuracy in [0, 1]")
    got = call_learner(answer, "no arguments")
    if got is None:
        fail("your function returned None -- did you forget `return`?")
    try:  # a float, an int, a NumPy number or a one-element tensor; not a bool, a string or several numbers
        value = None if isinstance(got, (bool, str)) else float(got)
    except (TypeError, ValueError):
        value = None
    if value is None:
        fail(
            f"you returned {type(got).__name__} {got!r}; return the accuracy you expect as a number, e.g. 0.7."
        )
    if not 0 <= value <= 1:
        hint = " (a percentage? write 0.7 for 70 %)" if 1 < value <= 100 else ""
        fail(f"you returned {value:g}: an accuracy is a share of the test pairs, between 0 and 1{hint}.")
    low, high = _CHANCE_BAND
    if value >= 0.75:
        fail(
            f"{value:g} is cross-attention's league. Early fusion has to answer from ONE pooled image vector that "
            "was made before the caption was read, and its first layer only ADDS image and caption features (the "
            "tensor_fusion exercise): every comparison of a word with the scene must be built from sums by the "
            "ReLU layers. Cross-attention's score q.k multiplies them by construction. Which learns faster?"
        )
    if value >= high:
        fail(
            f"{value:g} is about the bag-of-words ceiling, 2/3 -- but that is the BEST a model blind to position "
            "could do, not what training reaches. To get even the attribute mismatches right, early fusion must "
            "learn to compare a colour or shape word in the caption's vector with one in the pooled image vector: a "
            "product of the two, which its additive first layer cannot form. Until it has learnt that, what can it "
            "do better than a coin?"
        )
    if value < low:
        fail(
            f"{value:g} is well below chance. A classifier that is systematically wrong on balanced labels would "
            "be right that often by flipping its answers; training on cross-entropy does not end there."
        )
    return (
        f"{value:g}: about chance. Cross-attention compares words with grid cells by a product; early fusion must "
        "discover any comparison from sums, and within this budget it has not started. The next cell measures it."
    )
