"""A first, readable training loop (lesson 04 on; lesson 08 grows it).

    batches = TensorBatches(images, labels, batch_size=64, shuffle=True, seed=0)
    history = fit(model, batches, val_batches, epochs=10, lr=1e-3, seed=0)
    evaluate(model, test_batches)   # {'loss': ..., 'accuracy': ...}

A *batch* is a pair (inputs, targets): inputs a tensor, or a tuple of tensors that the
model takes as separate arguments (e.g. `(tokens, lengths)`); targets (B,) class indices.
The model returns logits (B, K). The device is chosen by `mmcourse.env.pick_device`
(CUDA, then Apple MPS, then the CPU); each batch is moved there as it is used.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .env import pick_device
from .metrics import accuracy

__all__ = ["TensorBatches", "to_device", "fit", "evaluate"]


class TensorBatches:
    """Mini-batches of tensors already in memory, re-iterable once per epoch.

    inputs: a tensor (N, ...) or a tuple of tensors, each with N rows; targets: (N,).
    With shuffle=True every pass uses a new order, drawn from a generator seeded with
    `seed`, so a run is repeatable. Cheaper than a DataLoader for small in-memory data.
    """

    def __init__(self, inputs, targets, batch_size: int = 64, shuffle: bool = False, seed: int = 0):
        self.inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else inputs
        self.targets = targets
        for tensor in self.inputs if isinstance(self.inputs, tuple) else (self.inputs,):
            if len(tensor) != len(targets):
                raise ValueError(
                    f"every input must have one row per target ({len(targets)}), but one has {len(tensor)}."
                )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, but got {batch_size}.")
        self.batch_size, self.shuffle = batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return math.ceil(len(self.targets) / self.batch_size)

    def __iter__(self):
        n = len(self.targets)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]
            if isinstance(self.inputs, tuple):
                yield tuple(t[rows] for t in self.inputs), self.targets[rows]
            else:
                yield self.inputs[rows], self.targets[rows]


def to_device(inputs, device):
    """Move a tensor, or a tuple/list of tensors, to `device`."""
    if isinstance(inputs, (tuple, list)):
        return tuple(to_device(x, device) for x in inputs)
    return inputs.to(device) if isinstance(inputs, torch.Tensor) else inputs


def _forward(model, inputs):
    return model(*inputs) if isinstance(inputs, tuple) else model(inputs)


@torch.no_grad()
def evaluate(model: nn.Module, batches, *, device=None, loss_fn=None) -> dict:
    """Mean loss and accuracy of `model` over `batches`: {'loss': float, 'accuracy': float}.

    device: where to run (default: where the model's parameters are).
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0.0, 0
    for inputs, targets in batches:
        inputs, targets = to_device(inputs, device), targets.to(device)
        logits = _forward(model, inputs)
        total_loss += loss_fn(logits, targets).item() * len(targets)
        correct += accuracy(logits, targets) * len(targets)
        count += len(targets)
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate got no batches: is the data set empty?")
    return {"loss": total_loss / count, "accuracy": correct / count}


def fit(
    model: nn.Module,
    train_batches,
    val_batches=None,
    *,
    epochs: int,
    lr: float,
    device="auto",
    seed: int = 0,
    progress: bool = True,
    loss_fn=None,
    weight_decay: float = 0.0,
) -> dict:
    """Train `model` with Adam and cross-entropy; returns the history of every epoch.

    train_batches, val_batches: re-iterable collections of (inputs, targets) batches
    (a TensorBatches, a DataLoader or a list); val_batches may be None.
    device: 'auto' (CUDA, then MPS, then CPU), or 'cpu', 'cuda', 'mps', or a torch.device.
    Returns {'train_loss': [...], 'val_loss': [...], 'val_accuracy': [...]}, one entry per epoch
    (the val_ lists stay empty without val_batches). The model stays on the chosen device.
    """
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    device = device if isinstance(device, torch.device) else pick_device(device)
    model.to(device)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    bar = tqdm(range(epochs), desc=f"training on {device.type}", unit="epoch", disable=not progress)
    for _ in bar:
        model.train()
        total, count = 0.0, 0
        for inputs, targets in train_batches:
            inputs, targets = to_device(inputs, device), targets.to(device)
            loss = loss_fn(_forward(model, inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + loss.item() * len(targets), count + len(targets)
        history["train_loss"].append(total / count)
        postfix = {"train loss": f"{total / count:.3f}"}
        if val_batches is not None:
            result = evaluate(model, val_batches, device=device, loss_fn=loss_fn)
            history["val_loss"].append(result["loss"])
            history["val_accuracy"].append(result["accuracy"])
            postfix["val acc"] = f"{result['accuracy']:.3f}"
        bar.set_postfix(postfix)
    return history
