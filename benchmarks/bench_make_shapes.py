"""Speed of the shapes-and-captions generator: vectorised `make_shapes` against a per-sample loop.

    python benchmarks/bench_make_shapes.py [--n 100000] [--loop-n 2000] [--repeat 3]

Both generators are timed in the same run, on one CPU thread, and reported in pairs per
second. The per-sample generator is the straightforward way to write it: for each pair,
draw the objects, build the caption with an f-string, and paint each shape pixel by
pixel with a boolean mask. The issue's target: 100,000 pairs in <= 3 s on one core.
Exits with status 1 if the vectorised generator misses that target.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from mmcourse.data import COLOURS, make_shapes
from mmcourse.data.shapes import BACKGROUND, DEFAULT_COLOURS, DEFAULT_SHAPES, OPPOSITE, _object_half_size
from mmcourse.timing import best_time


def per_sample_shapes(n: int, seed: int = 0, image_size: int = 32, noise: float = 0.05):
    """The same kind of data, one pair at a time (matches and swapped mismatches only)."""
    rng = np.random.default_rng(seed)
    half = _object_half_size(image_size)
    yy, xx = np.mgrid[:image_size, :image_size]
    images = np.empty((n, 3, image_size, image_size), dtype=np.float32)
    captions, labels = [], []
    for i in range(n):
        colours = rng.choice(DEFAULT_COLOURS, size=2, replace=False)
        shapes = rng.choice(DEFAULT_SHAPES, size=2, replace=False)
        horizontal = rng.random() < 0.5
        a = int(rng.integers(half, image_size - 1 - half - (2 * half + 3) + 1))
        b = int(rng.integers(a + 2 * half + 3, image_size - half))
        c = int(rng.integers(half, image_size - half))
        centres = [(a, c), (b, c)] if horizontal else [(c, a), (c, b)]
        image = np.full((3, image_size, image_size), BACKGROUND, dtype=np.float32)
        for colour, shape, (x, y) in zip(colours, shapes, centres):
            dx, dy = xx - x, yy - y
            if shape == "circle":
                mask = dx**2 + dy**2 <= (half + 0.3) ** 2
            elif shape == "square":
                mask = (abs(dx) <= half - 1) & (abs(dy) <= half - 1)
            else:
                mask = (abs(dx) <= (dy + half) / 2 + 0.25) & (abs(dy) <= half)
            image[:, mask] = np.array(COLOURS[colour], dtype=np.float32)[:, None]
        image += noise * rng.standard_normal(image.shape).astype(np.float32)
        images[i] = np.clip(image, 0, 1)
        relation = "left of" if horizontal else "above"
        label = int(rng.random() < 0.5)
        first, second = (0, 1) if label else (1, 0)
        if rng.random() < 0.5:
            first, second, relation = second, first, OPPOSITE[relation]
        captions.append(
            f"a {colours[first]} {shapes[first]} is {relation} a {colours[second]} {shapes[second]}"
        )
        labels.append(label)
    return images, captions, np.array(labels, dtype=np.int64)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="pairs for make_shapes")
    parser.add_argument("--loop-n", type=int, default=2_000, help="pairs for the per-sample loop")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if "OMP_NUM_THREADS" not in os.environ:
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:  # pragma: no cover
            pass

    make_shapes(100)  # warm caches
    fast = best_time(lambda: make_shapes(args.n, seed=1), args.repeat)
    slow = best_time(lambda: per_sample_shapes(args.loop_n, seed=1), args.repeat)
    fast_rate, slow_rate = args.n / fast, args.loop_n / slow
    print(f"make_shapes (vectorised): {args.n:>7} pairs in {fast:6.2f} s -> {fast_rate:>9,.0f} pairs/s")
    print(f"per-sample Python loop:   {args.loop_n:>7} pairs in {slow:6.2f} s -> {slow_rate:>9,.0f} pairs/s")
    print(f"speed-up: {fast_rate / slow_rate:.0f}x")
    target = fast * 100_000 / args.n
    print(f"100,000 pairs would take {target:.2f} s with make_shapes (target: <= 3 s)")
    return 0 if target <= 3.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
