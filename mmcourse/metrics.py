"""Classification metrics (lesson 04 on; lesson 08 adds precision, recall, F1, confusion matrix).

Inputs may be PyTorch tensors or NumPy arrays; rows are samples.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy"]


def _as_numpy(name: str, value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be an array of numbers, but has dtype {array.dtype}.")
    return array


def accuracy(predictions, targets) -> float:
    """Fraction of samples whose predicted class equals the target.

    predictions: (B, K) scores (logits or probabilities; the arg-max is the prediction)
    or (B,) class indices; targets: (B,) class indices. Returns a float in [0, 1].
    """
    predictions, targets = _as_numpy("predictions", predictions), _as_numpy("targets", targets)
    if predictions.ndim == 2:
        predictions = predictions.argmax(axis=1)
    if predictions.ndim != 1 or targets.shape != predictions.shape:
        raise ValueError(
            f"predictions must be (B, K) scores or (B,) classes matching targets (B,), but got "
            f"predictions {predictions.shape} and targets {targets.shape}."
        )
    if len(targets) == 0:
        raise ValueError("accuracy of an empty batch is undefined: targets has no samples.")
    return float((predictions == targets).mean())
