"""conv2d_naive, conv2d (im2col) and maxpool2d against torch.nn.functional, and their errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmcourse.numpy_nn import conv2d, conv2d_naive, conv_output_size, im2col, maxpool2d

CASES = [  # (N, C, H, W), (F, kh, kw), stride, padding
    ((2, 3, 9, 8), (4, 3, 2), 1, 0),
    ((1, 1, 8, 8), (2, 3, 3), 1, 1),
    ((3, 2, 10, 7), (5, 3, 3), 2, 1),
    ((2, 4, 11, 11), (3, 5, 5), 3, 2),
    ((1, 1, 4, 4), (1, 4, 4), 1, 0),
]


def _torch_conv(X, W, b, stride, padding):
    return F.conv2d(torch.tensor(X), torch.tensor(W), torch.tensor(b), stride=stride, padding=padding).numpy()


@pytest.mark.parametrize("xshape, wshape, stride, padding", CASES)
@pytest.mark.parametrize("function", [conv2d_naive, conv2d])
def test_conv_matches_torch(function, xshape, wshape, stride, padding):
    rng = np.random.default_rng(sum(xshape) + stride)
    X = rng.normal(size=xshape)
    W = rng.normal(size=(wshape[0], xshape[1], wshape[1], wshape[2]))
    b = rng.normal(size=wshape[0])
    want = _torch_conv(X, W, b, stride, padding)
    got = function(X, W, b, stride=stride, padding=padding)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_conv_is_cross_correlation_not_flipped():
    X = np.arange(9.0).reshape(1, 1, 3, 3)
    W = np.zeros((1, 1, 3, 3))
    W[0, 0, 0, 0] = 1.0  # picks the top-left pixel of each patch; a flipped kernel would pick bottom-right
    assert conv2d(X, W, np.zeros(1))[0, 0, 0, 0] == 0.0
    assert conv2d_naive(X, W, np.zeros(1))[0, 0, 0, 0] == 0.0


def test_im2col_rows_are_patches_in_weight_order():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2, 3, 5, 4))
    cols = im2col(X, 2, 3, stride=1, padding=0)
    Ho, Wo = 4, 2
    assert cols.shape == (2 * Ho * Wo, 3 * 2 * 3)
    np.testing.assert_array_equal(cols[Ho * Wo + 1 * Wo + 1], X[1, :, 1:3, 1:4].ravel())


def test_conv_accepts_integer_and_list_inputs():
    X = np.ones((1, 1, 3, 3), dtype=int)
    out = conv2d(X.tolist(), np.ones((1, 1, 2, 2), dtype=int), [1])
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 5.0))


@pytest.mark.parametrize("size, stride", [(2, 2), (3, 2), (2, 1), (3, 3)])
def test_maxpool_matches_torch(size, stride):
    rng = np.random.default_rng(size * 10 + stride)
    X = rng.normal(size=(2, 3, 9, 8))
    want = F.max_pool2d(torch.tensor(X), size, stride).numpy()
    np.testing.assert_allclose(maxpool2d(X, size, stride), want, atol=1e-5, rtol=0)


def test_output_size_formula():
    assert conv_output_size(8, 3, 1, 1) == 8
    assert conv_output_size(9, 3, 2, 0) == 4
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv_output_size(2, 5)


@pytest.mark.parametrize("function", [conv2d_naive, conv2d])
def test_conv_errors_name_the_argument(function):
    X, W, b = np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), np.zeros(2)
    with pytest.raises(ValueError, match=r"X must be a 4-D array"):
        function(np.zeros((3, 5, 5)), W, b)
    with pytest.raises(ValueError, match=r"W must have shape \(n, 3, m, p\)"):
        function(X, np.zeros((2, 1, 3, 3)), b)
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        function(X, W, np.zeros(3))
    with pytest.raises(TypeError, match="X must be a NumPy array of numbers"):
        function("image", W, b)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        function(X, W, b, stride=0)
    with pytest.raises(TypeError, match="padding must be an integer"):
        function(X, W, b, padding=1.5)
    with pytest.raises(ValueError, match="larger than the padded input"):
        function(X, np.zeros((2, 3, 7, 7)), b)


def test_maxpool_errors_name_the_argument():
    with pytest.raises(ValueError, match="X must be a 4-D array"):
        maxpool2d(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="size must be >= 1"):
        maxpool2d(np.zeros((1, 1, 4, 4)), size=0)


def test_benchmark_prints_the_three_ratios_in_one_run(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_conv.py"
    spec = importlib.util.spec_from_file_location("bench_conv", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--batch", "1", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "outputs equal: True" in out
    for method in ("loops", "im2col", "torch"):
        assert method in out
    assert "faster than loops" in out
