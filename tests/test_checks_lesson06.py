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
    assert check("encode_captions", answer)
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
    assert check("hflip_pair", answer)
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
