"""Checks for lesson 08 (the full fusion model): confusion_matrix, precision_recall_f1, train_step, attribute_negatives."""

from __future__ import annotations

import numpy as np

from .core import call_learner, exercise, expect_array_result, expect_callable, fail

LESSON = "08_full_fusion_model"


def _label_cases():
    """(description, predictions (n,), targets (n,), K): cases where the classes differ in size."""
    rng = np.random.default_rng(8)
    targets = rng.integers(0, 3, size=40)
    predictions = np.where(rng.random(40) < 0.6, targets, rng.integers(0, 3, size=40))
    return [
        ("3 classes, 40 samples", predictions, targets, 3),
        ("2 classes, a model that says 'match' too often", np.array([1, 1, 1, 1, 0, 1, 1, 0]),
         np.array([1, 1, 0, 0, 0, 1, 0, 0]), 2),
        ("4 classes where class 3 is never predicted", np.array([0, 1, 2, 2, 0, 1]),
         np.array([0, 1, 2, 3, 3, 1]), 4),
    ]  # fmt: skip


def _reference_counts(predictions, targets, k):
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (targets, predictions), 1)
    return counts


@exercise("confusion_matrix", lesson=LESSON, description="C[i, j] = samples of true class i predicted as j")
def check_confusion_matrix(answer):
    """confusion_matrix(predictions (n,), targets (n,), n_classes) -> (K, K) counts, rows = truth."""
    expect_callable(answer, "a function confusion_matrix(predictions, targets, n_classes) -> (K, K) array")
    for case, predictions, targets, k in _label_cases():
        got = call_learner(answer, case, predictions, targets, k)
        got = expect_array_result(got, (k, k), case)
        want = _reference_counts(predictions, targets, k)
        if np.array_equal(got, want):
            continue
        if np.array_equal(got, want.T):
            fail(
                f"on {case} your matrix is transposed: rows must be the TRUE class and columns the "
                "PREDICTED class, C[true, predicted] += 1 (scikit-learn's convention)."
            )
        if np.array_equal(np.diag(got), np.diag(want)):
            fail(f"on {case} the diagonal (correct predictions) is right but the off-diagonal cells are not.")
        if got.sum() != len(targets):
            fail(
                f"on {case} your counts add up to {got.sum():g}, but there are {len(targets)} samples: "
                "every sample adds exactly 1 to one cell."
            )
        fail(f"on {case} expected\n{want}\nbut got\n{got.astype(int)}.")
    return f"correct on {len(_label_cases())} cases, including a class that is never predicted."


def _reference_prf(predictions, targets, k):
    counts = _reference_counts(predictions, targets, k)
    tp = np.diag(counts).astype(float)
    predicted, actual = counts.sum(axis=0), counts.sum(axis=1)
    with np.errstate(all="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(actual > 0, tp / np.maximum(actual, 1), 0.0)
        f1 = np.where(
            precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0.0
        )
    return precision, recall, f1


@exercise("precision_recall_f1", lesson=LESSON, description="per-class precision, recall and F1")
def check_precision_recall_f1(answer):
    """precision_recall_f1(predictions, targets, n_classes) -> (precision, recall, f1), each (K,)."""
    expect_callable(answer, "a function precision_recall_f1(predictions, targets, n_classes) -> (P, R, F1)")
    for case, predictions, targets, k in _label_cases():
        got = call_learner(answer, case, predictions, targets, k)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            fail(f"on {case} return three arrays (precision, recall, f1), each of shape ({k},).")
        precision, recall, f1 = (expect_array_result(g, (k,), case, f"your {n}") for g, n in
                                 zip(got, ("precision", "recall", "f1")))  # fmt: skip
        want_p, want_r, want_f = _reference_prf(predictions, targets, k)
        if np.isnan(precision).any() or np.isnan(recall).any() or np.isnan(f1).any():
            fail(
                f"on {case} you returned NaN: a class that is never predicted has 0 / 0 precision. "
                "Count such an undefined score as 0 (e.g. np.divide(..., out=np.zeros(K), where=den > 0))."
            )
        if np.allclose(precision, want_r) and np.allclose(recall, want_p) and not np.allclose(want_p, want_r):
            fail(
                f"on {case} precision and recall are swapped. Precision divides by the PREDICTED count "
                "(column sums of C: of all predicted c, how many are c); recall divides by the TRUE count "
                "(row sums: of all true c, how many were found)."
            )
        if not np.allclose(precision, want_p):
            fail(f"on {case} precision should be {np.round(want_p, 3)} but is {np.round(precision, 3)}.")
        if not np.allclose(recall, want_r):
            fail(f"on {case} recall should be {np.round(want_r, 3)} but is {np.round(recall, 3)}.")
        if np.allclose(f1, (want_p + want_r) / 2) and not np.allclose(want_f, (want_p + want_r) / 2):
            fail(
                f"on {case} your F1 is the arithmetic mean of precision and recall; F1 is their HARMONIC "
                "mean, 2 P R / (P + R), which stays low when either one is low."
            )
        if not np.allclose(f1, want_f):
            fail(f"on {case} F1 should be {np.round(want_f, 3)} but is {np.round(f1, 3)}.")
    return f"correct on {len(_label_cases())} cases, including a never-predicted class (0, not NaN)."


# --- train_step -------------------------------------------------------------------


def _step_case(seed: int = 0, scale: float = 1.0):
    """A small model, an SGD optimiser whose parameters carry STALE gradients, and a batch."""
    import torch
    from torch import nn

    class Spy(nn.Module):
        """Two linear layers that record whether their forward pass ran under autocast."""

        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
            self.autocast_seen = []

        def forward(self, x):
            self.autocast_seen.append(torch.is_autocast_enabled("cpu"))
            return self.net(x) * scale

    torch.manual_seed(seed)
    model = Spy()
    for p in model.parameters():  # what a previous step left behind
        p.grad = torch.full_like(p, 5.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(seed + 1)
    batch = (torch.randn(32, 6, generator=g), torch.randint(0, 3, (32,), generator=g))
    return model, optimizer, batch


def _reference_step(model, optimizer, batch, amp_dtype, max_norm, zero=True, clip=True, autocast=True):
    import torch
    from torch.nn import functional as F

    x, y = batch
    if zero:
        optimizer.zero_grad()
    with torch.autocast("cpu", dtype=amp_dtype or torch.bfloat16, enabled=autocast and amp_dtype is not None):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y)
    loss.backward()
    if clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


def _parameters(model):
    return np.concatenate([p.detach().float().numpy().ravel() for p in model.parameters()])


@exercise(
    "train_step", lesson=LESSON, description="one optimisation step with autocast and gradient clipping"
)
def check_train_step(answer):
    """train_step(model, optimizer, batch, amp_dtype, max_norm) -> loss (float)."""
    import torch

    expect_callable(answer, "a function train_step(model, optimizer, batch, amp_dtype, max_norm) -> float")
    cases = [("float32, large gradients clipped to norm 0.5", None, 0.5, 4.0),
             ("bf16 autocast, clip norm 1.0", torch.bfloat16, 1.0, 1.0)]  # fmt: skip
    for case, amp_dtype, max_norm, scale in cases:
        model, optimizer, batch = _step_case(0, scale)
        got = call_learner(answer, case, model, optimizer, batch, amp_dtype, max_norm, copy_inputs=False)
        after = _parameters(model)
        variants = {}
        for name, flags in {"right": {}, "no_zero": {"zero": False}, "no_clip": {"clip": False},
                            "no_autocast": {"autocast": False}}.items():  # fmt: skip
            ref_model, ref_optimizer, ref_batch = _step_case(0, scale)
            loss = _reference_step(ref_model, ref_optimizer, ref_batch, amp_dtype, max_norm, **flags)
            variants[name] = (_parameters(ref_model), loss)
        if got is None:
            fail(f"on {case} train_step returned None -- return the loss as a number (loss.item()).")
        try:
            got_loss = float(got)
        except (TypeError, ValueError, RuntimeError):
            fail(
                f"on {case} train_step returned {type(got).__name__}; return the loss as a float (loss.item())."
            )
        if amp_dtype is not None and not any(model.autocast_seen):
            fail(
                f"on {case} the forward pass did not run under autocast: wrap `logits = model(...)` in "
                "`with torch.autocast(device_type, dtype=amp_dtype):` (only the forward pass, not backward)."
            )
        if np.allclose(after, _parameters(_step_case(0, scale)[0])):
            fail(f"on {case} the weights did not change: call optimizer.step() after loss.backward().")
        close = {
            name: np.allclose(after, params, atol=1e-6, rtol=1e-5) for name, (params, _) in variants.items()
        }
        if close["right"]:
            if not np.isclose(got_loss, variants["right"][1], rtol=1e-3, atol=1e-4):
                fail(f"on {case} the step is right but the returned loss {got_loss:.4f} is not the batch's "
                     f"cross-entropy {variants['right'][1]:.4f}; return loss.item() of THIS batch.")  # fmt: skip
            continue
        if close["no_zero"]:
            fail(
                f"on {case} the update used stale gradients: the parameters still held the gradients of "
                "an earlier step and loss.backward() ADDS to them. Call optimizer.zero_grad() first."
            )
        if close["no_clip"]:
            fail(
                f"on {case} the gradients were not clipped: call "
                "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm) after backward() and "
                "before optimizer.step()."
            )
        fail(
            f"on {case} the parameters after your step differ from one correct step. Order: zero_grad, "
            "forward under autocast, loss in float32, backward, clip_grad_norm_, step."
        )
    return f"correct on {len(cases)} cases: stale gradients cleared, autocast on, gradients clipped."


# --- attribute_negatives ------------------------------------------------------------

ATTRIBUTE_GROUPS = {"colour": ("red", "green", "blue", "yellow"), "shape": ("circle", "square", "triangle")}


def _negatives_case(n: int = 240, seed: int = 8):
    from ..data import make_shapes

    return make_shapes(n, seed=seed)


def _group_of(word: str):
    return next((name for name, words in ATTRIBUTE_GROUPS.items() if word in words), None)


def _expect_negatives_result(got, case: str, n: int):
    """(captions list of str, labels (m,) int array, sources (m,) int array), or a hint."""
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail(f"on {case} return three things: (new_captions, new_labels, sources), but got {_kind(got)}.")
    captions, labels, sources = got
    if isinstance(captions, str) or not all(isinstance(c, str) for c in captions):
        fail(f"on {case} new_captions must be a list of strings, one per new pair.")
    labels, sources = np.asarray(labels), np.asarray(sources)
    if labels.shape != (len(captions),) or sources.shape != (len(captions),):
        fail(
            f"on {case} new_labels and sources must each hold one entry per new caption ({len(captions)}), "
            f"but have shapes {labels.shape} and {sources.shape}."
        )
    if len(captions) and (
        not np.issubdtype(sources.dtype, np.integer) or sources.min() < 0 or sources.max() >= n
    ):
        fail(
            f"on {case} sources must be indices 0..{n - 1} of the batch's pairs (whose image each new pair uses)."
        )
    return list(captions), labels, sources


def _kind(value) -> str:
    return (
        f"{type(value).__name__} of length {len(value)}"
        if hasattr(value, "__len__")
        else type(value).__name__
    )


@exercise(
    "attribute_negatives",
    lesson=LESSON,
    description="new mismatches: one colour or shape word of a TRUE caption changed, batch kept balanced",
)
def check_attribute_negatives(answer):
    """attribute_negatives(captions, labels, rate, rng) -> (new_captions, new_labels (m,), sources (m,))."""
    from ..data import caption_is_true

    expect_callable(
        answer, "a function attribute_negatives(captions, labels, rate, rng) -> (captions, labels, sources)"
    )
    data = _negatives_case()
    captions, labels, n = list(data.captions), data.labels.copy(), len(data)
    matches = np.flatnonzero(labels == 1)

    case = f"a batch of {n} shapes pairs with rate=1.0"
    got = call_learner(answer, case, captions, labels, 1.0, np.random.default_rng(0))
    new_captions, new_labels, sources = _expect_negatives_result(got, case, n)
    if not set(np.unique(new_labels)) <= {0, 1}:
        fail(
            f"on {case} new labels must be 0 (mismatch) or 1 (match), but got {sorted(set(new_labels.tolist()))}."
        )
    if len(new_captions) and (labels[sources] != 1).any():
        fail(
            f"on {case} some new pairs come from MISMATCHED pairs (label 0). Only a TRUE caption is sure to "
            "become false when a word changes — change a word of a false one and it may become true."
        )
    used = np.bincount(sources, minlength=n) if len(sources) else np.zeros(n, dtype=int)
    if (new_labels == 0).sum() != (new_labels == 1).sum():
        fail(
            f"on {case} you added {(new_labels == 0).sum()} mismatches but {(new_labels == 1).sum()} matches. "
            "Add each picked pair's caption UNCHANGED as well (label 1), so that the batch stays balanced."
        )
    if (used[matches] != 2).any():
        fail(
            f"on {case} every matching pair should give exactly two new pairs (changed + unchanged), but "
            f"{int((used[matches] != 2).sum())} of the {len(matches)} matching pairs do not. With rate=1 every "
            "matching pair is picked."
        )
    kinds = {"subject colour": 0, "subject shape": 0, "object colour": 0, "object shape": 0}
    for caption, label, source in zip(new_captions, new_labels, sources):
        old_words, new_words = captions[source].split(), caption.split()
        if label == 1:
            if caption != captions[source]:
                fail(
                    f"on {case} a pair labelled 1 (match) has the caption {caption!r}, not its source's own "
                    f"{captions[source]!r}: the unchanged copy must be the original caption. Did you label a "
                    "changed caption as a match?"
                )
            continue
        if len(new_words) != len(old_words):
            fail(f"on {case} {captions[source]!r} became {caption!r}: replace ONE word, keep the others.")
        changed = [t for t, (a, b) in enumerate(zip(old_words, new_words)) if a != b]
        if not changed:
            fail(
                f"on {case} a pair labelled 0 has its caption unchanged ({caption!r}): the new word must "
                "DIFFER from the old one — exclude the old word when you draw its replacement."
            )
        if len(changed) > 1:
            fail(
                f"on {case} {captions[source]!r} became {caption!r}: change exactly ONE word, not {len(changed)}."
            )
        t = changed[0]
        old, new = old_words[t], new_words[t]
        if _group_of(old) is None:
            fail(
                f"on {case} you changed {old!r} into {new!r}. Change a colour or a shape word only: those are "
                "the words whose change is guaranteed to turn a true caption false (the two objects of a scene "
                "always differ in colour AND shape)."
            )
        if _group_of(new) != _group_of(old):
            fail(
                f"on {case} you replaced the {_group_of(old)} {old!r} by {new!r}: replace a colour by another "
                "colour and a shape by another shape, so that the caption stays a sentence of the grammar."
            )
        meta = data.meta["colour"][source], data.meta["shape"][source], data.meta["centre"][source]
        if caption_is_true(caption, *meta):  # pragma: no cover - impossible after the checks above
            fail(f"on {case} the new caption {caption!r} is still true of its scene.")
        role = "subject" if t < len(old_words) // 2 else "object"
        kinds[f"{role} {_group_of(old)}"] += 1
    never = [kind for kind, count in kinds.items() if count == 0]
    if never:
        fail(
            f"on {case} you never changed the {', '.join(never)}: pick the word to change at random among ALL "
            "the caption's colour and shape words (four of them), so that every kind of mismatch is made."
        )

    case = "the same batch with rate=0.0"
    got = call_learner(answer, case, captions, labels, 0.0, np.random.default_rng(1))
    if len(_expect_negatives_result(got, case, n)[0]) != 0:
        fail(f"on {case} nothing should be added: each matching pair is picked with probability `rate`.")
    case = "the same batch with rate=0.5"
    got = call_learner(answer, case, captions, labels, 0.5, np.random.default_rng(2))
    picked = len(_expect_negatives_result(got, case, n)[0]) / 2
    if not 0.3 * len(matches) <= picked <= 0.7 * len(matches):
        fail(
            f"on {case} you picked {picked:g} of the {len(matches)} matching pairs; about half were expected. "
            "Pick each matching pair with probability rate: rng.random() < rate."
        )
    return (
        f"correct: only true captions changed, one colour or shape word each, every kind of change made, "
        f"and the batch kept balanced ({len(matches)} matching pairs at rate 1)."
    )
