"""The container every generator in mmcourse.data returns: images, captions, labels, metadata."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MultimodalData", "concat_data"]


@dataclass
class MultimodalData:
    """n image-caption pairs with a label each, plus what generated them.

    images: (n, C, H, W) float32 in [0, 1] -- PyTorch's channels-first layout;
    captions: list of n strings; labels: (n,) int64 in [0, len(label_names));
    label_names: the name of each label value; meta: per-sample columns, each an array
    whose first axis has length n (e.g. meta["kind"]); info: facts about the whole set
    (generator, seed, colours, ...).
    """

    images: np.ndarray
    captions: list
    labels: np.ndarray
    label_names: tuple
    meta: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.labels)
        if self.images.shape[0] != n or len(self.captions) != n:
            raise ValueError(
                f"images, captions and labels must have one entry per sample, but have "
                f"{self.images.shape[0]}, {len(self.captions)} and {n}."
            )
        for key, column in self.meta.items():
            if len(column) != n:
                raise ValueError(
                    f"meta[{key!r}] must have one entry per sample ({n}), but has {len(column)}."
                )

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        counts = np.bincount(self.labels, minlength=len(self.label_names))
        balance = ", ".join(f"{name}: {int(c)}" for name, c in zip(self.label_names, counts))
        return (
            f"MultimodalData({self.info.get('name', '?')}: {len(self)} pairs, images {tuple(self.images.shape[1:])}, "
            f"labels {{{balance}}}, meta {sorted(self.meta)})"
        )

    def subset(self, indices) -> MultimodalData:
        """The samples at `indices` (an int array or a boolean mask), as a new MultimodalData."""
        indices = np.asarray(indices)
        if indices.dtype == bool:
            if indices.shape != (len(self),):
                raise ValueError(f"a boolean mask must have shape ({len(self)},), but has {indices.shape}.")
            indices = np.flatnonzero(indices)
        return MultimodalData(
            images=self.images[indices],
            captions=[self.captions[i] for i in indices.tolist()],
            labels=self.labels[indices],
            label_names=self.label_names,
            meta={key: column[indices] for key, column in self.meta.items()},
            info=dict(self.info),
        )

    def sample(self, i: int) -> dict:
        """Sample i as a dict: image (C, H, W), caption, label, label_name, and its meta entries."""
        i = int(i)
        row = {key: column[i] for key, column in self.meta.items()}
        return {
            "image": self.images[i],
            "caption": self.captions[i],
            "label": int(self.labels[i]),
            "label_name": self.label_names[int(self.labels[i])],
            **row,
        }


def concat_data(*parts: MultimodalData) -> MultimodalData:
    """The samples of `parts`, one set after the other, as one MultimodalData (info from the first).

    The parts must agree on what they hold: the same label names, the same image shape
    (C, H, W) and the same meta columns -- else a ValueError says which differs.
    """
    if not parts:
        raise ValueError("concat_data needs at least one MultimodalData, but got none.")
    for i, part in enumerate(parts):
        if not isinstance(part, MultimodalData):
            raise TypeError(f"parts[{i}] must be a MultimodalData, but got {type(part).__name__}.")
    first = parts[0]
    for i, part in enumerate(parts[1:], start=1):
        for what, mine, theirs in (
            ("label_names", tuple(part.label_names), tuple(first.label_names)),
            ("image shape", part.images.shape[1:], first.images.shape[1:]),
            ("meta columns", sorted(part.meta), sorted(first.meta)),
        ):
            if mine != theirs:
                raise ValueError(f"parts[{i}] has {what} {mine}, but parts[0] has {theirs}.")
    return MultimodalData(
        images=np.concatenate([p.images for p in parts]),
        captions=[c for p in parts for c in p.captions],
        labels=np.concatenate([p.labels for p in parts]),
        label_names=first.label_names,
        meta={key: np.concatenate([p.meta[key] for p in parts]) for key in first.meta},
        info=dict(first.info),
    )
