"""Checks for lesson 08 (the full fusion model): confusion_matrix, precision_recall_f1, train_step, attribute_negatives."""

from __future__ import annotations

import math

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
    """A fresh small model (no gradients yet), an SGD optimiser, and TWO batches for two steps in a row.

    Two steps show whether the gradients are cleared between steps, wherever the learner clears
    them: at the start of a step or at its end (after optimizer.step()) are both right.
    """
    import torch
    from torch import nn

    class Probe(torch.autograd.Function):
        """The identity; its backward records whether autocast was on while back-propagating."""

        @staticmethod
        def forward(ctx, x, seen):
            ctx.seen = seen
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):
            ctx.seen.append(torch.is_autocast_enabled("cpu"))
            return grad, None

    class Spy(nn.Module):
        """Two linear layers that record whether their forward (and backward) pass ran under autocast."""

        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
            self.autocast_seen, self.backward_autocast_seen = [], []

        def forward(self, x):
            self.autocast_seen.append(torch.is_autocast_enabled("cpu"))
            return Probe.apply(self.net(x) * scale, self.backward_autocast_seen)

    torch.manual_seed(seed)
    model = Spy()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(seed + 1)
    batches = [(torch.randn(32, 6, generator=g), torch.randint(0, 3, (32,), generator=g)) for _ in range(2)]
    return model, optimizer, batches


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


def _reference_runs(amp_dtype, max_norm, scale):
    """{variant: ([parameters after step 1, after step 2], [loss 1, loss 2])} for the right step and each slip."""
    runs = {}
    for name, flags in {"right": {}, "no_zero": {"zero": False}, "no_clip": {"clip": False}}.items():
        model, optimizer, batches = _step_case(0, scale)
        params, losses = [], []
        for batch in batches:
            losses.append(_reference_step(model, optimizer, batch, amp_dtype, max_norm, **flags))
            params.append(_parameters(model))
        runs[name] = (params, losses)
    return runs


def _as_loss(got, case):
    if got is None:
        fail(f"on {case} train_step returned None -- return the loss as a number (loss.item()).")
    try:
        return float(got)
    except (TypeError, ValueError, RuntimeError):
        fail(f"on {case} train_step returned {type(got).__name__}; return the loss as a float (loss.item()).")


def _step_hint(case, step, model, before, after, runs):
    """The likely mistake behind a wrong update in step `step` (0 or 1) of `case`."""
    if np.allclose(after, before):
        grads = [p.grad for p in model.parameters()]
        if all(g is None or not g.abs().any() for g in grads):
            return (
                f"on {case} the weights did not change, and the gradients are empty: they were cleared between "
                "loss.backward() and optimizer.step(), so the step had nothing to apply. Clear them before the "
                "forward pass (or after the step), never in between."
            )
        return f"on {case} the weights did not change: call optimizer.step() after loss.backward()."
    close = {
        name: np.allclose(after, params[step], atol=1e-6, rtol=1e-5) for name, (params, _) in runs.items()
    }
    if step == 1 and close["no_zero"]:
        return (
            f"on {case} the second step used stale gradients: loss.backward() ADDS to the .grad that the first "
            "step left behind. Clear them once per step with optimizer.zero_grad() -- at the start of the step, "
            "or at its end after optimizer.step(); both are fine."
        )
    if close["no_clip"]:
        return (
            f"on {case} the gradients were not clipped: call torch.nn.utils.clip_grad_norm_(model.parameters(), "
            "max_norm) after backward() (when the gradients exist) and before optimizer.step() (which uses them)."
        )
    return (
        f"on {case} the parameters after step {step + 1} differ from a correct step's. Each step: clear the old "
        "gradients, forward pass under autocast, loss in float32, backward, clip the gradient norm, step."
    )


@exercise(
    "train_step", lesson=LESSON, description="one optimisation step with autocast and gradient clipping"
)
def check_train_step(answer):
    """train_step(model, optimizer, batch, amp_dtype, max_norm) -> loss (float), called twice in a row."""
    import torch

    expect_callable(answer, "a function train_step(model, optimizer, batch, amp_dtype, max_norm) -> float")
    cases = [("float32, large gradients clipped to norm 0.5", None, 0.5, 4.0),
             ("bf16 autocast, clip norm 1.0", torch.bfloat16, 1.0, 1.0)]  # fmt: skip
    for case, amp_dtype, max_norm, scale in cases:
        runs = _reference_runs(amp_dtype, max_norm, scale)
        model, optimizer, batches = _step_case(0, scale)
        before = _parameters(model)
        for step, batch in enumerate(batches):
            where = f"{case} (step {step + 1} of two in a row)"
            got_loss = _as_loss(call_learner(answer, where, model, optimizer, batch, amp_dtype, max_norm,
                                             copy_inputs=False), where)  # fmt: skip
            if amp_dtype is not None and not any(model.autocast_seen):
                fail(
                    f"on {where} the forward pass did not run under autocast: wrap `logits = model(...)` in "
                    "`with torch.autocast(device_type, dtype=amp_dtype):`."
                )
            if any(model.backward_autocast_seen):
                fail(
                    f"on {where} loss.backward() ran inside the autocast block. Autocast is for the forward pass "
                    "(and the loss) only; PyTorch's AMP documentation advises against backward passes under "
                    "autocast. End the `with` block before calling backward()."
                )
            after = _parameters(model)
            params, losses = runs["right"]
            if not np.allclose(after, params[step], atol=1e-6, rtol=1e-5):
                fail(_step_hint(where, step, model, before, after, runs))
            if not np.isclose(got_loss, losses[step], rtol=1e-3, atol=1e-4):
                fail(f"on {where} the step is right but the returned loss {got_loss:.4f} is not the batch's "
                     f"cross-entropy {losses[step]:.4f}; return loss.item() of THIS batch.")  # fmt: skip
            before = after
    return (
        f"correct on {len(cases)} cases, two steps each: gradients cleared once per step, forward under autocast "
        "(backward outside it), gradients clipped."
    )


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


# --- early_stopping ------------------------------------------------------------------


def _stopping(losses, patience, min_delta=0.0, *, better=None, compare="best", late=0, end=None, peek=False):
    """(best_epoch, stop_epoch) by the rule of the exercise, with one switch per classic slip."""
    better = better or (lambda loss, best: loss < best - min_delta)
    best, best_epoch, previous, waited = math.inf, None, None, 0
    for epoch, loss in enumerate(losses):
        reference = best if compare == "best" else previous
        if best_epoch is None or better(loss, reference):
            best, best_epoch, waited = (
                (loss, epoch, 0) if compare == "best" or loss < best else (best, best_epoch, 0)
            )
        else:
            waited += 1
            if compare == "best":
                waited = epoch - best_epoch
            if waited >= patience + late:
                return (int(np.argmin(losses)) if peek else best_epoch), epoch
        previous = loss
    last = len(losses) - 1 if end is None else end(losses)
    return (int(np.argmin(losses)) if peek else best_epoch), last


_STOP_CASES = [  # (description, val_losses, patience, min_delta)
    ("a curve that rises for three epochs, then dips again; patience 3",
     [1.0, 0.8, 0.7, 0.72, 0.71, 0.73, 0.74, 0.6], 3, 0.0),
    ("a run that keeps improving; patience 2", [1.0, 0.9, 0.8, 0.7, 0.65], 2, 0.0),
    ("a flat curve (equal losses are no improvement); patience 2", [0.5, 0.5, 0.5, 0.5, 0.5], 2, 0.0),
    ("small improvements below min_delta = 0.1; patience 3", [1.0, 0.95, 0.93, 0.92, 0.5, 0.4], 3, 0.1),
    ("patience 1", [0.9, 1.0, 0.8, 0.7], 1, 0.0),
    ("a noisy curve; patience 2", [2.0, 1.5, 1.6, 1.4, 1.45, 1.5, 1.3], 2, 0.0),
]  # fmt: skip


def _stopping_slips():
    """{hint: function(losses, patience, min_delta) -> (best, stop)}, in the order they are diagnosed."""
    right = _stopping
    return {
        "you returned (stop_epoch, best_epoch): return them in the order (best_epoch, stop_epoch).": lambda *a: (
            right(*a)[::-1]
        ),
        "your epochs are counted from 1; number them as Python does, from 0 (val_losses[0] is epoch 0).": lambda *a: (
            tuple(e + 1 for e in right(*a))
        ),
        "you picked the best epoch out of ALL the losses, including epochs after the stop. A training loop cannot "
        "see the future: the best epoch is the best one up to the stop -- the run never trained the later ones.": (
            lambda *a: right(*a, peek=True)
        ),
        "you compared each loss with the PREVIOUS epoch's instead of the best so far: a small dip after a rise then "
        "resets the count, and a slowly worsening run never stops. Count the epochs since the best loss.": (
            lambda *a: right(*a, compare="previous")
        ),
        "an equal loss counted as an improvement (<= instead of <): on a flat curve training never stops. An epoch "
        "improves only if loss < best - min_delta.": lambda losses, p, d: right(
            losses, p, d, better=lambda loss, best: loss <= best - d
        ),
        "min_delta is ignored: an improvement must beat the best by MORE than min_delta, loss < best - min_delta -- "
        "otherwise tiny, noisy gains keep a stalled run going.": lambda losses, p, d: right(losses, p, 0.0),
        "min_delta has the wrong sign: loss < best + min_delta lets a slightly WORSE epoch count as an improvement. "
        "It must be loss < best - min_delta.": lambda losses, p, d: right(
            losses, p, d, better=lambda loss, best: loss < best + d
        ),
        "you stop one epoch too late: stop as soon as `patience` epochs in a row have passed without improvement "
        "(epoch - best_epoch >= patience), not patience + 1.": lambda *a: right(*a, late=1),
        "you stop one epoch too early: with patience p, p epochs without improvement are allowed before stopping "
        "(epoch - best_epoch >= p).": lambda *a: right(*a, late=-1),
        "a larger loss counted as better: for a LOSS, lower is better (keep the epoch with the smallest one).": (
            lambda losses, p, d: right(losses, p, d, better=lambda loss, best: loss > best + d)
        ),
        "when patience never runs out, the run ends after the LAST epoch, len(val_losses) - 1 (counting from 0), "
        "not len(val_losses).": lambda *a: right(*a, end=len),
        "you returned the stop epoch as the best one: the weights to restore are those of the best epoch, "
        "not of the last epoch trained.": lambda *a: (right(*a)[1], right(*a)[1]),
        "you assumed the best epoch lies exactly `patience` epochs before the stop. That holds when patience runs "
        "out, but not when the run ends first: keep track of the best epoch itself.": lambda losses, p, d: (
            right(losses, p, d)[1] - p,
            right(losses, p, d)[1],
        ),
    }


def _expect_pair_of_epochs(got, case):
    if got is None:
        fail(f"your function returned None on {case} -- return (best_epoch, stop_epoch).")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"on {case} return a pair (best_epoch, stop_epoch), but you returned {_kind(got)}.")
    try:
        values = tuple(int(v) for v in got)
    except (TypeError, ValueError):
        fail(f"on {case} return two epoch numbers (ints), but you returned {got!r}.")
    if values != tuple(got):
        fail(f"on {case} epochs are whole numbers; you returned {got!r}.")
    return values


@exercise(
    "early_stopping",
    lesson=LESSON,
    description="when to stop training, and which epoch's weights to keep",
)
def check_early_stopping(answer):
    """early_stopping(val_losses, patience, min_delta=0.0) -> (best_epoch, stop_epoch), both from 0."""
    expect_callable(answer, "a function early_stopping(val_losses, patience, min_delta=0.0) -> (best, stop)")
    results = []
    for case, losses, patience, min_delta in _STOP_CASES:
        got = call_learner(answer, case, list(losses), patience, min_delta)
        results.append(_expect_pair_of_epochs(got, case))
    wants = [_stopping(losses, patience, min_delta) for _, losses, patience, min_delta in _STOP_CASES]
    if results == wants:
        return (
            f"correct on {len(_STOP_CASES)} curves: the best epoch so far, stopping once `patience` epochs pass "
            "without an improvement of more than min_delta."
        )
    wrong = next(i for i, (g, w) in enumerate(zip(results, wants)) if g != w)
    case, losses, patience, min_delta = _STOP_CASES[wrong]
    shown = f"on {case}, val_losses {losses}: you returned {results[wrong]}, expected {wants[wrong]}"
    slips = _stopping_slips()
    for hint, slip in slips.items():  # a slip that explains every curve
        if all(tuple(slip(c[1], c[2], c[3])) == r for c, r in zip(_STOP_CASES, results)):
            fail(f"{shown}. It looks as if {hint}")
    for hint, slip in slips.items():  # a slip that explains the first wrong curve
        if tuple(slip(losses, patience, min_delta)) == results[wrong]:
            fail(f"{shown}. It looks as if {hint}")
    fail(
        f"{shown}. Go through the epochs in order: an epoch improves if loss < best - min_delta (epoch 0 always "
        "does); stop at the first epoch with epoch - best_epoch >= patience; else the run ends at the last epoch."
    )
