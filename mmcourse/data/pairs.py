"""Lesson 11's data: only TRUE image-caption pairs, what each caption means, and its word-order twins.

Contrastive training never sees a label. It sees a batch of B scenes with their own
captions and learns that caption i goes with image i and not with the other B - 1:

    data = scene_captions(6000, seed=0)              # 6000 scenes, each with a true caption
    meaning = caption_meanings(data.captions)        # (n,) ids: equal ids = equally true of a scene
    swapped, reversed_ = order_twins(data.captions)  # the same words in another order: false

The grammar says one fact in two ways ("a red circle is left of a blue square" = "a blue
square is right of a red circle"), so two different scenes in a batch can have captions
that are BOTH true of each other's image. `caption_meanings` gives such captions the same
id, so a loss can treat them as positives instead of pushing them apart (false negatives).

The twins are the hard negatives of Yuksekgonul et al. (ICLR 2023, "When and why
vision-language models behave like bags-of-words"): the swapped twin exchanges subject and
object, the reversed twin turns the relation round. Both keep every word of the caption,
and both are false, so only a model that reads word order AND looks at the scene can
reject them.
"""

from __future__ import annotations

import numpy as np

from ..validation import expect_positive_int
from .dataset import MultimodalData
from .shapes import COLOURS, OPPOSITE, SHAPES, describe, make_shapes, parse_caption

__all__ = ["FULL_PALETTE", "scene_captions", "caption_meaning", "caption_meanings", "swapped_caption",
           "reversed_caption", "order_twins"]  # fmt: skip

FULL_PALETTE = {"colours": tuple(COLOURS), "shapes": SHAPES}
"""Every colour and shape of the grammar: 6 x 4 = 24 objects, 24 x 15 x 4 / 2 = 720 facts.

With lesson 06's default 4 colours x 3 shapes there are only 144 facts, so a batch of 128
scenes is full of scenes that differ only in where the objects are -- in-batch negatives
that force a model to read word order. With the full palette they are rare, as in web data."""


def scene_captions(
    n: int, *, seed: int = 0, image_size: int = 16, colours=None, shapes=None
) -> MultimodalData:
    """n scenes of two shapes, each with a TRUE caption (label 1): the pairs contrastive training learns from.

    colours, shapes: the names to draw from (default: FULL_PALETTE, every colour and shape).
    The scenes are those of make_shapes (drawn independently of the caption); of its pairs
    only the matching ones are kept, so meta["kind"] is "match" throughout.
    """
    n = expect_positive_int("n", n)
    colours = FULL_PALETTE["colours"] if colours is None else colours
    shapes = FULL_PALETTE["shapes"] if shapes is None else shapes
    data = make_shapes(2 * n, seed=seed, image_size=image_size, colours=colours, shapes=shapes)
    pairs = data.subset(data.labels == 1)  # make_shapes balances its labels exactly: n matches
    pairs.info = {**pairs.info, "name": "scene-captions"}
    return pairs


def caption_meaning(caption: str) -> tuple[str, str, str, str, str]:
    """The fact a caption states, in one canonical wording: "right of" and "below" turned round.

    caption_meaning("a blue square is right of a red circle")
        == caption_meaning("a red circle is left of a blue square")
        == ("red", "circle", "left of", "blue", "square")
    """
    sc, ss, relation, oc, os_ = parse_caption(caption)
    if relation in ("right of", "below"):
        return oc, os_, OPPOSITE[relation], sc, ss
    return sc, ss, relation, oc, os_


def caption_meanings(captions) -> np.ndarray:
    """(n,) int64 ids, equal exactly when two captions state the same fact (true of the same scenes)."""
    if isinstance(captions, str):
        raise TypeError("captions must be a list of strings, not one string.")
    ids: dict[tuple, int] = {}
    return np.array([ids.setdefault(caption_meaning(c), len(ids)) for c in captions], dtype=np.int64)


def swapped_caption(caption: str) -> str:
    """Subject and object exchanged: "a red circle is left of a blue square" -> "a blue square is left of a red circle"."""
    sc, ss, relation, oc, os_ = parse_caption(caption)
    return describe(oc, os_, relation, sc, ss)


def reversed_caption(caption: str) -> str:
    """The relation turned round: "a red circle is left of a blue square" -> "a red circle is right of a blue square"."""
    sc, ss, relation, oc, os_ = parse_caption(caption)
    return describe(sc, ss, OPPOSITE[relation], oc, os_)


def order_twins(captions) -> tuple[list[str], list[str]]:
    """(swapped, reversed): each caption's two word-order twins, both false whenever the caption is true."""
    if isinstance(captions, str):
        raise TypeError("captions must be a list of strings, not one string.")
    return [swapped_caption(c) for c in captions], [reversed_caption(c) for c in captions]
