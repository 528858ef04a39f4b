"""Checkers of lesson 09: the reference answers pass; each plausible mistake gets its own hint."""

import numpy as np
import pytest
import torch

from mmcourse.checks import ExerciseFailed, check
from mmcourse.robust import area_under_curve
from mmcourse.robust import modality_dropout as library_modality_dropout

# --- modality_dropout --------------------------------------------------------------------


def dropout_reference(images, tokens, lengths, p, training=True, generator=None):
    if not training or p == 0:
        return images, tokens, lengths
    B = images.shape[0]
    hit = torch.rand(B, generator=generator) < p
    drop_image = hit & (torch.rand(B, generator=generator) < 0.5)
    drop_text = hit & ~drop_image
    images = images * ~drop_image[:, None, None, None]
    tokens = tokens.masked_fill(drop_text[:, None], 0)
    lengths = torch.where(drop_text, torch.ones_like(lengths), lengths)
    return images, tokens, lengths


def dropout_both(images, tokens, lengths, p, training=True, generator=None):
    if not training:
        return images, tokens, lengths
    B = images.shape[0]
    drop_image = torch.rand(B, generator=generator) < p
    drop_text = torch.rand(B, generator=generator) < p
    images = images * ~drop_image[:, None, None, None]
    tokens = tokens.masked_fill(drop_text[:, None], 0)
    lengths = torch.where(drop_text, torch.ones_like(lengths), lengths)
    return images, tokens, lengths


def dropout_at_eval(images, tokens, lengths, p, training=True, generator=None):
    return dropout_reference(images, tokens, lengths, p, True, generator)


def dropout_whole_batch(images, tokens, lengths, p, training=True, generator=None):
    if not training or p == 0:
        return images, tokens, lengths
    B = images.shape[0]
    hit = torch.rand(B, generator=generator) < p
    if torch.rand(1, generator=generator) < 2:  # always the image
        images = images * ~hit[:, None, None, None]
    return images, tokens, lengths


def dropout_keeps_length(images, tokens, lengths, p, training=True, generator=None):
    images, new_tokens, _ = dropout_reference(images, tokens, lengths, p, training, generator)
    return images, new_tokens, lengths


def dropout_unk(images, tokens, lengths, p, training=True, generator=None):
    images, new_tokens, new_lengths = dropout_reference(images, tokens, lengths, p, training, generator)
    blanked = (new_tokens == 0).all(dim=1) & ~(tokens == 0).all(dim=1)
    new_tokens = new_tokens.clone()
    new_tokens[blanked, 0] = 1
    return images, new_tokens, new_lengths


def dropout_in_place(images, tokens, lengths, p, training=True, generator=None):
    if not training or p == 0:
        return images, tokens, lengths
    B = images.shape[0]
    hit = torch.rand(B, generator=generator) < p
    drop_image = hit & (torch.rand(B, generator=generator) < 0.5)
    images[drop_image] = 0
    return images, tokens, lengths


def dropout_half_rate(images, tokens, lengths, p, training=True, generator=None):
    return dropout_reference(images, tokens, lengths, p / 2 if p < 1 else p, training, generator)


def test_modality_dropout_reference_passes(capsys):
    assert check("modality_dropout", dropout_reference) is None
    assert "✓ modality_dropout" in capsys.readouterr().out


def test_library_modality_dropout_passes_its_own_check():
    def answer(images, tokens, lengths, p, training, generator):
        return library_modality_dropout(images, tokens, lengths, p, training=training, generator=generator)

    assert check("modality_dropout", answer) is None


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (dropout_both, "lost BOTH modalities"),
        (dropout_at_eval, "training=False return the inputs unchanged"),
        (dropout_whole_batch, "every pair lost its image"),
        (dropout_keeps_length, "kept its old length"),
        (dropout_unk, "holds <unk>"),
        (dropout_in_place, "changed the input tensors in place"),
        (dropout_half_rate, "about p/2"),
        ("not a function", "expected a function"),
    ],
)
def test_modality_dropout_mistakes_get_their_hint(answer, fragment):
    with pytest.raises(ExerciseFailed) as failure:
        check("modality_dropout", answer)
    assert fragment in str(failure.value)


# --- occlusion_importance --------------------------------------------------------------


def occlusion_reference(score, tokens, unk_id=1):
    base = score(tokens[None])[0]
    occluded = tokens.repeat(len(tokens), 1)
    occluded[torch.arange(len(tokens)), torch.arange(len(tokens))] = unk_id
    return base - score(occluded)


def occlusion_loop(score, tokens, unk_id=1):
    base = float(score(tokens[None])[0])
    out = []
    for t in range(len(tokens)):
        copy = tokens.clone()
        copy[t] = unk_id
        out.append(base - float(score(copy[None])[0]))
    return np.array(out)


def occlusion_pad(score, tokens, unk_id=1):
    return occlusion_reference(score, tokens, unk_id=0)


def occlusion_sign(score, tokens, unk_id=1):
    return -occlusion_reference(score, tokens, unk_id)


def occlusion_delete(score, tokens, unk_id=1):
    base = float(score(tokens[None])[0])
    return [
        base - float(score(torch.cat([tokens[:t], tokens[t + 1 :]])[None])[0]) for t in range(len(tokens))
    ]


def occlusion_cumulative(score, tokens, unk_id=1):
    base = float(score(tokens[None])[0])
    copy, out = tokens.clone(), []
    for t in range(len(tokens)):
        copy[t] = unk_id
        out.append(base - float(score(copy[None])[0]))
    return out


def occlusion_in_place(score, tokens, unk_id=1):
    base = float(score(tokens[None])[0])
    out = []
    for t in range(len(tokens)):
        word = int(tokens[t])
        tokens[t] = unk_id
        out.append(base - float(score(tokens[None])[0]))
        tokens[t] = word + 0 if t % 2 else word + 1  # a slip when restoring
    return out


def occlusion_probabilities(score, tokens, unk_id=1):
    occluded = tokens.repeat(len(tokens), 1)
    occluded[torch.arange(len(tokens)), torch.arange(len(tokens))] = unk_id
    return score(occluded)


def occlusion_one_dim(score, tokens, unk_id=1):
    return score(tokens) - score(tokens)


def occlusion_no_return(score, tokens, unk_id=1):
    occlusion_reference(score, tokens, unk_id)


@pytest.mark.parametrize("answer", [occlusion_reference, occlusion_loop])
def test_occlusion_importance_references_pass(answer, capsys):
    assert check("occlusion_importance", answer) is None
    assert "✓ occlusion_importance" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (occlusion_pad, "holds <pad>"),
        (occlusion_sign, "signs are reversed"),
        (occlusion_delete, "deleting it would shift"),
        (occlusion_cumulative, "words occluded at once"),
        (occlusion_in_place, "changed `tokens` in place"),
        (occlusion_probabilities, "returned the probabilities of the occluded captions"),
        (occlusion_one_dim, "1-D tensor"),
        (occlusion_no_return, "forget `return`"),
    ],
)
def test_occlusion_importance_mistakes_get_their_hint(answer, fragment):
    with pytest.raises(ExerciseFailed) as failure:
        check("occlusion_importance", answer)
    assert fragment in str(failure.value)


# --- robustness_auc --------------------------------------------------------------------


def auc_reference(levels, accuracies):
    levels, accuracies = np.asarray(levels), np.asarray(accuracies)
    area = np.sum(np.diff(levels) * (accuracies[1:] + accuracies[:-1]) / 2)
    return area / (levels[-1] - levels[0])


def auc_trapezoid(levels, accuracies):
    return np.trapezoid(accuracies, levels) / (levels[-1] - levels[0])


def test_robustness_auc_references_pass(capsys):
    assert check("robustness_auc", auc_reference) is None
    assert check("robustness_auc", auc_trapezoid) is None
    assert check("robustness_auc", area_under_curve) is None
    assert "✓ robustness_auc" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (lambda x, y: np.mean(y), "averaged the accuracies"),
        (lambda x, y: np.trapezoid(y), "width 1 each"),
        (lambda x, y: np.trapezoid(y) / (len(y) - 1), "assumed evenly spaced levels"),
        (lambda x, y: np.trapezoid(y, x), "divide it by the range"),
        (lambda x, y: np.trapezoid(x, y) / (x[-1] - x[0]), "arguments are swapped"),
        (lambda x, y: np.sum(np.diff(x) * y[:-1]) / (x[-1] - x[0]), "left Riemann sum"),
        (lambda x, y: None, "forget `return`"),
        (lambda x, y: 0.5, "the trapezoid area divided by the range"),
    ],
)
def test_robustness_auc_mistakes_get_their_hint(answer, fragment):
    with pytest.raises(ExerciseFailed) as failure:
        check("robustness_auc", answer)
    assert fragment in str(failure.value)


# --- integrated_gradients ------------------------------------------------------------------------


def _ig(score, x, baseline, steps, *, alphas="right", delta=True, start=None, mean=True, absolute=False):
    """The reference answer, with one switch per classic slip."""
    start = baseline if start is None else start
    alpha = {
        "right": torch.arange(1, steps + 1, dtype=x.dtype) / steps,
        "left": torch.arange(0, steps, dtype=x.dtype) / steps,
        "middle": (torch.arange(1, steps + 1, dtype=x.dtype) - 0.5) / steps,
        "linspace": torch.linspace(0, 1, steps, dtype=x.dtype),
        "end": torch.ones(steps, dtype=x.dtype),
    }[alphas].reshape(-1, *([1] * x.dim()))
    points = (start + alpha * (x - start)).requires_grad_(True)
    (grads,) = torch.autograd.grad(score(points).sum(), points)
    average = grads.mean(dim=0) if mean else grads.sum(dim=0)
    result = (x - start) * average if delta else average
    return result.abs() if absolute else result


def _ig_with(**switches):
    return lambda score, x, baseline, steps: _ig(score, x, baseline, steps, **switches)


def _ig_loop(score, x, baseline, steps):
    """An independent correct answer: one point at a time."""
    total = torch.zeros_like(x)
    for k in range(1, steps + 1):
        point = (baseline + k / steps * (x - baseline)).clone().requires_grad_(True)
        total += torch.autograd.grad(score(point[None]).sum(), point)[0]
    return (x - baseline) * total / steps


def _input_x_gradient(score, x, baseline, steps):
    point = x.clone().requires_grad_(True)
    return x * torch.autograd.grad(score(point[None]).sum(), point)[0]


def _ig_one_input_at_a_time(score, x, baseline, steps):
    point = x.clone().requires_grad_(True)
    return torch.autograd.grad(score(point).sum(), point)[0]


def _ig_per_step(score, x, baseline, steps):
    alpha = (torch.arange(1, steps + 1, dtype=x.dtype) / steps).reshape(-1, *([1] * x.dim()))
    points = (baseline + alpha * (x - baseline)).requires_grad_(True)
    return (x - baseline) * torch.autograd.grad(score(points).sum(), points)[0]


def _ig_in_place(score, x, baseline, steps):
    result = _ig(score, x, baseline, steps)
    x -= baseline
    return result


@pytest.mark.parametrize("answer", [_ig_with(), _ig_loop], ids=["batched", "loop"])
def test_integrated_gradients_references_pass(answer, capsys):
    assert check("integrated_gradients", answer) is None
    assert "✓ integrated_gradients" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_ig_with(delta=False), "without multiplying by (x - baseline)"),
        (_ig_with(mean=False), "you summed the 4 gradients instead of averaging them"),
        (_ig_with(alphas="left"), "the left Riemann sum"),
        (_ig_with(alphas="middle"), "your alphas are the midpoints"),
        (_ig_with(alphas="linspace"), "torch.linspace(0, 1, 4)"),
        (_ig_with(alphas="end"), "you used only the gradient at x itself"),
        (_ig_with(absolute=True), "you took the absolute value"),
        (
            _ig_with(start=torch.tensor(0.0, dtype=torch.float64)),
            "you integrated from 0, not from the baseline",
        ),
        (_input_x_gradient, "you returned input x gradient"),
        (_ig_one_input_at_a_time, "score was called with ONE input"),
        (_ig_per_step, "you returned one row per step"),
        (_ig_in_place, "changed x or the baseline in place"),
        (lambda score, x, baseline, steps: (x - baseline) / 2, "never called `score`"),
        (lambda score, x, baseline, steps: None, "did you forget `return`?"),
    ],
)
def test_integrated_gradients_mistakes_get_their_hint(wrong, fragment):
    with pytest.raises(ExerciseFailed) as info:
        check("integrated_gradients", wrong)
    assert fragment in str(info.value), str(info.value)


def test_integrated_gradients_input_x_gradient_is_named_when_the_baseline_is_not_zero():
    """On the case with a grey baseline, x * dF/dx(x) and (x - baseline) * dF/dx(x) differ: both are named."""
    from mmcourse.checks.lesson09_robustness_interpretability_deployment import _ig_cases, _ig_hint

    case, function, x, baseline, steps = _ig_cases()[0]
    got = _input_x_gradient(function, x, baseline, steps)
    assert "you returned input x gradient" in _ig_hint(case, function, x, baseline, steps, got)
