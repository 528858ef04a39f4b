"""Checks for lesson 06 (multimodal data): `encode_captions` and `hflip_pair`.

encode_captions(captions, vocab) -> (tokens (n, T) int64, lengths (n,) int64): ids of
mmcourse.text.tokenize's tokens, unknown words -> <unk> = 1, right-padded with <pad> = 0.

hflip_pair(images, captions) -> (images mirrored left-right, captions with "left" and
"right" exchanged): images (n, C, H, W). The cases use H != W and C = 3, so a flip along
the wrong axis shows.
"""

import re

import numpy as np

from ..data.augment import hflip_pair as _hflip_pair
from ..text import PAD_ID, UNK_ID, Vocab, tokenize
from .core import ExerciseNotStarted, call_learner, exercise, expect_callable, fail

LESSON = "06_multimodal_data"

_VOCAB_CAPTIONS = [
    "a red circle is left of a blue square",
    "a green triangle is above a yellow circle",
    "a blue square is below a red triangle",
    "a yellow square is right of a green circle",
]


def _reference_encode(captions, vocab):
    return vocab.encode(captions)


def _encode_cases():
    return [
        (
            "captions of different lengths (9, 8 and 5 words)",
            [
                "a red circle is left of a blue square",
                "a green triangle is above a yellow circle",
                "a blue square is red",
            ],
        ),
        (
            "a caption with unknown words ('purple', 'hexagon')",
            ["a purple hexagon is left of a red circle", "a red circle"],
        ),
        ("one caption", ["a yellow square is right of a green circle"]),
        ("captions that all have the same length", ["a red circle", "a blue square"]),
        ("capitals and a full stop", ["A Red circle is above a blue square.", "a green triangle"]),
    ]


def _as_int_array(value, what, case):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except ValueError:
        array = np.asarray(value, dtype=object)
    if array.dtype == object:
        fail(
            f"on {case} your {what} is ragged (rows of different lengths): pad every row to the same length T."
        )
    if not np.issubdtype(array.dtype, np.integer):
        fail(
            f"on {case} your {what} have dtype {array.dtype}; they must be integer ids (np.int64) — "
            "nn.Embedding looks rows up by integer index. Create them with dtype=np.int64."
        )
    return array


def _encode_hint(case, captions, vocab, tokens, lengths, want_tokens, want_lengths):
    """The likely mistake behind a wrong (tokens, lengths)."""
    n, T = want_tokens.shape
    if tokens.shape == (T, n) and T != n:
        return (
            f"on {case} tokens has shape {tokens.shape}: it looks transposed — one caption per ROW, (n, T)."
        )
    if tokens.shape[0] != n:
        return (
            f"on {case} tokens has {tokens.shape[0]} rows, but there are {n} captions: one row per caption."
        )
    ids = [vocab.token_ids(c) for c in captions]
    split_ids = [[vocab.stoi.get(w, UNK_ID) for w in c.split()] for c in captions]
    if tokens.shape[1] != T:
        if UNK_ID not in tokens and any(UNK_ID in row for row in ids):
            return (
                f"on {case} the unknown words are missing: map a word that is not in the vocabulary to "
                f"<unk> (id {UNK_ID}, vocab.unk_id) instead of dropping it, e.g. vocab.stoi.get(word, vocab.unk_id)."
            )
        if tokens.shape[1] == max(len(row) for row in split_ids) and split_ids != ids:
            return (
                f"on {case} tokens has width {tokens.shape[1]}, but the longest caption has {T} tokens. "
                "Split with mmcourse.text.tokenize (it lower-cases and splits off punctuation), not str.split."
            )
        return f"on {case} tokens has width {tokens.shape[1]}; it should be T = {T}, the number of tokens in the longest caption."
    for row, (want_row, length) in enumerate(zip(want_tokens, want_lengths)):
        got_row = tokens[row]
        if length < T and np.array_equal(got_row[T - length :], want_row[:length]):
            return (
                f"on {case} row {row} is padded on the LEFT ({got_row.tolist()}). Pad on the right: the real ids "
                f"first, then <pad> — tokens[i, :lengths[i]] are the words, tokens[i, lengths[i]:] are {PAD_ID}."
            )
        if (
            np.array_equal(got_row[:length], want_row[:length])
            and length < T
            and not (got_row[length:] == PAD_ID).all()
        ):
            wrong = got_row[length:][got_row[length:] != PAD_ID][0]
            name = " (that is <unk>)" if wrong == UNK_ID else ""
            return (
                f"on {case} the padding uses id {wrong}{name}, but <pad> is id {PAD_ID} (vocab.pad_id). "
                "Fill with np.full((n, T), vocab.pad_id) or np.zeros."
            )
    if UNK_ID not in tokens and UNK_ID in want_tokens:
        return (
            f"on {case} no word was mapped to <unk>: a word that is not in the vocabulary must become "
            f"id {UNK_ID} (vocab.unk_id), e.g. vocab.stoi.get(word, vocab.unk_id)."
        )
    if not np.array_equal(tokens, want_tokens):
        row = int(np.flatnonzero((tokens != want_tokens).any(axis=1))[0])
        return (
            f"on {case} row {row} holds ids {tokens[row].tolist()}, expected {want_tokens[row].tolist()} "
            f"({' '.join(tokenize(captions[row]))!r}). Use vocab.stoi[word] for each token of tokenize(caption)."
        )
    return None


def _lengths_hint(case, lengths, want_lengths, T):
    if lengths.shape != want_lengths.shape:
        return f"on {case} lengths has shape {lengths.shape}; it should have shape {want_lengths.shape}: one number per caption."
    if (lengths == T).all() and not (want_lengths == T).all():
        return (
            f"on {case} every length is {T}, the padded width. lengths must count each caption's REAL tokens "
            "(before padding): the LSTM reads that many and ignores the rest."
        )
    if np.array_equal(lengths, want_lengths - 1) or np.array_equal(lengths, want_lengths + 1):
        return f"on {case} lengths are off by one: got {lengths.tolist()}, expected {want_lengths.tolist()}."
    return f"on {case} lengths are {lengths.tolist()}, expected {want_lengths.tolist()}: the number of tokens of each caption."


@exercise(
    "encode_captions", lesson=LESSON, description="captions -> right-padded ids (n, T) and lengths (n,)"
)
def check_encode_captions(answer):
    """encode_captions(captions, vocab) -> (tokens (n, T) int64, lengths (n,) int64)."""
    expect_callable(answer, "a function encode_captions(captions, vocab) returning (tokens, lengths)")
    vocab = Vocab.build(_VOCAB_CAPTIONS)
    for case, captions in _encode_cases():
        got = call_learner(answer, case, list(captions), vocab)
        if got is None:
            fail(f"your function returned None on {case} — did you forget `return tokens, lengths`?")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(
                f"on {case} your function returned {type(got).__name__}; return a PAIR (tokens, lengths): "
                "the padded ids and, for each caption, how many of them are real."
            )
        want_tokens, want_lengths = _reference_encode(captions, vocab)
        tokens = _as_int_array(got[0], "tokens", case)
        lengths = _as_int_array(got[1], "lengths", case)
        if tokens.ndim != 2:
            fail(f"on {case} tokens has shape {tokens.shape}; it must be 2-D, (n captions, T tokens).")
        hint = _encode_hint(case, captions, vocab, tokens, lengths, want_tokens, want_lengths)
        if hint:
            fail(hint)
        if not np.array_equal(lengths, want_lengths):
            fail(_lengths_hint(case, lengths, want_lengths, want_tokens.shape[1]))
    return (
        f"correct on {len(_encode_cases())} cases, including unknown words and captions of different lengths."
    )


# --- hflip_pair ---------------------------------------------------------------------


def _flip_cases():
    rng = np.random.default_rng(6)
    return [
        (
            "2 images (3 x 5 x 7, H != W) with horizontal relations",
            rng.random((2, 3, 5, 7), dtype=np.float32),
            ["a red circle is left of a blue square", "a green triangle is right of a yellow circle"],
        ),
        (
            "3 images with 'left of', 'above' and 'right of'",
            rng.random((3, 3, 6, 4), dtype=np.float32),
            [
                "a blue square is left of a red triangle",
                "a yellow circle is above a green square",
                "a red triangle is right of a blue circle",
            ],
        ),
        (
            "one image",
            rng.random((1, 3, 4, 9), dtype=np.float32),
            ["a green circle is right of a red square"],
        ),
    ]


def _flip_image_hint(case, images, got):
    n, C, H, W = images.shape
    if got.shape != images.shape:
        return f"on {case} your images have shape {got.shape}; the flip must keep the shape {images.shape} (n, C, H, W)."
    if np.array_equal(got, images):
        return (
            f"on {case} the images are unchanged. Mirror each image left-right: reverse the LAST axis (W), "
            "images[..., ::-1] or np.flip(images, axis=-1)."
        )
    mistakes = (
        (2, "flipped the images upside down (axis 2 = H, the rows)"),
        (1, "reversed the colour channels (axis 1 = C)"),
        (0, "reversed the order of the images (axis 0 = n)"),
    )
    for axis, what in mistakes:
        if images.shape[axis] > 1 and np.array_equal(got, np.flip(images, axis=axis)):
            return f"on {case} you {what}. A horizontal flip reverses the last axis (3 = W, the columns): images[..., ::-1]."
    return f"on {case} the flipped images are wrong: pixel (row r, column c) must move to column W - 1 - c."


def _flip_caption_hint(case, captions, got):
    want = _hflip_pair(np.zeros((len(captions), 1, 1, 1)), captions)[1]
    if got == want:
        return None
    if len(got) != len(captions):
        return (
            f"on {case} you returned {len(got)} captions for {len(captions)} images: one caption per image."
        )
    if list(got) == list(captions):
        return (
            f"on {case} the captions are unchanged, but the images are mirrored: '{captions[0]}' is now FALSE. "
            "A flip that forgets the captions silently corrupts the labels — swap 'left' and 'right' in each caption."
        )
    if all(("right" not in c) for c in got) or all(("left" not in c) for c in got):
        word = "left" if all("right" not in c for c in got) else "right"
        return (
            f"on {case} every caption now says '{word}': replacing 'left' by 'right' and then 'right' by 'left' "
            "(or the other way) turns both into the same word. Swap them in one pass — e.g. via a placeholder, "
            "or word by word."
        )
    if any(c != w for c, w in zip(got, want)):
        row = next(i for i, (c, w) in enumerate(zip(got, want)) if c != w)
        return f"on {case} caption {row} became {got[row]!r}, expected {want[row]!r} (only 'left' <-> 'right' change; a left-right mirror keeps 'above' and 'below')."
    return None


@exercise(
    "hflip_pair", lesson=LESSON, description="mirror images left-right and swap left/right in the captions"
)
def check_hflip_pair(answer):
    """hflip_pair(images (n, C, H, W), captions) -> (flipped images, new captions)."""
    expect_callable(answer, "a function hflip_pair(images, captions) returning (images, captions)")
    for case, images, captions in _flip_cases():
        given = list(captions)
        got = call_learner(answer, case, images, given)
        if got is None:
            fail(f"your function returned None on {case} — did you forget `return flipped, new_captions`?")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(
                f"on {case} your function returned {type(got).__name__}; return a PAIR (flipped images, new captions)."
            )
        if given != captions:
            fail(
                f"on {case} your function changed the caption list it was given (in place). Build and return a "
                "new list, so the original data set stays as it was."
            )
        flipped = np.asarray(got[0].detach().cpu().numpy() if hasattr(got[0], "detach") else got[0])
        new_captions = got[1]
        if isinstance(new_captions, str) or not hasattr(new_captions, "__len__"):
            fail(
                f"on {case} the captions you returned are {type(new_captions).__name__}; return a list of strings."
            )
        image_hint = (
            None if np.array_equal(flipped, images[..., ::-1]) else _flip_image_hint(case, images, flipped)
        )
        if list(new_captions) == list(captions) and np.array_equal(flipped, images):
            fail(
                f"on {case} you returned the images and captions unchanged: flip the images AND swap left/right."
            )
        caption_hint = _flip_caption_hint(case, captions, list(new_captions))
        if image_hint or caption_hint:
            fail(image_hint or caption_hint)
    return f"correct on {len(_flip_cases())} cases: images mirrored along W, 'left' and 'right' swapped, 'above' kept."


# --- rot90_pair ---------------------------------------------------------------------

# Where each relation goes when the image is turned, for every turn or mirror a learner might make.
_TURNS = {
    "counter-clockwise": {"left of": "below", "below": "right of", "right of": "above", "above": "left of"},
    "clockwise": {"left of": "above", "above": "right of", "right of": "below", "below": "left of"},
    "half turn": {"left of": "right of", "right of": "left of", "above": "below", "below": "above"},
    "diagonal mirror": {"left of": "above", "above": "left of", "right of": "below", "below": "right of"},
    "left-right mirror": {"left of": "right of", "right of": "left of", "above": "above", "below": "below"},
    "unchanged": {r: r for r in ("left of", "right of", "above", "below")},
}
_TURN_WORDS = {
    "clockwise": "a quarter turn CLOCKWISE (top edge to the right)",
    "half turn": "a HALF turn",
    "diagonal mirror": "a mirror across the DIAGONAL (a transpose)",
    "left-right mirror": "a LEFT-RIGHT MIRROR (exercise 2's flip)",
}
_INVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


def _turn_cases():
    rng = np.random.default_rng(60)
    return [
        (
            "2 images (3 x 5 x 7, H != W), 'left of' and 'above'",
            rng.random((2, 3, 5, 7), dtype=np.float32),
            ["a red circle is left of a blue square", "a green triangle is above a yellow circle"],
        ),
        (
            "4 images (3 x 4 x 6), one caption per relation",
            rng.random((4, 3, 4, 6), dtype=np.float32),
            [
                "a blue square is right of a red triangle",
                "a yellow circle is below a green square",
                "a red triangle is left of a blue circle",
                "a green square is above a red circle",
            ],
        ),
        (
            "one image (3 x 6 x 3)",
            rng.random((1, 3, 6, 3), dtype=np.float32),
            ["a yellow square is below a red circle"],
        ),
    ]


def _turned(images, how):
    return {
        "counter-clockwise": lambda: np.rot90(images, 1, axes=(2, 3)),
        "clockwise": lambda: np.rot90(images, -1, axes=(2, 3)),
        "half turn": lambda: np.rot90(images, 2, axes=(2, 3)),
        "diagonal mirror": lambda: images.transpose(0, 1, 3, 2),
        "left-right mirror": lambda: images[..., ::-1],
        "upside-down mirror": lambda: images[..., ::-1, :],
    }[how]()


def _turn_image_hint(case, images, got):
    n, C, H, W = images.shape
    if got.shape == (C, n, H, W) or (
        got.shape == images.shape and n == C and np.array_equal(got, np.rot90(images))
    ):
        return (
            f"on {case} your images have shape {got.shape}: np.rot90 turned the first two axes (n, C) -- it "
            "turns axes (0, 1) unless told otherwise. Turn the picture's own axes: np.rot90(images, axes=(2, 3))."
        )
    if got.shape == images.shape and H != W:
        return (
            f"on {case} your images still have shape {images.shape} (n, C, H, W), but a quarter turn of an H x W "
            f"picture is W x H: expected {(n, C, W, H)}. Did you reshape back, or flip instead of turning?"
        )
    if got.shape != (n, C, W, H):
        return f"on {case} your images have shape {got.shape}; turned, they should have shape {(n, C, W, H)} (n, C, W, H)."
    if np.array_equal(got, _turned(images, "clockwise")):
        return (
            f"on {case} you turned the images CLOCKWISE (the top edge went to the right). This exercise turns "
            "them counter-clockwise, the top edge to the LEFT -- np.rot90's own direction, k=1, axes=(2, 3)."
        )
    if np.array_equal(got, _turned(images, "diagonal mirror")):
        return (
            f"on {case} you swapped rows and columns (a transpose). That MIRRORS the picture across its diagonal: "
            "the top-left corner stays where it is. A turn moves every corner -- np.rot90(images, axes=(2, 3))."
        )
    return f"on {case} the turned images are wrong: pixel (row r, column c) must move to (row {W} - 1 - c, column r)."


def _turn_caption_hint(case, captions, got):
    from ..data import parse_caption

    want = [_rotate_caption(c) for c in captions]
    if got == want:
        return None
    if len(got) != len(captions):
        return (
            f"on {case} you returned {len(got)} captions for {len(captions)} images: one caption per image."
        )
    parsed = []
    for old, new in zip(captions, got):
        try:
            parsed.append((parse_caption(old), parse_caption(new)))
        except ValueError:
            if re.search(r"\b(above|below) of\b|\bof of\b", new):
                return (
                    f"on {case} {old!r} became {new!r}: 'left of' and 'right of' are two words, 'above' and "
                    "'below' one. Replace the whole relation phrase, so that the caption stays in the grammar."
                )
            return (
                f"on {case} {old!r} became {new!r}, which is not a caption of the grammar "
                "'a <colour> <shape> is <relation> a <colour> <shape>'. Change only the relation phrase."
            )
    mapping = {}
    for (sc, ss, rel, oc, os_), (nsc, nss, nrel, noc, nos) in parsed:
        if (nsc, nss, noc, nos) == (oc, os_, sc, ss) and nrel == _INVERSE[_TURNS["counter-clockwise"][rel]]:
            return (
                f"on {case} you wrote 'a {nsc} {nss} is {nrel} a {noc} {nos}' -- true, but it swaps subject and "
                "object. Keep them where they are and change only the relation."
            )
        if (nsc, nss, noc, nos) != (sc, ss, oc, os_):
            return f"on {case} the objects changed ('{sc} {ss}', '{oc} {os_}'); only the relation may change."
        mapping.setdefault(rel, set()).add(nrel)
    for how, table in _TURNS.items():
        if all(new == {table[rel]} for rel, new in mapping.items()):
            if how == "unchanged":
                return (
                    f"on {case} the captions are unchanged, but the images are turned: '{captions[0]}' is now "
                    "FALSE. Every relation moves with a quarter turn -- work out where, for each of the four."
                )
            if how == "counter-clockwise":  # pragma: no cover - then got == want
                return None
            return (
                f"on {case} your captions say where the objects are after {_TURN_WORDS[how]}, not after a "
                "quarter turn counter-clockwise. Draw two objects, turn the paper a quarter to the left (top edge to the "
                "left), and read off where the first one is now."
            )
    misplaced = [
        r for r, new in mapping.items() if len(new) == 1 and _TURNS["counter-clockwise"][r] != next(iter(new))
    ]
    landed = {next(iter(new)) for new in mapping.values() if len(new) == 1}
    if len(mapping) >= 2 and len(landed) < len(mapping):
        return (
            f"on {case} two different relations became the same one ({', '.join(sorted(mapping))} -> "
            f"{', '.join(sorted(landed))}): a replacement ran on the result of an earlier one (as "
            "str.replace chains do). Rewrite each caption's relation once, e.g. with a dict lookup."
        )
    row = next(i for i, (c, w) in enumerate(zip(got, want)) if c != w)
    return f"on {case} caption {row} became {got[row]!r}, expected {want[row]!r}" + (
        f" ({', '.join(misplaced)} went to the wrong place)." if misplaced else "."
    )


def _rotate_caption(caption):
    from ..data import parse_caption

    sc, ss, rel, oc, os_ = parse_caption(caption)
    return f"a {sc} {ss} is {_TURNS['counter-clockwise'][rel]} a {oc} {os_}"


@exercise(
    "rot90_pair",
    lesson=LESSON,
    description="turn images a quarter counter-clockwise and rewrite every relation to match",
)
def check_rot90_pair(answer):
    """rot90_pair(images (n, C, H, W), captions) -> (images turned (n, C, W, H), captions with relations turned)."""
    expect_callable(answer, "a function rot90_pair(images, captions) returning (images, captions)")
    for case, images, captions in _turn_cases():
        given = list(captions)
        got = call_learner(answer, case, images, given)
        if got is None:
            fail(f"your function returned None on {case} -- did you forget `return turned, new_captions`?")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(
                f"on {case} your function returned {type(got).__name__}; return a PAIR (turned images, new captions)."
            )
        if given != captions:
            fail(
                f"on {case} your function changed the caption list it was given (in place). Build and return a "
                "new list, so the original data set stays as it was."
            )
        turned = np.asarray(got[0].detach().cpu().numpy() if hasattr(got[0], "detach") else got[0])
        new_captions = got[1]
        if isinstance(new_captions, str) or not hasattr(new_captions, "__len__"):
            fail(
                f"on {case} the captions you returned are {type(new_captions).__name__}; return a list of strings."
            )
        want_images = np.rot90(images, 1, axes=(2, 3))
        if turned.shape == images.shape and np.array_equal(turned, images):
            image_hint = (
                f"on {case} the images are unchanged. Turn each one a quarter counter-clockwise: np.rot90 on "
                "the picture's axes (2, 3)."
            )
        else:
            image_hint = (
                None if np.array_equal(turned, want_images) else _turn_image_hint(case, images, turned)
            )
        caption_hint = _turn_caption_hint(case, captions, [str(c) for c in new_captions])
        if image_hint or caption_hint:
            fail(image_hint or caption_hint)
    return (
        f"correct on {len(_turn_cases())} cases: images turned a quarter counter-clockwise, and every relation "
        "turned with them (left of -> below -> right of -> above -> left of)."
    )


# --- naive_turn_wrong ---------------------------------------------------------------


@exercise(
    "naive_turn_wrong",
    lesson=LESSON,
    description="predict the share of labels a quarter turn that forgets the captions makes wrong",
)
def check_naive_turn_wrong(answer):
    """naive_turn_wrong: a number, the fraction of make_shapes' labels a caption-blind quarter turn makes wrong."""
    if answer is None:
        raise ExerciseNotStarted(
            "not answered yet -- set naive_turn_wrong to your prediction, a number between 0 and 1, "
            "then run this check."
        )
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, float, np.integer, np.floating)):
        fail(
            f"expected a number -- the fraction of labels made wrong, between 0 and 1 -- but got "
            f"{type(answer).__name__} {answer!r}."
        )
    value = float(answer)
    if 1 < value <= 100:
        fail(f"{value:g} looks like a percentage; give a fraction between 0 and 1 (e.g. 0.25 for 25 %).")
    if not 0 <= value <= 1:
        fail(f"{value:g} is not a fraction of the labels; it must lie between 0 and 1.")
    if abs(value - 0.5) < 0.005:
        return (
            "0.5: exactly the matches. Every true caption turns false (its relation now points along the other "
            "axis), and no false caption turns true, for the same reason."
        )
    if abs(value - 0.25) < 0.03:
        fail(
            f"{value:g} counts only the matches with a side-by-side relation, as for the flip. A quarter turn "
            "also moves 'above' and 'below': a true 'A above B' becomes 'A is left of B' in the picture."
        )
    if 0.35 <= value <= 0.45:
        fail(
            f"{value:g} is about the FLIP's share (section 4 of the lesson). There, captions with above/below "
            "survived, and some mismatches became true. Which captions survive a quarter turn? Which false "
            "captions could become true, when every relation moves to the other axis?"
        )
    if value > 0.55:
        fail(
            f"{value:g} is more than the matches alone (half the pairs). Can a FALSE caption become true? A "
            "swapped or reversed caption names a relation along the scene's own axis; after the turn the "
            "objects lie along the other axis, so it stays false -- and a changed colour stays absent."
        )
    if value < 0.2:
        fail(
            f"{value:g} is too small. Take a match, 'a red circle is left of a blue square', and turn the "
            "picture a quarter to the left: is the red circle still left of the square?"
        )
    fail(
        f"{value:g} is not it. Go through the four kinds of pair -- match, swapped, reversed, attribute -- and "
        "ask for each whether the unchanged caption is still as true after the turn as its label says."
    )
