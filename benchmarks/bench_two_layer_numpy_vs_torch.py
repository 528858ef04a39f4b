"""Time one epoch of the two-layer network in NumPy (mmcourse.numpy_nn) and in PyTorch, on the CPU.

Both train the same network -- h = σ(W₁x + b₁), ŷ = softmax(W₂h + b₂), mean cross-entropy,
plain minibatch gradient descent -- from the same initial weights on the same minibatches,
in float64, so they compute the same numbers (checked at the end). NumPy works with one
sample per column, PyTorch with one sample per row.

    .venv/bin/python benchmarks/bench_two_layer_numpy_vs_torch.py [--n 10000 --hidden 256 --threads 1]

Both frameworks get the same number of threads (--threads, default 1: on a busy 2-core
machine PyTorch's default of one thread per core can be 20x slower, as its threads wait
for each other). NumPy's BLAS threads are limited with threadpoolctl, a dependency of
scikit-learn.
"""

import argparse
import platform

import numpy as np
import torch
import torch.nn.functional as F

from mmcourse.numpy_nn import (
    gd_step,
    init_two_layer,
    one_hot,
    two_layer_backward,
    two_layer_forward,
    two_layer_loss,
)
from mmcourse.timing import best_time


def numpy_epoch(params, X, Y, lr, batch_size):
    """One pass over X (d, n) in minibatches of columns; returns the new params."""
    for start in range(0, X.shape[1], batch_size):
        xb, yb = X[:, start : start + batch_size], Y[:, start : start + batch_size]
        _, cache = two_layer_forward(params, xb)
        params = gd_step(params, two_layer_backward(params, cache, yb), lr)
    return params


def torch_model(params):
    """nn.Sequential with the same weights (nn.Linear stores W as (out, in) too; b as a flat vector)."""
    d, h, k = params["W1"].shape[1], params["W1"].shape[0], params["W2"].shape[0]
    model = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.Sigmoid(), torch.nn.Linear(h, k)).double()
    with torch.no_grad():
        for layer, w, b in ((model[0], "W1", "b1"), (model[2], "W2", "b2")):
            layer.weight.copy_(torch.from_numpy(params[w]))
            layer.bias.copy_(torch.from_numpy(params[b].ravel()))
    return model


def torch_epoch(model, X_rows, labels, lr, batch_size):
    """One pass over X_rows (n, d) in minibatches of rows, with autograd and plain SGD."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for start in range(0, X_rows.shape[0], batch_size):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X_rows[start : start + batch_size]), labels[start : start + batch_size])
        loss.backward()
        optimizer.step()
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="samples in the epoch")
    parser.add_argument("--d", type=int, default=64, help="input features")
    parser.add_argument("--hidden", type=int, default=256, help="hidden units")
    parser.add_argument("--k", type=int, default=10, help="classes")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed per framework; the best counts")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads for BLAS and PyTorch (0: leave the defaults)"
    )
    args = parser.parse_args()
    if args.threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.d, args.n))
    labels = (rng.normal(size=(args.k, args.d)) @ X).argmax(
        axis=0
    )  # a learnable task: a random linear teacher
    Y = one_hot(labels, args.k)
    params = init_two_layer(args.d, args.hidden, args.k, seed=0)
    X_rows, labels_t = torch.from_numpy(np.ascontiguousarray(X.T)), torch.from_numpy(labels)

    numpy_results, torch_results = [], []  # what each timed epoch returned; the last one is checked below
    t_numpy = best_time(
        lambda: numpy_results.append(numpy_epoch(params, X, Y, args.lr, args.batch_size)), args.repeats
    )
    t_torch = best_time(
        lambda: torch_results.append(
            torch_epoch(torch_model(params), X_rows, labels_t, args.lr, args.batch_size)
        ),
        args.repeats,
    )
    params_np, model = numpy_results[-1], torch_results[-1]

    loss_np = two_layer_loss(params_np, X, Y)
    with torch.no_grad():
        loss_torch = F.cross_entropy(model(X_rows), labels_t).item()
    assert abs(loss_np - loss_torch) < 1e-6 * max(1.0, abs(loss_np)), (
        f"not the same network: {loss_np} vs {loss_torch}"
    )

    batches = -(-args.n // args.batch_size)
    print(
        f"two-layer net d={args.d}, h={args.hidden}, k={args.k}; one epoch = {args.n} samples in {batches} "
        f"minibatches of {args.batch_size}, float64, best of {args.repeats}"
    )
    print(
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__} "
        f"with {torch.get_num_threads()} threads, numpy {np.__version__}"
    )
    print(f"numpy_nn : {t_numpy * 1e3:8.1f} ms per epoch")
    print(f"PyTorch  : {t_torch * 1e3:8.1f} ms per epoch")
    print(
        f"ratio numpy / torch = {t_numpy / t_torch:.2f}  (same loss after the epoch: {loss_np:.6f} vs {loss_torch:.6f})"
    )


if __name__ == "__main__":
    main()
