"""Lesson 12's data (mmcourse.data.roles): one content in several voices, parsed back exactly, and scenes to learn from."""

import itertools
import math

import numpy as np
import pytest

from mmcourse.data import caption_is_true
from mmcourse.data.roles import (
    KNOWLEDGE_ROLES,
    PIGMENTS,
    ROLES,
    expect_role,
    make_role_captions,
    parse_role_caption,
    role_caption,
    role_words,
)
from mmcourse.data.shapes import COLOURS, OPPOSITE, RELATIONS, SHAPES, describe

CONTENTS = list(itertools.product(COLOURS, SHAPES, RELATIONS, COLOURS, SHAPES))
EXAMPLE = ("red", "circle", "left of", "blue", "square")


# --- the roles -------------------------------------------------------------------------------------------------


def test_there_are_at_least_three_roles_and_one_with_knowledge_of_its_own():
    assert len(ROLES) >= 3 and len(set(ROLES)) == len(ROLES)
    assert KNOWLEDGE_ROLES and set(KNOWLEDGE_ROLES) <= set(ROLES)
    assert KNOWLEDGE_ROLES["painter"] is PIGMENTS
    assert set(PIGMENTS) == set(COLOURS)  # a pigment for every colour of the grammar ...
    assert len(set(PIGMENTS.values())) == len(PIGMENTS)  # ... each its own ...
    assert not set(PIGMENTS.values()) & (set(COLOURS) | set(SHAPES))  # ... and none a word of the grammar


def test_the_narrator_speaks_the_course_grammar_and_the_others_differ():
    assert role_caption("narrator", *EXAMPLE) == describe(*EXAMPLE)
    assert role_caption("poet", *EXAMPLE) == "left of a blue square rests a red circle"
    assert (
        role_caption("painter", *EXAMPLE) == "i painted the vermilion circle left of the ultramarine square"
    )
    said = [role_caption(role, *EXAMPLE) for role in ROLES]
    assert len(set(said)) == len(ROLES)
    assert len({tuple(s.split()[:2]) for s in said}) == len(ROLES)  # even their first two words differ


def test_every_content_of_every_role_round_trips_and_parses_in_no_other_role():
    assert len(CONTENTS) * len(ROLES) == 9216
    for role in ROLES:
        texts = set()
        for content in CONTENTS:
            text = role_caption(role, *content)
            texts.add(text)
            assert parse_role_caption(role, text) == content, (role, text)
            for other in ROLES:
                if other != role:
                    assert parse_role_caption(other, text) is None, (role, other, text)
        assert len(texts) == len(CONTENTS)  # one caption per content: nothing is lost in the saying


def test_the_parsed_relation_is_the_courses_relation_string():
    for role in ROLES:
        for relation in RELATIONS:
            parsed = parse_role_caption(
                role, role_caption(role, "green", "triangle", relation, "cyan", "diamond")
            )
            assert parsed[2] == relation and parsed[2] in RELATIONS


@pytest.mark.parametrize(
    "role, text",
    [
        ("narrator", ""),
        ("narrator", "a red circle is"),
        ("narrator", "a red circle is left of a blue square and more"),
        ("narrator", "the red circle is left of a blue square"),
        ("narrator", "a red circle is near a blue square"),
        ("narrator", "a pink circle is left of a blue square"),
        ("narrator", "a red blob is left of a blue square"),
        ("narrator", "a red circle is left of a blue"),
        ("narrator", "a vermilion circle is left of a blue square"),  # a pigment outside the painter's role
        ("poet", "left of a ultramarine square rests a red circle"),
        ("child", "look ! the circle is cadmium and it is above the square that is blue"),
        ("child", "look the circle is red and it is above the square that is blue"),  # no "!"
        ("painter", "i painted the red circle left of the blue square"),  # plain colours in the painter's
        ("painter", "i painted the vermilion circle left of the blue square"),  # one pigment, one colour
        ("painter", "i painted the vermilion circle left of the mauvish square"),
        ("painter", "i painted the vermilion circle beside the ultramarine square"),
        ("painter", "painted the vermilion circle left of the ultramarine square"),
    ],
)
def test_broken_or_foreign_text_parses_as_none(role, text):
    assert parse_role_caption(role, text) is None


def test_spacing_does_not_matter_but_the_words_do():
    assert parse_role_caption("narrator", "  a red circle   is left of a blue square ") == EXAMPLE
    assert parse_role_caption("narrator", "a red circle is left of a blue square .") is None


def test_an_unknown_role_is_an_error_listing_the_roles():
    listing = ", ".join(ROLES)
    for call in (
        lambda: role_caption("pirate", *EXAMPLE),
        lambda: parse_role_caption("pirate", "arr"),
        lambda: expect_role("Poet"),
        lambda: role_words("pirate"),
    ):
        with pytest.raises(ValueError) as error:
            call()
        assert listing in str(error.value)
        assert "pirate" in str(error.value) or "Poet" in str(error.value)
    assert expect_role("poet") == "poet"


@pytest.mark.parametrize(
    "content, argument",
    [
        (("pink", "circle", "left of", "blue", "square"), "subject_colour"),
        (("red", "blob", "left of", "blue", "square"), "subject_shape"),
        (("red", "circle", "near", "blue", "square"), "relation"),
        (("red", "circle", "left of", "vermilion", "square"), "object_colour"),
        (("red", "circle", "left of", "blue", "cube"), "object_shape"),
    ],
)
def test_a_word_outside_the_grammar_names_its_argument(content, argument):
    with pytest.raises(ValueError, match=argument):
        role_caption("poet", *content)


def test_text_that_is_not_a_string_is_a_type_error():
    with pytest.raises(TypeError, match="text must be a string"):
        parse_role_caption("narrator", ["a", "red", "circle"])
    with pytest.raises(TypeError, match="text must be a string"):
        parse_role_caption("narrator", None)


def test_each_roles_own_words_are_used_by_it_and_by_no_other_role():
    assert (
        role_words("narrator") == set()
    )  # the plain voice: "a" and "is" are said by the child and the poet too
    for role in set(ROLES) - {"narrator"}:
        assert role_words(role), role
    assert set(PIGMENTS.values()) <= role_words("painter")
    for a, b in itertools.combinations(ROLES, 2):
        assert not role_words(a) & role_words(b)
    for role in ROLES:
        spoken = {w for content in CONTENTS[::7] for w in role_caption(role, *content).split()}
        assert role_words(role) <= spoken  # its own words really occur in its captions
        for other in ROLES:
            if other != role:
                assert not role_words(other) & spoken, (role, other)


# --- the data ---------------------------------------------------------------------------------------------------


def test_make_role_captions_is_deterministic_from_its_seed():
    a, b = make_role_captions(60, seed=3), make_role_captions(60, seed=3)
    assert np.array_equal(a.images, b.images) and a.captions == b.captions
    assert np.array_equal(a.labels, b.labels)
    for key in ("role", "content", "plain", "colour", "shape", "centre"):
        assert np.array_equal(a.meta[key], b.meta[key]), key
    c = make_role_captions(60, seed=4)
    assert c.captions != a.captions and not np.array_equal(c.images, a.images)


def test_the_data_has_the_documented_layout():
    data = make_role_captions(40, seed=1, image_size=32)
    assert data.images.shape == (40, 3, 32, 32) and data.images.dtype == np.float32
    assert data.labels.dtype == np.int64 and tuple(data.label_names) == ROLES
    assert list(data.meta["role"]) == [ROLES[k] for k in data.labels]
    assert data.meta["content"].shape == (40, 5) and len(data.captions) == len(data.meta["plain"]) == 40
    assert data.info["roles"] == ROLES and sum(data.info["role_counts"]) == 40


def test_every_caption_is_true_of_its_scene_and_agrees_with_its_meta():
    data = make_role_captions(300, seed=7)
    relations = set()
    for i, (text, role) in enumerate(zip(data.captions, data.meta["role"])):
        content = parse_role_caption(role, text)
        assert content == tuple(data.meta["content"][i]), (i, text)
        assert data.meta["plain"][i] == describe(*content) == role_caption("narrator", *content)
        colours, shapes, centres = data.meta["colour"][i], data.meta["shape"][i], data.meta["centre"][i]
        assert caption_is_true(describe(*content), colours, shapes, centres), (i, text)
        sc, ss, relation, oc, os_ = content  # and the same fact turned round is false
        assert not caption_is_true(describe(sc, ss, OPPOSITE[relation], oc, os_), colours, shapes, centres)
        assert {(sc, ss), (oc, os_)} == set(zip(colours, shapes))
        relations.add(relation)
    assert relations == set(RELATIONS)  # both wordings of each fact occur


def test_colours_and_shapes_restrict_the_scenes_and_the_painter_names_their_pigments():
    colours, shapes = ("purple", "cyan", "green"), ("diamond", "circle", "square")
    data = make_role_captions(80, seed=2, colours=colours, shapes=shapes)
    assert set(data.meta["content"][:, [0, 3]].ravel()) <= set(colours)
    assert set(data.meta["content"][:, [1, 4]].ravel()) <= set(shapes)
    painted = [t for t, r in zip(data.captions, data.meta["role"]) if r == "painter"]
    pigments = {PIGMENTS[c] for c in colours}
    assert painted and all(len(pigments & set(t.split())) >= 1 for t in painted)
    assert not any(w in t.split() for t in painted for w in colours)


def _counts(data):
    return np.bincount(data.labels, minlength=len(ROLES)).tolist()


@pytest.mark.parametrize(
    "n, weights, expected",
    [
        (100, None, [25, 25, 25, 25]),
        (40, {"narrator": 3, "painter": 1}, [30, 0, 0, 10]),
        (8, [0.5, 0.25, 0.25, 0.0], [4, 2, 2, 0]),
        (
            13,
            [0.7, 0.2, 0.1, 0.0],
            [9, 3, 1, 0],
        ),  # floors 9, 2, 1: the one left goes to the largest remainder
        (10, (0, 0, 0, 1), [0, 0, 0, 10]),
        (20, {"child": 1}, [0, 0, 20, 0]),
    ],
)
def test_role_weights_give_exact_counts(n, weights, expected):
    data = make_role_captions(n, seed=5, role_weights=weights)
    assert _counts(data) == expected == data.info["role_counts"]
    assert len(data) == n


def test_equal_weights_that_do_not_divide_n_differ_by_at_most_one():
    for n in (7, 10, 33):
        counts = _counts(make_role_captions(n, seed=0))
        assert sum(counts) == n and max(counts) - min(counts) <= 1
        assert all(c in (math.floor(n / 4), math.ceil(n / 4)) for c in counts)


def test_the_order_of_the_roles_is_shuffled_not_blocked():
    labels = make_role_captions(200, seed=0).labels
    assert not np.all(np.diff(labels) >= 0)


@pytest.mark.parametrize(
    "weights, fragment",
    [
        ([1, -1, 1, 1], "non-negative"),
        ({"narrator": -0.5, "poet": 1}, "non-negative"),
        ([0, 0, 0, 0], "positive sum"),
        ({"poet": 0}, "positive sum"),
        ([1, float("nan"), 1, 1], "role_weights"),
        ([1, 1, 1], "one weight per role"),
        ([[1, 1], [1, 1]], "one weight per role"),
        ({"pirate": 1}, "the roles are: " + ", ".join(ROLES)),
    ],
)
def test_bad_role_weights_are_named(weights, fragment):
    with pytest.raises(ValueError, match="role_weights|roles are") as error:
        make_role_captions(10, role_weights=weights)
    assert fragment in str(error.value)
    if fragment == "one weight per role":
        assert ", ".join(ROLES) in str(error.value)


def test_a_bad_n_is_named():
    with pytest.raises(ValueError, match="^n must be a positive integer, but got 0"):
        make_role_captions(0)
    with pytest.raises(TypeError, match="^n must be a positive integer"):
        make_role_captions(2.5)
