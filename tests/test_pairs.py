"""mmcourse.data.pairs (lesson 11): true pairs only, what a caption means, and its false word-order twins."""

import numpy as np
import pytest

from mmcourse.data import (
    FULL_PALETTE,
    caption_meaning,
    caption_meanings,
    captions_true,
    order_twins,
    reversed_caption,
    scene_captions,
    swapped_caption,
)
from mmcourse.data.shapes import COLOURS, DEFAULT_COLOURS, DEFAULT_SHAPES, SHAPES, caption_is_true


@pytest.fixture(scope="module")
def scenes():
    return scene_captions(1500, seed=3)


def _truth_of(caption, data) -> tuple[bool, ...]:
    """Which scenes of `data` the caption is true of, from the metadata alone."""
    meta = data.meta
    return tuple(
        caption_is_true(caption, meta["colour"][i], meta["shape"][i], meta["centre"][i])
        for i in range(len(data))
    )


def test_every_caption_is_true_of_its_scene_and_only_matches_are_kept(scenes):
    assert len(scenes) == 1500 and scenes.images.shape == (1500, 3, 16, 16)
    assert np.all(scenes.labels == 1) and set(scenes.meta["kind"]) == {"match"}
    assert captions_true(scenes).all()
    assert scenes.info["name"] == "scene-captions"


def test_both_word_order_twins_are_false_of_the_scene(scenes):
    swapped, reversed_ = order_twins(scenes.captions)
    assert swapped == [swapped_caption(c) for c in scenes.captions]
    assert reversed_ == [reversed_caption(c) for c in scenes.captions]
    assert not captions_true(scenes, swapped).any()
    assert not captions_true(scenes, reversed_).any()
    meta = scenes.meta
    for i in range(0, len(scenes), 97):  # the same, through caption_is_true and the meta directly
        args = meta["colour"][i], meta["shape"][i], meta["centre"][i]
        assert caption_is_true(scenes.captions[i], *args)
        assert not caption_is_true(swapped[i], *args) and not caption_is_true(reversed_[i], *args)
    for caption, twin in zip(scenes.captions, swapped):  # the same words, in another order
        assert sorted(caption.split()) == sorted(twin.split()) and caption != twin


def test_twins_and_meanings_of_one_caption():
    caption = "a red circle is left of a blue square"
    assert swapped_caption(caption) == "a blue square is left of a red circle"
    assert reversed_caption(caption) == "a red circle is right of a blue square"
    vertical = "a green diamond is above a cyan triangle"
    assert reversed_caption(vertical) == "a green diamond is below a cyan triangle"
    assert caption_meaning(caption) == ("red", "circle", "left of", "blue", "square")
    assert caption_meaning("a blue square is right of a red circle") == caption_meaning(caption)
    assert caption_meaning("a cyan triangle is below a green diamond") == caption_meaning(vertical)
    captions = [
        caption,
        "a blue square is right of a red circle",  # the same fact
        swapped_caption(caption),
        reversed_caption(caption),
        "a green diamond is above a cyan triangle",
        "a cyan triangle is below a green diamond",  # the same fact
    ]
    ids = caption_meanings(captions)
    # both twins state the opposite fact ("B left of A" = "A right of B"), never the caption's own
    assert ids.dtype == np.int64 and ids.tolist() == [0, 0, 1, 1, 2, 2]


def test_equal_meaning_ids_exactly_when_true_of_the_same_scenes():
    # the default palette's 144 facts, so that many scenes share a fact
    data = scene_captions(300, seed=1, colours=DEFAULT_COLOURS, shapes=DEFAULT_SHAPES)
    swapped, reversed_ = order_twins(data.captions[:40])
    captions = list(data.captions) + swapped + reversed_
    ids = caption_meanings(captions)
    truth = [_truth_of(c, data) for c in captions]
    nonempty = [i for i, t in enumerate(truth) if any(t)]  # a fact true of no scene here says nothing
    assert len(nonempty) >= 300
    same_id = ids[nonempty][:, None] == ids[nonempty][None, :]
    same_truth = np.array([[truth[i] == truth[j] for j in nonempty] for i in nonempty])
    assert np.array_equal(same_id, same_truth)
    assert same_id.sum() - len(nonempty) > 100  # not vacuous: many pairs of different captions share a fact
    assert len(set(ids[:300].tolist())) < 144  # with 300 scenes of 144 facts some repeat
    # each caption's twins never share its meaning
    assert not np.any(ids[300:340] == ids[:40]) and not np.any(ids[340:] == ids[:40])


def test_the_full_palette_is_every_colour_and_shape():
    assert FULL_PALETTE["colours"] == tuple(COLOURS) and len(FULL_PALETTE["colours"]) == 6
    assert FULL_PALETTE["shapes"] == SHAPES and len(FULL_PALETTE["shapes"]) == 4
    data = scene_captions(6000, seed=0)
    assert set(data.meta["colour"].ravel()) == set(COLOURS) and set(data.meta["shape"].ravel()) == set(SHAPES)
    meanings = {caption_meaning(c) for c in data.captions}
    assert 144 < len(meanings) <= 720  # more facts than the default palette has; at most 24 x 15 x 4 / 2
    assert len(meanings) > 700  # 6000 scenes of 720 equally likely facts miss almost none
    small = scene_captions(200, seed=0, colours=("red", "green", "blue"), shapes=("circle", "square", "triangle"))  # fmt: skip
    assert set(small.meta["colour"].ravel()) <= {"red", "green", "blue"}
    assert set(small.meta["shape"].ravel()) <= {"circle", "square", "triangle"}


def test_the_same_seed_gives_the_same_pairs():
    first, again, other = scene_captions(64, seed=7), scene_captions(64, seed=7), scene_captions(64, seed=8)
    assert np.array_equal(first.images, again.images) and first.captions == again.captions
    assert first.captions != other.captions and not np.array_equal(first.images, other.images)
    assert scene_captions(64, seed=7, image_size=20).images.shape == (64, 3, 20, 20)


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="list of strings, not one string"):
        caption_meanings("a red circle is left of a blue square")
    with pytest.raises(TypeError, match="list of strings, not one string"):
        order_twins("a red circle is left of a blue square")
    with pytest.raises(ValueError, match="not in the grammar"):
        caption_meaning("a red circle next to a blue square")
    with pytest.raises(ValueError, match="not in the grammar"):
        swapped_caption("two circles")
    with pytest.raises((TypeError, ValueError), match="n must be"):
        scene_captions(0)
