"""The lesson-06 checkers accept the reference answers and reject plausible wrong ones with the right hint."""

import re

import numpy as np
import pytest

from mmcourse.checks import ExerciseFailed, check
from mmcourse.data import hflip_pair
from mmcourse.text import tokenize

# --- encode_captions ------------------------------------------------------------------


def encode_reference(captions, vocab):
    ids = [[vocab.stoi.get(word, vocab.unk_id) for word in tokenize(c)] for c in captions]
    lengths = np.array([len(row) for row in ids], dtype=np.int64)
    tokens = np.full((len(ids), lengths.max()), vocab.pad_id, dtype=np.int64)
    for i, row in enumerate(ids):
        tokens[i, : len(row)] = row
    return tokens, lengths


def encode_library(captions, vocab):
    return vocab.encode(captions)


def left_padded(captions, vocab):
    tokens, lengths = encode_reference(captions, vocab)
    out = np.zeros_like(tokens)
    for i, (row, n) in enumerate(zip(tokens, lengths)):
        out[i, tokens.shape[1] - n :] = row[:n]
    return out, lengths


def pads_with_unk(captions, vocab):
    tokens, lengths = encode_reference(captions, vocab)
    tokens[tokens == 0] = vocab.unk_id
    return tokens, lengths


def pads_with_minus_one(captions, vocab):
    tokens, lengths = encode_reference(captions, vocab)
    tokens[tokens == 0] = -1
    return tokens, lengths


def lengths_are_width(captions, vocab):
    tokens, _ = encode_reference(captions, vocab)
    return tokens, np.full(len(tokens), tokens.shape[1], dtype=np.int64)


def lengths_off_by_one(captions, vocab):
    tokens, lengths = encode_reference(captions, vocab)
    return tokens, lengths - 1


def drops_unknown_words(captions, vocab):
    ids = [[vocab.stoi[w] for w in tokenize(c) if w in vocab.stoi] for c in captions]
    lengths = np.array([len(r) for r in ids])
    tokens = np.zeros((len(ids), lengths.max()), dtype=np.int64)
    for i, r in enumerate(ids):
        tokens[i, : len(r)] = r
    return tokens, lengths


def uses_str_split(captions, vocab):
    ids = [[vocab.stoi.get(w, vocab.unk_id) for w in c.split()] for c in captions]
    lengths = np.array([len(r) for r in ids])
    tokens = np.zeros((len(ids), lengths.max()), dtype=np.int64)
    for i, r in enumerate(ids):
        tokens[i, : len(r)] = r
    return tokens, lengths


def float_tokens(captions, vocab):
    tokens, lengths = encode_reference(captions, vocab)
    return tokens.astype(np.float32), lengths


def tokens_only(captions, vocab):
    return encode_reference(captions, vocab)[0]


def transposed(captions, vocab):
    tokens, lengths = encode_reference(captions, vocab)
    return tokens.T, lengths


def ragged(captions, vocab):
    return [[vocab.stoi.get(w, 1) for w in tokenize(c)] for c in captions], None


def not_started(captions, vocab):
    raise NotImplementedError()


@pytest.mark.parametrize("answer", [encode_reference, encode_library])
def test_encode_captions_accepts_correct_answers(answer, capsys):
    assert check("encode_captions", answer) is None
    assert "✓ encode_captions" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (left_padded, "padded on the LEFT"),
        (pads_with_unk, "padding uses id 1 (that is <unk>), but <pad> is id 0"),
        (pads_with_minus_one, "padding uses id -1"),
        (lengths_are_width, "the padded width"),
        (lengths_off_by_one, "off by one"),
        (drops_unknown_words, "unknown words are missing"),
        (uses_str_split, "not str.split"),
        (float_tokens, "must be integer ids"),
        (tokens_only, "return a PAIR (tokens, lengths)"),
        (transposed, "looks transposed"),
        (ragged, "ragged"),
        (not_started, "not written yet"),
        ("not a function", "expected a function"),
    ],
)
def test_encode_captions_rejects_mistakes(answer, fragment):
    with pytest.raises(ExerciseFailed, match=re.escape(fragment)):
        check("encode_captions", answer)


# --- hflip_pair -------------------------------------------------------------------------


def swap_words(caption):
    return " ".join({"left": "right", "right": "left"}.get(w, w) for w in caption.split(" "))


def flip_reference(images, captions):
    return images[..., ::-1], [swap_words(c) for c in captions]


def flip_images_only(images, captions):
    return images[..., ::-1], captions


def flip_captions_only(images, captions):
    return images, [swap_words(c) for c in captions]


def flip_upside_down(images, captions):
    return images[:, :, ::-1, :], [swap_words(c) for c in captions]


def flip_channels(images, captions):
    return images[:, ::-1], [swap_words(c) for c in captions]


def flip_batch(images, captions):
    return images[::-1], [swap_words(c) for c in captions]


def sequential_replace(images, captions):
    return images[..., ::-1], [c.replace("left", "right").replace("right", "left") for c in captions]


def sequential_replace_other_way(images, captions):
    return images[..., ::-1], [c.replace("right", "left").replace("left", "right") for c in captions]


def in_place_captions(images, captions):
    for i, c in enumerate(captions):
        captions[i] = swap_words(c)
    return images[..., ::-1], captions


def identity(images, captions):
    return images, captions


def swaps_above_below_too(images, captions):
    table = {"left": "right", "right": "left", "above": "below", "below": "above"}
    return images[..., ::-1], [" ".join(table.get(w, w) for w in c.split()) for c in captions]


def returns_images_only(images, captions):
    return images[..., ::-1]


@pytest.mark.parametrize(
    "answer",
    [flip_reference, hflip_pair, lambda im, c: (np.flip(im, axis=3).copy(), [swap_words(x) for x in c])],
)
def test_hflip_pair_accepts_correct_answers(answer, capsys):
    assert check("hflip_pair", answer) is None
    assert "✓ hflip_pair" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (flip_images_only, "A flip that forgets the captions silently corrupts the labels"),
        (flip_captions_only, "the images are unchanged"),
        (flip_upside_down, "upside down"),
        (flip_channels, "colour channels"),
        (flip_batch, "the order of the images"),
        (sequential_replace, "every caption now says 'left'"),
        (sequential_replace_other_way, "every caption now says 'right'"),
        (in_place_captions, "changed the caption list it was given (in place)"),
        (identity, "unchanged: flip the images AND swap left/right"),
        (swaps_above_below_too, "only 'left' <-> 'right' change"),
        (returns_images_only, "return a PAIR"),
    ],
)
def test_hflip_pair_rejects_mistakes(answer, fragment):
    with pytest.raises(ExerciseFailed, match=re.escape(fragment)):
        check("hflip_pair", answer)


# --- rot90_pair ---------------------------------------------------------------------------

_CCW = {"left of": "below", "below": "right of", "right of": "above", "above": "left of"}
_CW = {new: old for old, new in _CCW.items()}


def _relabel(captions, table):
    from mmcourse.data import parse_caption

    out = []
    for caption in captions:
        sc, ss, rel, oc, os_ = parse_caption(caption)
        out.append(f"a {sc} {ss} is {table[rel]} a {oc} {os_}")
    return out


def turn_reference(images, captions):
    return np.rot90(images, 1, axes=(2, 3)), _relabel(captions, _CCW)


def turn_by_hand(images, captions):
    """An independent correct answer: a transpose then an upside-down flip is a counter-clockwise turn."""
    words = {"left of": "below", "below": "right of", "right of": "above", "above": "left of"}
    pattern = re.compile("|".join(words))
    return images.transpose(0, 1, 3, 2)[:, :, ::-1, :], [
        pattern.sub(lambda m: words[m[0]], c) for c in captions
    ]


def turn_default_axes(images, captions):
    return np.rot90(images), _relabel(captions, _CCW)


def turn_clockwise_images(images, captions):
    return np.rot90(images, -1, axes=(2, 3)), _relabel(captions, _CCW)


def turn_clockwise_captions(images, captions):
    return np.rot90(images, 1, axes=(2, 3)), _relabel(captions, _CW)


def turn_transpose(images, captions):
    return images.transpose(0, 1, 3, 2), _relabel(captions, _CCW)


def turn_reshaped(images, captions):
    return np.rot90(images, 1, axes=(2, 3)).reshape(images.shape), _relabel(captions, _CCW)


def turn_images_only(images, captions):
    return np.rot90(images, 1, axes=(2, 3)), list(captions)


def turn_captions_only(images, captions):
    return images, _relabel(captions, _CCW)


def turn_diagonal_captions(images, captions):
    table = {"left of": "above", "above": "left of", "right of": "below", "below": "right of"}
    return np.rot90(images, 1, axes=(2, 3)), _relabel(captions, table)


def turn_flip_captions(images, captions):
    return np.rot90(images, 1, axes=(2, 3)), [swap_words(c) for c in captions]


def turn_half_captions(images, captions):
    table = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
    return np.rot90(images, 1, axes=(2, 3)), _relabel(captions, table)


def turn_chained_replace(images, captions):
    new = []
    for c in captions:
        for old, relation in _CCW.items():
            c = c.replace(old, relation)
        new.append(c)
    return np.rot90(images, 1, axes=(2, 3)), new


def turn_word_only(images, captions):
    """'left' -> 'below', leaving the 'of' of 'left of' behind."""
    words = {"left": "below", "below": "right", "right": "above", "above": "left"}
    return np.rot90(images, 1, axes=(2, 3)), [" ".join(words.get(w, w) for w in c.split()) for c in captions]


def turn_swapped_roles(images, captions):
    """True captions, but subject and object exchanged (with the inverse relation)."""
    from mmcourse.data import parse_caption

    inverse = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
    out = []
    for caption in captions:
        sc, ss, rel, oc, os_ = parse_caption(caption)
        out.append(f"a {oc} {os_} is {inverse[_CCW[rel]]} a {sc} {ss}")
    return np.rot90(images, 1, axes=(2, 3)), out


def turn_in_place(images, captions):
    captions[:] = _relabel(captions, _CCW)
    return np.rot90(images, 1, axes=(2, 3)), captions


@pytest.mark.parametrize("answer", [turn_reference, turn_by_hand], ids=["rot90", "by hand"])
def test_rot90_pair_accepts_correct_answers(answer, capsys):
    assert check("rot90_pair", answer) is None
    assert "✓ rot90_pair" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (turn_default_axes, "np.rot90 turned the first two axes (n, C)"),
        (turn_clockwise_images, "you turned the images CLOCKWISE"),
        (turn_transpose, "MIRRORS the picture across its diagonal"),
        (turn_reshaped, "a quarter turn of an H x W picture is W x H"),
        (turn_captions_only, "the images are unchanged"),
        (turn_images_only, "the captions are unchanged, but the images are turned"),
        (turn_clockwise_captions, "after a quarter turn CLOCKWISE"),
        (turn_diagonal_captions, "after a mirror across the DIAGONAL"),
        (turn_flip_captions, "after a LEFT-RIGHT MIRROR"),
        (turn_half_captions, "after a HALF turn"),
        (turn_chained_replace, "a replacement ran on the result of an earlier one"),
        (turn_word_only, "'left of' and 'right of' are two words"),
        (turn_swapped_roles, "true, but it swaps subject and object"),
        (turn_in_place, "changed the caption list it was given (in place)"),
        (lambda images, captions: None, "did you forget `return"),
    ],
)
def test_rot90_pair_rejects_mistakes(answer, fragment):
    with pytest.raises(ExerciseFailed, match=re.escape(fragment)):
        check("rot90_pair", answer)


# --- naive_turn_wrong ---------------------------------------------------------------------


def test_naive_turn_wrong_accepts_one_half(capsys):
    assert check("naive_turn_wrong", 0.5) is None
    assert check("naive_turn_wrong", 1 / 2) is None
    out = capsys.readouterr().out
    assert out.count("✓ naive_turn_wrong") == 2 and "exactly the matches" in out


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (0.25, "counts only the matches with a side-by-side relation"),
        (0.4, "about the FLIP's share"),
        (0.75, "more than the matches alone"),
        (1.0, "more than the matches alone"),
        (0.0, "too small"),
        (0.1, "too small"),
        (50, "looks like a percentage"),
        (0.3, "Go through the four kinds of pair"),
        (-0.5, "must lie between 0 and 1"),
        ("0.5", "expected a number"),
        (True, "expected a number"),
    ],
)
def test_naive_turn_wrong_rejects_mistakes(answer, fragment):
    with pytest.raises(ExerciseFailed, match=re.escape(fragment)):
        check("naive_turn_wrong", answer)


def test_naive_turn_wrong_is_what_the_data_says():
    """The checker's answer is measured: a caption-blind quarter turn makes exactly the matches wrong."""
    from mmcourse.data import captions_true, make_shapes
    from mmcourse.data.dataset import MultimodalData

    data = make_shapes(600, seed=3)
    centre, W = data.meta["centre"], data.images.shape[-1]
    meta = dict(data.meta, centre=np.stack([centre[..., 1], W - 1 - centre[..., 0]], axis=-1))
    turned = MultimodalData(np.rot90(data.images, 1, axes=(2, 3)), data.captions, data.labels, data.label_names, meta,
                            dict(data.info))  # fmt: skip
    blind = captions_true(turned)  # the ORIGINAL captions, judged on the turned scenes
    assert np.mean(blind != data.labels.astype(bool)) == 0.5 and not blind.any()
    synced = captions_true(turned, captions=turn_reference(data.images, data.captions)[1])
    assert np.array_equal(synced, data.labels.astype(bool))


def test_naive_turn_wrong_not_answered_yet():
    from mmcourse.checks import ExerciseNotStarted

    with pytest.raises(ExerciseNotStarted, match="not answered yet"):
        check("naive_turn_wrong", None)
