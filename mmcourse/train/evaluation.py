"""Running a model over batches without training it: `predict` collects its outputs, `evaluate` scores them."""

from __future__ import annotations

import torch
from torch import nn

from ..metrics import accuracy
from .steps import autocast_dtype, split_batch, to_device

__all__ = ["predict", "evaluate"]


@torch.no_grad()
def predict(model: nn.Module, batches, *, device=None, amp=False):
    """(logits (n, K), targets (n,)) of `model` over `batches`, on the CPU, in batch order.

    device: where to run (default: where the model's parameters are). The model runs in
    eval mode and is put back in the mode it was in.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    dtype = autocast_dtype(amp, device)
    was_training = model.training
    model.eval()
    all_logits, all_targets = [], []
    for batch in batches:
        inputs, targets = split_batch(to_device(batch, device))
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            all_logits.append(model(*inputs).float())
        all_targets.append(targets)
    model.train(was_training)
    if not all_targets:
        raise ValueError("predict got no batches: is the data set empty?")
    return torch.cat(all_logits).cpu(), torch.cat(all_targets).cpu()


def evaluate(model: nn.Module, batches, *, device=None, loss_fn=None, amp=False) -> dict:
    """Mean loss and accuracy of `model` over `batches`: {'loss': float, 'accuracy': float}.

    The scores of `predict`; loss_fn (default: cross-entropy) averages over all pairs.
    """
    logits, targets = predict(model, batches, device=device, amp=amp)
    loss_fn = loss_fn or nn.functional.cross_entropy
    with torch.no_grad():
        loss = float(loss_fn(logits, targets))
    return {"loss": loss, "accuracy": accuracy(logits, targets)}
