"""Real images: scikit-learn's bundled 8 x 8 handwritten digits, with captions (offline).

Two tasks that bracket what fusion can do:

- `make_digit_arithmetic` -- COMPLEMENTARY modalities. The caption says "plus three" or
  "minus seven"; the label is (digit +/- k) mod 10. k is uniform over all ten residues,
  so the image alone says nothing about the label, nor does the caption alone, and no
  combination of the two *decisions* (late fusion) does better than chance: the answer
  exists only in the interaction.
- `make_digit_captions` -- REDUNDANT modalities. The caption names the digit ("seven")
  but is wrong with probability `caption_noise`; the label is the digit. Each modality
  alone carries the answer, which is where decision-level fusion shines.

The 1,797 digit images are split ONCE, by a fixed seed and stratified by digit, into
three pools: train (75 %), validation (a third of the rest, 8 %) and test (17 %);
`split="train"` samples only from the first, `split="val"` only from the second,
`split="test"` only from the third, so no digit image is in two of them and model
selection on validation pairs never sees a test image (meta["image_id"] records which
image each pair uses).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..validation import expect_number, expect_positive_int
from .dataset import MultimodalData

__all__ = ["NUMBER_WORDS", "make_digit_arithmetic", "make_digit_captions", "digit_pool"]

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_POOL_SEED = 20240601  # fixed: the partition of the images into pools never changes
SPLITS = ("train", "val", "test")


@lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]  # (1797, 1, 8, 8) in [0, 1]
    return images, bunch.target.astype(np.int64)


def digit_pool(split: str = "train", test_fraction: float = 0.25) -> np.ndarray:
    """The ids (indices into sklearn's 1,797 digits) of the `split` pool, stratified by digit.

    split: "train", "val" or "test". test_fraction: the share of each digit's images held
    out of training; the first third of them (by a fixed shuffle) is the validation pool,
    the other two thirds the test pool.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, but got {split!r}.")
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, (int, float))
        or not 0 < test_fraction < 1
    ):
        raise ValueError(
            f"test_fraction must be a number strictly between 0 and 1, but got {test_fraction!r}."
        )
    _, targets = _digits()
    rng = np.random.default_rng(_POOL_SEED)
    pool = np.zeros(len(targets), dtype=np.int64)  # 0 train, 1 val, 2 test
    for digit in range(10):
        ids = rng.permutation(np.flatnonzero(targets == digit))
        held_out = ids[: int(round(test_fraction * len(ids)))]
        n_val = len(held_out) // 3
        pool[held_out[:n_val]], pool[held_out[n_val:]] = 1, 2
    return np.flatnonzero(pool == SPLITS.index(split))


def _draw_images(rng, n, split, test_fraction):
    pool = digit_pool(split, test_fraction)
    images, targets = _digits()
    image_id = rng.choice(pool, size=n, replace=True)
    return images[image_id], targets[image_id], image_id


def make_digit_arithmetic(n: int = 2000, *, split: str = "train", seed: int = 0, test_fraction: float = 0.25):
    """n pairs (digit image, "plus k" / "minus k") labelled (digit +/- k) mod 10.

    Returns a MultimodalData: images (n, 1, 8, 8) float32 in [0, 1]; captions like
    "plus three"; labels (n,) int64 in 0..9; label_names "0".."9"; meta: image_id (n,)
    (index into sklearn's digits), digit (n,), op (n,) "plus"/"minus", k (n,) in 0..9.
    """
    n = expect_positive_int("n", n)
    rng = np.random.default_rng(seed)
    images, digits, image_id = _draw_images(rng, n, split, test_fraction)
    plus = rng.random(n) < 0.5
    k = rng.integers(0, 10, size=n)
    labels = np.where(plus, digits + k, digits - k) % 10
    words = np.array(NUMBER_WORDS)
    captions = [
        f"{op} {word}" for op, word in zip(np.where(plus, "plus", "minus").tolist(), words[k].tolist())
    ]
    return MultimodalData(
        images=images,
        captions=captions,
        labels=labels.astype(np.int64),
        label_names=tuple(str(d) for d in range(10)),
        meta={"image_id": image_id, "digit": digits, "op": np.where(plus, "plus", "minus"), "k": k},
        info={"name": "digit_arithmetic", "seed": seed, "split": split},
    )


def make_digit_captions(
    n: int = 2000,
    *,
    split: str = "train",
    seed: int = 0,
    caption_noise: float = 0.3,
    test_fraction: float = 0.25,
):
    """n pairs (digit image, the digit's name) labelled with the digit; the name is wrong with probability caption_noise.

    A wrong caption names one of the 9 other digits, uniformly. Returns a MultimodalData:
    images (n, 1, 8, 8) float32 in [0, 1]; captions like "seven"; labels (n,) int64;
    meta: image_id, digit, caption_digit (n,) and caption_correct (n,) bool.
    """
    n = expect_positive_int("n", n)
    caption_noise = expect_number(
        "caption_noise", caption_noise, "float", 0, 1, rule="a probability in [0, 1]"
    )
    rng = np.random.default_rng(seed)
    images, digits, image_id = _draw_images(rng, n, split, test_fraction)
    wrong = rng.random(n) < caption_noise
    caption_digit = np.where(wrong, (digits + rng.integers(1, 10, size=n)) % 10, digits)
    return MultimodalData(
        images=images,
        captions=np.array(NUMBER_WORDS)[caption_digit].tolist(),
        labels=digits.copy(),
        label_names=tuple(str(d) for d in range(10)),
        meta={
            "image_id": image_id,
            "digit": digits,
            "caption_digit": caption_digit,
            "caption_correct": ~wrong,
        },
        info={"name": "digit_captions", "seed": seed, "split": split, "caption_noise": caption_noise},
    )
