"""Lesson 12's data: one scene, said in the voice of a requested role.

    role_caption("poet", "red", "circle", "left of", "blue", "square")
    # 'left of a blue square rests a red circle'
    parse_role_caption("poet", "left of a blue square rests a red circle")
    # ('red', 'circle', 'left of', 'blue', 'square')
    data = make_role_captions(4000, seed=0)     # scenes, a role each, the caption in that role

Four roles say the same content -- subject, relation, object -- in different *speaking styles*:

| role | style | example |
|---|---|---|
| narrator | the course's plain grammar | a red circle is left of a blue square |
| poet | the object first, the subject last, "rests" | left of a blue square rests a red circle |
| child | "look !", each shape before its colour | look ! the circle is red and it is left of the square that is blue |
| painter | "i painted", pigments instead of colours | i painted the vermilion circle left of the ultramarine square |

The painter also carries **role knowledge**: words only that role uses, each with a fixed meaning
(`PIGMENTS`: vermilion is red, ultramarine is blue, ...). A model can get the painter's style right
("i painted the ... circle left of the ... square") and still name the wrong pigment; `role_knowledge`
in mmcourse.vlm measures that apart from style.

`parse_role_caption` inverts `role_caption` exactly, and a caption of one role never parses as
another's, so "does the output speak in the requested role?" and "is what it says true of the
scene?" (mmcourse.data.caption_is_true on the parsed content) are both computed, not judged.
"""

from __future__ import annotations

import re

import numpy as np

from ..validation import expect_positive_int
from .dataset import MultimodalData
from .pairs import caption_meaning, scene_captions
from .shapes import COLOURS, RELATIONS, SHAPES, describe

__all__ = ["ROLES", "PIGMENTS", "KNOWLEDGE_ROLES", "expect_role", "role_caption", "parse_role_caption",
           "role_words", "make_role_captions"]  # fmt: skip

ROLES = ("narrator", "poet", "child", "painter")
"""The roles, in the order of their ids (the role token of lesson 12's model is ROLES.index(role))."""

PIGMENTS = {
    "red": "vermilion",
    "green": "viridian",
    "blue": "ultramarine",
    "yellow": "cadmium",
    "purple": "mauve",
    "cyan": "cerulean",
}
"""The painter's knowledge: the pigment for each colour of the grammar."""
COLOUR_OF_PIGMENT = {pigment: colour for colour, pigment in PIGMENTS.items()}
KNOWLEDGE_ROLES = {"painter": PIGMENTS}
"""Roles with knowledge of their own: role -> {colour: the word only that role uses for it}."""

_RELATION = "|".join(RELATIONS)
_TEMPLATES = {  # role -> (format string, regex); the regex's groups are named like describe's slots
    "narrator": ("a {sc} {ss} is {rel} a {oc} {os}",
                 rf"a (?P<sc>\w+) (?P<ss>\w+) is (?P<rel>{_RELATION}) a (?P<oc>\w+) (?P<os>\w+)"),
    "poet": ("{rel} a {oc} {os} rests a {sc} {ss}",
             rf"(?P<rel>{_RELATION}) a (?P<oc>\w+) (?P<os>\w+) rests a (?P<sc>\w+) (?P<ss>\w+)"),
    "child": ("look ! the {ss} is {sc} and it is {rel} the {os} that is {oc}",
              rf"look ! the (?P<ss>\w+) is (?P<sc>\w+) and it is (?P<rel>{_RELATION}) the (?P<os>\w+) that is "
              rf"(?P<oc>\w+)"),
    "painter": ("i painted the {sc} {ss} {rel} the {oc} {os}",
                rf"i painted the (?P<sc>\w+) (?P<ss>\w+) (?P<rel>{_RELATION}) the (?P<oc>\w+) (?P<os>\w+)"),
}  # fmt: skip
_PATTERNS = {role: re.compile(f"^{regex}$") for role, (_, regex) in _TEMPLATES.items()}


def expect_role(role) -> str:
    """`role` if it is one of ROLES; else ValueError listing the roles."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; the roles are: {', '.join(ROLES)}.")
    return role


def _colour_word(role: str, colour: str) -> str:
    return KNOWLEDGE_ROLES[role][colour] if role in KNOWLEDGE_ROLES else colour


def role_caption(role, subject_colour, subject_shape, relation, object_colour, object_shape) -> str:
    """The content (subject, relation, object) said as `role` says it; ValueError for a word outside the grammar."""
    expect_role(role)
    for name, value, allowed in (("subject_colour", subject_colour, COLOURS), ("object_colour", object_colour, COLOURS),
                                 ("subject_shape", subject_shape, SHAPES), ("object_shape", object_shape, SHAPES),
                                 ("relation", relation, RELATIONS)):  # fmt: skip
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, but got {value!r}.")
    template = _TEMPLATES[role][0]
    return template.format(sc=_colour_word(role, subject_colour), ss=subject_shape, rel=relation,
                           oc=_colour_word(role, object_colour), os=object_shape)  # fmt: skip


def parse_role_caption(role, text):
    """The content (subject colour, subject shape, relation, object colour, object shape) of a caption
    said as `role` says it -- or None when `text` is not such a caption (another role's, or broken)."""
    expect_role(role)
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, but got {type(text).__name__}.")
    match = _PATTERNS[role].match(" ".join(text.split()))
    if match is None:
        return None
    colours = KNOWLEDGE_ROLES.get(role)
    to_colour = {word: colour for colour, word in colours.items()} if colours else {c: c for c in COLOURS}
    sc, oc = to_colour.get(match["sc"]), to_colour.get(match["oc"])
    if sc is None or oc is None or match["ss"] not in SHAPES or match["os"] not in SHAPES:
        return None
    return sc, match["ss"], match["rel"], oc, match["os"]


def role_words(role) -> set[str]:
    """The words `role` uses for its style and knowledge that no other role uses (its "own words")."""
    expect_role(role)
    own = set(re.sub(r"\{\w+\}", " ", _TEMPLATES[role][0]).split())
    if role in KNOWLEDGE_ROLES:
        own |= set(KNOWLEDGE_ROLES[role].values())
    others = set()
    for other in ROLES:
        if other != role:
            others |= set(re.sub(r"\{\w+\}", " ", _TEMPLATES[other][0]).split())
    return own - others - set(COLOURS) - set(SHAPES) - {w for r in RELATIONS for w in r.split()}


def make_role_captions(n: int, *, seed: int = 0, image_size: int = 16, role_weights=None, colours=None,
                       shapes=None) -> MultimodalData:  # fmt: skip
    """n scenes, each with a role and a true caption said in that role.

    role_weights: the share of each role (a dict role -> weight, or a sequence in the order
    of ROLES; default: equal); the counts are exact (largest remainders), the order random.
    colours, shapes: as in scene_captions (default: lesson 06's 4 colours and 3 shapes).
    Returns a MultimodalData: images (n, 3, H, W), captions (the role's text), labels (n,)
    the role ids (ROLES.index), label_names ROLES, and meta: colour, shape, centre (the
    scene), role (names), content (n, 5) the caption's slots, as parse_role_caption gives
    them, and plain (n,) the same content in the narrator's words.
    """
    from .shapes import DEFAULT_COLOURS, DEFAULT_SHAPES

    n = expect_positive_int("n", n)
    if role_weights is None:
        weights = np.ones(len(ROLES))
    elif isinstance(role_weights, dict):
        for role in role_weights:
            expect_role(role)
        weights = np.array([float(role_weights.get(role, 0.0)) for role in ROLES])
    else:
        weights = np.asarray(role_weights, dtype=float)
        if weights.shape != (len(ROLES),):
            raise ValueError(f"role_weights must have one weight per role ({len(ROLES)}: {', '.join(ROLES)}), "
                             f"but has shape {weights.shape}.")  # fmt: skip
    if not np.all(np.isfinite(weights)) or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"role_weights must be non-negative with a positive sum, but got {role_weights!r}.")
    rng = np.random.default_rng(seed)
    share = weights / weights.sum() * n
    counts = np.floor(share).astype(int)
    counts[np.argsort(-(share - counts), kind="stable")[: n - counts.sum()]] += 1
    role_ids = rng.permutation(np.repeat(np.arange(len(ROLES)), counts))
    scenes = scene_captions(n, seed=seed, image_size=image_size, colours=colours or DEFAULT_COLOURS,
                            shapes=shapes or DEFAULT_SHAPES)  # fmt: skip
    # half the scenes keep their caption's wording, half say the same fact the other way round
    content = np.array([caption_meaning(c) for c in scenes.captions], dtype=object)
    turn = rng.random(n) < 0.5
    opposite = {"left of": "right of", "above": "below"}
    for i in np.flatnonzero(turn):
        sc, ss, rel, oc, os_ = content[i]
        content[i] = (oc, os_, opposite[rel], sc, ss)
    captions = [role_caption(ROLES[r], *content[i]) for i, r in enumerate(role_ids)]
    return MultimodalData(
        images=scenes.images,
        captions=captions,
        labels=role_ids.astype(np.int64),
        label_names=ROLES,
        meta={
            **{k: scenes.meta[k] for k in ("colour", "shape", "centre")},
            "role": np.array(ROLES)[role_ids],
            "content": np.array([list(c) for c in content], dtype="<U10"),
            "plain": np.array([describe(*c) for c in content]),
        },  # fmt: skip
        info={**scenes.info, "name": "role-captions", "roles": ROLES, "role_counts": counts.tolist()},
    )
