"""Lesson 11 checkers: the reference answers pass, each plausible mistake gets its own hint."""

import itertools
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mmcourse.checks import ExerciseFailed, ExerciseNotStarted, check
from mmcourse.checks import lesson11_contrastive_alignment as lesson11


def _fails(exercise_id, answer, fragment):
    with pytest.raises(ExerciseFailed) as info:
        check(exercise_id, answer)
    message = str(info.value)
    assert not isinstance(info.value, ExerciseNotStarted), message
    assert message.startswith(f"✗ {exercise_id}:"), message
    assert fragment in message, message
    return message


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _ellipsis_stub(*args, **kwargs):
    """A stub whose body is still `...`."""
    ...


EXERCISES = ["info_nce", "recall_at_k", "zero_shot_classify", "info_nce_at_start", "info_nce_floor"]


@pytest.mark.parametrize("exercise_id", EXERCISES)
@pytest.mark.parametrize("stub", [_stub, _ellipsis_stub], ids=["NotImplementedError", "ellipsis"])
def test_unstarted_exercises_are_reported_as_not_started(exercise_id, stub):
    with pytest.raises(ExerciseNotStarted, match="not written yet"):
        check(exercise_id, stub)


def test_all_five_are_registered_to_lesson_11():
    from mmcourse.checks import get_exercise

    assert {get_exercise(e).lesson for e in EXERCISES} == {"11_contrastive_alignment"}


# --- info_nce -------------------------------------------------------------------------------


def _info_nce(image, text, temperature, positive=None, *, normalise=True, dim=-1, scale="divide",
              directions="both", combine="mean", reduction="mean", targets="diagonal", mask="both",
              fill=float("-inf"), returns="tensor", dtype=None):  # fmt: skip
    """A learner's torch answer, with one switch per classic mistake."""
    if dtype is not None:
        image, text = image.to(dtype), text.to(dtype)
    B = image.shape[0]
    if normalise:
        image = image / image.norm(dim=dim, keepdim=True)
        text = text / text.norm(dim=dim, keepdim=True)
    if scale == "divide":
        logits = image @ text.T / temperature
    elif scale == "multiply":
        logits = image @ text.T * temperature
    elif scale == "number":
        logits = image @ text.T / float(temperature)
    else:
        logits = image @ text.T
    rows, columns = logits, logits.T
    if positive is not None and mask != "ignored":
        off = positive if mask == "diagonal too" else positive & ~torch.eye(B, dtype=torch.bool)
        if mask in ("both", "image only", "untransposed", "diagonal too"):
            rows = rows.masked_fill(off, fill)
        if mask in ("both", "text only", "diagonal too"):
            columns = columns.masked_fill(off.T, fill)
        if mask == "untransposed":
            columns = columns.masked_fill(off, fill)
    goal = {"diagonal": torch.arange(B), "zeros": torch.zeros(B, dtype=torch.long),
            "shifted": torch.roll(torch.arange(B), 1), "fours": torch.full((B,), 4)}[targets]  # fmt: skip
    i2t = F.cross_entropy(rows, goal, reduction="sum" if reduction == "sum" else "none")
    t2i = F.cross_entropy(columns, goal, reduction="sum" if reduction == "sum" else "none")
    if reduction == "mean":
        i2t, t2i = i2t.mean(), t2i.mean()
    loss = {"both": (i2t + t2i) / (2 if combine == "mean" else 1), "image": i2t, "text": t2i}[directions]
    if returns == "number":
        return loss.item()
    return loss


def _info_nce_with(**switches):
    return lambda image, text, temperature, positive=None: _info_nce(
        image, text, temperature, positive, **switches
    )


def _info_nce_log_softmax(image_emb, text_emb, temperature, positive=None):
    """An independent correct answer: log-softmax by hand, -inf masking by torch.where."""
    z_i, z_t = F.normalize(image_emb, dim=1), F.normalize(text_emb, dim=1)
    logits = z_i @ z_t.T / temperature
    if positive is not None:
        eye = torch.eye(len(logits), dtype=torch.bool)
        logits = torch.where(positive & ~eye, torch.tensor(float("-inf"), dtype=logits.dtype), logits)
    diagonal = logits.diagonal()
    i2t = (torch.logsumexp(logits, dim=1) - diagonal).mean()
    t2i = (torch.logsumexp(logits, dim=0) - diagonal).mean()
    return (i2t + t2i) / 2


def _per_pair_losses(image, text, temperature, positive=None):
    z_i, z_t = F.normalize(image, dim=1), F.normalize(text, dim=1)
    logits = z_i @ z_t.T / temperature
    targets = torch.arange(len(logits))
    return (
        F.cross_entropy(logits, targets, reduction="none")
        + F.cross_entropy(logits.T, targets, reduction="none")
    ) / 2


def _detached(image, text, temperature, positive=None):
    with torch.no_grad():
        return _info_nce(image, text, temperature, positive)


@pytest.mark.parametrize(
    "answer",
    [_info_nce_with(), _info_nce_log_softmax, _info_nce_with(fill=-1e30)],
    ids=["cross_entropy", "log_softmax", "large_negative_fill"],
)
def test_info_nce_references_pass(answer, capsys):
    assert check("info_nce", answer) is None
    assert "✓ info_nce: equal to mmcourse.models.info_nce on 3 cases" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_info_nce_with(normalise=False), "embeddings NOT normalised"),
        (_info_nce_with(dim=0), "you normalised the COLUMNS (dim=0)"),
        (_info_nce_with(directions="image"), "only the image -> text half"),
        (_info_nce_with(directions="text"), "only the text -> image half"),
        (_info_nce_with(combine="sum"), "the SUM of the two directions"),
        (_info_nce_with(reduction="sum"), "B times too large: you summed over the batch"),
        (_info_nce_with(scale="multiply"), "you multiplied the cosines by the temperature"),
        (_info_nce_with(scale="none"), "the temperature is missing"),
        (_info_nce_with(targets="zeros"), "every target is 0"),
        (_info_nce_with(targets="shifted"), "targets off the diagonal"),
        (_info_nce_with(targets="fours"), "every target is 4"),
        (_info_nce_with(mask="diagonal too"), "you masked the DIAGONAL too"),
        (_info_nce_with(mask="diagonal too", fill=-1e9), "you masked the DIAGONAL too"),
        (_info_nce_with(mask="ignored"), "you ignored `positive`"),
        (_info_nce_with(mask="image only"), "only in the image -> text direction"),
        (_info_nce_with(mask="text only"), "only in the text -> image direction"),
        (_info_nce_with(mask="untransposed"), "you masked logits.T with `positive` itself"),
        (_info_nce_with(fill=0.0), "you set the masked logits to 0"),
        (_info_nce_with(dtype=torch.float32), "did you compute in float32?"),
        (_info_nce_with(returns="number"), "not a torch tensor"),
        (_info_nce_with(scale="number"), "the temperature got no gradient"),
        (_per_pair_losses, "one per pair (reduction='none'?)"),
        (_detached, "no gradient flows through it"),
        (lambda image, text, temperature, positive=None: None, "did you forget `return loss`?"),
    ],
)
def test_info_nce_mistakes_get_their_hint(wrong, fragment):
    _fails("info_nce", wrong, fragment)


def test_info_nce_targets_off_the_diagonal_are_told_apart():
    message = _fails(
        "info_nce", _info_nce_with(targets="shifted"), "targets off the diagonal (such as [1, 2, 3, 4, 0])"
    )
    assert "5 pairs of 3-d" in message  # caught on the first case, before any mask


def test_info_nce_mask_mistakes_are_caught_on_the_lopsided_positive():
    for mask in ("ignored", "image only", "text only", "untransposed"):
        message = _fails("info_nce", _info_nce_with(mask=mask), "on 6 pairs")
        assert "not symmetric" in message


def test_info_nce_cases_give_every_mistake_its_own_value():
    """On each case, the mistakes that are wrong there give values distinct from each other."""
    for _, image, text, tau, positive, _ in lesson11._info_nce_cases():
        i, t = torch.tensor(image), torch.tensor(text)
        p = None if positive is None else torch.tensor(positive)
        right = lesson11.info_nce_variant(i, t, tau, p)
        values = [lesson11.info_nce_variant(i, t, tau, p, **s) for s, _ in lesson11._INFO_NCE_MISTAKES]
        wrong = [v for v in values if not np.isclose(v, right, rtol=1e-9)]
        assert all(not np.isclose(a, b, rtol=1e-6) for a, b in itertools.combinations(wrong, 2)), wrong
        library = lesson11._library_info_nce(i, t, torch.tensor(tau, dtype=torch.float64), p)
        assert np.isclose(right, float(library), rtol=1e-12)


# --- recall_at_k ----------------------------------------------------------------------------


def _diagonal(similarity, positive):
    return np.eye(similarity.shape[0], dtype=bool) if positive is None else np.asarray(positive)


def _recall(similarity, k, positive=None, *, axis=1, shift=0, compare=">=", any_positive=True):
    """A learner's NumPy answer, with one switch per classic mistake."""
    S = np.asarray(similarity, dtype=float)
    P = _diagonal(S, positive)
    if axis == 0:
        S, P = S.T, P.T
    best = np.where(P, S, -np.inf).max(axis=1, keepdims=True)
    rivals = (~P & ((S >= best) if compare == ">=" else (S > best))).sum(axis=1)
    if not any_positive:  # the worst positive must make it too
        worst = np.where(P, S, np.inf).min(axis=1, keepdims=True)
        rivals = (~P & (S >= worst)).sum(axis=1)
    return float((rivals < k + shift).mean())


def _recall_with(**switches):
    return lambda similarity, k, positive=None: _recall(similarity, k, positive, **switches)


def _recall_loops(similarity, k, positive=None):
    """An independent correct answer: rank by counting, one query at a time."""
    P = _diagonal(similarity, positive)
    found = 0
    for scores, right in zip(similarity, P):
        best = max(s for s, r in zip(scores, right) if r)
        wrong_at_least_as_high = sum(1 for s, r in zip(scores, right) if not r and s >= best)
        found += wrong_at_least_as_high < k
    return found / len(similarity)


def _recall_argsort(similarity, k, positive=None):
    P = _diagonal(similarity, positive)
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    return float(np.take_along_axis(P, top, axis=1).any(axis=1).mean())


def _recall_share(similarity, k, positive=None):
    P = _diagonal(similarity, positive)
    top = np.argsort(-similarity, axis=1)[:, :k]
    return float((np.take_along_axis(P, top, axis=1).sum(axis=1) / P.sum(axis=1)).mean())


def _recall_diagonal_only(similarity, k, positive=None):
    return _recall(similarity, k, None if similarity.shape[0] == similarity.shape[1] else positive)


@pytest.mark.parametrize("answer", [_recall_with(), _recall_loops], ids=["vectorised", "loops"])
def test_recall_references_pass(answer, capsys):
    assert check("recall_at_k", answer) is None
    assert "✓ recall_at_k: equal to mmcourse.metrics.recall_at_k on 4 matrices" in capsys.readouterr().out


def test_recall_accepts_torch_and_numpy_scalars():
    assert check("recall_at_k", lambda S, k, positive=None: np.float32(_recall(S, k, positive))) is None
    assert check("recall_at_k", lambda S, k, positive=None: torch.tensor(_recall(S, k, positive))) is None


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_recall_with(axis=0), "you ranked each COLUMN"),
        (_recall_with(shift=-1), "in the top k - 1, one place too few"),
        (_recall_with(shift=1), "in the top k + 1, one place too many"),
        (_recall_with(compare=">"), "ties go in the query's favour"),
        (_recall_argsort, "ties are broken by position"),
        (_recall_diagonal_only, "you used only the diagonal and ignored `positive`"),
        (_recall_with(any_positive=False), "you asked for ALL of a query's positives"),
        (_recall_share, "you averaged the SHARE of each query's positives"),
        (lambda S, k, positive=None: _recall(S, k, positive) * len(S), "the NUMBER of queries found"),
        (lambda S, k, positive=None: _recall(S, k, positive) * 100, "a percentage"),
        (lambda S, k, positive=None: np.ones(len(S)), "one per query. Return their mean"),
        (lambda S, k, positive=None: None, "did you forget `return`?"),
    ],
)
def test_recall_mistakes_get_their_hint(wrong, fragment):
    _fails("recall_at_k", wrong, fragment)


def test_recall_ties_are_caught_on_the_constant_matrix():
    for wrong in (_recall_with(compare=">"), _recall_argsort):
        assert "constant 5 x 5" in _fails("recall_at_k", wrong, "k = 1")


def test_recall_column_mistake_on_a_non_square_matrix_names_the_rows():
    def columns_then_rows(S, k, positive=None):
        return _recall(S, k, positive) if S.shape[0] == S.shape[1] else _recall(S.T, k, positive.T)

    _fails("recall_at_k", columns_then_rows, "rank each ROW's candidates (axis=1)")


def test_recall_cases_tell_the_mistakes_apart():
    """Where a mistake is first wrong, its value differs from the right one and from every other mistake's."""
    for _, S, positive, ks in lesson11._recall_cases():
        if np.ptp(S) == 0:
            continue  # the constant matrix is told apart by its own branch
        k = ks[0]
        right = lesson11._library_recall_at_k(S, k, positive)
        values = lesson11.recall_variants(S, k, positive)
        wrong = {name: v for name, v in values.items() if not np.isclose(v, right)}
        for a, b in itertools.combinations(wrong, 2):
            assert not np.isclose(wrong[a], wrong[b]), (a, b, wrong)
    first = lesson11.recall_variants(lesson11._COLUMNS_BETTER, 1, None)
    assert {"columns", "k+1"} <= set(first) and first["columns"] == 1.0


# --- zero_shot_classify ---------------------------------------------------------------------


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _zero_shot(image_emb, prompt_emb, prompt_class, n_classes, *, unit_prompts=True, renormalise=True,
               combine="mean", axis=1, returns="class"):  # fmt: skip
    """A learner's NumPy answer, with one switch per classic mistake."""
    prompts = _unit(prompt_emb) if unit_prompts else prompt_emb
    images = _unit(image_emb)
    if returns in ("best prompt", "prompt index"):
        best = (images @ _unit(prompt_emb).T).argmax(axis=1)
        return prompt_class[best] if returns == "best prompt" else best
    groups = [prompts[prompt_class == c] for c in range(n_classes)]
    classes = np.stack([g.mean(axis=0) if combine == "mean" else g.sum(axis=0) for g in groups])
    if renormalise:
        classes = _unit(classes)
    scores = images @ classes.T
    if returns == "scores":
        return scores
    return scores.argmax(axis=axis)


def _zero_shot_with(**switches):
    return lambda i, p, c, n: _zero_shot(i, p, c, n, **switches)


def _zero_shot_torch(image_emb, prompt_emb, prompt_class, n_classes):
    images = F.normalize(torch.tensor(image_emb), dim=1)
    prompts = F.normalize(torch.tensor(prompt_emb), dim=1)
    one_hot = F.one_hot(torch.tensor(prompt_class), n_classes).double()  # (P, C)
    classes = F.normalize(one_hot.T @ prompts / one_hot.sum(dim=0)[:, None], dim=1)
    return (images @ classes.T).argmax(dim=1)


def _mean_of_cosines(image_emb, prompt_emb, prompt_class, n_classes):
    cosines = _unit(image_emb) @ _unit(prompt_emb).T  # (N, P)
    return np.stack([cosines[:, prompt_class == c].mean(axis=1) for c in range(n_classes)], axis=1).argmax(
        axis=1
    )


@pytest.mark.parametrize(
    "answer",
    [_zero_shot_with(), _zero_shot_with(combine="sum"), _zero_shot_torch],
    ids=["mean", "sum_then_renormalise", "torch"],
)
def test_zero_shot_references_pass(answer, capsys):
    assert check("zero_shot_classify", answer) is None
    assert "✓ zero_shot_classify" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_zero_shot_with(renormalise=False), "the class means NOT re-normalised"),
        (_mean_of_cosines, "the mean of each class's prompt cosines"),
        (_zero_shot_with(combine="sum", renormalise=False), "you summed each class's unit prompts"),
        (_zero_shot_with(unit_prompts=False), "you averaged the prompts as they came"),
        (_zero_shot_with(unit_prompts=False, renormalise=False), "you averaged the raw prompts"),
        (_zero_shot_with(returns="best prompt"), "the class of its single best-matching PROMPT"),
        (_zero_shot_with(returns="prompt index"), "the index of each image's best PROMPT"),
        (_zero_shot_with(axis=0), "the argmax ran over the images (axis=0)"),
        (_zero_shot_with(returns="scores"), "you returned the (40, 3) matrix of scores"),
        (lambda i, p, c, n: _zero_shot(i, p, c, n) + 0.5, "not whole numbers"),
        (lambda i, p, c, n: None, "did you forget `return`?"),
        (lambda i, p, c, n: (_zero_shot(i, p, c, n) + 1) % n, "get another class than they should"),
    ],
)
def test_zero_shot_mistakes_get_their_hint(wrong, fragment):
    _fails("zero_shot_classify", wrong, fragment)


def test_zero_shot_case_tells_every_mistake_apart():
    _, images, prompts, prompt_class, n_classes = lesson11._zero_shot_cases()[0]
    labels = lesson11.zero_shot_variants(images, prompts, prompt_class, n_classes)
    for a, b in itertools.combinations(labels, 2):
        assert (labels[a] != labels[b]).sum() >= 3, (a, b)  # each pair differs on at least 3 of 40 images


# --- info_nce_at_start and info_nce_floor -----------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        lambda B, H: (math.log(B + H) + math.log(B)) / 2,
        lambda B, H: math.log(math.sqrt(B * (B + H))),
        lambda B, H: np.log([B + H, B]).mean(),
        lambda B, H: torch.log(torch.tensor([B + H, B], dtype=torch.float64)).mean(),
        lambda B, H: math.log(B) + math.log1p(H / B) / 2,
    ],
    ids=["two_logs", "geometric_mean", "numpy", "torch", "log1p"],
)
def test_at_start_references_pass(answer, capsys):
    assert check("info_nce_at_start", answer) is None
    assert "(ln(B + H) + ln B) / 2: 20 values of (B, H) right" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda B, H: math.log(B + H), "text -> image does not see the hard negatives"),
        (lambda B, H: math.log(B), "your answer ignores H"),
        (lambda B, H: math.log(B + 2 * H), "counts every hard negative twice"),
        (lambda B, H: math.log(B + H - 1), "ln(B + H - 1) leaves the positive out"),
        (lambda B, H: (math.log(B + H - 1) + math.log(B - 1)) / 2, "both logarithms leave the positive out"),
        (lambda B, H: math.log(B + H) + math.log(B), "the SUM of the two directions"),
        (lambda B, H: math.log(2 * B + H), "into ONE softmax"),
        (lambda B, H: math.log(2 * B + H) / 2, "pooled into one count"),
        (lambda B, H: math.log(B + H / 2), "averaged the two directions' candidate COUNTS"),
        (lambda B, H: math.log((2 * B + H) / 2), "averaged the two directions' candidate COUNTS"),
        (lambda B, H: (math.log(1 + H) + math.log(B)) / 2, "do not replace the batch's other captions"),
        (lambda B, H: math.log(1 + H), "ln(1 + H) counts only the positive and the hard negatives"),
        (lambda B, H: math.log(B + H) / 2, "the text -> image direction does not cost 0"),
        (lambda B, H: (math.log(B * (1 + H)) + math.log(B)) / 2, "H hard negatives of its own"),
        (lambda B, H: (1 / (B + H) + 1 / B) / 2, "those are the probabilities"),
        (lambda B, H: 1 / (B + H), "the probability image i's softmax gives its caption"),
        (lambda B, H: -(math.log(B + H) + math.log(B)) / 2, "the sign"),
        (lambda B, H: (math.log2(B + H) + math.log2(B)) / 2, "base 2"),
        (lambda B, H: (math.log10(B + H) + math.log10(B)) / 2, "base 10"),
        (lambda B, H: math.log(B + 1), "does not change with H"),
        (lambda B, H: 2.0, "does not change with H"),
        (lambda B, H: math.log(B) + H / (2 * B), "Without hard negatives (H = 0) yours is right"),
        (lambda B, H: (math.log(B + H + 1) + math.log(B + 1)) / 2, "how many does image i have"),
        (lambda B, H: None, "did you forget `return`?"),
        (lambda B, H: [math.log(B + H), math.log(B)], "return one number"),
        (lambda B, H: "ln B", "return one number"),
    ],
)
def test_at_start_mistakes_get_their_hint(wrong, fragment):
    _fails("info_nce_at_start", wrong, fragment)


def test_at_start_is_what_the_library_loss_gives_with_hard_negatives():
    """All 2B + H embeddings the same vector: mmcourse.models.info_nce(..., hard_negatives) is the formula."""
    from mmcourse.models import info_nce

    for B, H in [(2, 1), (8, 3), (32, 32)]:
        same = torch.ones(B, 5, dtype=torch.float64)
        hard = torch.ones(H, 5, dtype=torch.float64) * 2.0  # length does not matter: normalised inside
        for tau in (0.07, 1.0):
            got = float(info_nce(same, same, tau, hard_negatives=hard))
            assert math.isclose(got, lesson11._at_start(B, H), rel_tol=1e-12), (B, H, tau)
        assert math.isclose(float(info_nce(same, same, 0.5)), lesson11._at_start(B, 0), rel_tol=1e-12)


def _simplex_floor(B, tau):
    return math.log1p((B - 1) * math.exp(-B / ((B - 1) * tau)))


@pytest.mark.parametrize(
    "answer",
    [
        _simplex_floor,
        lambda B, tau: math.log1p((B - 1) * math.exp((-1 / (B - 1) - 1) / tau)),
        lambda B, tau: np.log(1 + (B - 1) * np.exp(-B / ((B - 1) * tau))),  # no log1p: still right to 1e-12
        lambda B, tau: (
            float(
                torch.logsumexp(torch.tensor([1.0] + [-1 / (B - 1)] * (B - 1), dtype=torch.float64) / tau, 0)
            )
            - 1 / tau
        ),
    ],
    ids=["log1p", "cosine_minus_one", "log", "logsumexp"],
)
def test_floor_references_pass(answer, capsys):
    assert check("info_nce_floor", answer) is None
    assert "for B = 32 and temperature 1 that is 2.488, above the 1.648" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (lambda B, tau: math.log1p((B - 1) * math.exp(-2 / tau)), "impossible for B > 2"),
        (lambda B, tau: math.log1p((B - 1) * math.exp(-(1 + 1 / B) / tau)), "your negatives sit at cosine -1/B"),
        (lambda B, tau: math.log1p((B - 1) * math.exp(-(1 + 2 / (B - 1)) / tau)), "you counted each pair once"),
        (lambda B, tau: math.log1p((B - 1) * math.exp(-(1 - 1 / (B - 1)) / tau)), "the sign of the simplex's"),
        (lambda B, tau: math.log1p((B - 1) * math.exp(-1 / ((B - 1) * tau))), "as if the positive's logit were 0"),
        (lambda B, tau: math.log1p((B - 1) * math.exp(-1 / ((B - 1) * tau) - 1)), "the positive's logit is 1/tau"),
        (lambda B, tau: math.log((B - 1) * math.exp(-B / ((B - 1) * tau))), "dropped the positive's own term"),
        (lambda B, tau: (B - 1) * math.exp(-B / ((B - 1) * tau)), "first-order approximation"),
        (lambda B, tau: math.log1p(B * math.exp(-B / ((B - 1) * tau))), "you count B negatives"),
        (lambda B, tau: math.log1p((B - 1) * math.exp(-1 / tau)), "every negative at cosine 0"),
        (lambda B, tau: (B - 1) * math.log1p(math.exp(-B / ((B - 1) * tau))), "one binary term per negative"),
        (lambda B, tau: math.log1p((B - 1) * math.exp(-B * tau / (B - 1))), "the temperature multiplies"),
        (lambda B, tau: 2 * _simplex_floor(B, tau), "you added the two directions"),
        (lambda B, tau: -_simplex_floor(B, tau), "the sign"),
        (lambda B, tau: math.log10(1 + (B - 1) * math.exp(-B / ((B - 1) * tau))), "base-10 logarithm"),
        (lambda B, tau: math.log(B), "at the START of training"),
        (lambda B, tau: math.log(B - 1), "ln(B - 1) does not depend on the temperature"),
        (lambda B, tau: 0.0, "0 would need the positive's probability to be exactly 1"),
        (lambda B, tau: math.log(B + 1), "your floor does not change with the temperature"),
        (lambda B, tau: math.log1p((B - 1) * math.exp(-(1 + 1 / B**2) / tau)) if B > 2 else _simplex_floor(2, tau),
         "For B = 2 yours is right"),
        (lambda B, tau: math.log1p((B - 1) * math.exp(-3 / tau)), "below the floor"),
        (lambda B, tau: math.log1p((B - 1) * math.exp(-0.5 / tau)), "Write image i's row"),
        (lambda B, tau: None, "did you forget `return`?"),
    ],
)  # fmt: skip
def test_floor_mistakes_get_their_hint(wrong, fragment):
    _fails("info_nce_floor", wrong, fragment)


def test_the_derivations_mistakes_are_told_apart_on_their_grids():
    """No two of (right answer, every listed mistake) agree on the whole grid: each hint is reachable."""
    for right, mistakes, grid in [
        (lesson11._at_start, lesson11._AT_START_MISTAKES, lesson11._START_GRID),
        (lesson11._floor, lesson11._FLOOR_MISTAKES, lesson11._GRID),
    ]:
        values = [lesson11._grid(f, grid) for f in [right] + [f for f, _ in mistakes]]
        for a, b in itertools.combinations(values, 2):
            assert (~np.isclose(a, b, rtol=1e-6, atol=1e-12)).sum() >= 10


def _simplex(B):
    """The centred standard basis of R^B, normalised: B unit vectors at pairwise cosine -1/(B - 1)."""
    return F.normalize(torch.eye(B, dtype=torch.float64) - 1 / B, dim=1)


def test_the_floor_is_what_the_library_loss_gives_on_the_simplex_and_nothing_is_lower():
    """B = 2 antipodal points reach the lesson's bound; for B > 2 the simplex reaches the floor, above it."""
    from mmcourse.models import info_nce

    for B in (2, 3, 4, 8, 32):
        z = _simplex(B)
        cosines = z @ z.T
        assert torch.allclose(
            cosines[~torch.eye(B, dtype=torch.bool)], torch.tensor(-1 / (B - 1), dtype=torch.float64)
        )
        for tau in (0.07, 0.5, 1.0, 3.0):
            # a float temperature would become float32; the log-softmax's cancellation costs ~1e-14 at tau = 0.07
            loss = float(info_nce(z, z, torch.tensor(tau, dtype=torch.float64)))
            assert math.isclose(loss, lesson11._floor(B, tau), rel_tol=1e-9, abs_tol=1e-13), (B, tau)
            if B == 2:
                assert math.isclose(loss, lesson11._lesson_bound(2, tau), rel_tol=1e-9, abs_tol=1e-13)
            else:
                assert loss > lesson11._lesson_bound(B, tau)
    generator = torch.Generator().manual_seed(0)
    for B in (3, 8):
        for _ in range(50):  # random unit vectors, shared by image and caption, and independent ones
            u, v = torch.randn(2, B, B - 1, dtype=torch.float64, generator=generator)
            assert float(info_nce(u, u, 0.5)) >= lesson11._floor(B, 0.5)
            assert float(info_nce(u, v, 0.5)) >= lesson11._floor(B, 0.5)


# --- the library's own versions agree with the checkers --------------------------------------


def test_library_versions_pass():
    from mmcourse.metrics import recall_at_k
    from mmcourse.models import info_nce

    assert check("info_nce", info_nce) is None
    assert check("recall_at_k", recall_at_k) is None
