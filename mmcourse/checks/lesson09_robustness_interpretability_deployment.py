"""Checks for lesson 09 (robustness, interpretability, deployment).

- `modality_dropout`: blank the image OR the caption of a fraction p of the pairs,
  during training only. Rejects dropping both at once, the same choice for the whole
  batch, the wrong rate, a caption blanked the wrong way, edits in place, and dropout
  applied at evaluation time (training=False).
- `occlusion_importance`: p(caption) - p(caption with word t replaced by <unk>), one word
  at a time. The score function handed to the learner is a spy that sees what it is
  given, so a hint can name the mistake (a <pad> instead of <unk>, a deleted word, two
  words occluded at once).
- `robustness_auc`: the trapezoid area over the ACTUAL levels, divided by their range.
  Rejects the plain mean, an x-spacing of 1, the missing division, swapped arguments.
"""

from __future__ import annotations

import numpy as np
import torch

from .core import call_learner, exercise, expect_array_result, expect_callable, fail

LESSON = "09_robustness_interpretability_deployment"
PAD_ID, UNK_ID = 0, 1


# --- modality_dropout -----------------------------------------------------------------


def _dropout_batch(B: int = 4000, seed: int = 0):
    """images (B, 1, 4, 4) in [0.1, 1] (never 0), tokens (B, 6) ids >= 2, lengths (B,) in 2..6."""
    g = torch.Generator().manual_seed(seed)
    images = 0.1 + 0.9 * torch.rand(B, 1, 4, 4, generator=g)
    lengths = torch.randint(2, 7, (B,), generator=g)
    tokens = torch.randint(2, 20, (B, 6), generator=g)
    tokens[torch.arange(6)[None, :] >= lengths[:, None]] = PAD_ID
    return images, tokens, lengths


def _unpack_dropout(result, case):
    if result is None:
        fail(f"modality_dropout returned None on {case} -- did you forget `return images, tokens, lengths`?")
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(
            f"modality_dropout should return a tuple (images, tokens, lengths), but returned {type(result).__name__} on {case}."
        )
    if not all(isinstance(t, torch.Tensor) for t in result):
        fail(f"modality_dropout should return three tensors (images, tokens, lengths) on {case}.")
    return tuple(t.detach() for t in result)


def _dropout_analysis(original, result, case):
    """(image dropped (B,) bool, caption dropped (B,) bool), after checking that nothing else changed."""
    images, tokens, lengths = original
    new_images, new_tokens, new_lengths = _unpack_dropout(result, case)
    if (
        new_images.shape != images.shape
        or new_tokens.shape != tokens.shape
        or new_lengths.shape != lengths.shape
    ):
        fail(
            f"on {case}, the shapes changed: images {tuple(images.shape)} -> {tuple(new_images.shape)}, tokens "
            f"{tuple(tokens.shape)} -> {tuple(new_tokens.shape)}, lengths {tuple(lengths.shape)} -> "
            f"{tuple(new_lengths.shape)}. Blank values; keep every pair and every shape."
        )
    image_zero = (new_images == 0).flatten(1).all(dim=1)
    image_same = (new_images == images).flatten(1).all(dim=1)
    if not (image_zero | image_same).all():
        fail(
            f"on {case}, some images are neither unchanged nor all zeros. A dropped image is blanked to "
            "zeros (images * 0, or masked_fill with 0); the others must stay exactly as they were."
        )
    text_same = (new_tokens == tokens).all(dim=1) & (new_lengths == lengths)
    text_gone = (new_tokens == PAD_ID).all(dim=1) & (new_lengths == 1)
    padded_only = (new_tokens == PAD_ID).all(dim=1) & ~text_same
    if (padded_only & (new_lengths != 1)).any():
        fail(
            f"on {case}, a blanked caption is all <pad> but kept its old length. Set its length to 1: the "
            "blank caption is ONE <pad> token, and lengths say how many tokens the LSTM reads."
        )
    if ((new_tokens == UNK_ID).any(dim=1) & ~text_same).any():
        fail(
            f"on {case}, a blanked caption holds <unk> (id 1). The blank caption of this exercise is one "
            "<pad> token (id 0), length 1 -- its embedding is zero, so the model reads nothing."
        )
    if not (text_same | text_gone).all():
        fail(
            f"on {case}, some captions are neither unchanged nor blank. A dropped caption becomes all <pad> "
            "(id 0) with length 1; the others must stay exactly as they were."
        )
    return image_zero & ~image_same, text_gone & ~text_same


@exercise(
    "modality_dropout",
    lesson=LESSON,
    description="blank the image OR the caption of a fraction p of the pairs",
)
def check_modality_dropout(answer):
    expect_callable(answer, "a function modality_dropout(images, tokens, lengths, p, training, generator)")
    images, tokens, lengths = _dropout_batch()
    saved = (images.clone(), tokens.clone(), lengths.clone())

    case = "a batch of 4,000 pairs with p = 1 (every pair loses one modality)"
    result = call_learner(answer, case, images, tokens, lengths, 1.0, True, torch.Generator().manual_seed(1),
                          copy_inputs=False)  # fmt: skip
    if not all(torch.equal(a, b) for a, b in zip(saved, (images, tokens, lengths))):
        fail(
            "your function changed the input tensors in place. Build new ones (torch.where, masked_fill "
            "without the underscore, or .clone() first): the training loop may reuse the originals."
        )
    image_gone, text_gone = _dropout_analysis(saved, result, case)
    both = int((image_gone & text_gone).sum())
    if both:
        fail(
            f"on {case}, {both} pairs lost BOTH modalities. Dropping both leaves nothing to learn from; "
            "draw ONE coin per hit pair to choose the image or the caption."
        )
    hit = image_gone | text_gone
    if hit.float().mean() < 0.99:
        fail(
            f"on {case}, only {hit.float().mean():.0%} of the pairs lost a modality; with p = 1 every pair should."
        )
    share_image = float(image_gone[hit].float().mean())
    if share_image in (0.0, 1.0):
        which = "image" if share_image == 1.0 else "caption"
        fail(
            f"on {case}, every pair lost its {which}. Choose the modality PER PAIR, at random with equal "
            "odds (one random number per pair, e.g. torch.rand(B) < 0.5), not once for the whole batch."
        )
    if not 0.45 <= share_image <= 0.55:
        fail(
            f"on {case}, {share_image:.0%} of the drops hit the image; image and caption should be equally likely."
        )

    case = "a batch of 4,000 pairs with p = 0.3"
    result = call_learner(answer, case, images, tokens, lengths, 0.3, True, torch.Generator().manual_seed(2))
    image_gone, text_gone = _dropout_analysis(saved, result, case)
    if (image_gone & text_gone).any():
        fail(
            f"on {case}, {int((image_gone & text_gone).sum())} pairs lost both modalities: did you draw the image "
            "drop and the caption drop independently? Hit a pair with probability p, THEN choose one modality."
        )
    rate = float((image_gone | text_gone).float().mean())
    if not 0.26 <= rate <= 0.34:
        hint = " (about p/2: did you use p for each modality separately?)" if 0.12 <= rate <= 0.18 else ""
        fail(f"on {case}, {rate:.0%} of the pairs lost a modality; it should be about 30 %{hint}.")
    if abs(float(image_gone.float().mean()) - float(text_gone.float().mean())) > 0.05:
        fail(f"on {case}, images and captions are not dropped equally often.")

    case = "a batch with p = 0.5 and training=False (evaluation)"
    result = call_learner(answer, case, images, tokens, lengths, 0.5, False, torch.Generator().manual_seed(3))
    image_gone, text_gone = _dropout_analysis(saved, result, case)
    if (image_gone | text_gone).any():
        fail(
            f"on {case}, {int((image_gone | text_gone).sum())} pairs were blanked. Modality dropout is a "
            "training-time regulariser, like nn.Dropout: with training=False return the inputs unchanged."
        )

    case = "a batch with p = 0"
    result = call_learner(answer, case, images, tokens, lengths, 0.0, True, torch.Generator().manual_seed(4))
    image_gone, text_gone = _dropout_analysis(saved, result, case)
    if (image_gone | text_gone).any():
        fail(f"on {case}, some pairs were blanked; with p = 0 nothing should be.")
    return "correct on 4 cases: one modality per hit pair, rate p, untouched at evaluation and at p = 0."


# --- occlusion_importance ---------------------------------------------------------------


class _ScoreSpy:
    """A caption scorer score(tokens (n, T)) -> (n,) probabilities that records every row it sees."""

    def __init__(self, length: int, seed: int):
        g = np.random.default_rng(seed)
        self.length = length
        self.word_weight = g.normal(0, 1.5, size=40)
        self.word_weight[UNK_ID] = 0.0
        self.word_weight[PAD_ID] = 2.5  # a <pad> in place of <unk> would show up in the numbers too
        self.position_weight = g.uniform(0.5, 1.5, size=length)
        self.rows: list[np.ndarray] = []

    def exact(self, tokens: np.ndarray) -> np.ndarray:
        z = (self.word_weight[tokens] * self.position_weight[None, :]).sum(axis=1) / 2
        return 1 / (1 + np.exp(-z))

    def __call__(self, tokens):
        if not isinstance(tokens, torch.Tensor):
            fail(f"score was called with a {type(tokens).__name__}; pass it a tensor of token ids (n, T).")
        if tokens.dim() == 1:
            fail(
                "score was called with a 1-D tensor. It scores a BATCH of captions (n, T): for one caption "
                "pass tokens[None] (shape (1, T)), and stack the occluded copies into rows."
            )
        if tokens.dim() != 2 or tokens.is_floating_point():
            fail(f"score expects integer token ids of shape (n, T), but got shape {tuple(tokens.shape)}.")
        if tokens.shape[1] != self.length:
            fail(
                f"score received captions of length {tokens.shape[1]}, but the caption has {self.length} words. "
                "Occlusion REPLACES a word by <unk>; deleting it would shift every later word."
            )
        rows = tokens.detach().cpu().numpy().astype(np.int64)
        self.rows.extend(rows)
        return torch.as_tensor(self.exact(rows), dtype=torch.float32)


@exercise("occlusion_importance", lesson=LESSON, description="word importance by occlusion with <unk>")
def check_occlusion_importance(answer):
    expect_callable(answer, "a function occlusion_importance(score, tokens, unk_id)")
    cases = [("a caption of 8 words", 8, 0), ("a caption of 5 words", 5, 1), ("a caption of 1 word", 1, 2)]
    for case, length, seed in cases:
        spy = _ScoreSpy(length, seed)
        tokens = torch.as_tensor(np.random.default_rng(seed + 10).integers(2, 40, size=length))
        saved = tokens.clone()
        got = call_learner(answer, case, spy, tokens, UNK_ID, copy_inputs=False)
        if not torch.equal(tokens, saved):
            fail(
                f"on {case}, your function changed `tokens` in place. Occlude a COPY (tokens.clone()), or "
                "every later word is scored with the earlier ones still hidden."
            )
        got = expect_array_result(got, (length,), case)
        for row in spy.rows:
            if (row == PAD_ID).any():
                fail(
                    f"on {case}, a caption given to score holds <pad> (id 0). Replace the word by <unk> "
                    f"(unk_id = {UNK_ID}): <pad> means 'no token here', <unk> means 'a word we cannot read'."
                )
            if (row != tokens.numpy()).sum() > 1:
                fail(
                    f"on {case}, score saw a caption with {(row != tokens.numpy()).sum()} words occluded at once. "
                    "Occlude ONE word at a time and put it back before the next (start each from the original)."
                )
        base = spy.exact(tokens.numpy()[None])[0]
        occluded = np.tile(tokens.numpy(), (length, 1))
        occluded[np.arange(length), np.arange(length)] = UNK_ID
        expected = base - spy.exact(occluded)
        if np.allclose(got, -expected, atol=1e-5) and not np.allclose(expected, 0, atol=1e-5):
            fail(
                f"on {case}, the signs are reversed. Importance = p(original) - p(occluded): a word the model "
                "needs makes the probability FALL when hidden, so its importance is positive."
            )
        if np.allclose(got, base - expected, atol=1e-5):
            fail(
                f"on {case}, you returned the probabilities of the occluded captions. Subtract them from the "
                "probability of the original caption: importance = p(original) - p(occluded)."
            )
        if not np.allclose(got, expected, atol=1e-5):
            worst = int(np.argmax(np.abs(got - expected)))
            fail(
                f"on {case}, the importance of word {worst} is {got[worst]:.4f}, but p(original) - p(word {worst} "
                f"-> <unk>) is {expected[worst]:.4f}."
            )
    return "correct on 3 captions (8, 5 and 1 words): one word at a time, replaced by <unk>, p(original) - p(occluded)."


# --- robustness_auc ---------------------------------------------------------------------


def _trapezoid(y, x):
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


_AUC_CASES = [  # (description, levels, accuracies)
    (
        "levels [0, 0.1, 0.2, 0.4, 0.7, 1] (uneven)",
        [0, 0.1, 0.2, 0.4, 0.7, 1.0],
        [0.95, 0.93, 0.85, 0.6, 0.3, 0.12],
    ),
    ("levels [0, 0.05, 0.1, 0.2, 0.3] (range 0.3)", [0, 0.05, 0.1, 0.2, 0.3], [0.9, 0.88, 0.8, 0.7, 0.65]),
    ("levels [0, 0.25, 0.5, 0.75, 1] (even)", [0, 0.25, 0.5, 0.75, 1.0], [1.0, 0.9, 0.7, 0.5, 0.5]),
    ("a flat curve at 0.8 over levels [0.2, 0.6]", [0.2, 0.6], [0.8, 0.8]),
]


@exercise(
    "robustness_auc",
    lesson=LESSON,
    description="area under an accuracy-vs-level curve, trapezoids over the actual levels",
)
def check_robustness_auc(answer):
    expect_callable(answer, "a function robustness_auc(levels, accuracies) -> float")
    for case, levels, accuracies in _AUC_CASES:
        x, y = np.array(levels), np.array(accuracies)
        got = call_learner(answer, case, x, y)
        got = expect_array_result(got, (), case)
        expected = _trapezoid(y, x) / (x[-1] - x[0])
        if np.isclose(got, expected, atol=1e-9):
            continue
        width = x[-1] - x[0]
        mistakes = [
            (y.mean(), "you averaged the accuracies, which weighs every level equally -- as if the levels were "
                       "evenly spaced. Use the trapezoid rule over the ACTUAL levels: each trapezoid is as wide "
                       "as the gap between its two levels."),
            (_trapezoid(y, np.arange(len(y))), "the trapezoids have width 1 each (np.trapezoid(accuracies) "
                                               "without x). Pass the levels as x."),
            (_trapezoid(y, np.arange(len(y))) / (len(y) - 1), "you assumed evenly spaced levels (width 1 / "
                                                              "(L - 1) each). Use the actual levels as x."),
            (_trapezoid(y, x), f"that is the raw area; divide it by the range of the levels ({width:g} here), so "
                               "the result is the mean accuracy over the range."),
            (_trapezoid(x, y) / width, "the arguments are swapped: the accuracies go on the y axis, the levels on x "
                                       "(np.trapezoid(y=accuracies, x=levels))."),
            (_trapezoid(x, y), "the arguments are swapped: the accuracies go on the y axis, the levels on x."),
            (float(np.sum(np.diff(x) * y[:-1])) / width, "you used rectangles (left Riemann sum); the trapezoid "
                                                         "rule averages the two ends of each gap."),
        ]  # fmt: skip
        for value, hint in mistakes:
            if np.isclose(got, value, atol=1e-9):
                fail(f"on {case}: {hint}")
        fail(
            f"on {case}, got {float(got):.6f}, but the trapezoid area divided by the range of levels is {expected:.6f}."
        )
    return "correct on 4 curves, including uneven levels and a range other than [0, 1]."


# --- integrated_gradients -------------------------------------------------------------


class _Score:
    """A differentiable score for a BATCH of inputs (n, *shape) -> (n,), which checks what it is given."""

    def __init__(self, function, shape, case):
        self.function, self.shape, self.case, self.calls = function, tuple(shape), case, 0

    def __call__(self, batch):
        if not isinstance(batch, torch.Tensor):
            fail(f"on {self.case}, score was called with a {type(batch).__name__}; pass it a tensor.")
        if tuple(batch.shape[1:]) != self.shape:
            if tuple(batch.shape) == self.shape:
                fail(
                    f"on {self.case}, score was called with ONE input of shape {tuple(batch.shape)}. It scores a "
                    f"BATCH (n, {', '.join(map(str, self.shape))}): stack the path's points, or pass x[None]."
                )
            fail(
                f"on {self.case}, score was called with shape {tuple(batch.shape)}; it takes a batch of inputs, "
                f"(n, {', '.join(map(str, self.shape))})."
            )
        self.calls += 1
        return self.function(batch)


def _ig_cases():
    """(description, function, x, baseline, steps), in float64."""
    g = torch.Generator().manual_seed(9)
    c, w = (
        torch.rand(5, generator=g, dtype=torch.float64) + 0.5,
        torch.randn(5, generator=g, dtype=torch.float64),
    )
    W1 = torch.randn(6, 8, generator=g, dtype=torch.float64)
    w2 = torch.randn(8, generator=g, dtype=torch.float64)
    kernel = torch.randn(2, 1, 3, 3, generator=g, dtype=torch.float64)
    x_quadratic, x_network = (torch.randn(n, generator=g, dtype=torch.float64) for n in (5, 6))
    x_image = torch.rand(1, 4, 4, generator=g, dtype=torch.float64) + 0.2
    return [  # the network first: its gradient changes nonlinearly along the path, so the alphas show
        ("a small tanh network of 6 features, from a baseline that is not 0, steps = 4",
         lambda z: torch.tanh(z @ W1) @ w2, x_network, torch.full((6,), 0.5, dtype=torch.float64), 4),
        ("a quadratic score sum(c x^2) + w . x of 5 features, baseline 0, steps = 8",
         lambda z: (c * z**2).sum(dim=1) + z @ w, x_quadratic, torch.zeros(5, dtype=torch.float64), 8),
        ("an image-shaped input (1, 4, 4) through a convolution, baseline 0.1 everywhere, steps = 5",
         lambda z: torch.nn.functional.conv2d(z, kernel).relu().pow(2).flatten(1).sum(dim=1) / 10,
         x_image, torch.full((1, 4, 4), 0.1, dtype=torch.float64), 5),
    ]  # fmt: skip


def _gradients(function, points):
    points = points.detach().clone().requires_grad_(True)
    return torch.autograd.grad(function(points).sum(), points)[0]


def _ig_variant(function, x, baseline, steps, alphas="right", delta=True, start=None, mean=True):
    """Integrated gradients with one switch per classic slip."""
    start = baseline if start is None else start
    m = steps
    alpha = {
        "right": torch.arange(1, m + 1, dtype=x.dtype) / m,
        "left": torch.arange(0, m, dtype=x.dtype) / m,
        "middle": (torch.arange(1, m + 1, dtype=x.dtype) - 0.5) / m,
        "linspace": torch.linspace(0, 1, m, dtype=x.dtype),
        "end": torch.ones(m, dtype=x.dtype),
    }[alphas].reshape(-1, *([1] * x.dim()))
    grads = _gradients(function, start + alpha * (x - start))
    average = grads.mean(dim=0) if mean else grads.sum(dim=0)
    return (x - start) * average if delta else average


def _ig_hint(case, function, x, baseline, steps, got):
    """The likely mistake behind wrong integrated gradients (`got` already has the right shape)."""
    close = lambda a: torch.allclose(got, a, rtol=1e-5, atol=1e-8)  # noqa: E731
    zeros = torch.zeros_like(x)
    slips = [
        (_ig_variant(function, x, baseline, steps).abs(),
         "you took the absolute value. Integrated gradients keep their sign: a negative attribution says the "
         "feature pulled the score DOWN on the way from the baseline."),
        (_ig_variant(function, x, baseline, steps, delta=False),
         "you returned the average gradient along the path, without multiplying by (x - baseline). That factor "
         "is what makes the attributions add up to F(x) - F(baseline)."),
        (_ig_variant(function, x, baseline, steps, mean=False),
         f"you summed the {steps} gradients instead of averaging them: the integral over alpha from 0 to 1 is "
         f"approximated by (1 / steps) times the sum."),
        (_ig_variant(function, x, baseline, steps, alphas="end"),
         "you used only the gradient at x itself, (x - baseline) * dF/dx(x): that is input x gradient again, "
         "which misses everything that happens between the baseline and x (a saturated score has gradient 0 at x)."),
        (x * _gradients(function, x[None])[0],
         "you returned input x gradient, x * dF/dx(x). Integrated gradients average the gradient over the whole "
         "straight path from the baseline to x, and multiply by (x - baseline)."),
        (_ig_variant(function, x, baseline, steps, alphas="left"),
         "your alphas are 0, 1/m, ..., (m-1)/m: the left Riemann sum. This exercise uses alpha = k / m for "
         "k = 1, ..., m (the right sum, as in Sundararajan et al.): the last point is x itself."),
        (_ig_variant(function, x, baseline, steps, alphas="middle"),
         "your alphas are the midpoints (k - 1/2) / m. This exercise uses alpha = k / m for k = 1, ..., m."),
        (_ig_variant(function, x, baseline, steps, alphas="linspace"),
         f"your alphas are torch.linspace(0, 1, {steps}): they include 0, and their spacing is 1 / (m - 1). Use "
         "alpha = k / m for k = 1, ..., m: torch.arange(1, m + 1) / m."),
    ]  # fmt: skip
    if not torch.equal(baseline, zeros):
        slips.insert(
            1,
            (
                _ig_variant(function, x, baseline, steps, start=zeros),
                "you integrated from 0, not from the baseline: the path is baseline + alpha (x - baseline), and the "
                "factor in front is (x - baseline). Here the baseline is not 0.",
            ),  # fmt: skip
        )
    for value, hint in slips:
        if close(value):
            return f"on {case}: {hint}"
    return (
        f"on {case} the attributions are wrong (largest error {float((got - _ig_variant(function, x, baseline, steps)).abs().max()):.3g}). "
        "IG = (x - baseline) * (1/m) * sum over k = 1..m of dF/dx at baseline + (k/m)(x - baseline)."
    )


@exercise(
    "integrated_gradients",
    lesson=LESSON,
    description="attributions by integrated gradients along the path from a baseline (Sundararajan et al., 2017)",
)
def check_integrated_gradients(answer):
    """integrated_gradients(score, x, baseline, steps) -> attributions, the shape of x."""
    expect_callable(answer, "a function integrated_gradients(score, x, baseline, steps)")
    cases = _ig_cases()
    for case, function, x, baseline, steps in cases:
        score = _Score(function, x.shape, case)
        x_given, baseline_given = x.clone(), baseline.clone()
        got = call_learner(answer, case, score, x_given, baseline_given, steps, copy_inputs=False)
        if not torch.equal(x_given, x) or not torch.equal(baseline_given, baseline):
            fail(f"on {case}, your function changed x or the baseline in place; leave both as they were.")
        if got is None:
            fail(f"your function returned None on {case} -- did you forget `return`?")
        if not isinstance(got, torch.Tensor):
            fail(
                f"on {case} you returned {type(got).__name__}; return a tensor of attributions, the shape of x."
            )
        got = got.detach().to(torch.float64)
        if score.calls == 0:
            fail(f"on {case} your function never called `score`: the attributions come from its gradients.")
        if tuple(got.shape) == (steps, *x.shape):
            fail(
                f"on {case} you returned one row per step, shape {tuple(got.shape)}: average the gradients over "
                f"the {steps} steps (and multiply by x - baseline), to get attributions of shape {tuple(x.shape)}."
            )
        if got.shape != x.shape:
            fail(
                f"on {case} you returned shape {tuple(got.shape)}; the attributions have the shape of x, {tuple(x.shape)}."
            )
        want = _ig_variant(function, x, baseline, steps)
        if not torch.allclose(got, want, rtol=1e-5, atol=1e-8):
            fail(_ig_hint(case, function, x, baseline, steps, got))
    return (
        f"correct on {len(cases)} cases: (x - baseline) times the average gradient at baseline + (k/m)(x - baseline), "
        "k = 1..m."
    )
