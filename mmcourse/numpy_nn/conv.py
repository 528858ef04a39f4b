"""Convolution and max pooling in NumPy (lesson 04): first with loops, then with im2col.

Arrays follow PyTorch from here on: images are NCHW -- (batch N, channels C, height H,
width W) -- and a bank of filters is (F, C, kh, kw). Like `torch.nn.functional.conv2d`,
"convolution" here is really *cross-correlation*: the kernel is slid over the image
without flipping it,

    Y[n, f, i, j] = b[f] + sum_{c, u, v} Xpad[n, c, i*s + u, j*s + v] * W[f, c, u, v]

where Xpad is X with `padding` zeros on every side and s is the stride.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_arrays, expect_ndim, expect_shape

__all__ = ["conv_output_size", "pad_images", "conv2d_naive", "im2col", "conv2d", "maxpool2d"]


def _nonnegative_int(name: str, value) -> int:
    """`value` as int if it is an integer >= 0, else TypeError/ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, but got {type(value).__name__} {value!r}.")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, but got {value}.")
    return int(value)


def _positive_int(name: str, value) -> int:
    value = _nonnegative_int(name, value)
    if value == 0:
        raise ValueError(f"{name} must be >= 1, but got 0.")
    return value


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Length of one output axis: floor((size + 2*padding - kernel) / stride) + 1.

    Raises ValueError when the kernel does not fit into the padded input.
    """
    size, kernel = _positive_int("size", size), _positive_int("kernel", kernel)
    stride, padding = _positive_int("stride", stride), _nonnegative_int("padding", padding)
    if size + 2 * padding < kernel:
        raise ValueError(
            f"the kernel ({kernel}) is larger than the padded input ({size} + 2*{padding}); "
            "use a smaller kernel or more padding."
        )
    return (size + 2 * padding - kernel) // stride + 1


def pad_images(X, padding: int):
    """X (N, C, H, W) with `padding` zeros added on all four sides -> (N, C, H+2p, W+2p)."""
    padding = _nonnegative_int("padding", padding)
    return np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def _validate_conv(X, W, b, stride, padding):
    X, W, b = as_float_arrays(X=X, W=W, b=b)
    expect_ndim("X", X, 4, hint="images as (N, C, H, W)")
    expect_ndim("W", W, 4, hint="filters as (F, C, kh, kw)")
    expect_shape(
        "W", W, (None, X.shape[1], None, None), hint=f"(F, C, kh, kw) with C = {X.shape[1]} channels of X"
    )
    expect_shape("b", b, (W.shape[0],), hint="one bias per filter")
    stride, padding = _positive_int("stride", stride), _nonnegative_int("padding", padding)
    conv_output_size(X.shape[2], W.shape[2], stride, padding)  # raises if the kernel does not fit
    conv_output_size(X.shape[3], W.shape[3], stride, padding)
    return X, W, b, stride, padding


def conv2d_naive(X, W, b, stride: int = 1, padding: int = 0):
    """2-D cross-correlation with plain loops, exactly like torch.nn.functional.conv2d.

    X: (N, C, H, W) images; W: (F, C, kh, kw) filters; b: (F,) biases.
    Returns Y: (N, F, Ho, Wo) with Ho = (H + 2*padding - kh) // stride + 1 (Wo alike).
    Slow on purpose: every output number is one explicit dot product.
    """
    X, W, b, stride, padding = _validate_conv(X, W, b, stride, padding)
    N, _, H, Wd = X.shape
    F, _, kh, kw = W.shape
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(Wd, kw, stride, padding)
    Xp = pad_images(X, padding)
    Y = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    patch = Xp[n, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                    Y[n, f, i, j] = np.sum(patch * W[f]) + b[f]
    return Y


def im2col(X, kh: int, kw: int, stride: int = 1, padding: int = 0):
    """Unfold every (C, kh, kw) patch of X into one row.

    X: (N, C, H, W). Returns cols: (N * Ho * Wo, C * kh * kw); row n*Ho*Wo + i*Wo + j holds
    the patch under output position (i, j) of image n, flattened in (c, u, v) order --
    the same order as W.reshape(F, -1), so the convolution becomes one matrix product.
    """
    X = as_float_arrays(X=X)
    expect_ndim("X", X, 4, hint="images as (N, C, H, W)")
    N, C, H, Wd = X.shape
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(Wd, kw, stride, padding)
    Xp = pad_images(X, padding)
    # A strided *view*: windows[n, c, i, j, u, v] = Xp[n, c, i*stride + u, j*stride + v]; no copying yet.
    sn, sc, sh, sw = Xp.strides
    windows = np.lib.stride_tricks.as_strided(
        Xp, shape=(N, C, Ho, Wo, kh, kw), strides=(sn, sc, sh * stride, sw * stride, sh, sw), writeable=False
    )
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * kh * kw)


def conv2d(X, W, b, stride: int = 1, padding: int = 0):
    """2-D cross-correlation vectorised with im2col: one matrix product instead of loops.

    X: (N, C, H, W) images; W: (F, C, kh, kw) filters; b: (F,) biases.
    Returns Y: (N, F, Ho, Wo), equal to conv2d_naive and to torch.nn.functional.conv2d.
    """
    X, W, b, stride, padding = _validate_conv(X, W, b, stride, padding)
    N, _, H, Wd = X.shape
    F, _, kh, kw = W.shape
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(Wd, kw, stride, padding)
    cols = im2col(X, kh, kw, stride, padding)  # (N*Ho*Wo, C*kh*kw)
    Y = cols @ W.reshape(F, -1).T + b  # (N*Ho*Wo, F)
    return Y.reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)


def maxpool2d(X, size: int = 2, stride: int = 2):
    """Max pooling like torch.nn.functional.max_pool2d(X, size, stride) (no padding).

    X: (N, C, H, W). Returns (N, C, Ho, Wo), Ho = (H - size) // stride + 1 (Wo alike):
    the largest value in each size x size window, channel by channel.
    """
    X = as_float_arrays(X=X)
    expect_ndim("X", X, 4, hint="images as (N, C, H, W)")
    size, stride = _positive_int("size", size), _positive_int("stride", stride)
    N, C, H, Wd = X.shape
    Ho, Wo = conv_output_size(H, size, stride), conv_output_size(Wd, size, stride)
    sn, sc, sh, sw = X.strides
    windows = np.lib.stride_tricks.as_strided(
        X,
        shape=(N, C, Ho, Wo, size, size),
        strides=(sn, sc, sh * stride, sw * stride, sh, sw),
        writeable=False,
    )
    return windows.max(axis=(4, 5))
