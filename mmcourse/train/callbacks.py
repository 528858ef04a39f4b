"""What `fit` does around its loop, each as a callback: early stopping, checkpoints, a progress bar.

The loop (mmcourse.train.loop) trains and records; after every epoch it hands a
`TrainState` to each callback's `on_epoch_end`, in order. A callback may read the state,
write a file, or set `state.stop = True` to end training after this epoch. Writing a new
one is a class with up to three methods:

    class PrintLoss(Callback):
        def on_epoch_end(self, state):
            print(state.epoch, state.history["train_loss"][-1])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..checkpoint import read_checkpoint, save_checkpoint
from .history import History

__all__ = ["TrainState", "Callback", "EarlyStopping", "Checkpointing", "ProgressBar", "resume_training"]


@dataclass
class TrainState:
    """Everything a training run holds between epochs.

    epoch: epochs finished so far; best: {"epoch", "val_accuracy", "val_loss", "state_dict"}
    of the best epoch by validation accuracy (None before the first validation);
    stop: set by a callback to end training after the current epoch.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    train_batches: object
    transform: object
    device: torch.device
    history: History
    epoch: int = 0
    best: dict | None = None
    stop: bool = False


class Callback:
    """Hooks into `fit`: each is called with the TrainState and does nothing by default."""

    def on_fit_start(self, state: TrainState) -> None:
        pass

    def on_epoch_end(self, state: TrainState) -> None:
        pass

    def on_fit_end(self, state: TrainState) -> None:
        pass


class EarlyStopping(Callback):
    """Stop after `patience` epochs without a better validation accuracy, or once it reaches `target`."""

    def __init__(self, patience: int | None = None, target: float | None = None):
        self.patience, self.target = patience, target

    def on_epoch_end(self, state: TrainState) -> None:
        if not state.history["val_accuracy"]:
            return
        waited = state.epoch - 1 - state.best["epoch"]
        reached = state.history["val_accuracy"][-1]
        state.stop = (
            state.stop
            or (self.patience is not None and waited >= self.patience)
            or (self.target is not None and reached >= self.target)
        )
        state.history.stopped_early = state.stop


class Checkpointing(Callback):
    """After every epoch, write `path` atomically: the best weights so far and the state to resume.

    extra: more entries for the file, e.g. {"vocab": vocab, "task": "shapes"}.
    """

    def __init__(self, path, extra: dict | None = None):
        self.path, self.extra = Path(path), dict(extra or {})

    def on_epoch_end(self, state: TrainState) -> None:
        model, best = state.model, state.best
        training = {
            "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            "optimizer": state.optimizer.state_dict(),
            "scheduler": state.scheduler.state_dict() if state.scheduler is not None else None,
            "epoch": state.epoch,
            "history": state.history.to_dict(),
            "best": {k: v for k, v in (best or {}).items() if k != "state_dict"} or None,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
            "batches_epoch": getattr(state.train_batches, "epoch", None),
            "transform": state.transform.state_dict() if hasattr(state.transform, "state_dict") else None,
        }
        metrics = {k: v for k, v in (best or {}).items() if k != "state_dict"}
        weights = best["state_dict"] if best and "state_dict" in best else training["model"]
        extra = dict(self.extra)
        vocab = extra.pop("vocab", None)
        save_checkpoint(
            self.path, state_dict=weights, config=getattr(model, "config", {}), vocab=vocab, metrics=metrics,
            training=training, **extra,
        )  # fmt: skip


def resume_training(path, state: TrainState) -> None:
    """Restore into `state` what a Checkpointing file saved, so training continues as if never stopped."""
    checkpoint = read_checkpoint(path, device="cpu")
    saved = checkpoint.get("training")
    if saved is None:
        raise ValueError(f"{str(path)!r} holds no training state to resume from (it has only the weights).")
    state.model.load_state_dict(saved["model"])
    state.optimizer.load_state_dict(saved["optimizer"])
    if state.scheduler is not None and saved.get("scheduler") is not None:
        state.scheduler.load_state_dict(saved["scheduler"])
    if hasattr(state.train_batches, "epoch") and "batches_epoch" in saved:
        state.train_batches.epoch = int(saved["batches_epoch"])
    torch.set_rng_state(saved["rng"])
    if saved.get("transform") is not None and hasattr(state.transform, "load_state_dict"):
        state.transform.load_state_dict(saved["transform"])  # e.g. the random draws of AttributeNegatives
    if state.device.type == "cuda" and saved.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(saved["cuda_rng"])
    state.best = dict(saved["best"]) if saved.get("best") else None
    if state.best is not None:
        state.best["state_dict"] = checkpoint["state_dict"]
    state.history, state.epoch = History.from_dict(saved["history"]), int(saved["epoch"])


class ProgressBar(Callback):
    """A tqdm bar over the epochs, with the last training loss and validation accuracy."""

    def __init__(self, epochs: int, description: str = "training"):
        self.epochs, self.description, self.bar = epochs, description, None

    def on_fit_start(self, state: TrainState) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.epochs, initial=state.epoch, desc=self.description, unit="epoch")

    def on_epoch_end(self, state: TrainState) -> None:
        postfix = {"train loss": f"{state.history['train_loss'][-1]:.3f}"}
        if state.history["val_accuracy"]:
            postfix["val acc"] = f"{state.history['val_accuracy'][-1]:.3f}"
        self.bar.set_postfix(postfix)
        self.bar.update(1)

    def on_fit_end(self, state: TrainState) -> None:
        self.bar.close()
