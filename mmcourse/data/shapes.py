"""Shapes and captions: the course's own multimodal data set, generated from a seed.

Each sample is a small RGB scene of two coloured shapes and a caption such as
"a red circle is left of a blue square"; the task, *matching*, is to say whether the
caption describes the scene (label 1) or not (label 0).

The data are built so that every architectural choice of the course is necessary:

- **Image alone is at chance.** Scenes are drawn first, independently of the label.
- **Caption alone is at chance.** Every caption string is, in expectation, exactly as
  often true as false (the two objects of a scene always differ in colour AND shape, and
  the mismatch rules below are symmetric, which makes this exact).
- **Mismatches are hard negatives**, in equal shares (a third each):
  ``swapped`` (subject and object exchanged: "a blue square is left of a red circle"),
  ``reversed`` (the relation turned round: "... is right of ..."), and ``attribute``
  (one colour or shape changed to one that is absent from the scene).
- **A bag-of-words model, even one that sees the image, has a ceiling of 2/3.** A
  swapped caption has exactly the same words as the true one, and a reversed caption
  has the same words as the other true way of saying it ("a blue square is right of a
  red circle"). Without word order, swapped and reversed mismatches (2/3 of the
  negatives = 1/3 of all pairs) look like matches; the best such a model can do is to
  catch the attribute mismatches, i.e. accuracy 1 - 1/3 = 2/3 (`BAG_OF_WORDS_CEILING`;
  `order_blind_oracle` measures it on any data set).
- **Only a model that reads word order and looks at the image can reach 100 %**
  (`caption_is_true` is that model, written by hand from the metadata).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from ..validation import expect_number, expect_positive_int
from .dataset import MultimodalData

__all__ = [
    "COLOURS",
    "SHAPES",
    "RELATIONS",
    "MISMATCH_KINDS",
    "BAG_OF_WORDS_CEILING",
    "MIN_IMAGE_SIZE",
    "make_shapes",
    "describe",
    "parse_caption",
    "caption_is_true",
    "captions_true",
    "order_blind_oracle",
    "mismatch_kinds",
    "object_half_size",
]

COLOURS = {  # name -> RGB in [0, 1]
    "red": (0.90, 0.12, 0.10),
    "green": (0.10, 0.75, 0.20),
    "blue": (0.15, 0.30, 0.95),
    "yellow": (0.95, 0.85, 0.10),
    "purple": (0.60, 0.20, 0.80),
    "cyan": (0.10, 0.80, 0.85),
}
SHAPES = ("circle", "square", "triangle", "diamond")
RELATIONS = ("left of", "right of", "above", "below")
OPPOSITE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
MISMATCH_KINDS = ("swapped", "reversed", "attribute")
BAG_OF_WORDS_CEILING = 2 / 3
MIN_IMAGE_SIZE = 16
DEFAULT_COLOURS = ("red", "green", "blue", "yellow")
DEFAULT_SHAPES = ("circle", "square", "triangle")
BACKGROUND = 0.08

_CAPTION = re.compile(
    r"^a (?P<sc>\w+) (?P<ss>\w+) is (?P<rel>left of|right of|above|below) a (?P<oc>\w+) (?P<os>\w+)$"
)


def describe(subject_colour, subject_shape, relation, object_colour, object_shape) -> str:
    """The caption of the grammar: describe('red', 'circle', 'left of', 'blue', 'square')."""
    return f"a {subject_colour} {subject_shape} is {relation} a {object_colour} {object_shape}"


def parse_caption(caption: str) -> tuple[str, str, str, str, str]:
    """Inverse of `describe`: (subject colour, subject shape, relation, object colour, object shape)."""
    match = _CAPTION.match(caption.strip().lower()) if isinstance(caption, str) else None
    if match is None:
        raise ValueError(
            f"caption {caption!r} is not in the grammar 'a <colour> <shape> is <relation> a <colour> <shape>' "
            f"with relation one of {RELATIONS}."
        )
    return match["sc"], match["ss"], match["rel"], match["oc"], match["os"]


def _relation_holds(relation: str, subject_xy, object_xy) -> bool:
    """Whether `relation` holds between two centres (x = column, y = row, y grows downwards).

    The relation is read along the axis on which the two centres differ most.
    """
    dx, dy = object_xy[0] - subject_xy[0], object_xy[1] - subject_xy[1]
    horizontal = abs(dx) > abs(dy)
    return {
        "left of": horizontal and dx > 0,
        "right of": horizontal and dx < 0,
        "above": not horizontal and dy > 0,
        "below": not horizontal and dy < 0,
    }[relation]


def caption_is_true(caption: str, colours, shapes, centres) -> bool:
    """Does `caption` describe the scene? The perfect matcher, written from the metadata.

    colours, shapes: (2,) names of the scene's objects; centres: (2, 2) their (x, y).
    """
    sc, ss, relation, oc, os_ = parse_caption(caption)
    objects = list(zip(colours, shapes))
    if (sc, ss) not in objects or (oc, os_) not in objects or (sc, ss) == (oc, os_):
        return False
    subject, obj = objects.index((sc, ss)), objects.index((oc, os_))
    return _relation_holds(relation, centres[subject], centres[obj])


def captions_true(data: MultimodalData, captions=None) -> np.ndarray:
    """(n,) bool: whether each caption (default: data.captions) describes its scene, from data.meta."""
    captions = data.captions if captions is None else captions
    meta = data.meta
    return np.array(
        [
            caption_is_true(c, meta["colour"][i], meta["shape"][i], meta["centre"][i])
            for i, c in enumerate(captions)
        ],
        dtype=bool,
    )


def order_blind_oracle(data: MultimodalData) -> np.ndarray:
    """(n,) int64 predictions of the best model that sees the scene but not word order.

    It predicts "match" exactly when the caption's words mention the two objects of the
    scene -- which is all a bag of words (with a perfect view of the image) can check.
    Its accuracy is the bag-of-words ceiling of the data (2/3 for make_shapes).
    """
    predictions = np.empty(len(data), dtype=np.int64)
    for i, caption in enumerate(data.captions):
        sc, ss, _, oc, os_ = parse_caption(caption)
        scene = set(zip(data.meta["colour"][i], data.meta["shape"][i]))
        predictions[i] = int({(sc, ss), (oc, os_)} == scene)
    return predictions


def mismatch_kinds(data: MultimodalData) -> np.ndarray:
    """(n,) object array: each pair's kind, with attribute mismatches split by what was changed.

    "match", "swapped", "reversed", "attribute: colour" (a colour absent from the scene) or
    "attribute: shape" (both colours are in the scene, so a shape was changed) -- for
    error analyses that ask which kind of pair a model gets wrong.
    """
    kind = np.asarray(data.meta["kind"]).astype(object)
    for i in np.flatnonzero(kind == "attribute"):
        sc, _, _, oc, _ = parse_caption(data.captions[i])
        kind[i] = "attribute: colour" if not {sc, oc} <= set(data.meta["colour"][i]) else "attribute: shape"
    return kind


# --- generation ------------------------------------------------------------------


def _expect_names(argument: str, names, known, minimum: int) -> tuple[str, ...]:
    if isinstance(names, str):
        raise TypeError(
            f"{argument} must be a list of names such as {list(known)[:3]}, but got the string {names!r}."
        )
    names = tuple(names)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"{argument} holds unknown name(s) {unknown}; valid names are {list(known)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"{argument} must not repeat a name, but got {list(names)}.")
    if len(names) < minimum:
        raise ValueError(
            f"{argument} must name at least {minimum} different values (so that an attribute can be changed to "
            f"one absent from a two-object scene), but got {list(names)}."
        )
    return names


def _expect_relations(relations) -> tuple[str, ...]:
    relations = _expect_names("relations", relations, RELATIONS, 2)
    missing = [OPPOSITE[r] for r in relations if OPPOSITE[r] not in relations]
    if missing:
        raise ValueError(
            f"relations must come in opposite pairs (a reversed caption needs the opposite relation), "
            f"but {missing} is missing from {list(relations)}."
        )
    return relations


def object_half_size(image_size: int) -> int:
    """Half the width of a shape, in pixels: 4 for 32 x 32 scenes."""
    return max(2, (image_size * 3) // 22)


@lru_cache(maxsize=32)
def _template(shape: str, half: int) -> tuple[np.ndarray, np.ndarray]:
    """The (dy, dx) pixel offsets, relative to the centre, that a shape covers."""
    dy, dx = np.mgrid[-half : half + 1, -half : half + 1]
    if shape == "circle":
        mask = dx**2 + dy**2 <= (half + 0.3) ** 2
    elif shape == "square":
        mask = (np.abs(dx) <= half - 1) & (np.abs(dy) <= half - 1)
    elif shape == "triangle":  # pointing up: half-width grows from 0 at the top row to `half` at the bottom
        mask = np.abs(dx) <= (dy + half) / 2 + 0.25
    elif shape == "diamond":
        mask = np.abs(dx) + np.abs(dy) <= half
    else:  # pragma: no cover - names are validated before
        raise ValueError(shape)
    return dy[mask], dx[mask]


def _distinct_pair(rng, n: int, k: int) -> np.ndarray:
    """(n, 2) ints in [0, k), the two entries of each row different, uniform over such pairs."""
    first = rng.integers(0, k, size=n)
    second = (first + rng.integers(1, k, size=n)) % k
    return np.stack([first, second], axis=1)


def _absent_value(rng, pair: np.ndarray, k: int) -> np.ndarray:
    """(n,) a value in [0, k) different from both entries of each row of `pair` (n, 2), uniformly."""
    low, high = pair.min(axis=1), pair.max(axis=1)
    value = rng.integers(0, k - 2, size=len(pair))
    value += value >= low
    value += value >= high
    return value


def _positions(rng, n: int, image_size: int, half: int, horizontal: np.ndarray) -> np.ndarray:
    """(n, 2, 2) int centres (x, y); object 0 is left of (or above) object 1, clearly apart.

    Along the main axis the centres are at least 2*half + 3 pixels apart; across it they
    differ by at most half // 2, so exactly one relation describes the pair.
    """
    low, high, gap, jitter = half, image_size - 1 - half, 2 * half + 3, half // 2
    first = rng.integers(low, high - gap + 1, size=n)
    second = first + gap + np.floor(rng.random(n) * (high - first - gap + 1)).astype(np.int64)
    across = rng.integers(low, high + 1, size=n)
    across2 = np.clip(across + rng.integers(-jitter, jitter + 1, size=n), low, high)
    main, cross = np.stack([first, second], 1), np.stack([across, across2], 1)
    x = np.where(horizontal[:, None], main, cross)
    y = np.where(horizontal[:, None], cross, main)
    return np.stack([x, y], axis=2).astype(np.int64)


def _noise_windows(rng, n: int, width: int, bank_size: int = 1 << 22):
    """(n, width) float32 standard-normal noise, as a lazy array: index it by scene.

    Drawing fresh normals for 100,000 scenes costs seconds; instead each scene takes a
    window of `width` consecutive samples, at a random offset, from one bank of iid
    normals. Within a scene the noise is iid Gaussian, as if drawn afresh. The offsets
    are drawn up front, so the data do not depend on how rendering is chunked.
    """
    bank = rng.standard_normal(max(bank_size, 2 * width), dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(bank, width)
    offsets = rng.integers(0, len(windows), size=n)
    return windows, offsets


def _render(rng, centres, colour_idx, shape_idx, colours, shapes, image_size, noise, chunk=1024):
    """(n, 3, H, W) float32 scenes: background, the shapes pasted in, Gaussian noise, clipped to [0, 1]."""
    n, size = len(centres), image_size
    if noise > 0:
        windows, offsets = _noise_windows(rng, n, 3 * size * size)
    half = object_half_size(size)
    palette = np.array([COLOURS[c] for c in colours], dtype=np.float32)  # (C, 3)
    images = np.empty((n, 3, size, size), dtype=np.float32)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        block = images[start:stop].reshape(stop - start, 3, size * size)
        block.fill(BACKGROUND)
        for s, shape in enumerate(shapes):
            dy, dx = _template(shape, half)
            rows, objs = np.nonzero(shape_idx[start:stop] == s)  # which scenes, which of the 2 objects
            if len(rows) == 0:
                continue
            x, y = centres[start + rows, objs, 0], centres[start + rows, objs, 1]
            flat = (y[:, None] + dy[None, :]) * size + (x[:, None] + dx[None, :])  # (k, P)
            rgb = palette[colour_idx[start + rows, objs]]  # (k, 3)
            for channel in range(3):
                block[rows[:, None], channel, flat] = rgb[:, channel, None]
        if noise > 0:
            block += noise * windows[offsets[start:stop]].reshape(block.shape)
            np.clip(block, 0.0, 1.0, out=block)
    return images


@lru_cache(maxsize=16)
def _caption_table(colours, shapes, relations) -> np.ndarray:
    """All captions as an object array indexed [subject colour, subject shape, relation, object colour, object shape]."""
    table = np.empty((len(colours), len(shapes), len(relations), len(colours), len(shapes)), dtype=object)
    for index in np.ndindex(table.shape):
        sc, ss, r, oc, os_ = index
        table[index] = describe(colours[sc], shapes[ss], relations[r], colours[oc], shapes[os_])
    return table


def _balanced(rng, n: int, values: int) -> np.ndarray:
    """n ints in [0, values), each as often as possible (counts differ by at most 1), shuffled."""
    return rng.permutation(np.arange(n) % values)


def make_shapes(
    n: int,
    *,
    seed: int = 0,
    image_size: int = 32,
    noise: float = 0.05,
    colours=DEFAULT_COLOURS,
    shapes=DEFAULT_SHAPES,
    relations=RELATIONS,
) -> MultimodalData:
    """n scene-caption pairs for the matching task: does the caption describe the scene?

    n: number of pairs; seed: the same seed gives identical data; image_size: H = W in
    pixels (>= 16); noise: standard deviation of the Gaussian pixel noise, in [0, 1];
    colours, shapes, relations: the names used (subsets of COLOURS, SHAPES, RELATIONS;
    at least 3 colours and 3 shapes; relations in opposite pairs).

    Returns a MultimodalData with images (n, 3, H, W) float32 in [0, 1], captions (n
    strings), labels (n,) int64 (1 = match, exactly balanced), label_names
    ("mismatch", "match") and meta:
      colour, shape: (n, 2) the two objects' names; centre: (n, 2, 2) their (x, y) pixel
      centres (x = column, y = row); layout: (n,) "horizontal" or "vertical";
      kind: (n,) "match" or the mismatch kind, "swapped" / "reversed" / "attribute",
      each a third of the mismatches.
    Image-only and caption-only models sit at chance; bag of words + image has a ceiling
    of 2/3 (BAG_OF_WORDS_CEILING); see the module docstring for why.
    """
    n = expect_positive_int("n", n)
    image_size = expect_positive_int("image_size", image_size)
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(
            f"image_size must be at least {MIN_IMAGE_SIZE} pixels to hold two separated shapes, but got {image_size}."
        )
    noise = expect_number(
        "noise", noise, "float", 0, 1, rule="a number in [0, 1] (a standard deviation in pixel units)"
    )
    colours = _expect_names("colours", colours, COLOURS, 3)
    shapes = _expect_names("shapes", shapes, SHAPES, 3)
    relations = _expect_relations(relations)
    rng = np.random.default_rng(seed)

    # 1. the scenes, independent of the label: two objects differing in colour AND shape
    colour_idx = _distinct_pair(rng, n, len(colours))
    shape_idx = _distinct_pair(rng, n, len(shapes))
    axes = [axis for axis, rel in (("horizontal", "left of"), ("vertical", "above")) if rel in relations]
    horizontal = (
        rng.integers(0, len(axes), size=n) == 0 if len(axes) == 2 else np.full(n, axes == ["horizontal"])
    )
    centres = _positions(rng, n, image_size, object_half_size(image_size), horizontal)

    # 2. a true caption: object 0 "left of / above" object 1, or object 1 "right of / below" object 0
    flip = rng.random(n) < 0.5
    subject, obj = flip.astype(np.int64), 1 - flip.astype(np.int64)
    base = np.where(horizontal, relations.index("left of") if "left of" in relations else 0,
                    relations.index("above") if "above" in relations else 0)  # fmt: skip
    opposite = np.array([relations.index(OPPOSITE[r]) for r in relations])
    relation = np.where(flip, opposite[base], base)
    rows = np.arange(n)
    cap = {  # the caption's five slots, as indices
        "sc": colour_idx[rows, subject], "ss": shape_idx[rows, subject], "rel": relation,
        "oc": colour_idx[rows, obj], "os": shape_idx[rows, obj],
    }  # fmt: skip

    # 3. labels exactly balanced; the mismatches split exactly into thirds
    labels = rng.permutation(np.arange(n) % 2).astype(np.int64)
    kind = np.full(n, "match", dtype="<U9")
    negatives = np.flatnonzero(labels == 0)
    kind[negatives] = np.array(MISMATCH_KINDS)[_balanced(rng, len(negatives), 3)]

    swapped = kind == "swapped"
    for a, b in (("sc", "oc"), ("ss", "os")):
        cap[a][swapped], cap[b][swapped] = cap[b][swapped], cap[a][swapped].copy()
    reversed_ = kind == "reversed"
    cap["rel"][reversed_] = opposite[cap["rel"][reversed_]]
    attribute = kind == "attribute"
    which_object = rng.random(n) < 0.5  # change the caption's subject (True) or its object
    change_colour = rng.random(n) < 0.5
    new_colour = _absent_value(rng, colour_idx, len(colours))
    new_shape = _absent_value(rng, shape_idx, len(shapes))
    for slot_colour, slot_shape, mention in (("sc", "ss", which_object), ("oc", "os", ~which_object)):
        change = attribute & mention
        cap[slot_colour] = np.where(change & change_colour, new_colour, cap[slot_colour])
        cap[slot_shape] = np.where(change & ~change_colour, new_shape, cap[slot_shape])

    table = _caption_table(colours, shapes, relations)
    captions = table[cap["sc"], cap["ss"], cap["rel"], cap["oc"], cap["os"]].tolist()
    images = _render(rng, centres, colour_idx, shape_idx, colours, shapes, image_size, noise)
    names_c, names_s = np.array(colours), np.array(shapes)
    return MultimodalData(
        images=images,
        captions=captions,
        labels=labels,
        label_names=("mismatch", "match"),
        meta={
            "colour": names_c[colour_idx],
            "shape": names_s[shape_idx],
            "centre": centres,
            "layout": np.where(horizontal, "horizontal", "vertical"),
            "kind": kind,
        },
        info={
            "name": "shapes",
            "seed": seed,
            "image_size": image_size,
            "noise": noise,
            "colours": colours,
            "shapes": shapes,
            "relations": relations,
        },
    )
