"""Small 2-D toy data sets for Part I, generated from a seed (no downloads).

Every generator returns (X, labels) in Part I's convention:
X: (2, n) float array, ONE SAMPLE PER COLUMN; labels: (n,) integer classes 0 .. k-1.
Use `mmcourse.numpy_nn.one_hot(labels, k)` for one-hot targets (k, n), and `X.T`
for PyTorch's rows-are-samples convention.
"""

import numpy as np

from .validation import expect_number, expect_positive_int

__all__ = ["make_blobs", "make_moons", "make_spirals"]


def _check_noise(noise):
    expect_number("noise", noise, "float", 0)


def make_blobs(n_per_class=50, separation=2.0, noise=1.0, seed=0):
    """Two Gaussian clouds, centred at (−s/2, −s/2) and (s/2, s/2) with s = separation.

    Linearly separable when separation is large compared with noise (the std. dev.).
    Returns X (2, 2·n_per_class) and labels (2·n_per_class,) with classes 0 and 1.
    """
    n = expect_positive_int("n_per_class", n_per_class)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    centres = np.array([[-1.0, 1.0], [-1.0, 1.0]]) * separation / 2  # column c = centre of class c
    labels = np.repeat([0, 1], n)
    X = centres[:, labels] + noise * rng.normal(size=(2, 2 * n))
    return X, labels


def make_moons(n_per_class=100, noise=0.1, seed=0):
    """Two interleaving half circles (not linearly separable).

    Returns X (2, 2·n_per_class) and labels (2·n_per_class,) with classes 0 and 1.
    """
    n = expect_positive_int("n_per_class", n_per_class)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    angle = np.linspace(0.0, np.pi, n)
    upper = np.stack([np.cos(angle), np.sin(angle)])
    lower = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)])
    X = np.concatenate([upper, lower], axis=1) + noise * rng.normal(size=(2, 2 * n))
    return X, np.repeat([0, 1], n)


def make_spirals(n_per_class=100, n_classes=3, noise=0.2, turns=1.0, seed=0):
    """k interleaved spiral arms in the unit disc, one per class (the classic CS231n toy problem).

    Arm c starts at the origin and winds `turns` times around it; `noise` jitters the angle.
    Returns X (2, n_classes·n_per_class) and labels (n_classes·n_per_class,) in 0 .. n_classes-1.
    """
    n = expect_positive_int("n_per_class", n_per_class)
    k = expect_positive_int("n_classes", n_classes)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.05, 1.0, n), k)
    labels = np.repeat(np.arange(k), n)
    angle = 2 * np.pi * (labels / k + turns * radius) + noise * rng.normal(size=k * n)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)])
    return X, labels
