"""Speed of one convolution three ways: loops, im2col (NumPy), and PyTorch.

    python benchmarks/bench_conv.py [--repeat 3]

Prints the time of each on one shape and the ratios; the lesson-04 target is
im2col >= 50x faster than loops. Exits with status 1 if the three outputs differ.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from mmcourse.numpy_nn import conv2d, conv2d_naive
from mmcourse.timing import best_time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.batch, 3, 32, 32))
    W = rng.normal(size=(16, 3, 3, 3))
    b = rng.normal(size=16)
    Xt, Wt, bt = (torch.tensor(a, dtype=torch.float32) for a in (X, W, b))

    loops_out = conv2d_naive(X, W, b, padding=1)
    im2col_out = conv2d(X, W, b, padding=1)
    torch_out = F.conv2d(Xt, Wt, bt, padding=1).numpy()
    equal = np.allclose(loops_out, im2col_out, atol=1e-8) and np.allclose(im2col_out, torch_out, atol=1e-4)

    t_loops = best_time(lambda: conv2d_naive(X, W, b, padding=1), max(1, args.repeat // 2))
    t_im2col = best_time(lambda: conv2d(X, W, b, padding=1), args.repeat * 10)
    with torch.no_grad():
        t_torch = best_time(lambda: F.conv2d(Xt, Wt, bt, padding=1), args.repeat * 10)

    print(f"shape: X {X.shape}, W {W.shape}, padding 1; torch threads {torch.get_num_threads()}")
    print(f"outputs equal: {equal}")
    print(f"{'method':<8} {'time':>12} {'vs loops':>10}")
    for name, t in [("loops", t_loops), ("im2col", t_im2col), ("torch", t_torch)]:
        print(f"{name:<8} {t * 1e3:>9.3f} ms {t_loops / t:>9.0f}x")
    ratio = t_loops / t_im2col
    print(f"im2col is {ratio:.0f}x faster than loops (target >= 50x): {'met' if ratio >= 50 else 'NOT met'}")
    print(f"torch is {t_im2col / t_torch:.1f}x faster than im2col")
    return 0 if equal else 1


if __name__ == "__main__":
    raise SystemExit(main())
