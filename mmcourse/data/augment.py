"""Augmentation that keeps the modalities in sync: flip the image, flip the words too.

A horizontal flip turns "a red circle is left of a blue square" into a scene where the
red circle is on the RIGHT. Flipping only the image silently turns true captions false
(and the label with them); `hflip_pair` swaps "left" and "right" in the caption as well.
"""

from __future__ import annotations

import re

import numpy as np

from .dataset import MultimodalData

__all__ = ["swap_left_right", "hflip_pair", "hflip_data"]

_LEFT_RIGHT = re.compile(r"\b(left|right)\b")


def swap_left_right(caption: str) -> str:
    """Exchange the words "left" and "right" (whole words only): the caption of the mirrored scene."""
    if not isinstance(caption, str):
        raise TypeError(f"caption must be a string, but got {type(caption).__name__} {caption!r}.")
    return _LEFT_RIGHT.sub(lambda m: "right" if m[1] == "left" else "left", caption)


def hflip_pair(images, captions):
    """Mirror images left-right AND swap "left"/"right" in their captions.

    images: (n, C, H, W) NumPy array or torch tensor; captions: n strings.
    Returns (flipped images, same type and shape; new captions, a list of n strings).
    Vertical relations ("above", "below") are unchanged by a horizontal flip.
    """
    if isinstance(captions, str) or not hasattr(captions, "__len__"):
        raise TypeError(f"captions must be a list of n strings, but got {type(captions).__name__}.")
    if getattr(images, "ndim", None) != 4:
        raise ValueError(
            f"images must be a 4-D array (n, C, H, W), but has shape {tuple(getattr(images, 'shape', ()))}. "
            "For one image, pass images[None] and [caption]."
        )
    if len(images) != len(captions):
        raise ValueError(
            f"images and captions must pair up, but there are {len(images)} images and {len(captions)} captions."
        )
    if hasattr(images, "flip"):  # a torch tensor
        flipped = images.flip(-1)
    else:
        flipped = np.ascontiguousarray(np.asarray(images)[..., ::-1])
    return flipped, [swap_left_right(c) for c in captions]


def hflip_data(data: MultimodalData) -> MultimodalData:
    """A mirrored copy of shapes data: images and captions via `hflip_pair`, and meta["centre"] x -> W - 1 - x.

    Labels are unchanged -- that is the point: every true caption stays true.
    """
    images, captions = hflip_pair(data.images, data.captions)
    meta = dict(data.meta)
    if "centre" in meta:
        centre = meta["centre"].copy()
        centre[..., 0] = data.images.shape[-1] - 1 - centre[..., 0]
        meta["centre"] = centre
    return MultimodalData(images, captions, data.labels.copy(), data.label_names, meta, dict(data.info))
