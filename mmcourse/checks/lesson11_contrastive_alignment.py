"""Checks for lesson 11 (contrastive alignment).

- `info_nce` (torch): CLIP's symmetric loss with false negatives masked. The referee is
  `mmcourse.models.info_nce`. The cases use rows of unequal length, B != D, a temperature
  that is not 1 (and a learned one, whose gradient is compared too) and a `positive` that is
  not symmetric, so that each classic mistake gives its own value: no normalisation, the
  columns normalised, one direction only, the temperature multiplied or left out, targets
  off the diagonal, the diagonal masked, one direction masked, the mask not transposed for
  text -> image, masking with 0, the batch summed.
- `recall_at_k` (NumPy): the referee is `mmcourse.metrics.recall_at_k`. A square matrix whose
  columns rank better than its rows (columns taken as queries), recalls that rise at every k
  (k off by one), a constant matrix (ties in the query's favour), captions of the same fact
  (only the diagonal used; all or a share of the positives counted), a non-square matrix.
- `zero_shot_classify` (NumPy): CLIP's prompt ensembling. The prompts have lengths 0.3 to 4
  and the classes 2, 3 and 5 prompts of unequal spread, so that the mean of the cosines (the
  class mean not re-normalised), a sum, raw prompts and the single best prompt each classify
  some images differently.
- `info_nce_at_start` and `info_nce_floor` (derivations), each checked as a formula on a grid
  of 20 points, on which every slip named below gives values of its own (tested):
  `info_nce_at_start(B, H)`, the loss when every score is equal and H hard negatives (NegCLIP)
  join the image -> text softmax only: (ln(B + H) + ln B) / 2 — not ln(B + H) (one direction,
  or the hard negatives in both), ln B (H ignored), ln(B + 2H), ln(B + H - 1), the sum, one
  softmax over 2B + H, the log of the mean count, ... `info_nce_floor(B, temperature)`, the
  smallest loss B pairs can reach with their positives at cosine 1: the negatives cannot all
  be at -1 (the lesson's bound ln(1 + (B - 1) e^(-2 / tau)), reachable only for B = 2), since
  ||z_1 + ... + z_B||^2 >= 0 keeps their mean cosine >= -1/(B - 1); the regular simplex reaches
  that, and as the loss is convex in the cosines, equal ones are best:
  ln(1 + (B - 1) e^(-B / ((B - 1) tau))). Told apart: -1/B or -2/(B - 1) for the cosine, its
  sign, orthogonal negatives, the positive's logit left out or not divided by tau, the 1
  dropped, ln(1 + x) ~ x, B negatives, a sum of binary terms, ...
"""

from __future__ import annotations

import ast
import inspect
import itertools
import math
import numbers
import textwrap

import numpy as np
import torch
import torch.nn.functional as F

from ..metrics import recall_at_k as _library_recall_at_k
from ..models.contrastive import info_nce as _library_info_nce
from .core import ExerciseNotStarted, call_learner, exercise, expect_array_result, expect_callable, fail

LESSON = "11_contrastive_alignment"


def _body_is_empty(function) -> bool:
    """True when `function`'s body is nothing but a docstring, `...` or `pass`: a stub not yet written."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):  # a builtin, a lambda inside an expression, no source
        return False
    name = getattr(function, "__name__", None)
    node = next(
        (
            n
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name
        ),
        None,
    )
    if node is None:
        return False
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str):
            body = body[1:]
    return all(
        isinstance(s, ast.Pass)
        or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and s.value.value is Ellipsis)
        for s in body
    )


def _expect_started(answer, what: str) -> None:
    expect_callable(answer, what)
    if _body_is_empty(answer):
        raise ExerciseNotStarted(
            "not written yet — the function's body is still `...`: write your code in its place, run that "
            "cell again, then run this check."
        )


# --- info_nce -------------------------------------------------------------------------------


def _info_nce_cases():
    """(description, image_emb, text_emb, temperature, positive or None, learned) in float64 NumPy.

    The fixed temperatures, 0.5 and 0.25, are exact in float32 too: the library turns a Python
    float temperature into a float32 tensor, which for 0.2, say, would move its loss by ~1e-8.
    """
    rng = np.random.default_rng(11)

    def embeddings(B, D):
        return rng.normal(size=(B, D)) * rng.uniform(0.5, 3.0, size=(B, 1))  # rows of unequal length

    lopsided = np.eye(6, dtype=bool)
    # caption 4 is true of image 1, but caption 1 is not true of image 4
    lopsided[0, 3] = lopsided[3, 0] = lopsided[1, 4] = True
    pair = np.eye(4, dtype=bool)
    pair[0, 2] = pair[2, 0] = True
    return [
        (
            "5 pairs of 3-d embeddings whose lengths range from 0.5 to 3, temperature 0.5, positive=None",
            embeddings(5, 3),
            embeddings(5, 3),
            0.5,
            None,
            False,
        ),
        (
            "6 pairs of 4-d embeddings, temperature 0.25, positive True on the diagonal and at (0, 3), (3, 0) "
            "and (1, 4) — not symmetric: caption 4 is true of image 1, but caption 1 is not true of image 4",
            embeddings(6, 4),
            embeddings(6, 4),
            0.25,
            lopsided,
            False,
        ),
        (
            "a learned temperature (a 0-dim tensor 0.1 with requires_grad=True), 4 pairs of 8-d embeddings, "
            "positive True on the diagonal and at (0, 2), (2, 0)",
            embeddings(4, 8),
            embeddings(4, 8),
            0.1,
            pair,
            True,
        ),
    ]


def info_nce_variant(image, text, temperature, positive=None, *, normalise="rows", scale="divide",
                     directions="both", combine="mean", reduction="mean", mask="both") -> float:  # fmt: skip
    """The loss with one classic mistake switched on (torch float64 in, a float out); the defaults are right.

    normalise: rows | columns | none; scale: divide | multiply | ignore (tau left out);
    directions: both | image (image -> text only) | text; combine: mean | sum (of the two
    directions); reduction: mean | sum (over the batch); mask: both | image_only | text_only |
    untransposed (text -> image masked with positive, not positive.T) | zero (masked logits set
    to 0) | ignored. (Targets off the diagonal are found by `_targets_behind`.)
    """
    image, text = torch.as_tensor(image), torch.as_tensor(text)
    B = image.shape[0]
    if normalise == "rows":
        image, text = F.normalize(image, dim=1), F.normalize(text, dim=1)
    elif normalise == "columns":
        image, text = F.normalize(image, dim=0), F.normalize(text, dim=0)
    cosine = image @ text.T
    tau = float(temperature)
    logits = {"divide": cosine / tau, "multiply": cosine * tau, "ignore": cosine}[scale]
    image_logits, text_logits = logits, logits.T
    if positive is not None and mask != "ignored":
        positive = torch.as_tensor(positive)
        blocked = positive & ~torch.eye(B, dtype=torch.bool)
        fill = 0.0 if mask == "zero" else float("-inf")
        if mask != "text_only":
            image_logits = image_logits.masked_fill(blocked, fill)
        if mask == "untransposed":
            text_logits = text_logits.masked_fill(blocked, fill)
        elif mask != "image_only":
            text_logits = text_logits.masked_fill(blocked.T, fill)
    goal = torch.arange(B)
    per_image = F.cross_entropy(image_logits, goal, reduction=reduction)
    per_text = F.cross_entropy(text_logits, goal, reduction=reduction)
    if directions == "image":
        return float(per_image)
    if directions == "text":
        return float(per_text)
    return float(per_image + per_text) / (2 if combine == "mean" else 1)


_INFO_NCE_MISTAKES = [
    (
        {"normalise": "none"},
        "your loss is that of embeddings NOT normalised: the check's rows have lengths from 0.5 to 3, so "
        "image · text is not a cosine. Make every row unit length first, F.normalize(emb, dim=-1), so that "
        "logits[i, j] = cos(image i, caption j) / temperature.",
    ),
    (
        {"normalise": "columns"},
        "you normalised the COLUMNS (dim=0): each ROW is one embedding (B rows, D columns), so normalise "
        "along the last axis, F.normalize(emb, dim=-1).",
    ),
    (
        {"scale": "multiply"},
        "you multiplied the cosines by the temperature: divide by it, logits = cos / temperature. A small "
        "temperature (CLIP starts at 0.07) must SHARPEN the softmax, so it belongs in the denominator.",
    ),
    (
        {"scale": "ignore"},
        "your logits are the bare cosines: the temperature is missing. logits = cos / temperature.",
    ),
    (
        {"directions": "image"},
        "your loss is only the image -> text half (each row of the logits, its diagonal entry as the "
        "target). CLIP's loss is symmetric: also let each caption pick its image — cross-entropy over the "
        "COLUMNS, F.cross_entropy(logits.T, targets) — and take the mean of the two.",
    ),
    (
        {"directions": "text"},
        "your loss is only the text -> image half (the columns of the logits). CLIP's loss is the mean of "
        "BOTH directions: image -> text over the rows, F.cross_entropy(logits, targets), and text -> image "
        "over the columns.",
    ),
    (
        {"combine": "sum"},
        "your loss is the SUM of the two directions, twice CLIP's: take their mean, (image_to_text + "
        "text_to_image) / 2.",
    ),
    (
        {"reduction": "sum"},
        "your loss is B times too large: you summed over the batch. Average over the B pairs (F.cross_entropy's "
        "default reduction='mean'), so that the loss does not grow with the batch size.",
    ),
    (
        {"mask": "ignored"},
        "you ignored `positive`: a caption that is also true of image i (an off-diagonal True) must not be "
        "pushed away from it. Leave those entries out of the denominators: set their logits to -inf before "
        "the cross-entropies.",
    ),
    (
        {"mask": "image_only"},
        "you masked the false negatives only in the image -> text direction. They must leave the text -> "
        "image denominators too: mask the (B, B) logits ONCE, then use them for both directions (rows, and "
        "columns via .T).",
    ),
    (
        {"mask": "text_only"},
        "you masked the false negatives only in the text -> image direction. Mask the (B, B) logits once, "
        "before either cross-entropy, so that both directions see the mask.",
    ),
    (
        {"mask": "untransposed"},
        "in the text -> image direction you masked logits.T with `positive` itself. positive[i, j] is about "
        "image i and caption j, so after transposing the logits the mask must be transposed too — simplest: "
        "mask the logits once, THEN transpose them. (Only a positive that is not symmetric shows this.)",
    ),
    (
        {"mask": "zero"},
        "you set the masked logits to 0: a logit of 0 still counts, as e^0 = 1 in the softmax's denominator. "
        "Set them to -inf, so that e^-inf = 0 removes them.",
    ),
]


def _info_nce_hint(case, got, image, text, temperature, positive, want) -> str:
    if math.isinf(got) or got > 1e6:
        if positive is not None:
            return (
                f"on {case}: your loss is {got:.3g}: you masked the DIAGONAL too, the target itself, so its "
                "probability is 0. Mask only the off-diagonal Trues of `positive` (the false negatives): "
                "positive & ~torch.eye(B, dtype=torch.bool)."
            )
        return f"on {case}: your loss is {got:.3g}: every logit is finite here, so nothing should be -inf or huge."
    if math.isnan(got):
        return (
            f"on {case}: your loss is NaN. Did a whole row of the logits become -inf (the diagonal masked too), "
            "or did you take the log of a 0?"
        )
    for switches, hint in _INFO_NCE_MISTAKES:
        if _close(got, info_nce_variant(image, text, temperature, positive, **switches)):
            return f"on {case}: {hint}"
    targets = _targets_behind(got, image, text, temperature, positive)
    if targets is not None:
        if len(set(targets)) == 1:
            return (
                f"on {case}: every target is {targets[0]}, as if caption {targets[0]} were the right one for "
                "every image. Pair i is row i of both embeddings, so image i's target is caption i: "
                "targets = torch.arange(B), the diagonal."
            )
        return (
            f"on {case}: your loss is that of targets off the diagonal (such as {targets}). Row i of "
            "image_emb and row i of text_emb are one pair, so image i's target is caption i (and caption i's "
            "image i): targets = torch.arange(B)."
        )
    if _close(got, info_nce_variant(image.float(), text.float(), temperature, positive), rtol=1e-4):
        return (
            f"on {case}: your loss is close but not equal ({got!r} instead of {want!r}): did you compute in "
            "float32? Keep the dtype of the embeddings (float64 here)."
        )
    return (
        f"on {case}: your loss is {got:.6g}, but should be {want:.6g}. The recipe: normalise each row; "
        "logits = image @ text.T / temperature, (B, B); the off-diagonal Trues of `positive` set to -inf; "
        "then the mean of F.cross_entropy(logits, arange(B)) and F.cross_entropy(logits.T, arange(B))."
    )


def _targets_behind(got, image, text, temperature, positive):
    """The target vector t (not the diagonal) whose symmetric loss the learner's value equals, or None.

    Every t in {0..B-1}^B is tried (B <= 6: at most 46656), in one vectorised computation.
    """
    B = image.shape[0]
    if B > 6:
        return None
    logits = (F.normalize(image, dim=1) @ F.normalize(text, dim=1).T / float(temperature)).numpy()
    if positive is not None:
        logits = np.where(positive.numpy() & ~np.eye(B, dtype=bool), -np.inf, logits)
    lse = (np.logaddexp.reduce(logits, axis=1).mean() + np.logaddexp.reduce(logits, axis=0).mean()) / 2
    every = np.array(list(itertools.product(range(B), repeat=B)))  # (B^B, B)
    rows = np.arange(B)
    with np.errstate(invalid="ignore"):
        losses = lse - (logits[rows, every] + logits[every, rows]).mean(axis=1) / 2
    hits = np.flatnonzero(np.isclose(losses, got, rtol=1e-9, atol=1e-12) & (every != rows).any(axis=1))
    return None if len(hits) == 0 else every[hits[0]].tolist()


def _close(a, b, rtol=1e-9):
    return bool(np.isclose(a, b, rtol=rtol, atol=1e-12))


def _loss_value(got, case, B) -> float:
    """The learner's loss as a float, or a hint about what came back instead of a 0-dim tensor."""
    if got is None:
        fail(f"your function returned None on {case} — did you forget `return loss`?")
    if not isinstance(got, torch.Tensor):
        if isinstance(got, (numbers.Real, np.ndarray, np.generic)):
            fail(
                f"on {case}: you returned {type(got).__name__} {got!r}, not a torch tensor. Training calls "
                "loss.backward(), which a plain number cannot do: return the 0-dim tensor itself, without "
                ".item(), float() or .numpy()."
            )
        fail(f"on {case}: you returned {type(got).__name__}; return the loss, a 0-dim torch tensor.")
    shape = tuple(got.shape)
    if shape == (B,):
        fail(
            f"on {case}: you returned {B} numbers, one per pair (reduction='none'?). Return ONE number, the "
            "mean over the pairs and the two directions: a 0-dim tensor."
        )
    if shape == (2,):
        fail(f"on {case}: you returned 2 numbers — the two directions? Return their mean, a 0-dim tensor.")
    if shape == (B, B):
        fail(
            f"on {case}: you returned a ({B}, {B}) matrix, the logits perhaps. Return the loss: one number, "
            "a 0-dim tensor."
        )
    if got.dim() != 0:
        fail(
            f"on {case}: your loss has shape {shape}; return a 0-dim tensor (one number), as F.cross_entropy does."
        )
    if not got.is_floating_point():
        fail(f"on {case}: your loss has dtype {got.dtype}; it must be a float tensor.")
    return float(got.detach())


def _learned_case_gradients(answer, case, image, text, temperature, positive, want_value):
    """Run the learner on fresh leaf tensors and compare the gradients with the library's."""
    leaves = [torch.tensor(a, requires_grad=True) for a in (image, text)]
    tau = torch.tensor(temperature, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor(positive)
    got = call_learner(answer, case, leaves[0], leaves[1], tau, mask, copy_inputs=False)
    value = _loss_value(got, case, len(image))
    if not _close(value, want_value):
        return value  # the value is wrong: the caller names the mistake
    if not got.requires_grad:
        fail(
            f"on {case}: the value is right but no gradient flows through it: something was detached "
            "(.item(), float(), .numpy(), torch.tensor(...) or torch.no_grad() on the way). Build the loss from "
            "torch operations on the inputs themselves."
        )
    got.backward()
    ref_leaves = [torch.tensor(a, requires_grad=True) for a in (image, text)]
    ref_tau = torch.tensor(temperature, dtype=torch.float64, requires_grad=True)
    _library_info_nce(ref_leaves[0], ref_leaves[1], ref_tau, mask).backward()
    if tau.grad is None:
        fail(
            f"on {case}: the value is right, but the temperature got no gradient: you turned it into a plain "
            "number (float(temperature), .item()). CLIP LEARNS its temperature, so keep it a tensor in the "
            "division."
        )
    for name, mine, theirs in (
        ("image_emb", leaves[0], ref_leaves[0]),
        ("text_emb", leaves[1], ref_leaves[1]),
    ):
        if mine.grad is None or not np.allclose(
            mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-10
        ):
            fail(
                f"on {case}: the value is right but the gradient with respect to {name} is not: is part of the "
                "computation detached (a .detach(), .data or torch.no_grad())?"
            )
    if not np.isclose(float(tau.grad), float(ref_tau.grad), rtol=1e-6, atol=1e-10):
        fail(f"on {case}: the value is right but the temperature's gradient is not: is part of it detached?")
    return value


@exercise(
    "info_nce",
    lesson=LESSON,
    description="CLIP's symmetric InfoNCE loss in torch, false negatives masked, equal to mmcourse.models.info_nce",
)
def check_info_nce(answer):
    """info_nce(image_emb (B, D), text_emb (B, D), temperature, positive=None) -> 0-dim tensor."""
    _expect_started(
        answer, "a function info_nce(image_emb, text_emb, temperature, positive=None) -> 0-dim tensor"
    )
    cases = _info_nce_cases()
    for case, image, text, temperature, positive, learned in cases:
        image_t, text_t = torch.tensor(image), torch.tensor(text)
        positive_t = None if positive is None else torch.tensor(positive)
        # the temperature as a float64 tensor: a Python float would reach the library as float32
        tau = torch.tensor(temperature, dtype=torch.float64)
        want = float(_library_info_nce(image_t, text_t, tau, positive_t))
        if learned:
            got = _learned_case_gradients(answer, case, image, text, temperature, positive, want)
        else:
            args = (image_t, text_t, temperature) + (() if positive_t is None else (positive_t,))
            got = _loss_value(call_learner(answer, case, *args), case, len(image))
        if not _close(got, want):
            fail(_info_nce_hint(case, got, image_t, text_t, temperature, positive_t, want))
    return (
        f"equal to mmcourse.models.info_nce on {len(cases)} cases — rows of unequal length, a positive that is "
        "not symmetric, and a learned temperature whose gradient matches too."
    )


# --- recall_at_k ----------------------------------------------------------------------------

# Image i's own caption is column i. Every caption's best image is its own (each column peaks on the
# diagonal), but the images rank their own caption 1st, 2nd, 3rd, 4th, 1st and 5th (rows).
_COLUMNS_BETTER = np.array(
    [
        [0.90, 0.30, 0.20, 0.10, 0.40, -0.20],
        [0.80, 0.70, 0.25, 0.20, 0.35, -0.10],
        [0.70, 0.30, 0.50, 0.15, 0.65, 0.00],
        [0.65, 0.55, 0.10, 0.40, 0.60, 0.05],
        [0.60, 0.10, 0.00, -0.10, 0.80, 0.15],
        [0.55, 0.45, 0.35, 0.10, 0.50, 0.20],
    ]
)
# Captions 0 and 3 state one fact, and so do 1 and 4: positive = (meaning_i == meaning_j).
_SAME_FACT_MEANING = np.array([0, 1, 2, 0, 1, 3])
_SAME_FACT = np.array(
    [
        [0.90, 0.30, 0.70, 0.50, 0.10, -0.10],
        [0.71, 0.51, 0.31, 0.11, 0.91, -0.09],
        [0.72, 0.52, 0.92, 0.32, 0.12, -0.08],
        [0.93, 0.73, 0.53, 0.33, 0.13, -0.07],
        [0.34, 0.54, 0.94, 0.14, 0.74, -0.06],
        [0.95, 0.55, 0.35, 0.15, -0.05, 0.75],
    ]
)


def _recall_cases():
    """(description, similarity (Q, N), positive (Q, N) bool or None, ks)."""
    rng = np.random.default_rng(12)
    wide = np.round(rng.normal(size=(4, 7)), 2)
    wide_positive = np.zeros((4, 7), dtype=bool)
    wide_positive[[0, 1, 1, 2, 3, 3], [2, 0, 5, 6, 1, 4]] = True
    same_fact = _SAME_FACT_MEANING[:, None] == _SAME_FACT_MEANING[None, :]
    return [
        (
            "a 6 x 6 similarity (image i's own caption is column i; positive=None) in which the images rank "
            "their own caption 1st, 2nd, 3rd, 4th, 1st and 5th",
            _COLUMNS_BETTER,
            None,
            (1, 2, 3),
        ),
        (
            "a 6 x 6 similarity in which captions 0 and 3 state the same fact, and so do 1 and 4: positive is "
            "True on the diagonal and at (0, 3), (3, 0), (1, 4), (4, 1)",
            _SAME_FACT,
            same_fact,
            (1, 2),
        ),
        (
            "4 queries against 7 candidates (not square), one or two positives per query",
            wide,
            wide_positive,
            (1, 3),
        ),
        (
            "a constant 5 x 5 similarity (every score 0.5), positive=None",
            np.full((5, 5), 0.5),
            None,
            (1, 2, 4, 5),
        ),
    ]


def _top_k_by_position(similarity, k):
    """The k best candidates of each row, ties broken by position (what a stable argsort gives)."""
    return np.argsort(-similarity, axis=1, kind="stable")[:, :k]


def recall_variants(similarity, k, positive) -> dict:
    """name -> what a classic mistake returns (only the mistakes that apply to this case)."""
    Q, N = similarity.shape
    square = Q == N
    pos = np.eye(N, dtype=bool) if positive is None else positive
    top = np.take_along_axis(pos, _top_k_by_position(similarity, k), axis=1)  # (Q, k): a positive there?
    best = np.where(pos, similarity, -np.inf).max(axis=1, keepdims=True)
    out = {}
    if square:
        out["columns"] = _library_recall_at_k(similarity.T, k, pos.T)
    out["k-1"] = _library_recall_at_k(similarity, k - 1, pos) if k > 1 else 0.0
    out["k+1"] = _library_recall_at_k(similarity, k + 1, pos) if k < N else 1.0
    out["optimistic"] = float(((~pos & (similarity > best)).sum(axis=1) < k).mean())
    out["by position"] = float(top.any(axis=1).mean())
    if positive is not None and square and not np.array_equal(positive, np.eye(N, dtype=bool)):
        out["diagonal"] = _library_recall_at_k(similarity, k, np.eye(N, dtype=bool))
    if positive is not None and (pos.sum(axis=1) > 1).any():
        out["all"] = float((top.sum(axis=1) == pos.sum(axis=1)).mean())
        out["share"] = float((top.sum(axis=1) / pos.sum(axis=1)).mean())
    return out


_RECALL_HINTS = {
    "columns": (
        "you ranked each COLUMN: that is caption -> image retrieval. Rows are the queries here: rank the "
        "candidates of each ROW (axis=1). The other direction is recall_at_k(similarity.T, k, positive.T)."
    ),
    "k-1": (
        "you counted a query as found when its positive is in the top k - 1, one place too few: "
        "recall@1 must count the queries whose positive is ranked FIRST. (Ranks start at 1, indices at 0.)"
    ),
    "k+1": (
        "you counted a query as found when its positive is in the top k + 1, one place too many: a query "
        "with k or more wrong candidates at least as high as its positive is missed. (Indices start at 0, "
        "ranks at 1.)"
    ),
    "optimistic": (
        "ties go in the query's favour: you counted only the wrong candidates scoring strictly HIGHER than "
        "the positive. Count those scoring at least as high (>=): a model that gives every candidate the "
        "same score has found nothing."
    ),
    "by position": (
        "ties are broken by position (an argsort puts equal scores in index order), so a query whose positive "
        "happens to come first wins. Count the wrong candidates scoring at least as high (>=) as the best "
        "positive instead: a model that scores every candidate alike must get 0 for k < N."
    ),
    "diagonal": (
        "you used only the diagonal and ignored `positive`: a caption of the same fact (an off-diagonal "
        "True) is a right answer too. A query is found when ANY of its positives is in the top k."
    ),
    "all": (
        "you asked for ALL of a query's positives in the top k. Retrieval's recall@k counts a query as found "
        "when ANY one of its right answers is among its k best candidates."
    ),
    "share": (
        "you averaged the SHARE of each query's positives found in the top k. Retrieval's recall@k is the "
        "share of QUERIES found: a query counts 1 when any one of its positives is in the top k, else 0."
    ),
}


def _recall_value(got, case, k, n_queries) -> float:
    if got is None:
        fail(f"recall_at_k returned None on {case}, k = {k} — did you forget `return`?")
    if hasattr(got, "detach"):
        got = got.detach().cpu().numpy()
    array = np.asarray(got)
    if array.shape == (n_queries,):
        fail(
            f"on {case}, k = {k}: you returned {n_queries} values, one per query. Return their mean: the share "
            "of queries found, one number."
        )
    if array.size != 1 or array.dtype.kind not in "biuf":
        fail(
            f"on {case}, k = {k}: you returned {type(got).__name__} of shape {array.shape}; return one number."
        )
    return float(array.reshape(()))


@exercise(
    "recall_at_k",
    lesson=LESSON,
    description="retrieval R@k in NumPy: rows are queries, ties count against, any positive counts",
)
def check_recall_at_k(answer):
    """recall_at_k(similarity (Q, N), k, positive=None) -> float in [0, 1]."""
    _expect_started(answer, "a function recall_at_k(similarity, k, positive=None) -> float")
    cases = _recall_cases()
    for case, similarity, positive, ks in cases:
        Q, N = similarity.shape
        for k in ks:
            want = _library_recall_at_k(similarity, k, positive)
            args = (similarity, k) if positive is None else (similarity, k, positive)
            got = _recall_value(call_learner(answer, f"{case}, k = {k}", *args), case, k, Q)
            if _close(got, want, rtol=1e-6):
                continue
            where = f"on {case}, k = {k}: you returned {got:.4g} instead of {want:.4g}"
            if _close(got, want * Q, rtol=1e-6) and want > 0:
                fail(
                    f"{where}: that is the NUMBER of queries found; return the share, divided by {Q} queries."
                )
            if _close(got, want * 100, rtol=1e-6) and want > 0:
                fail(f"{where}: a percentage; return a share between 0 and 1.")
            if np.ptp(similarity) == 0 and k < N:
                hint = _RECALL_HINTS["optimistic" if _close(got, 1.0, rtol=1e-6) else "by position"]
                fail(f"{where}: {hint}")
            for name, value in recall_variants(similarity, k, positive).items():
                if _close(got, value, rtol=1e-6):
                    fail(f"{where}: {_RECALL_HINTS[name]}")
            rows = " Rows are the queries: rank each ROW's candidates (axis=1)." if Q != N else ""
            fail(
                f"{where}. A query is found when fewer than k wrong candidates score at least as high as its "
                f"best positive; recall@k is the share of queries found.{rows}"
            )
    return (
        f"equal to mmcourse.metrics.recall_at_k on {len(cases)} matrices — one whose columns rank better than "
        "its rows, captions of the same fact, a non-square one, and a constant one where ties count against."
    )


# --- zero_shot_classify ---------------------------------------------------------------------


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _zero_shot_cases():
    """(description, image_emb (N, D), prompt_emb (P, D), prompt_class (P,), n_classes)."""
    rng = np.random.default_rng(6)
    N, D, counts, spreads = 40, 6, (2, 3, 5), (0.15, 0.6, 1.2)
    centres = _unit(rng.normal(size=(len(counts), D)))
    prompt_class = np.repeat(np.arange(len(counts)), counts)
    spread = np.array(spreads)[prompt_class][:, None]
    prompts = _unit(centres[prompt_class] + spread * rng.normal(size=(len(prompt_class), D)))
    prompts = prompts * rng.uniform(0.3, 4.0, size=(len(prompt_class), 1))  # lengths 0.3 to 4
    order = rng.permutation(len(prompt_class))  # the classes' prompts interleaved
    prompts, prompt_class = prompts[order], prompt_class[order]
    images = centres[rng.integers(0, len(counts), N)] + 0.8 * rng.normal(size=(N, D))
    images = images * rng.uniform(0.5, 2.0, size=(N, 1))
    single = np.random.default_rng(7)
    return [
        (
            "40 images, 3 classes with 2, 3 and 5 prompts (interleaved, lengths 0.3 to 4), D = 6",
            images,
            prompts,
            prompt_class,
            len(counts),
        ),
        (
            "7 images, 5 classes with one prompt each, given in the order 3, 0, 4, 1, 2, D = 4",
            single.normal(size=(7, 4)),
            single.normal(size=(5, 4)) * 2.0,
            np.array([3, 0, 4, 1, 2]),
            5,
        ),
    ]


def zero_shot_variants(images, prompts, prompt_class, n_classes) -> dict:
    """name -> the labels (N,) a classic mistake gives; 'right' is the ensemble itself."""
    unit_images, unit_prompts = _unit(images), _unit(prompts)
    groups = [prompt_class == c for c in range(n_classes)]
    mean = np.stack([unit_prompts[g].mean(axis=0) for g in groups])
    total = np.stack([unit_prompts[g].sum(axis=0) for g in groups])
    raw = np.stack([prompts[g].mean(axis=0) for g in groups])
    cos_prompts = unit_images @ unit_prompts.T  # (N, P)
    return {
        "right": (unit_images @ _unit(mean).T).argmax(axis=1),
        "no renormalisation": (unit_images @ mean.T).argmax(axis=1),
        "sum": (unit_images @ total.T).argmax(axis=1),
        "raw prompts": (unit_images @ _unit(raw).T).argmax(axis=1),
        "raw prompts, no renormalisation": (unit_images @ raw.T).argmax(axis=1),
        "best prompt": prompt_class[cos_prompts.argmax(axis=1)],
        "prompt index": cos_prompts.argmax(axis=1),
    }


_ZERO_SHOT_HINTS = {
    "no renormalisation": (
        "your answer is that of the class means NOT re-normalised — or, the same thing, of the mean of each "
        "class's prompt cosines. The mean of unit vectors is shorter than 1, and shorter the more the "
        "prompts disagree, so a class with scattered prompts loses for its length alone. Re-normalise each "
        "class mean to length 1 before the cosine."
    ),
    "sum": (
        "you summed each class's unit prompts without re-normalising: a class with more prompts gets a "
        "longer vector and wins for its count alone. Average (or sum), then re-normalise to length 1."
    ),
    "raw prompts": (
        "you averaged the prompts as they came (lengths 0.3 to 4 here), so a long prompt outweighs a short "
        "one. Normalise each prompt to length 1 FIRST, then average, then re-normalise."
    ),
    "raw prompts, no renormalisation": (
        "you averaged the raw prompts and compared with that mean directly: normalise each prompt to length "
        "1 first, average each class's, and re-normalise the mean."
    ),
    "best prompt": (
        "each image got the class of its single best-matching PROMPT. Prompt ensembling averages a class's "
        "prompts into one class embedding first (unit prompts, mean, re-normalised), and each image takes "
        "the class whose ensemble is closest."
    ),
    "prompt index": (
        "you returned the index of each image's best PROMPT, not a class. Return class labels in "
        "0 .. n_classes - 1, from one ensembled embedding per class."
    ),
}


def _labels(got, case, N, n_classes) -> np.ndarray:
    if got is None:
        fail(f"your function returned None on {case} — did you forget `return`?")
    if hasattr(got, "detach"):
        got = got.detach().cpu().numpy()
    array = np.asarray(got)
    if array.shape == (N, n_classes):
        fail(
            f"on {case}: you returned the ({N}, {n_classes}) matrix of scores; return each image's class, the "
            "argmax over the classes (axis=1): shape (N,)."
        )
    if array.shape == (n_classes,) and n_classes != N:
        fail(
            f"on {case}: you returned {n_classes} labels, one per CLASS: the argmax ran over the images "
            f"(axis=0). Each image needs its class: argmax over the classes, axis=1, giving shape ({N},)."
        )
    array = expect_array_result(array, (N,), case)
    if not np.array_equal(array, np.round(array)):
        fail(f"on {case}: your labels are not whole numbers ({array[:4]} ...); return class indices (ints).")
    return array.astype(np.int64)


@exercise(
    "zero_shot_classify",
    lesson=LESSON,
    description="CLIP's zero-shot classification with prompt ensembling: unit prompts, class means re-normalised",
)
def check_zero_shot_classify(answer):
    """zero_shot_classify(image_emb (N, D), prompt_emb (P, D), prompt_class (P,), n_classes) -> (N,) ints."""
    _expect_started(
        answer, "a function zero_shot_classify(image_emb, prompt_emb, prompt_class, n_classes) -> (N,)"
    )
    cases = _zero_shot_cases()
    for case, images, prompts, prompt_class, n_classes in cases:
        variants = zero_shot_variants(images, prompts, prompt_class, n_classes)
        got = _labels(
            call_learner(answer, case, images, prompts, prompt_class, n_classes), case, len(images), n_classes
        )
        want = variants.pop("right")
        if np.array_equal(got, want):
            continue
        wrong = int((got != want).sum())
        for name, labels in variants.items():
            if np.array_equal(got, labels):
                fail(
                    f"on {case}: {wrong} of {len(images)} images get another class than they should: {_ZERO_SHOT_HINTS[name]}"
                )
        if got.min() < 0 or got.max() >= n_classes:
            fail(
                f"on {case}: your labels run from {got.min()} to {got.max()}; classes are 0 .. {n_classes - 1}."
            )
        fail(
            f"on {case}: {wrong} of {len(images)} images get another class than they should. Each class's "
            "embedding is the mean of its prompts' UNIT vectors, re-normalised; each image (normalised) takes "
            "the class of highest cosine."
        )
    return (
        f"right on {len(cases)} cases — prompts of lengths 0.3 to 4, classes with 1 to 5 prompts: unit "
        "prompts, averaged per class, re-normalised, highest cosine."
    )


# --- info_nce_at_start and info_nce_floor (derivations) ----------------------------------------

_HARD = (0, 1, 7, 32, 500)
_START_GRID = [(B, H) for B in (2, 8, 32, 256) for H in _HARD]
_BATCHES = (2, 3, 8, 32, 256)
_TEMPERATURES = (0.07, 0.5, 1.0, 3.0)
_GRID = [(B, tau) for B in _BATCHES for tau in _TEMPERATURES]
_START_NAMES, _FLOOR_NAMES = ("B", "H"), ("B", "temperature")


def _case(names, point) -> str:
    return ", ".join(f"{n} = {v}" for n, v in zip(names, point))


def _formula_values(answer, name, grid, names) -> np.ndarray:
    """The learner's function on every point of `grid` (tuples named by `names`), as floats."""
    _expect_started(answer, f"a function {name}({', '.join(names)}) -> number")
    values = []
    for point in grid:
        case = _case(names, point)
        got = call_learner(answer, case, *point)
        if got is None:
            fail(f"{name} returned None for {case} — did you forget `return`?")
        if hasattr(got, "detach"):
            got = got.detach().cpu().numpy()
        array = np.asarray(got)
        if array.size != 1 or array.dtype.kind not in "iuf":
            fail(f"{name} returned {type(got).__name__} {got!r} for {case}; return one number.")
        values.append(float(array.reshape(())))
    return np.array(values)


def _grid(function, grid) -> np.ndarray:
    return np.array([function(*point) for point in grid], dtype=float)


def _matches(values, function, grid) -> bool:
    with np.errstate(all="ignore"):
        return bool(np.allclose(values, _grid(function, grid), rtol=1e-6, atol=1e-12))


def _first_wrong(values, want, grid, names) -> str:
    """The first point where `values` is wrong, preferring one whose right value is not tiny (easier to read)."""
    wrong = np.flatnonzero(~np.isclose(values, want, rtol=1e-6, atol=1e-12))
    readable = wrong[np.abs(want[wrong]) > 1e-3]
    i = int((readable if len(readable) else wrong)[0])
    return f"for {_case(names, grid[i])} you return {values[i]:.6g} instead of {want[i]:.6g}"


def _at_start(B, H):
    """Image -> text: B + H equal logits; text -> image: B (a hard negative is a caption, not an image)."""
    return (math.log(B + H) + math.log(B)) / 2


def _floor(B, tau):
    """Positives at cosine 1, the B points a regular simplex: every negative at cosine -1/(B - 1)."""
    return math.log1p((B - 1) * math.exp(-B / ((B - 1) * tau)))


def _lesson_bound(B, tau):
    """The lesson's bound, every negative at cosine -1: reachable only for B = 2."""
    return math.log1p((B - 1) * math.exp(-2 / tau))


def _simplex_exponent(cosine):
    """exp((cosine - 1) / tau) for negatives at `cosine(B)`: the floor's family of slips in the cosine."""
    return lambda B, t: math.log1p((B - 1) * math.exp((cosine(B) - 1) / t))


_AT_START_MISTAKES = [
    (lambda B, H: math.log(B + H),
     "ln(B + H) is the image -> text direction alone (or the hard negatives put into both directions). The "
     "loss is the MEAN of the two directions, and text -> image does not see the hard negatives: each caption "
     "picks its image among the B images of the batch — a hard negative is a caption, with no image of its "
     "own, so it is no candidate there."),
    (lambda B, H: math.log(B),
     "ln B is the loss WITHOUT hard negatives (the lesson's): your answer ignores H. In the image -> text "
     "direction each image now picks its caption among more equal scores than B."),
    (lambda B, H: math.log(B + 2 * H),
     "ln(B + 2H) counts every hard negative twice. Each is ONE extra candidate, in one softmax only, the "
     "image -> text one; and the loss is the mean of the two directions' cross-entropies, each over its own "
     "candidates."),
    (lambda B, H: math.log(B + H - 1),
     "ln(B + H - 1) leaves the positive out of the denominator — image i's softmax holds its own caption too, "
     "besides the B - 1 other captions and the H hard ones — and it is one direction only: the loss is the "
     "mean of image -> text and text -> image."),
    (lambda B, H: (math.log(B + H - 1) + math.log(B - 1)) / 2,
     "both logarithms leave the positive out: a softmax's denominator holds the right candidate too, so "
     "image i's row has B + H equal terms (not B + H - 1) and caption j's column B (not B - 1)."),
    (lambda B, H: math.log(B + H) + math.log(B),
     "that is the SUM of the two directions: the loss is their mean, half of it."),
    (lambda B, H: math.log(2 * B + H),
     "ln(2B + H) puts all 2B + H embeddings into ONE softmax. The two directions are two separate "
     "cross-entropies — each image against the captions (the batch's and the hard ones), each caption against "
     "the B images — and the loss is their mean."),
    (lambda B, H: math.log(2 * B + H) / 2,
     "half of ln(2B + H): the candidates of the two directions pooled into one count. Each direction is its "
     "own softmax with its own number of equal logits; the loss is the mean of the two LOSSES."),
    (lambda B, H: math.log(B + H / 2),
     "ln(B + H/2) = ln(((B + H) + B) / 2): you averaged the two directions' candidate COUNTS and took one "
     "logarithm. The loss is the mean of the two directions' LOSSES, each the logarithm of its own count — "
     "a mean of logarithms is not the logarithm of a mean."),
    (lambda B, H: (math.log(1 + H) + math.log(B)) / 2,
     "the hard negatives do not replace the batch's other captions: image i's softmax holds its own "
     "caption, the B - 1 other captions of the batch AND the H hard ones."),
    (lambda B, H: math.log(1 + H),
     "ln(1 + H) counts only the positive and the hard negatives, in one direction: image i also competes "
     "with the B - 1 other captions of the batch, and the loss is the mean of both directions (text -> "
     "image too)."),
    (lambda B, H: math.log(B + H) / 2,
     "half of ln(B + H): the text -> image direction does not cost 0 — each caption still picks its image "
     "among B equal scores."),
    (lambda B, H: (math.log(B * (1 + H)) + math.log(B)) / 2,
     "ln(B (H + 1)) gives every caption of the batch H hard negatives of its own; there are H hard negatives "
     "in all, and each joins every image's softmax once."),
    (lambda B, H: (1 / (B + H) + 1 / B) / 2,
     "those are the probabilities the softmaxes give the right candidate; the loss is the mean of their "
     "negative logarithms."),
    (lambda B, H: 1 / (B + H),
     "1/(B + H) is the probability image i's softmax gives its caption; the loss is -ln of such "
     "probabilities, averaged over the two directions."),
    (lambda B, H: -_at_start(B, H),
     "the sign: a cross-entropy is -ln p, and every p here is below 1, so the loss is positive."),
    (lambda B, H: (math.log2(B + H) + math.log2(B)) / 2,
     "that is in base 2 (bits); the cross-entropy uses the natural logarithm, ln."),
    (lambda B, H: (math.log10(B + H) + math.log10(B)) / 2,
     "that is in base 10; the cross-entropy uses the natural logarithm, ln."),
]  # fmt: skip


@exercise(
    "info_nce_at_start",
    lesson=LESSON,
    description="derive the InfoNCE loss of an untrained model with H hard negatives (NegCLIP): "
    "(ln(B + H) + ln B) / 2",
)
def check_info_nce_at_start(answer):
    """info_nce_at_start(B, H) -> the loss when all scores are equal, H hard negatives in image -> text."""
    values = _formula_values(answer, "info_nce_at_start", _START_GRID, _START_NAMES)
    want = _grid(_at_start, _START_GRID)
    if np.allclose(values, want, rtol=1e-6, atol=1e-12):
        return (
            f"(ln(B + H) + ln B) / 2: {len(_START_GRID)} values of (B, H) right — the hard negatives raise only "
            "the image -> text half of the loss."
        )
    for function, hint in _AT_START_MISTAKES:
        if _matches(values, function, _START_GRID):
            fail(f"{_first_wrong(values, want, _START_GRID, _START_NAMES)}: {hint}")
    wrong = _first_wrong(values, want, _START_GRID, _START_NAMES)
    by_batch = values.reshape(-1, len(_HARD))
    if np.allclose(by_batch, by_batch[:, :1], rtol=1e-9, atol=1e-12):
        fail(
            f"{wrong}, and your answer does not change with H. The H hard negatives are H more candidates, "
            "with the same score as the others, in each image's softmax (image -> text)."
        )
    no_hard = [i for i, (_, H) in enumerate(_START_GRID) if H == 0]
    if np.allclose(values[no_hard], want[no_hard], rtol=1e-6, atol=1e-12):
        fail(
            f"{wrong}. Without hard negatives (H = 0) yours is right, ln B; with them, count the equal logits of "
            "each direction's softmax: image i's row, and caption j's column. The loss is the mean of the two "
            "directions' losses."
        )
    fail(
        f"{wrong}. Every score is the same, so each softmax is uniform over its candidates: how many does image "
        "i have (its caption, the other captions, the hard ones), and how many does caption j have (the "
        "images)? The loss is the mean of the two directions' -ln p."
    )


_FLOOR_MISTAKES = [
    (_lesson_bound,
     "that is the lesson's bound, every negative at cosine -1 — impossible for B > 2: the B unit vectors "
     "would have to be pairwise antipodal (z_2 = -z_1 and z_3 = -z_1 make z_2 = z_3, cosine +1). Use "
     "||z_1 + ... + z_B||^2 >= 0: written out, it bounds the mean cosine of the negatives from below."),
    (_simplex_exponent(lambda B: -1 / B),
     "your negatives sit at cosine -1/B. Count the pairs in ||z_1 + ... + z_B||^2 = B + sum over i != j of "
     "cos(z_i, z_j) >= 0: there are B (B - 1) ordered pairs i != j, not B^2, so the mean cosine is at "
     "least -1/(B - 1)."),
    (_simplex_exponent(lambda B: -2 / (B - 1)),
     "cosine -2/(B - 1) is below what B unit vectors allow (for B = 2 it is -2): you counted each pair once, "
     "but ||z_1 + ... + z_B||^2 holds cos(z_i, z_j) AND cos(z_j, z_i), B (B - 1) ordered pairs in all."),
    (_simplex_exponent(lambda B: 1 / (B - 1)),
     "the sign of the simplex's cosine: its negatives are at -1/(B - 1), below 0, so a negative's logit "
     "is 1 + 1/(B - 1) below the positive's (in units of 1/tau), not 1 - 1/(B - 1)."),
    (lambda B, t: math.log1p((B - 1) * math.exp(-1 / ((B - 1) * t))),
     "your exponent is a negative's logit alone, -1/((B - 1) tau), as if the positive's logit were 0. Divide "
     "the numerator and the denominator by the positive's term e^(1/tau): each negative then contributes "
     "e^((cos - 1) / tau)."),
    (lambda B, t: math.log1p((B - 1) * math.exp(-1 / ((B - 1) * t) - 1)),
     "the positive's logit is 1/tau, not 1: the temperature divides its cosine too, so the exponent is "
     "(cos - 1) / tau, all of it over tau."),
    (lambda B, t: math.log(B - 1) - B / ((B - 1) * t),
     "you dropped the positive's own term from the denominator: -ln of the softmax at the positive keeps a 1 "
     "inside the logarithm. (A cross-entropy is never negative, and yours is for small tau.)"),
    (lambda B, t: (B - 1) * math.exp(-B / ((B - 1) * t)),
     "that is only the first-order approximation ln(1 + x) ~ x, good when x is small; the check uses "
     "tau = 1 and 3 too. Give the exact value."),
    (lambda B, t: math.log1p(B * math.exp(-B / ((B - 1) * t))),
     "you count B negatives; a batch of B pairs has B - 1 negatives per image (the B-th caption is its own)."),
    (lambda B, t: math.log1p((B - 1) * math.exp(-1 / t)),
     "that is the loss with every negative at cosine 0 — orthogonal, the standard basis — which B vectors "
     "can reach but also beat: subtract their mean (and renormalise) and every pairwise cosine becomes "
     "negative. How low can the mean cosine go? Expand ||z_1 + ... + z_B||^2 >= 0."),
    (lambda B, t: (B - 1) * math.log1p(math.exp(-B / ((B - 1) * t))),
     "(B - 1) ln(1 + e^x) is one binary term per negative, summed (a sigmoid per pair, as SigLIP does). "
     "InfoNCE's softmax puts all the negatives into ONE denominator: the loss is ln(1 + the sum of their "
     "terms)."),
    (lambda B, t: math.log1p((B - 1) * math.exp(-B * t / (B - 1))),
     "the temperature multiplies your exponent: it divides the cosines, logits = cos / tau, so tau belongs "
     "in the denominator."),
    (lambda B, t: 2 * _floor(B, t),
     "twice the answer: you added the two directions. The loss is their MEAN (both directions give the same "
     "value here)."),
    (lambda B, t: -_floor(B, t), "the sign: the cross-entropy is -ln p with p < 1, so the loss is positive."),
    (lambda B, t: math.log10(1 + (B - 1) * math.exp(-B / ((B - 1) * t))),
     "that is a base-10 logarithm; the cross-entropy uses the natural logarithm, ln."),
    (lambda B, t: math.log(B),
     "ln B is the loss when every score is the same, at the START of training. At the floor the positives "
     "are at cosine 1 and the negatives as far from them as B unit vectors allow."),
    (lambda B, t: math.log(B - 1),
     "ln(B - 1) does not depend on the temperature, but the logits are cos / tau: write the softmax of one "
     "row, the positive at 1/tau and each of the B - 1 negatives at its cosine over tau."),
    (lambda B, t: 0.0,
     "0 would need the positive's probability to be exactly 1. With tau fixed, each negative's logit is "
     "finite, so its term keeps some probability."),
]  # fmt: skip


@exercise(
    "info_nce_floor",
    lesson=LESSON,
    description="derive InfoNCE's true floor at fixed tau (positives at cosine 1, the B points a regular simplex): "
    "ln(1 + (B-1) e^(-B / ((B-1) tau)))",
)
def check_info_nce_floor(answer):
    """info_nce_floor(B, temperature) -> the smallest loss B pairs can reach, positives at cosine 1."""
    values = _formula_values(answer, "info_nce_floor", _GRID, _FLOOR_NAMES)
    want = _grid(_floor, _GRID)
    if np.allclose(values, want, rtol=1e-6, atol=1e-12):
        return (
            f"ln(1 + (B - 1) e^(-B / ((B - 1) temperature))): {len(_GRID)} values of (B, temperature) right — "
            f"for B = 32 and temperature 1 that is {_floor(32, 1.0):.3f}, above the {_lesson_bound(32, 1.0):.3f} "
            "of negatives at -1, which B > 2 vectors cannot reach."
        )
    for function, hint in _FLOOR_MISTAKES:
        if _matches(values, function, _GRID):
            fail(f"{_first_wrong(values, want, _GRID, _FLOOR_NAMES)}: {hint}")
    wrong = _first_wrong(values, want, _GRID, _FLOOR_NAMES)
    by_batch = values.reshape(len(_BATCHES), len(_TEMPERATURES))
    if np.allclose(by_batch, by_batch[:, :1], rtol=1e-9, atol=1e-12):
        fail(
            f"{wrong}: your floor does not change with the temperature, but the logits are cos / tau: the "
            "positive at 1/tau, each negative at its cosine over tau."
        )
    pair = [i for i, (B, _) in enumerate(_GRID) if B == 2]
    if np.allclose(values[pair], want[pair], rtol=1e-6, atol=1e-12):
        fail(
            f"{wrong}. For B = 2 yours is right (two antipodal points); for B > 2 the negatives cannot all be "
            "at -1. Expand ||z_1 + ... + z_B||^2 >= 0 for the lowest mean cosine; equal cosines are best, as "
            "the loss is convex in them."
        )
    if np.all(values <= want * (1 + 1e-6) + 1e-12):
        fail(
            f"{wrong}: below the floor — no arrangement of B unit vectors gets that low. Which cosine did you "
            "give the negatives? Their mean is at least what ||z_1 + ... + z_B||^2 >= 0 allows."
        )
    fail(
        f"{wrong}. Write image i's row: its positive at 1/tau and B - 1 negatives, all at the simplex's cosine "
        "over tau; the loss is -ln of the softmax at the positive. Divide its numerator and denominator by "
        "e^(1/tau)."
    )
