"""Lesson 05's word-order task: captions that only word order can judge (lesson 10 reads them with a transformer).

    captions, labels = order_captions(2000, seed=0)
    # "a small red circle is left of a blue square" -> 1: is the red object on the left?

A red and a blue object, in either order, "left of" or "right of", each with an optional
size word. Every bag of words occurs with both answers equally often, so an order-blind
model can only guess.
"""

from __future__ import annotations

import numpy as np

from ..validation import expect_positive_int
from .shapes import SHAPES

__all__ = ["ORDER_SIZES", "order_captions"]

ORDER_SIZES = ("", "small ", "big ", "tiny ", "large ")


def order_captions(n, seed):
    """n captions about a red and a blue object; label 1 when the red one is on the left.

    Returns (captions: list of n str, labels: (n,) int64).
    """
    n = expect_positive_int("n", n)
    rng = np.random.default_rng(seed)
    captions, labels = [], []
    for _ in range(n):
        red_first = bool(rng.random() < 0.5)
        shape_a, shape_b = rng.choice(SHAPES, size=2, replace=False)
        size_a, size_b = rng.choice(ORDER_SIZES, size=2)
        relation = str(rng.choice(["left of", "right of"]))
        first, second = ("red", "blue") if red_first else ("blue", "red")
        captions.append(f"a {size_a}{first} {shape_a} is {relation} a {size_b}{second} {shape_b}")
        labels.append(int((relation == "left of") == red_first))
    return captions, np.array(labels)
