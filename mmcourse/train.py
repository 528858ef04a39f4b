"""A first, readable training loop (lesson 04 on; lesson 08 grows it).

    from mmcourse.data import TensorBatches
    train = TensorBatches(images, labels, batch_size=64, shuffle=True, seed=0)
    history = fit(model, train, val, epochs=10, lr=1e-3, seed=0)
    evaluate(model, test)   # {'loss': ..., 'accuracy': ...}

A *batch* is a tuple of tensors whose LAST element is the targets (B,) (class indices)
and whose other elements are the model's arguments: (images, labels) calls
model(images); (tokens, lengths, labels) calls model(tokens, lengths). A pair
((tokens, lengths), labels), as some DataLoaders give, works too. The model returns
logits (B, K). The device is chosen by `mmcourse.env.pick_device`
(CUDA, then Apple MPS, then the CPU); each batch is moved there as it is used.
"""

from __future__ import annotations

import torch
from torch import nn

from .env import pick_device
from .metrics import accuracy

__all__ = ["split_batch", "to_device", "fit", "evaluate"]


def to_device(inputs, device):
    """Move a tensor, or a tuple/list of tensors, to `device`."""
    if isinstance(inputs, (tuple, list)):
        return tuple(to_device(x, device) for x in inputs)
    return inputs.to(device) if isinstance(inputs, torch.Tensor) else inputs


def split_batch(batch):
    """A batch -> (inputs, targets): inputs a tuple of the model's arguments, targets (B,).

    (x, y) -> ((x,), y); (tokens, lengths, y) -> ((tokens, lengths), y); ((a, b), y) -> ((a, b), y).
    """
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(
            "each batch must be a tuple (inputs..., targets) with the targets last, but got "
            f"{type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}."
        )
    *inputs, targets = batch
    if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        inputs = inputs[0]
    return tuple(inputs), targets


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
    for batch in batches:
        inputs, targets = split_batch(batch)
        inputs, targets = to_device(inputs, device), targets.to(device)
        logits = model(*inputs)
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

    train_batches, val_batches: re-iterable collections of batches (inputs..., targets)
    (a mmcourse.data.TensorBatches, a DataLoader or a list); val_batches may be None.
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
        for batch in train_batches:
            inputs, targets = split_batch(batch)
            inputs, targets = to_device(inputs, device), targets.to(device)
            loss = loss_fn(model(*inputs), targets)
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
