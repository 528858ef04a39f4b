"""Checks for lesson 00 (welcome): the warm-up exercise `column_means`."""

import numpy as np

from .core import call_learner, exercise, expect_array_result, expect_callable, fail


def _cases():
    rng = np.random.default_rng(0)
    return [
        ("a 3 x 5 batch (d != n)", rng.normal(size=(3, 5))),
        ("a 2 x 7 batch of integers", rng.integers(-5, 6, size=(2, 7))),
        ("a single sample, shape (4, 1)", rng.normal(size=(4, 1))),
        ("a 1 x 6 batch", rng.normal(size=(1, 6)) * 100),
    ]


@exercise(
    "column_means", lesson="00_welcome", description="mean of the samples (columns) of X, as a (d, 1) column"
)
def check_column_means(answer):
    """Mean over samples: X (d, n), one sample per column -> (d, 1)."""
    expect_callable(answer, "a function column_means(X) returning a (d, 1) array")
    for case, X in _cases():
        d, n = X.shape
        got = call_learner(answer, case, X)
        if np.shape(got) in {(n,), (1, n)} and n != d:
            fail(
                f"on {case} you returned shape {np.shape(got)}: one number per *sample*. "
                "You averaged over axis=0 (the features); the samples are the columns, so average over axis=1."
            )
        if np.shape(got) == (d,):
            fail(
                f"on {case} you returned shape {(d,)}, a flat vector. "
                "Keep it a column with keepdims=True (or .reshape(-1, 1)), so it broadcasts against X."
            )
        got = expect_array_result(got, (d, 1), case)
        want = X.mean(axis=1, keepdims=True)
        if np.allclose(got, X.sum(axis=1, keepdims=True)) and n > 1:
            fail(f"on {case} you returned the column *sums*; divide by the number of samples n = X.shape[1].")
        if not np.allclose(got, want):
            fail(
                f"on {case} the values are wrong: expected {np.round(want.ravel(), 3)}, got {np.round(got.ravel(), 3)}."
            )
    return f"correct on {len(_cases())} cases, including a 3 x 5 batch (d != n)."
