"""Lesson 12 checkers: the reference answers pass, each plausible mistake gets its own hint."""

import copy
import itertools
import math
import re

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mmcourse.checks import ExerciseFailed, ExerciseNotStarted, check
from mmcourse.checks import lesson12_role_playing_vlm as lesson12
from mmcourse.data.roles import ROLES, parse_role_caption, role_caption
from mmcourse.data.shapes import COLOURS, DEFAULT_COLOURS, DEFAULT_SHAPES, RELATIONS
from mmcourse.models.captioner import BOS_ID, EOS_ID, decode_ids, teacher_forcing


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """The checkers run tiny models: one thread is fastest."""


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


EXERCISES = ["prefix_lm_loss", "greedy_decode", "style_adherence", "my_role", "role_blind_adherence"]


@pytest.mark.parametrize("exercise_id", EXERCISES)
@pytest.mark.parametrize("stub", [_stub, _ellipsis_stub], ids=["NotImplementedError", "ellipsis"])
def test_unstarted_exercises_are_reported_as_not_started(exercise_id, stub):
    answer = (stub, stub) if exercise_id == "my_role" else stub
    with pytest.raises(ExerciseNotStarted, match="not written yet"):
        check(exercise_id, answer)


def test_my_role_with_one_function_written_is_not_started_yet():
    with pytest.raises(ExerciseNotStarted, match="not written yet"):
        check("my_role", (_geometer_caption, _stub))


def test_all_five_are_registered_to_lesson_12():
    from mmcourse.checks import get_exercise

    assert {get_exercise(e).lesson for e in EXERCISES} == {"12_role_playing_vlm"}


# --- prefix_lm_loss -------------------------------------------------------------------------


def _lm_loss(outputs, ids, prefix, *, slip="none", mask="targets", reduction="tokens", eos=True,
             returns="tensor", dtype=None):  # fmt: skip
    """A learner's answer, with one switch per classic mistake."""
    if dtype is not None:
        outputs = outputs.to(dtype)
    P, T = prefix, ids.shape[1] - 1
    logits, targets = {
        "none": (outputs[:, P:], ids[:, 1:]),
        "unshifted": (outputs[:, P:], ids[:, :-1]),
        "late": (outputs[:, P + 1 :], ids[:, 1:-1]),
        "early": (outputs[:, P - 1 : -1], ids[:, 1:]),
        "bos": (outputs[:, P - 1 :], ids),
        "no prefix": (outputs[:, :T], ids[:, 1:]),
    }[slip]
    per = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    keep = {"targets": targets != 0, "none": torch.ones_like(targets, dtype=torch.bool),
            "inputs": ids[:, :-1] != 0}[mask]  # fmt: skip
    if not eos:
        keep = keep & (targets != EOS_ID)
    if reduction == "none":
        return per * keep
    if reduction == "captions":
        loss = ((per * keep).sum(dim=1) / keep.sum(dim=1)).mean()
    elif reduction == "all":
        loss = (per * keep).sum() / per.numel()
    elif reduction == "sum":
        loss = (per * keep).sum()
    else:
        loss = (per * keep).sum() / keep.sum()
    return loss.item() if returns == "number" else loss


def _lm_with(**switches):
    return lambda outputs, ids, prefix: _lm_loss(outputs, ids, prefix, **switches)


def _lm_ignore_index(outputs, ids, prefix):
    return F.cross_entropy(outputs[:, prefix:].transpose(1, 2), ids[:, 1:], ignore_index=0)


def _lm_log_softmax(outputs, ids, prefix):
    """An independent correct answer: log-softmax, gather, mask by hand."""
    targets = ids[:, 1:]
    log_p = torch.log_softmax(outputs[:, prefix:], dim=-1).gather(2, targets[..., None]).squeeze(2)
    real = targets != 0
    return -(log_p * real).sum() / real.sum()


def _lm_minus_100(outputs, ids, prefix):
    targets = ids[:, 1:].masked_fill(ids[:, 1:] == 0, -100)
    return F.cross_entropy(
        outputs[:, -targets.shape[1] :].reshape(-1, outputs.shape[-1]), targets.reshape(-1)
    )


def _lm_detached(outputs, ids, prefix):
    with torch.no_grad():
        return _lm_ignore_index(outputs, ids, prefix)


@pytest.mark.parametrize(
    "answer",
    [_lm_with(), _lm_ignore_index, _lm_log_softmax, _lm_minus_100, _lm_with(dtype=torch.float32)],
    ids=["mask", "ignore_index", "log_softmax", "minus_100_last_T", "float32"],
)
def test_prefix_lm_loss_references_pass(answer, capsys):
    check("prefix_lm_loss", answer)
    assert "✓ prefix_lm_loss: equal to mmcourse.vlm.caption_loss" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_lm_with(slip="unshifted"), "your targets are not shifted"),
        (_lm_with(slip="late"), "starts one position late, at P + 1"),
        (_lm_with(slip="early"), "starts one position early, at P - 1"),
        (_lm_with(slip="bos"), "to predict <bos>"),
        (_lm_with(slip="no prefix"), "they sit on the image and role tokens"),
        (_lm_with(mask="none"), "the padding is in your loss"),
        (_lm_with(mask="inputs"), "your mask comes from the inputs"),
        (_lm_with(reduction="all"), "divided by all B x T positions"),
        (_lm_with(eos=False), "you left <eos> out of the loss"),
        (_lm_with(reduction="captions"), "each caption's mean, then the mean over the captions"),
        (_lm_with(reduction="sum"), "you summed the tokens' losses"),
        (_lm_with(reduction="none"), "one loss per target position"),
        (_lm_with(returns="number"), "not a torch tensor"),
        (_lm_detached, "no gradient flows through it"),
        (_lm_with(slip="unshifted", mask="none"), "The recipe: the targets are ids[:, 1:]"),
        (lambda outputs, ids, prefix: None, "did you forget `return loss`?"),
        (lambda outputs, ids, prefix: F.cross_entropy(outputs[:, prefix:], ids[:, 1:]), "your code raised"),
    ],
)
def test_prefix_lm_loss_mistakes_get_their_hint(wrong, fragment):
    _fails("prefix_lm_loss", wrong, fragment)


def test_prefix_lm_loss_hard_coded_prefix_is_caught_on_the_second_case():
    _fails("prefix_lm_loss", lambda outputs, ids, prefix: _lm_ignore_index(outputs, ids, 5), "P = 2")


def test_prefix_lm_loss_cases_give_every_mistake_its_own_value():
    _, outputs, ids, P, _ = lesson12._lm_cases()[0]
    right = float(lesson12.reference_lm_loss(outputs, ids, P))
    values = lesson12.lm_variants(outputs, ids, P)
    assert set(values) == set(lesson12._LM_HINTS)
    assert all(not math.isclose(v, right, rel_tol=1e-3) for v in values.values()), values
    for a, b in itertools.combinations(values, 2):
        assert not math.isclose(values[a], values[b], rel_tol=1e-3), (a, b)


def test_prefix_lm_loss_cases_are_built_by_the_library_teacher_forcing():
    """ids[:, :-1] (with <eos> turned to <pad>) are teacher_forcing's inputs, ids[:, 1:] its targets."""
    vocab = lesson12.grammar_vocab()
    for _, outputs, ids, P, _ in lesson12._lm_cases():
        captions = decode_ids(vocab, ids[:, 1:])
        inputs, targets = teacher_forcing(vocab, captions)
        assert torch.equal(inputs, ids[:, :-1].masked_fill(ids[:, :-1] == EOS_ID, 0))
        assert torch.equal(targets, ids[:, 1:].masked_fill(ids[:, 1:] == 0, -100))
        assert outputs.shape == (len(ids), P + ids.shape[1] - 1, len(vocab))
        assert (ids[:, 1:] == 0).any() and not (ids[0] == 0).any()  # padding, and one caption without


def test_prefix_lm_loss_referee_is_the_library_loss_on_a_real_model():
    """The full-sequence outputs of a RoleCaptioner, sliced after its prefix, are what it returns itself."""
    from mmcourse.models.captioner import build_captioner, prefix_lm_mask
    from mmcourse.vlm import caption_loss

    vocab = lesson12.grammar_vocab()
    torch.manual_seed(0)
    model = build_captioner(vocab_size=len(vocab), dim=16, depth=1, heads=2, image_channels=[8, 8, 8]).eval()
    captions = [role_caption("child", "red", "circle", "left of", "blue", "square"),
                role_caption("poet", "green", "square", "above", "red", "circle")]  # fmt: skip
    inputs, targets = teacher_forcing(vocab, captions)
    images, roles = torch.rand(2, 3, 16, 16), torch.tensor([2, 1])
    with torch.no_grad():
        x = torch.cat([model.image_prefix(images), model.role_embedding(roles)[:, None],
                       model.word_embedding(inputs) + model.word_positions[:, : inputs.shape[1]]], dim=1)  # fmt: skip
        mask = prefix_lm_mask(model.prefix_length, inputs.shape[1])
        for block in model.blocks:
            x = block(x, mask)
        outputs = model.head(model.norm(x))  # (B, P + T, V)
        ids = torch.cat([inputs[:, :1], targets.clamp(min=0)], dim=1)
        library = caption_loss(model(images, roles, inputs), targets)
        assert torch.allclose(_lm_ignore_index(outputs, ids, model.prefix_length), library, atol=1e-6)
        assert torch.allclose(
            lesson12.reference_lm_loss(outputs, ids, model.prefix_length), library, atol=1e-6
        )


# --- greedy_decode --------------------------------------------------------------------------


def _greedy(model, vocab, images, roles, max_len=20, *, start=BOS_ID, feed="own", axis=-1, position=-1,
            stop="all", role_mode="given", text="cut", sample=False, eval_mode=True, extra=0):  # fmt: skip
    """A learner's answer, with one switch per classic mistake."""
    if eval_mode:
        model.eval()
    B = images.shape[0]
    roles = {"given": roles, "zeros": torch.zeros_like(roles), "first": roles[:1].repeat(B)}[role_mode]
    with torch.no_grad():
        if feed == "parallel":
            inputs = torch.zeros(B, max_len, dtype=torch.long)
            inputs[:, 0] = BOS_ID
            return decode_ids(vocab, model(images, roles, inputs).argmax(dim=-1))
        inputs = torch.full((B, 1), start, dtype=torch.long)
        finished = torch.zeros(B, dtype=torch.bool)
        for _ in range(max_len + extra):
            fed = {"own": inputs, "same": inputs[:, :1], "last": inputs[:, -1:]}[feed]
            logits = model(images, roles, fed)[:, position]
            if sample:
                following = torch.multinomial(torch.softmax(logits.float(), -1), 1)[:, 0]
            else:
                following = logits.argmax(dim=axis)
            if text == "cut":
                following = following.masked_fill(finished, 0)
            inputs = torch.cat([inputs, following[:, None]], dim=1)
            finished |= following == EOS_ID
            if text == "cut" and (bool(finished.all()) or (stop == "any" and bool(finished.any()))):
                break
    rows = inputs[:, 1:] if text != "bos" else inputs
    if text in ("cut", "bos"):
        texts = []
        for row in rows.tolist():
            words = []
            for i in row:
                if i == EOS_ID:
                    break
                if i != 0:
                    words.append(vocab.itos[i])
            texts.append(" ".join(words))
        return texts
    if text == "eos":  # up to and with <eos>
        return [" ".join(vocab.itos[i] for i in row[: row.index(EOS_ID) + 1] if i) if EOS_ID in row
                else " ".join(vocab.itos[i] for i in row if i) for row in rows.tolist()]  # fmt: skip
    # "all": every word generated, <eos> dropped but what follows it kept
    return [" ".join(vocab.itos[i] for i in row if i not in (0, EOS_ID)) for row in rows.tolist()]


def _greedy_with(**switches):
    return lambda model, vocab, images, roles, max_len=20: _greedy(
        model, vocab, images, roles, max_len, **switches
    )


def _greedy_library_style(model, vocab, images, roles, max_len=20):
    """An independent correct answer: one caption at a time, stopping at <eos>."""
    was_training = model.training
    model.eval()
    texts = []
    with torch.no_grad():
        for image, role in zip(images, roles):
            ids = [BOS_ID]
            while len(ids) <= max_len:
                word = int(model(image[None], role[None], torch.tensor([ids]))[0, -1].argmax())
                if word == EOS_ID:
                    break
                ids.append(word)
            texts.append(" ".join(vocab.itos[i] for i in ids[1:]))
    model.train(was_training)
    return texts


@pytest.mark.parametrize(
    "answer",
    [_greedy_with(), _greedy_library_style, lesson12._library_greedy_decode],
    ids=["batched", "one_at_a_time", "library"],
)
def test_greedy_references_pass(answer, capsys):
    check("greedy_decode", answer)
    assert "✓ greedy_decode: equal to mmcourse.models.captioner.greedy_decode" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_greedy_with(text="all"), "you went on past <eos>"),
        (_greedy_with(text="eos"), "<eos> is in your text"),
        (_greedy_with(text="bos"), "<bos> is the start signal"),
        (_greedy_with(role_mode="zeros"), "captioned in role 0"),
        (_greedy_with(role_mode="first"), "in the FIRST image's role"),
        (_greedy_with(feed="same"), "the model saw the same input, <bos> alone"),
        (_greedy_with(position=0), "you read its prediction at position 0"),
        (_greedy_with(feed="last"), "only the last word at each step"),
        (_greedy_with(feed="parallel"), "you ran the model once over <bos> and padding"),
        (_greedy_with(start=0), "you started from <pad> (0)"),
        (_greedy_with(start=EOS_ID), "your captions start from <eos>"),
        (_greedy_with(start=1), "your captions start from <unk>"),
        (_greedy_with(axis=0), "argmax over the BATCH axis"),
        (_greedy_with(stop="any"), "you stopped as soon as ONE caption reached <eos>"),
        (_greedy_with(extra=-1), "and yours has 11"),
        (_greedy_with(extra=1), "and yours has 13"),
        (_greedy_with(sample=True), "your decoder draws at random"),
        (_greedy_with(eval_mode=False), "those of the model in TRAINING mode"),
        (lambda model, vocab, images, roles, max_len=20: None, "did you forget `return`?"),
        (lambda model, vocab, images, roles, max_len=20: "a red circle", "you returned one string"),
        (lambda model, vocab, images, roles, max_len=20: torch.zeros(len(images), 3), "(word ids?)"),
        (lambda model, vocab, images, roles, max_len=20: [["a", "red"]] * len(images), "join the words"),
        (lambda model, vocab, images, roles, max_len=20: ["a"] * 3, "you returned 3 captions for 36 images"),
        (lambda model, vocab, images, roles, max_len=20: ["a red circle"] * len(images), "Greedy decoding: start"),
        (lambda model, vocab, images, roles, max_len=20: _greedy(model, vocab, images, None, max_len), "your code raised"),
    ],
)  # fmt: skip
def test_greedy_mistakes_get_their_hint(wrong, fragment):
    _fails("greedy_decode", wrong, fragment)


def test_greedy_decode_variants_are_all_different():
    """On the scripted case every slip the checker names gives captions of its own, unlike the right ones."""
    model, vocab, images, roles = lesson12.scripted_case()
    want = lesson12._library_greedy_decode(model, vocab, images, roles, max_len=12)
    outputs = [
        lesson12.decode_variant(model, vocab, images, roles, 12, **s) for s, _ in lesson12._DECODE_VARIANTS
    ]
    assert want == lesson12.decode_variant(model, vocab, images, roles, 12)
    for got in outputs:
        assert got != want
    for a, b in itertools.combinations(outputs, 2):
        assert a != b


def test_scripted_model_says_each_scene_in_each_role():
    """The scripted model's greedy captions are the role captions of its scenes (cut at max_len words)."""
    model, vocab, images, roles = lesson12.scripted_case()
    for max_len in (12, 20):
        texts = lesson12._library_greedy_decode(model, vocab, images, roles, max_len=max_len)
        for k, (text, role) in enumerate(zip(texts, roles.tolist())):
            words = role_caption(ROLES[role], *lesson12._content(k, seed=12)).split()
            assert text.split() == words[:max_len]
    assert sorted(roles.tolist()) == sorted(list(range(4)) * 9) and roles[0] != 0
    assert len(images) == len(vocab) == 36  # the batch-axis argmax runs


def test_real_case_is_told_apart_from_train_mode_and_from_role_zero():
    model, vocab, images, roles = lesson12.real_case()
    want = lesson12._library_greedy_decode(copy.deepcopy(model), vocab, images, roles)
    assert all(a != b for a, b in zip(want, lesson12.train_mode_decode(model, vocab, images, roles)))
    assert want != lesson12._library_greedy_decode(
        copy.deepcopy(model), vocab, images, torch.zeros_like(roles)
    )
    assert len(set(want)) >= 3 and min(len(t.split()) for t in want) < 20  # varied, and some end at <eos>
    assert model.training  # handed over as a model fresh from training


# --- style_adherence ------------------------------------------------------------------------


def _names(roles):
    return [r if isinstance(r, str) else ROLES[int(r)] for r in roles]


def _adherence(texts, roles, *, role="requested", whitespace=True, grammar="all", lookalikes=False,
               returns="share"):  # fmt: skip
    """A learner's answer, with one switch per classic mistake."""
    names = _names(roles)
    hits = []
    for name, text in zip(names, texts):
        if not whitespace and text != " ".join(text.split()):
            hits.append(False)
            continue
        if role == "any":
            hit = any(parse_role_caption(r, text) is not None for r in ROLES)
        else:
            parsed = parse_role_caption(name, text)
            hit = parsed is not None
            if hit and grammar == "defaults":
                hit = {parsed[0], parsed[3]} <= set(DEFAULT_COLOURS) and {parsed[1], parsed[4]} <= set(
                    DEFAULT_SHAPES
                )
        if lookalikes and not hit:
            opening = {"narrator": "a ", "poet": tuple(RELATIONS), "child": "look !", "painter": "i painted"}[
                name
            ]
            hit = text.startswith(opening) and len(text.split()) > 3
        hits.append(hit)
    if returns == "list":
        return hits
    if returns == "count":
        return sum(hits)
    if returns == "percent":
        return 100 * sum(hits) / len(hits)
    if returns == "among parsed":
        return sum(hits) / sum(any(parse_role_caption(r, t) is not None for r in ROLES) for t in texts)
    if returns == "per role":
        return float(
            np.mean([np.mean([h for h, n in zip(hits, names) if n == r]) for r in ROLES if r in names])
        )
    return sum(hits) / len(hits)


def _adherence_with(**switches):
    return lambda texts, roles: _adherence(texts, roles, **switches)


def _adherence_names_only(texts, roles):
    return float(np.mean([parse_role_caption(r, t) is not None for r, t in zip(roles, texts)]))


def _adherence_isinstance_int(texts, roles):
    names = [ROLES[r] if isinstance(r, int) else r for r in roles]
    return float(np.mean([parse_role_caption(r, t) is not None for r, t in zip(names, texts)]))


@pytest.mark.parametrize(
    "answer",
    [
        _adherence_with(),
        lesson12._library_style_adherence,
        lambda texts, roles: torch.tensor(_adherence(texts, roles)),
    ],
    ids=["parse", "library", "tensor"],
)
def test_style_adherence_references_pass(answer, capsys):
    check("style_adherence", answer)
    assert "✓ style_adherence: equal to mmcourse.vlm.style_adherence on 4 cases" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_adherence_with(role="any"), "parse as a caption of ANY role"),
        (_adherence_with(whitespace=False), "you compared exact strings"),
        (_adherence_with(whitespace=False, grammar="defaults"), "the default colours and shapes only"),
        (_adherence_with(lookalikes=True), "only LOOK like their role"),
        (_adherence_with(returns="among parsed"), "that parse in SOME role"),
        (_adherence_with(returns="per role"), "a mean per role, then over the roles"),
        (_adherence_with(returns="count"), "the NUMBER of texts in their role"),
        (_adherence_with(returns="percent"), "a percentage"),
        (_adherence_with(returns="list"), "one per text. Return their share"),
        (_adherence_names_only, "Roles may come as ids too"),
        (_adherence_isinstance_int, "Roles may come as ids too"),
        (lambda texts, roles: None, "did you forget `return`?"),
        (lambda texts, roles: "high", "return one number"),
        (lambda texts, roles: 0.45, "A text adheres when parse_role_caption"),
    ],
)
def test_style_adherence_mistakes_get_their_hint(wrong, fragment):
    _fails("style_adherence", wrong, fragment)


def test_style_adherence_cases_tell_the_mistakes_apart():
    case, texts, roles, names, looks = lesson12._adherence_cases()[0]
    right = lesson12._library_style_adherence(texts, names)
    values = lesson12.adherence_variants(texts, names, looks)
    assert set(values) == set(lesson12._ADHERENCE_HINTS)
    assert all(not math.isclose(v, right) for v in values.values())
    for a, b in itertools.combinations(values, 2):
        assert not math.isclose(values[a], values[b]), (a, b)
    # and the learner-style variants land on the checker's values
    assert _adherence(texts, roles, lookalikes=True) == values["lookalike"]
    assert _adherence(texts, roles, whitespace=False, grammar="defaults") == values["defaults"]


# --- my_role --------------------------------------------------------------------------------

_NAMES = {"circle": "disc", "triangle": "trigon", "square": "tetragon", "diamond": "rhombus"}
_SHAPE_OF = {name: shape for shape, name in _NAMES.items()}
_GEOMETER = re.compile(r"a (\w+) (\w+) lies (left of|right of|above|below) a (\w+) (\w+)")


def _geometer_caption(subject_colour, subject_shape, relation, object_colour, object_shape):
    return (
        f"a {subject_colour} {_NAMES[subject_shape]} lies {relation} a {object_colour} {_NAMES[object_shape]}"
    )


def _geometer_parse(text, *, normalise=True, pattern=_GEOMETER, order="right", relation="whole", names=True):
    text = " ".join(text.split()) if normalise else text
    match = pattern.fullmatch(text) if hasattr(pattern, "fullmatch") else pattern(text)
    if not match:
        return None
    sc, ss, rel, oc, os_ = match.groups()
    if sc not in COLOURS or oc not in COLOURS or ss not in _SHAPE_OF or os_ not in _SHAPE_OF:
        return None
    if names:
        ss, os_ = _SHAPE_OF[ss], _SHAPE_OF[os_]
    if relation == "first word":
        rel = rel.split()[0]
    return (sc, rel, ss, oc, os_) if order == "swapped" else (sc, ss, rel, oc, os_)


def _parse_with(**switches):
    return lambda text: _geometer_parse(text, **switches)


def _narrator_copy():
    return (lambda *c: role_caption("narrator", *c), lambda t: parse_role_caption("narrator", t))


def _lenient_parse(text):
    """Reads the slots by position, whatever the verb: accepts the narrator's captions too."""
    words = text.split()
    if len(words) < 8 or words[0] != "a" or words[-3] != "a":
        return None
    relation, shape = " ".join(words[4:-3]), {**_SHAPE_OF, **{s: s for s in _NAMES}}
    sc, ss, oc, os_ = words[1], words[2], words[-2], words[-1]
    if relation not in RELATIONS or {sc, oc} - set(COLOURS) or {ss, os_} - set(shape):
        return None
    return (sc, shape[ss], relation, oc, shape[os_])


def _searching_parse(text):
    match = _GEOMETER.search(" ".join(text.split()))  # search, not fullmatch: a longer text is accepted
    return _geometer_parse(match[0]) if match else None


@pytest.mark.parametrize(
    "answer",
    [
        (_geometer_caption, _geometer_parse),
        (lambda sc, ss, rel, oc, os_: f"ahoy ! i spy a {sc} {ss} {rel} a {oc} {os_}",
         lambda t: (lambda m: m.groups() if m else None)(
             re.fullmatch(r"ahoy ! i spy a (red|green|blue|yellow|purple|cyan) (circle|square|triangle|diamond) "
                          r"(left of|right of|above|below) a (red|green|blue|yellow|purple|cyan) "
                          r"(circle|square|triangle|diamond)", " ".join(t.split())))),
        [_geometer_caption, lambda t: list(_geometer_parse(t)) if _geometer_parse(t) else None],
    ],
    ids=["geometer", "sailor", "list"],
)  # fmt: skip
def test_my_role_designs_pass(answer, capsys):
    check("my_role", answer)
    out = capsys.readouterr().out
    assert "✓ my_role: all 2304 contents round-trip, none collides with the 4 roles" in out


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (_geometer_caption, "pass the two functions together, as a pair"),
        (_narrator_copy(), "is also a caption of the narrator"),
        ((lambda *c: role_caption("poet", *c), lambda t: parse_role_caption("poet", t)), "also a caption of the poet"),
        ((_geometer_caption, _lenient_parse), "the narrator's caption"),
        ((_geometer_caption, _parse_with(names=False)), "that caption says"),
        ((_geometer_caption, _parse_with(order="swapped")), "the same words in another order"),
        ((_geometer_caption, _parse_with(relation="first word")), "the relation must be the whole RELATIONS string"),
        ((_geometer_caption, _parse_with(normalise=False)), "whitespace does not change a caption"),
        ((_geometer_caption, _searching_parse), "is not one of your captions"),
        ((_geometer_caption, lambda t: None), "does not recognise your own caption"),
        ((lambda sc, ss, rel, oc, os_: f"a {sc} {_NAMES[ss]} lies {rel} a {oc} shape", _geometer_parse),
         "get the same caption"),
        ((lambda *c: _geometer_caption(*c).capitalize(), _geometer_parse), "lower-case tokens"),
        ((lambda *c: _geometer_caption(*c) + ", arr!", _geometer_parse), "it could only ever say"),
        ((lambda *c: " ".join([_geometer_caption(*c)] * 3), _geometer_parse), "keep captions to at most 20"),
        ((lambda *c: "", _geometer_parse), "return the caption, a non-empty string"),
        ((lambda sc, ss, rel, oc, os_: f"the {sc} {ss} is {rel} the {oc} {os_}",
          lambda t: (lambda m: m.groups() if m else None)(
              re.fullmatch(r"the (\w+) (\w+) is (left of|right of|above|below) the (\w+) (\w+)", " ".join(t.split())))),
         "every word of your captions is already used"),
        ((_geometer_caption, lambda t: 1 / 0), "your code raised ZeroDivisionError"),
    ],
)  # fmt: skip
def test_my_role_mistakes_get_their_hint(wrong, fragment):
    _fails("my_role", wrong, fragment)


def test_my_role_not_a_round_trip_shows_a_counterexample():
    message = _fails(
        "my_role",
        (_geometer_caption, _parse_with(names=False)),
        "parse_my_role('a red disc lies left of a green disc')",
    )
    assert "'disc'" in message and "'circle'" in message


def test_my_role_unknown_word_in_a_library_caption_would_be_reported():
    """The grammar's captions: every library word is known, and the geometer's own words are not among them."""
    words = lesson12._library_words()
    assert {"a", "is", "painted", "vermilion", "rests", "look", "!"} <= words
    assert not {"disc", "trigon", "tetragon", "rhombus", "lies"} & words
    assert len(set(lesson12.CONTENTS)) == len(lesson12.CONTENTS) == 6 * 4 * 4 * 6 * 4


# --- role_blind_adherence -------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        lambda w: (max(w), sum(x * x for x in w)),
        lambda w: [np.max(w), np.dot(w, w)],
        lambda w: torch.tensor([max(w), sum(x**2 for x in w)], dtype=torch.float64),
        lambda w: (max(w), float(np.sum(np.square(w)))),
    ],
    ids=["python", "numpy", "torch", "square"],
)
def test_role_blind_references_pass(answer, capsys):
    check("role_blind_adherence", answer)
    assert "greedy max(w), sampled sum(w^2)" in capsys.readouterr().out


def _sq(w):
    return sum(x * x for x in w)


@pytest.mark.parametrize(
    "wrong, fragment",
    [
        (
            lambda w: (1 / len(w), 1 / len(w)),
            "1/R is right only when the roles are balanced. A role-blind model",
        ),
        (lambda w: (max(w), 1 / len(w)), "A sampled caption is in role s with probability w_s"),
        (lambda w: (max(w), max(w)), "max(w) is greedy decoding's adherence"),
        (lambda w: (_sq(w), max(w)), "the right ones in the wrong order"),
        (lambda w: (_sq(w), _sq(w)), "that is sampling"),
        (lambda w: (1.0, _sq(w)), "requests come in all roles"),
        (lambda w: (min(w), _sq(w)), "not the rarest's"),
        (lambda w: (1 - max(w), _sq(w)), "the share of requests greedy decoding MISSES"),
        (lambda w: (max(w) ** 2, _sq(w)), "speaks it always (probability 1)"),
        (lambda w: (0.0, 0.0), "matches some requests by chance"),
        (lambda w: (max(w), 1.0), "does not know which role was asked"),
        (lambda w: (max(w), 1 - _sq(w)), "the chance of a MISmatch"),
        (lambda w: (max(w), math.sqrt(_sq(w))), "no square root"),
        (lambda w: (max(w), _sq(w) / len(w)), "no division by R"),
        (lambda w: (max(w), max(w) ** 2), "counts only matches in the commonest role"),
        (lambda w: (max(w), sum(x**3 for x in w)), "weighs each role once too often"),
        (lambda w: (max(w), 0.0), "with probability sum(w_s^2)"),
        (lambda w: (max(w), 0.5), "What is P(spoken s) with sampling"),
        (lambda w: (w[0], _sq(w)), "What is P(spoken s) with greedy decoding"),
        (lambda w: max(w), "return two numbers, (greedy, sampled)"),
        (lambda w: None, "did you forget `return greedy, sampled`?"),
        (lambda w: ("max", "sum"), "return two numbers"),
    ],
)
def test_role_blind_mistakes_get_their_hint(wrong, fragment):
    _fails("role_blind_adherence", wrong, fragment)


def test_role_blind_mistakes_are_told_apart_on_the_grid():
    grid = lesson12.SHARE_GRID
    for right, mistakes in ((lesson12.blind_greedy, lesson12._GREEDY_MISTAKES),
                            (lesson12.blind_sampled, lesson12._SAMPLED_MISTAKES)):  # fmt: skip
        values = [np.array([f(w) for w in grid]) for f in [right] + [f for f, _ in mistakes]]
        for a, b in itertools.combinations(values, 2):
            assert (~np.isclose(a, b)).sum() >= 3


def test_role_blind_prediction_holds_for_simulated_role_blind_speakers():
    """A speaker that ignores the request: always the commonest style (greedy) or one drawn by the shares."""
    from mmcourse.vlm import style_adherence

    rng = np.random.default_rng(0)
    shares = np.array([0.55, 0.15, 0.15, 0.15])
    asked = rng.choice(4, size=20000, p=shares)
    content = ("red", "circle", "left of", "blue", "square")
    greedy = [role_caption("narrator", *content)] * len(asked)
    sampled = [role_caption(ROLES[s], *content) for s in rng.choice(4, size=len(asked), p=shares)]
    assert abs(style_adherence(greedy, asked) - lesson12.blind_greedy(shares)) < 0.01
    assert abs(style_adherence(sampled, asked) - lesson12.blind_sampled(shares)) < 0.01
