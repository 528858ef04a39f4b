"""Train / validation / test splits, and a shifted test set for generalisation experiments."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .dataset import MultimodalData
from .shapes import parse_caption

__all__ = ["Splits", "split", "shifted_mask"]


class Splits(NamedTuple):
    """The parts of a data set: train, val, test, and `shifted` (None unless asked for)."""

    train: MultimodalData
    val: MultimodalData
    test: MultimodalData
    shifted: MultimodalData | None = None


def _expect_fractions(fractions) -> np.ndarray:
    try:
        fractions = np.asarray(fractions, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"fractions must be three numbers (train, val, test), but got {fractions!r}."
        ) from None
    if (
        fractions.shape != (3,)
        or (fractions < 0).any()
        or not np.isclose(fractions.sum(), 1)
        or fractions[0] == 0
    ):
        raise ValueError(
            f"fractions must be three non-negative numbers (train, val, test) that sum to 1, with train > 0, "
            f"but got {fractions.tolist()}."
        )
    return fractions


def shifted_mask(data: MultimodalData, shift) -> np.ndarray:
    """(n,) bool: the samples that belong to the shifted test set.

    shift = "position": scenes with an object centred in the top-left corner of the image
      (x and y both below 0.4 H; about a quarter of the scenes) -- positions a model
      never sees in training;
    shift = [("yellow", "triangle"), ...]: scenes or captions with one of these
      colour-shape pairs -- combinations a model never sees (compositional generalisation).
    """
    meta = data.meta
    if "centre" not in meta or "colour" not in meta:
        raise ValueError(
            "a shifted split needs shapes data (meta 'centre', 'colour', 'shape'), e.g. from make_shapes."
        )
    if isinstance(shift, str):
        if shift != "position":
            raise ValueError(
                f"shift must be 'position' or a list of (colour, shape) pairs, but got {shift!r}."
            )
        corner = 0.4 * data.images.shape[-1]
        return ((meta["centre"][..., 0] < corner) & (meta["centre"][..., 1] < corner)).any(axis=1)
    pairs = [tuple(p) for p in shift]
    colours, shapes = data.info.get("colours", ()), data.info.get("shapes", ())
    for pair in pairs:
        if len(pair) != 2 or pair[0] not in colours or pair[1] not in shapes:
            raise ValueError(
                f"shift pairs must be (colour, shape) with colour in {list(colours)} and shape in {list(shapes)}, "
                f"but got {pair!r}."
            )
    held = set(pairs)
    in_scene = np.zeros(len(data), dtype=bool)
    for colour, shape in held:
        in_scene |= ((meta["colour"] == colour) & (meta["shape"] == shape)).any(axis=1)
    in_caption = np.array(
        [bool({(p[0], p[1]), (p[3], p[4])} & held) for p in map(parse_caption, data.captions)]
    )
    return in_scene | in_caption


def _balance_labels(rng, indices: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Drop random samples of the commoner labels so every label is equally frequent (sorted indices)."""
    values, counts = np.unique(labels[indices], return_counts=True)
    keep = [rng.permutation(indices[labels[indices] == v])[: counts.min()] for v in values]
    return np.sort(np.concatenate(keep))


def split(data: MultimodalData, fractions=(0.8, 0.1, 0.1), *, seed: int = 0, shift=None) -> Splits:
    """Shuffle `data` with `seed` and cut it into train / val / test by `fractions`.

    The split is stratified: each part gets the same share of every label (so a part
    never leans towards one label by chance). Samples that share an image
    (meta["image_id"], as in the digit tasks) always land in the same part instead, so
    no image leaks from train into test. With `shift` (see
    `shifted_mask`), the shifted samples are set aside first as `Splits.shifted`; for a
    colour-shape shift the remaining pool is then re-balanced so both labels stay equally
    frequent (setting pairs aside removes more mismatches than matches).
    """
    if not isinstance(data, MultimodalData):
        raise TypeError(
            f"data must be a MultimodalData (e.g. from make_shapes), but got {type(data).__name__}."
        )
    fractions = _expect_fractions(fractions)
    rng = np.random.default_rng(seed)
    pool = np.arange(len(data))
    shifted = None
    if shift is not None:
        mask = shifted_mask(data, shift)
        shifted = data.subset(mask)
        pool = np.flatnonzero(~mask)
        if not isinstance(shift, str):
            pool = _balance_labels(rng, pool, data.labels)
        if len(pool) == 0:
            raise ValueError(f"shift={shift!r} sets aside every sample; hold out fewer pairs.")
    if "image_id" in data.meta:  # samples sharing an image go to the same part
        groups = data.meta["image_id"][pool]
        unique = np.unique(groups)  # sorted
        position = np.empty(len(unique), dtype=np.int64)
        position[rng.permutation(len(unique))] = np.arange(
            len(unique)
        )  # each group's place in a shuffled order
        cuts = np.round(np.cumsum(fractions)[:2] * len(unique)).astype(int)
        part = np.digitize(position[np.searchsorted(unique, groups)], cuts)  # 0 train, 1 val, 2 test
    else:  # stratified: each part gets the same share of every label
        part = np.empty(len(pool), dtype=np.int64)
        for label in np.unique(data.labels[pool]):
            members = rng.permutation(np.flatnonzero(data.labels[pool] == label))
            cuts = np.round(np.cumsum(fractions)[:2] * len(members)).astype(int)
            part[members] = np.digitize(np.arange(len(members)), cuts)
    order = rng.permutation(len(pool))
    parts = [data.subset(pool[order][part[order] == k]) for k in range(3)]
    return Splits(*parts, shifted=shifted)
