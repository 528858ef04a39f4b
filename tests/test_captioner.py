"""Lesson 12's prefix-LM captioner (mmcourse.models.captioner): the shift, the mask, what each prediction
may see, and decoding -- greedy against a hand-written loop, sampling against its distribution, beam
search against hand-computed log-probabilities."""

import math

import pytest
import torch
from torch import nn

from mmcourse.checkpoint import build_by_name
from mmcourse.data.roles import make_role_captions
from mmcourse.models.captioner import (
    BOS,
    BOS_ID,
    EOS,
    EOS_ID,
    RoleCaptioner,
    beam_search,
    build_captioner,
    caption_vocab,
    decode_ids,
    greedy_decode,
    prefix_lm_mask,
    sample_captions,
    teacher_forcing,
)
from mmcourse.text import Vocab

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

SMALL = {"image_channels": (8, 16, 16), "dim": 32, "depth": 2, "heads": 4}


@pytest.fixture(scope="module")
def data():
    return make_role_captions(24, seed=0)


@pytest.fixture(scope="module")
def vocab(data):
    return caption_vocab(data.captions)


def _model(vocab, seed=0, **settings):
    torch.manual_seed(seed)
    return build_captioner(vocab_size=len(vocab), **{**SMALL, **settings}).eval()


class Bigram(nn.Module):
    """A stand-in decoder whose next word depends only on the role and the last word: p[role][last] = {word: prob}.

    Its log-probabilities are known exactly, so decoding can be checked against hand-computed values.
    It records the inputs of every call.
    """

    def __init__(self, vocab_size, tables, max_words=24):
        super().__init__()
        self.max_words, self.calls = max_words, []
        logits = torch.full((len(tables), vocab_size, vocab_size), math.log(1e-12))
        for role, table in enumerate(tables):
            for last, following in table.items():
                for word, p in following.items():
                    logits[role, last, word] = math.log(p)
        self.logits = nn.Parameter(logits)

    def forward(self, images, roles, inputs):
        self.calls.append(inputs.clone())
        return self.logits[torch.as_tensor(roles)[:, None], inputs]


def _abc():
    vocab = caption_vocab(["a b c"])
    a, b, c = (vocab.stoi[w] for w in "abc")
    return vocab, a, b, c


# --- vocabulary, teacher forcing, the mask ---------------------------------------------------------------------


def test_caption_vocab_puts_bos_and_eos_after_pad_and_unk(data, vocab):
    assert vocab.itos[:4] == ["<pad>", "<unk>", BOS, EOS] and (BOS_ID, EOS_ID) == (2, 3)
    assert {w for c in data.captions for w in c.split()} == set(vocab.itos[4:])


def test_teacher_forcing_shifts_the_targets_by_one_and_ignores_padding(data, vocab):
    captions = data.captions[:10]
    inputs, targets = teacher_forcing(vocab, captions)
    lengths = [len(c.split()) for c in captions]
    assert inputs.shape == targets.shape == (10, max(lengths) + 1)
    assert inputs.dtype == targets.dtype == torch.int64
    for b, (caption, n) in enumerate(zip(captions, lengths)):
        words = [vocab.stoi[w] for w in caption.split()]
        assert inputs[b, 0] == BOS_ID
        assert inputs[b, 1 : n + 1].tolist() == words and targets[b, :n].tolist() == words
        assert targets[b, n] == EOS_ID  # the last real target ends the sentence
        assert (targets[b, n + 1 :] == -100).all() and (inputs[b, n + 1 :] == 0).all()
        for t in range(n):
            assert targets[b, t] == inputs[b, t + 1]
    assert (targets != -100).sum() == sum(lengths) + len(captions)  # every word and one <eos> each


def test_teacher_forcing_to_a_fixed_length_pads_or_cuts(vocab):
    caption = "a red circle is left of a blue square"  # 9 words
    ids = [vocab.stoi[w] for w in caption.split()]
    inputs, targets = teacher_forcing(vocab, [caption], max_len=14)
    assert inputs.shape == (1, 14) and targets[0, 9] == EOS_ID and (targets[0, 10:] == -100).all()
    inputs, targets = teacher_forcing(vocab, [caption], max_len=4)
    assert inputs[0].tolist() == [BOS_ID, *ids[:3]]
    assert targets[0].tolist() == ids[:4]  # a cut caption's last target is its next word, not <eos>


def test_teacher_forcing_errors():
    plain = Vocab.build(["a red circle"])
    with pytest.raises(ValueError, match="caption_vocab"):
        teacher_forcing(plain, ["a red circle"])
    vocab = caption_vocab(["a red circle"])
    with pytest.raises(TypeError, match="list of strings"):
        teacher_forcing(vocab, "a red circle")
    with pytest.raises(ValueError, match="max_len"):
        teacher_forcing(vocab, ["a red circle"], max_len=0)


@pytest.mark.parametrize("prefix, length", [(3, 4), (5, 1), (1, 6), (0, 3)])
def test_prefix_lm_mask_is_full_over_the_prefix_and_causal_over_the_words(prefix, length):
    mask = prefix_lm_mask(prefix, length)
    S = prefix + length
    assert mask.shape == (S, S) and mask.dtype == torch.bool
    expected = torch.tensor([[(i < prefix and j < prefix) or (i >= prefix and j <= i) for j in range(S)]
                             for i in range(S)])  # fmt: skip
    assert torch.equal(mask, expected)
    assert mask[:prefix, :prefix].all()  # the prefix sees the whole prefix
    assert not mask[:prefix, prefix:].any()  # but no word
    assert mask[prefix:, :prefix].all()  # every word sees the prefix
    assert torch.equal(mask[prefix:, prefix:], torch.ones(length, length, dtype=torch.bool).tril())


# --- the model --------------------------------------------------------------------------------------------------


def test_the_model_gives_one_distribution_per_text_position(data, vocab):
    model = _model(vocab)
    inputs, _ = teacher_forcing(vocab, data.captions[:5])
    logits = model(torch.as_tensor(data.images[:5]), torch.as_tensor(data.labels[:5]), inputs)
    assert logits.shape == (5, inputs.shape[1], len(vocab))
    assert (
        model.n_image_tokens == 4 and model.prefix_length == 5
    )  # 16 x 16 / 2**3 pools: a 2 x 2 grid, + a role
    assert isinstance(model, RoleCaptioner) and model.config["name"] == "captioner"


def _logits(model, images, roles, inputs):
    with torch.no_grad():
        return model(images, roles, inputs)


@pytest.mark.parametrize("role", ["token", "every-layer", "none"])
def test_a_prediction_never_sees_later_words(data, vocab, role):
    model = _model(vocab, role=role)
    images, roles = torch.as_tensor(data.images[:4]), torch.as_tensor(data.labels[:4])
    inputs, _ = teacher_forcing(vocab, data.captions[:4])
    base = _logits(model, images, roles, inputs)
    generator = torch.Generator().manual_seed(0)
    T = inputs.shape[1]
    for t in range(T - 1):
        changed = inputs.clone()
        changed[:, t + 1 :] = torch.randint(4, len(vocab), (4, T - t - 1), generator=generator)
        after = _logits(model, images, roles, changed)
        torch.testing.assert_close(after[:, : t + 1], base[:, : t + 1], rtol=0, atol=1e-5)
        assert (after[:, t + 1 :] - base[:, t + 1 :]).abs().max() > 1e-4  # the later ones do see them


def test_every_prediction_depends_on_the_image(data, vocab):
    for image_tokens in ("grid", "pooled"):
        model = _model(vocab, image_tokens=image_tokens)
        roles = torch.as_tensor(data.labels[:4])
        inputs, _ = teacher_forcing(vocab, data.captions[:4])
        one = _logits(model, torch.as_tensor(data.images[:4]), roles, inputs)
        other = _logits(model, torch.as_tensor(data.images[4:8]), roles, inputs)
        assert ((one - other).abs().amax(dim=-1) > 1e-5).all(), image_tokens


@pytest.mark.parametrize("role", ["token", "every-layer"])
def test_every_prediction_depends_on_the_role(data, vocab, role):
    model = _model(vocab, role=role)
    images = torch.as_tensor(data.images[:4])
    inputs, _ = teacher_forcing(vocab, data.captions[:4])
    one = _logits(model, images, torch.tensor([0, 1, 2, 3]), inputs)
    other = _logits(model, images, torch.tensor([1, 2, 3, 0]), inputs)
    assert ((one - other).abs().amax(dim=-1) > 1e-5).all()


def test_without_a_role_token_the_role_is_ignored(data, vocab):
    model = _model(vocab, role="none")
    assert model.prefix_length == model.n_image_tokens == 4
    images = torch.as_tensor(data.images[:4])
    inputs, _ = teacher_forcing(vocab, data.captions[:4])
    one = _logits(model, images, torch.tensor([0, 1, 2, 3]), inputs)
    other = _logits(model, images, torch.tensor([3, 3, 0, 1]), inputs)
    assert torch.equal(one, other)


def test_pooled_image_tokens_are_one_token(data, vocab):
    model = _model(vocab, image_tokens="pooled")
    assert model.n_image_tokens == 1 and model.prefix_length == 2
    assert model.image_prefix(torch.as_tensor(data.images[:3])).shape == (3, 1, SMALL["dim"])
    grid = _model(vocab, image_size=32)
    assert grid.image_prefix(torch.zeros(2, 3, 32, 32)).shape == (2, 16, SMALL["dim"])


def test_the_attention_follows_the_prefix_lm_mask(data, vocab):
    model = _model(vocab)
    inputs, _ = teacher_forcing(vocab, data.captions[:2])
    _logits(model, torch.as_tensor(data.images[:2]), torch.as_tensor(data.labels[:2]), inputs)
    P = model.prefix_length
    for block in model.blocks:
        weights = block.attention.last_attention  # (B, heads, S, S)
        assert weights.shape[-1] == P + inputs.shape[1]
        assert (weights[..., :P, :P] > 0).all()  # the first image token sees the role token after it
        assert (weights[..., :P, P:] == 0).all()
        assert (weights[..., P:, :P] > 0).all()


@pytest.mark.parametrize(
    "settings, fragment",
    [
        ({"image_tokens": "cls"}, "image_tokens must be 'grid' or 'pooled'"),
        ({"role": "always"}, "role must be 'token', 'none' or 'every-layer'"),
        ({"image_size": 20}, "image_size must be a multiple of 2\\*\\*pools = 8"),
        ({"colours": 3}, "unknown setting"),
    ],
)
def test_bad_settings_are_named(settings, fragment):
    with pytest.raises(ValueError, match=fragment):
        build_captioner(vocab_size=10, **settings)


def test_bad_inputs_are_named(data, vocab):
    model = _model(vocab)
    images = torch.as_tensor(data.images[:2])
    with pytest.raises(ValueError, match="inputs must be word ids"):
        model(images, torch.tensor([0, 1]), torch.zeros(2, 25, dtype=torch.long))  # past max_words = 24
    with pytest.raises(ValueError, match="inputs must be word ids"):
        model(images, torch.tensor([0, 1]), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="roles must have shape \\(2,\\)"):
        model(images, torch.tensor([0, 1, 2]), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="'captioner'"):
        build_captioner("clip", vocab_size=10)


def test_the_config_rebuilds_the_same_model(vocab):
    model = _model(vocab, image_tokens="pooled", role="every-layer")
    config = dict(model.config)
    again = build_by_name(config.pop("name"), **config)
    again.load_state_dict(model.state_dict())
    assert (
        isinstance(again, RoleCaptioner)
        and again.image_tokens == "pooled"
        and again.role_mode == "every-layer"
    )


# --- decoding ---------------------------------------------------------------------------------------------------


def test_decode_ids_cuts_at_eos_or_padding():
    vocab, a, b, c = _abc()
    assert decode_ids(vocab, [[a, b, EOS_ID, c], [a, 0, b], [EOS_ID, a], [c, c]]) == ["a b", "a", "", "c c"]
    assert decode_ids(vocab, torch.tensor([[b, a, EOS_ID]])) == ["b a"]


def _hand_greedy(model, vocab, image, role, max_len):
    """Greedy decoding one image at a time, the way the lesson writes it."""
    ids = [BOS_ID]
    with torch.no_grad():
        for _ in range(max_len):
            following = int(model(image[None], torch.tensor([role]), torch.tensor([ids]))[0, -1].argmax())
            if following == EOS_ID:
                break
            ids.append(following)
    return decode_ids(vocab, [ids[1:]])[0]


def test_greedy_decode_is_the_step_by_step_argmax(data, vocab):
    model = _model(vocab, seed=1)
    images, roles = torch.as_tensor(data.images[:6]), torch.as_tensor(data.labels[:6])
    texts = greedy_decode(model, vocab, images, roles, max_len=7)
    assert texts == [_hand_greedy(model, vocab, images[i], int(roles[i]), 7) for i in range(6)]
    model.train()
    assert greedy_decode(model, vocab, images, roles, max_len=7) == texts  # decodes in eval mode ...
    assert model.training  # ... and gives the model back as it was


def test_greedy_decode_stops_at_eos_and_pads_after():
    vocab, a, b, c = _abc()
    model = Bigram(len(vocab), [
        {BOS_ID: {a: 0.9, b: 0.1}, a: {EOS_ID: 0.8, c: 0.2}, EOS_ID: {b: 1.0}},  # role 0: "a"
        {BOS_ID: {b: 0.6, a: 0.4}, b: {c: 0.7, a: 0.3}, c: {a: 0.5, EOS_ID: 0.4, b: 0.1}, a: {EOS_ID: 1.0}},
    ])  # fmt: skip
    texts = greedy_decode(model, vocab, torch.zeros(3, 3, 16, 16), torch.tensor([0, 1, 0]))
    assert texts == ["a", "b c a", "a"]
    assert len(model.calls) == 4  # three words and an <eos> for the longest caption, then no more steps
    last = model.calls[
        -1
    ]  # the inputs of the last step: finished captions were fed padding after their <eos>
    assert last[0].tolist() == [BOS_ID, a, EOS_ID, 0] and last[1].tolist() == [BOS_ID, b, c, a]
    model.calls.clear()
    assert greedy_decode(model, vocab, torch.zeros(1, 3, 16, 16), torch.tensor([1]), max_len=2) == ["b c"]
    assert len(model.calls) == 2


def _cycle():
    vocab, a, b, c = _abc()
    return vocab, Bigram(len(vocab), [{BOS_ID: {a: 0.75, b: 0.25}, a: {EOS_ID: 1.0}, b: {EOS_ID: 1.0}}])


def test_a_very_low_temperature_samples_the_greedy_caption():
    vocab, model = _cycle()
    images, roles = torch.zeros(50, 3, 16, 16), torch.zeros(50, dtype=torch.long)
    generator = torch.Generator().manual_seed(0)
    assert sample_captions(model, vocab, images, roles, temperature=1e-3, generator=generator) == ["a"] * 50


@pytest.mark.parametrize("temperature, p_a", [(1.0, 0.75), (0.5, 0.9), (2.0, 0.634)])
def test_sampling_draws_from_the_softmax_at_the_temperature(temperature, p_a):
    vocab, model = (
        _cycle()
    )  # p(a) ∝ p^(1/T): 3/4 at T = 1, (3/4)^2 / ((3/4)^2 + (1/4)^2) = 0.9 at 1/2, 0.634 at 2
    n = 4000
    texts = sample_captions(model, vocab, torch.zeros(n, 3, 16, 16), torch.zeros(n, dtype=torch.long),
                            temperature=temperature, generator=torch.Generator().manual_seed(1))  # fmt: skip
    assert set(texts) == {"a", "b"}
    assert texts.count("a") / n == pytest.approx(p_a, abs=0.03)


def test_sampling_is_reproducible_with_a_seeded_generator(data, vocab):
    model = _model(vocab, seed=2)
    images, roles = torch.as_tensor(data.images[:8]), torch.as_tensor(data.labels[:8])

    def draw(seed):
        return sample_captions(
            model, vocab, images, roles, generator=torch.Generator().manual_seed(seed), max_len=8
        )

    first = draw(0)
    assert len(first) == 8 and draw(0) == first
    assert draw(1) != first


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan")])
def test_a_temperature_that_is_not_positive_is_an_error(data, vocab, temperature):
    model = _model(vocab)
    with pytest.raises(ValueError, match="temperature must be positive"):
        sample_captions(model, vocab, torch.as_tensor(data.images[:2]), torch.tensor([0, 1]), temperature)


def test_beam_of_one_is_greedy(data, vocab):
    model = _model(vocab, seed=3)
    images, roles = torch.as_tensor(data.images[:6]), torch.as_tensor(data.labels[:6])
    greedy = greedy_decode(model, vocab, images, roles, max_len=8)
    for i in range(6):
        (text, _score), *rest = beam_search(model, vocab, images[i], int(roles[i]), beam=1, max_len=8)
        assert not rest and text == greedy[i]


def test_beam_results_are_sorted_by_log_probability(data, vocab):
    model = _model(vocab, seed=4)
    for i in range(3):
        results = beam_search(
            model, vocab, torch.as_tensor(data.images[i]), int(data.labels[i]), beam=4, max_len=6
        )
        assert len(results) == 4
        scores = [score for _, score in results]
        assert scores == sorted(scores, reverse=True) and all(s <= 0 for s in scores)


def test_beam_search_returns_finished_captions_with_their_true_log_probabilities():
    """After one step, "a" (p 1/2) leads "" (<eos>, p 0.3); but "a c" must still end, with p(<eos> | c) = 1/2:
    log(0.5 * 0.9 * 0.5) < log 0.3. A search that stopped as soon as it had `beam` finished captions would
    return the unfinished "a c" at log(0.45) as the best caption."""
    vocab, a, b, c = _abc()
    model = Bigram(len(vocab), [{BOS_ID: {a: 0.5, EOS_ID: 0.3, b: 0.2}, a: {c: 0.9, EOS_ID: 0.05, b: 0.05},
                                 b: {EOS_ID: 0.6, a: 0.3, c: 0.1}, c: {EOS_ID: 0.5, a: 0.5}}])  # fmt: skip
    results = beam_search(model, vocab, torch.zeros(3, 16, 16), 0, beam=2)
    assert [text for text, _ in results] == ["", "a c"]
    assert results[0][1] == pytest.approx(math.log(0.3), abs=1e-6)
    assert results[1][1] == pytest.approx(math.log(0.5 * 0.9 * 0.5), abs=1e-6)
    more = beam_search(model, vocab, torch.zeros(3, 16, 16), 0, beam=3)
    assert [text for text, _ in more] == [
        "",
        "a c",
        "b",
    ]  # "b": 0.2 * 0.6 = 0.12 > 0.5 * 0.9 * 0.5 * 0.5 * 0.9 ...
    assert more[2][1] == pytest.approx(math.log(0.2 * 0.6), abs=1e-6)
