"""Checks for lesson 04 (seeing: convolutions): `conv2d_naive`, `conv2d` (im2col) and `maxpool2d`.

The referee is PyTorch itself (`torch.nn.functional.conv2d` / `max_pool2d`), never the
course's own solution, so a check and a solution cannot drift together.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from ..numpy_nn.conv import conv2d as library_conv2d
from .core import call_learner, exercise, expect_array_result, expect_callable, fail

LESSON = "04_convolutions"


SLOWDOWN_LIMIT = 25  # how many times slower than the library's im2col an answer may be


def _best_time(function, repeat):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _torch_conv(X, W, b, stride=1, padding=0):
    return F.conv2d(torch.tensor(X), torch.tensor(W), torch.tensor(b), stride=stride, padding=padding).numpy()


def _out_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def _conv_cases():
    """(description, X, W, b, stride, padding). Kernels are asymmetric, so a flip shows."""
    rng = np.random.default_rng(4)

    def case(text, n, c, h, w, f, kh, kw, stride=1, padding=0, bias=True):
        X = rng.normal(size=(n, c, h, w))
        W = rng.normal(size=(f, c, kh, kw))
        b = rng.normal(size=f) * 2 if bias else np.zeros(f)
        return text, X, W, b, stride, padding

    return [
        case("one 5x5 image, one 3x3 filter, no bias", 1, 1, 5, 5, 1, 3, 3, bias=False),
        case("2 images with 3 channels, 4 filters of 3x3 with biases", 2, 3, 6, 5, 4, 3, 3),
        case("a 2x3 (non-square) kernel on a 6x7 image", 2, 2, 6, 7, 3, 2, 3),
        case("padding=1 around a 5x5 image", 2, 2, 5, 5, 3, 3, 3, padding=1),
        case("stride=2 on a 7x7 image", 1, 2, 7, 7, 2, 3, 3, stride=2),
        case("stride=2 and padding=2 with a 5x5 kernel", 2, 3, 9, 8, 2, 5, 5, stride=2, padding=2),
    ]


def _diagnose_conv(got, X, W, b, stride, padding, case):
    """Fail with the hint for the mistake `got` reveals, if it matches a known one."""
    want = _torch_conv(X, W, b, stride, padding)
    if np.allclose(got, want, atol=1e-6):
        return
    if np.allclose(got, _torch_conv(X, W[:, :, ::-1, ::-1].copy(), b, stride, padding), atol=1e-6):
        fail(
            f"on {case}, your output is the *flipped-kernel* convolution. Deep learning's conv2d is "
            "cross-correlation: multiply each patch by W[f] as it is, without flipping it "
            "(no W[..., ::-1, ::-1])."
        )
    if np.any(b != 0) and np.allclose(got, _torch_conv(X, W, 0 * b, stride, padding), atol=1e-6):
        fail(f"on {case}, the bias is missing: add b[f] to every output of filter f.")
    if np.any(b != 0) and np.allclose(got, want + b[None, :, None, None] * (W[0].size - 1), atol=1e-6):
        fail(f"on {case}, the bias is added once per multiplication; add b[f] once per output position.")
    if X.shape[1] > 1 and np.allclose(
        got[:, :, :, :], _channelwise_first(X, W, b, stride, padding), atol=1e-6
    ):
        fail(f"on {case}, only the first input channel is used: sum the products over all C channels.")
    fail(
        f"on {case}, the values are wrong (largest error {np.abs(got - want).max():.3g}). Each output "
        "Y[n, f, i, j] is b[f] + the sum over c, u, v of Xpad[n, c, i*stride + u, j*stride + v] * W[f, c, u, v]."
    )


def _channelwise_first(X, W, b, stride, padding):
    return _torch_conv(X[:, :1].copy(), W[:, :1].copy(), b, stride, padding)


def _check_conv(answer, name):
    expect_callable(answer, f"a function {name}(X, W, b, stride=1, padding=0)")
    cases = _conv_cases()
    for case, X, W, b, stride, padding in cases:
        got = call_learner(answer, case, X, W, b, stride=stride, padding=padding)
        N, F_, kh, kw = X.shape[0], W.shape[0], W.shape[2], W.shape[3]
        Ho, Wo = _out_size(X.shape[2], kh, stride, padding), _out_size(X.shape[3], kw, stride, padding)
        shape = np.shape(got)
        if padding and shape == (
            N,
            F_,
            _out_size(X.shape[2], kh, stride, 0),
            _out_size(X.shape[3], kw, stride, 0),
        ):
            fail(
                f"on {case}, you returned shape {shape}, the size *without* padding: padding is ignored. "
                f"Add {padding} zeros on every side first (np.pad on axes 2 and 3), then slide the kernel."
            )
        if stride > 1 and shape == (
            N,
            F_,
            _out_size(X.shape[2], kh, 1, padding),
            _out_size(X.shape[3], kw, 1, padding),
        ):
            fail(
                f"on {case}, you returned shape {shape}, as if stride were 1: stride is ignored. Output "
                f"position (i, j) starts at row i*stride and column j*stride; there are (H + 2p - kh) // stride + 1 rows."
            )
        if shape == (N, F_, Wo, Ho) and Ho != Wo:
            fail(f"on {case}, height and width are swapped: the output is (N, F, Ho, Wo), Ho from H and kh.")
        got = expect_array_result(got, (N, F_, Ho, Wo), case)
        _diagnose_conv(got, X, W, b, stride, padding, case)
    return len(cases)


@exercise("conv2d_naive", lesson=LESSON, description="2-D cross-correlation with loops, like F.conv2d")
def check_conv2d_naive(answer):
    """conv2d_naive(X, W, b, stride, padding): equal to torch.nn.functional.conv2d."""
    n = _check_conv(answer, "conv2d_naive")
    return f"equal to torch.nn.functional.conv2d on {n} cases, including padding, stride and a 2x3 kernel."


@exercise("conv2d", lesson=LESSON, description="2-D cross-correlation vectorised with im2col")
def check_conv2d(answer):
    """conv2d(X, W, b, stride, padding) with im2col: equal to F.conv2d, and fast."""
    n = _check_conv(answer, "conv2d")
    rng = np.random.default_rng(0)
    X, W, b = rng.normal(size=(8, 3, 32, 32)), rng.normal(size=(16, 3, 3, 3)), rng.normal(size=16)
    case = "8 images of 3x32x32 and 16 filters (the speed test)"
    # The yardstick is the library's im2col, timed here and now, so a slow or busy machine
    # moves both numbers alike. Loops over output positions are ~100-300x slower than it;
    # a vectorised answer is within a few times of it.
    yardstick = _best_time(lambda: library_conv2d(X, W, b, stride=1, padding=1), 3)
    seconds, got = np.inf, None
    for _ in range(2):
        start = time.perf_counter()
        got = call_learner(answer, case, X, W, b, stride=1, padding=1)
        seconds = min(seconds, time.perf_counter() - start)
    _diagnose_conv(expect_array_result(got, (8, 16, 32, 32), case), X, W, b, 1, 1, case)
    if seconds > max(SLOWDOWN_LIMIT * yardstick, 0.05):
        fail(
            f"the values are right but {case} took {seconds:.2f} s, {seconds / yardstick:.0f} times as long "
            "as a vectorised im2col -- about as slow as loops over every output position. Build the patch "
            "matrix once (im2col) and do one matrix product: cols (N*Ho*Wo, C*kh*kw) @ W.reshape(F, -1).T."
        )
    return f"equal to F.conv2d on {n + 1} cases, and vectorised: within {SLOWDOWN_LIMIT}x of im2col on the speed test."


def _pool_cases():
    rng = np.random.default_rng(5)
    return [
        ("a 1x1x4x4 image, 2x2 windows", rng.normal(size=(1, 1, 4, 4)), 2, 2),
        ("all-negative values", -np.abs(rng.normal(size=(2, 3, 6, 6))) - 1, 2, 2),
        ("a 7x6 image (the last row does not fit a window)", rng.normal(size=(2, 2, 7, 6)), 2, 2),
        ("overlapping 3x3 windows with stride 2", rng.normal(size=(1, 2, 9, 7)), 3, 2),
        ("3x3 windows with stride 1", rng.normal(size=(2, 1, 5, 6)), 3, 1),
    ]


@exercise("maxpool2d", lesson=LESSON, description="max pooling like F.max_pool2d")
def check_maxpool2d(answer):
    """maxpool2d(X, size, stride): equal to torch.nn.functional.max_pool2d."""
    expect_callable(answer, "a function maxpool2d(X, size=2, stride=2)")
    cases = _pool_cases()
    for case, X, size, stride in cases:
        got = call_learner(answer, case, X, size=size, stride=stride)
        Xt = torch.tensor(X)
        want = F.max_pool2d(Xt, size, stride).numpy()
        shape = np.shape(got)
        if stride != size and shape == F.max_pool2d(Xt, size, size).shape:
            fail(
                f"on {case}, you returned shape {shape}, as if stride were {size} (the window size): "
                "windows start every `stride` pixels, and may overlap."
            )
        got = expect_array_result(got, want.shape, case)
        if np.allclose(got, want):
            continue
        if np.allclose(got, F.avg_pool2d(Xt, size, stride).numpy()):
            fail(
                f"on {case}, you returned the *average* of each window; max pooling keeps the largest value (.max)."
            )
        if np.allclose(got, np.maximum(want, 0)) and (want < 0).any():
            fail(
                f"on {case}, negative maxima came out as 0 -- did you start from np.zeros and take the max "
                "with it? Take the max of the window alone."
            )
        fail(
            f"on {case}, the values are wrong (largest error {np.abs(got - want).max():.3g}). Output "
            "(n, c, i, j) is the max of X[n, c, i*stride : i*stride + size, j*stride : j*stride + size]; "
            "pool each channel on its own."
        )
    return f"equal to torch.nn.functional.max_pool2d on {len(cases)} cases, including overlapping windows."
