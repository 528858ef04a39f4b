"""Checks for lesson 04 (seeing: convolutions): `conv2d_naive`, `conv2d` (im2col), `maxpool2d`, and
`conv2d_backward`, the gradients of a convolution's weights and bias, which the lesson does not derive.

The referee of the forward exercises is PyTorch itself (`torch.nn.functional.conv2d` / `max_pool2d`),
and that of `conv2d_backward` is the numerical gradient; never the course's own solution, so a check
and a solution cannot drift together.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from ..numpy_nn.conv import conv2d as library_conv2d
from ..numpy_nn.gradcheck import numerical_gradient, relative_error
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
    for layout, wrong in _im2col_layouts(X, W, b, stride, padding).items():
        if np.allclose(got, wrong, atol=1e-6):
            fail(f"on {case}, {_LAYOUT_HINTS[layout]}")
    fail(
        f"on {case}, the values are wrong (largest error {np.abs(got - want).max():.3g}). Each output "
        "Y[n, f, i, j] is b[f] + the sum over c, u, v of Xpad[n, c, i*stride + u, j*stride + v] * W[f, c, u, v]."
    )


def _im2col_layouts(X, W, b, stride, padding):
    """What the common im2col layout mistakes compute: name -> output (N, F, Ho, Wo)."""
    N, C, H, Wd = X.shape
    F_, _, kh, kw = W.shape
    Ho, Wo = _out_size(H, kh, stride, padding), _out_size(Wd, kw, stride, padding)
    Xp = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    patches = np.empty((N, C, kh, kw, Ho, Wo))
    for u in range(kh):
        for v in range(kw):
            patches[:, :, u, v] = Xp[:, :, u : u + stride * Ho : stride, v : v + stride * Wo : stride]
    flat_W = W.reshape(F_, -1).T  # (C kh kw, F), each filter flattened in the order (C, kh, kw)
    rows = N * Ho * Wo
    right = patches.transpose(0, 4, 5, 1, 2, 3).reshape(rows, -1) @ flat_W + b  # (N Ho Wo, F)

    def back(Y):
        return Y.reshape(N, Ho, Wo, F_).transpose(0, 3, 1, 2)

    return {
        "kh_kw_C": back(patches.transpose(0, 4, 5, 2, 3, 1).reshape(rows, -1) @ flat_W + b),
        "no_transpose": back(patches.reshape(rows, -1) @ flat_W + b),
        "final_reshape": right.reshape(N, F_, Ho, Wo),
        "final_T_reshape": right.T.reshape(N, F_, Ho, Wo),
    }


_LAYOUT_HINTS = {
    "kh_kw_C": "your patch rows are flattened in the order (kh, kw, C), channel last, but W.reshape(F, -1) "
    "flattens each filter in the order (C, kh, kw): pixel and weight no longer meet. Move the patch axes to "
    "(N, Ho, Wo, C, kh, kw) before the reshape, so that both use (C, kh, kw).",
    "no_transpose": "you reshaped the patches straight from (N, C, kh, kw, Ho, Wo) to (N*Ho*Wo, C*kh*kw). A "
    "reshape only regroups the numbers in memory order, so each row mixes pixels of different patches. "
    "Transpose to (N, Ho, Wo, C, kh, kw) first, then reshape.",
    "final_reshape": "the product cols @ W.reshape(F, -1).T is (N*Ho*Wo, F), with the filter axis LAST; "
    "reshaping it straight to (N, F, Ho, Wo) scrambles filters and positions. Reshape to (N, Ho, Wo, F), "
    "then .transpose(0, 3, 1, 2).",
    "final_T_reshape": "you transposed the (N*Ho*Wo, F) product to (F, N*Ho*Wo) and reshaped it to "
    "(N, F, Ho, Wo): that puts F first, but N is still mixed into the rows. Reshape to (N, Ho, Wo, F), "
    "then .transpose(0, 3, 1, 2).",
}


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


# --- conv2d_backward: the gradients of the weights and the bias, derived -------------------------


def _backward_cases():
    """(description, X, W, dY); stride 1, no padding. Square kernels first, so a u <-> v swap shows."""
    rng = np.random.default_rng(6)

    def case(text, n, c, h, w, f, kh, kw):
        X = rng.normal(size=(n, c, h, w))
        W = rng.normal(size=(f, c, kh, kw))
        dY = rng.normal(size=(n, f, h - kh + 1, w - kw + 1))
        return text, X, W, dY

    return [
        case("one 5x5 image, one channel, one 3x3 filter", 1, 1, 5, 5, 1, 3, 3),
        case("2 images with 3 channels, 4 filters of 3x3 on 6x5 images", 2, 3, 6, 5, 4, 3, 3),
        case("a 2x3 (non-square) kernel: 3 images, 2 channels, 3 filters on 6x7", 3, 2, 6, 7, 3, 2, 3),
    ]


def _weight_gradients(X, W, dY):
    """dW and db by formula: dW[f, c, u, v] = Σ_{n,i,j} dY[n, f, i, j] X[n, c, i + u, j + v]."""
    _, _, kh, kw = W.shape
    Ho, Wo = dY.shape[2:]
    dW = np.empty_like(W)
    for u in range(kh):
        for v in range(kw):
            dW[:, :, u, v] = np.einsum("nfij,ncij->fc", dY, X[:, :, u : u + Ho, v : v + Wo])
    return dW, dY.sum(axis=(0, 2, 3))


def _numerical_weight_gradients(X, W, dY):
    """The referee: L = Σ dY ⊙ conv2d(X, W, b), so dL/dW and dL/db by central differences."""
    b = np.zeros(W.shape[0])
    dW = numerical_gradient(lambda V: float(np.sum(dY * library_conv2d(X, V, b))), W)
    db = numerical_gradient(lambda c: float(np.sum(dY * library_conv2d(X, W, c))), b)
    return dW, db


def _unpack_backward(got, case, W):
    F_ = W.shape[0]
    if got is None:
        fail(f"your function returned None on {case} — did you forget `return dW, db`?")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(
            f"on {case} you returned {type(got).__name__}; return a pair (dW, db): dW shaped like W, db like b."
        )
    dW, db = got
    if dW is None or db is None:
        fail(f"on {case} {'dW' if dW is None else 'db'} is None — did you forget to compute it?")
    dW_shape, db_shape = np.shape(dW), np.shape(db)
    if dW_shape == (F_,) and db_shape == W.shape:
        fail(f"on {case} you returned (db, dW); return them in the order (dW, db).")
    if db_shape != (F_,):
        if db_shape in {(F_, *np.shape(W)[2:]), W.shape} or len(db_shape) == 3:
            fail(
                f"on {case} db has shape {db_shape}, but b has shape ({F_},): the bias b[f] is added at EVERY "
                "output position of filter f, in every image, so db[f] sums dY[:, f] over the images and all "
                "positions — axes (0, 2, 3)."
            )
        fail(f"on {case} db has shape {db_shape}, but b has shape ({F_},): one number per filter.")
    if dW_shape != W.shape:
        F2, C2, kh, kw = W.shape
        if dW_shape == (C2, F2, kh, kw) and C2 != F2:
            fail(
                f"on {case} dW has shape {dW_shape}: the filter and channel axes are swapped. dW has W's shape "
                f"(F, C, kh, kw) = {W.shape}."
            )
        if dW_shape == (F2, C2, kw, kh):
            fail(
                f"on {case} dW has shape {dW_shape}: the kernel's height and width are swapped. u runs along "
                f"the rows (height), v along the columns (width); dW has W's shape {W.shape}."
            )
        fail(f"on {case} dW has shape {dW_shape}, but must have W's shape {W.shape}.")
    return (
        expect_array_result(dW, W.shape, case, name="dW"),
        expect_array_result(db, (F_,), case, name="db"),
    )


@exercise(
    "conv2d_backward",
    lesson=LESSON,
    description="dL/dW and dL/db of a convolution (stride 1, no padding), given dL/dY; checked numerically",
)
def check_conv2d_backward(answer):
    """The weight and bias gradients of conv2d, refereed by the numerical gradient of Σ dY ⊙ conv2d."""
    expect_callable(answer, "a function conv2d_backward(X, W, dY) returning (dW, db)")
    cases = _backward_cases()
    for case, X, W, dY in cases:
        got = call_learner(answer, case, X, W, dY)
        dW, db = _unpack_backward(got, case, W)
        referee_dW, referee_db = _numerical_weight_gradients(X, W, dY)
        if relative_error(dW, referee_dW) < 1e-7 and relative_error(db, referee_db) < 1e-7:
            continue
        want_dW, want_db = _weight_gradients(X, W, dY)
        N = X.shape[0]
        if not np.allclose(db, want_db):
            if np.allclose(db, want_db / (N * dY.shape[2] * dY.shape[3])) or np.allclose(db, want_db / N):
                fail(
                    f"on {case} db is an average; it must be the SUM of dY[:, f] over the images and positions. "
                    "dY already carries whatever averaging the loss did."
                )
            if np.allclose(db, dY[0].sum(axis=(1, 2))) and N > 1:
                fail(f"on {case} db uses the first image only: sum dY over all N = {N} images too.")
            fail(
                f"on {case} db is wrong: db[f] is the sum of dY[:, f] over the images and all output positions."
            )
        mistakes = [
            (
                want_dW[:, :, ::-1, ::-1],
                "your dW is flipped in both kernel axes. In the forward pass weight W[f, c, u, v] multiplies "
                "X[n, c, i + u, j + v] — no flip — so its gradient collects dY[n, f, i, j] times that same pixel.",
            ),
            (
                _weight_gradients(X[:1], W, dY[:1])[0],
                f"your dW uses the first image only: the same weights act on all N = {N} images, so their "
                "gradients add up over the batch.",
            ),
            (
                want_dW / N,
                f"your dW is divided by N = {N}: the same weights act on every image, so the gradients ADD "
                "over the batch; dY already carries whatever averaging the loss did.",
            ),
            (
                want_dW / (N * dY.shape[2] * dY.shape[3]),
                "your dW is an average over the images and positions; it must be the SUM. dY already carries "
                "whatever averaging the loss did.",
            ),
            (
                -want_dW,
                "the sign of dW is flipped: Y = b + Σ X W depends on W with a plus sign, so dW collects +dY times X.",
            ),
        ]
        if W.shape[2] == W.shape[3]:
            mistakes.append(
                (
                    want_dW.transpose(0, 1, 3, 2),
                    "your dW has the kernel's rows and columns swapped: u is the row offset (it moves along "
                    "the height, with i), v the column offset (along the width, with j).",
                )
            )
        for wrong, hint in mistakes:
            if np.allclose(dW, wrong):
                fail(f"on {case} {hint}")
        fail(
            f"on {case} dW is wrong (relative error {relative_error(dW, referee_dW):.2g} against the numerical "
            "gradient). Ask which outputs weight W[f, c, u, v] touches, and which pixel it multiplies at each."
        )
    return (
        f"dW and db agree with the numerical gradient on {len(cases)} cases, including a non-square kernel "
        "and a batch of 3."
    )
