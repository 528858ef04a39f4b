"""The training loop of the course: readable in lesson 04, complete in lesson 08.

    from mmcourse.data import TensorBatches
    train = TensorBatches(images, labels, batch_size=64, shuffle=True, seed=0)
    history = fit(model, train, val, epochs=10, lr=1e-3, seed=0)
    evaluate(model, test)   # {'loss': ..., 'accuracy': ...}
    history.plot()          # learning curves

A *batch* is a tuple of tensors whose LAST element is the targets (B,) (class indices)
and whose other elements are the model's arguments: (images, labels) calls
model(images); (tokens, lengths, labels) calls model(tokens, lengths). A pair
((tokens, lengths), labels), as some DataLoaders give, works too. The model returns
logits (B, K). The device is chosen by `mmcourse.env.pick_device`
(CUDA, then Apple MPS, then the CPU); each batch is moved there as it is used (a
no-op for `TensorBatches` already on the device).

What lesson 08 adds, each off unless asked for, so the lesson-04 loop is unchanged:
mixed precision (`amp`: bf16 autocast, on by default on a CUDA GPU that supports it),
`compile` (torch.compile), `channels_last` (on by default on CUDA), a learning-rate
`schedule` (warm-up + cosine decay), gradient clipping (`clip_grad`), early stopping
(`patience`, `target`), the best model saved atomically (`checkpoint`), `resume` from
that file, `train_transform` (a function applied to every TRAINING batch -- e.g.
modality dropout -- never to validation), and a `History` that plots itself.
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn

from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .env import pick_device
from .metrics import accuracy

__all__ = [
    "split_batch",
    "to_device",
    "History",
    "autocast_dtype",
    "train_step",
    "warmup_cosine",
    "fit",
    "evaluate",
    "predict",
    "load_checkpoint",
]

_METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")


def to_device(inputs, device, channels_last: bool = False):
    """Move a tensor, or a tuple/list of tensors, to `device` (4-D tensors channels_last on request)."""
    if isinstance(inputs, (tuple, list)):
        return tuple(to_device(x, device, channels_last) for x in inputs)
    if not isinstance(inputs, torch.Tensor):
        return inputs
    inputs = inputs.to(device, non_blocking=True)
    if channels_last and inputs.dim() == 4 and inputs.is_floating_point():
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    return inputs


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


class History(dict):
    """What happened in each epoch: a dict of lists, one entry per epoch, that plots itself.

    Keys: train_loss, train_accuracy (running means over the epoch's batches), val_loss,
    val_accuracy (empty without validation data), lr (the learning rate at the epoch's
    end). Attributes: `seconds` (wall time of each epoch, kept out of the dict so that two
    identical runs compare equal), `best_epoch` (0-based, by validation accuracy, or None),
    `stopped_early` (True when patience or target ended the run).
    """

    def __init__(self, data=None, seconds=None, best_epoch=None, stopped_early=False):
        super().__init__({key: [] for key in _METRICS})
        for key, values in (data or {}).items():
            self[key] = list(values)
        self.seconds = list(seconds or [])
        self.best_epoch, self.stopped_early = best_epoch, stopped_early

    @property
    def epochs(self) -> int:
        return len(self["train_loss"])

    def to_dict(self) -> dict:
        """Plain data (lists of floats), e.g. for json or a checkpoint."""
        return {
            **{key: list(values) for key, values in self.items()},
            "seconds": list(self.seconds),
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
        }

    @classmethod
    def from_dict(cls, data: dict) -> History:
        data = dict(data)
        extra = {key: data.pop(key, default) for key, default in (("seconds", []), ("best_epoch", None))}
        stopped = bool(data.pop("stopped_early", False))
        return cls(data, extra["seconds"], extra["best_epoch"], stopped)

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.items() if v and k != "lr"}
        return f"History({self.epochs} epochs, {sum(self.seconds):.1f} s, last {last})"

    def plot(self, axes=None, title: str = "Learning curves"):
        """Loss and accuracy per epoch, training and validation side by side; returns the 2 Axes."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        epochs = range(1, self.epochs + 1)
        for ax, metric, unit in (
            (axes[0], "loss", "cross-entropy (nats)"),
            (axes[1], "accuracy", "fraction"),
        ):
            ax.plot(epochs, self[f"train_{metric}"], marker=".", label="training")
            if self[f"val_{metric}"]:
                ax.plot(
                    range(1, len(self[f"val_{metric}"]) + 1),
                    self[f"val_{metric}"],
                    marker=".",
                    label="validation",
                )
            if self.best_epoch is not None:
                ax.axvline(self.best_epoch + 1, color="gray", linestyle=":", label="best epoch")
            ax.set(xlabel="epoch", ylabel=f"{metric} ({unit})", title=f"{title}: {metric}")
            ax.legend(fontsize=8)
        axes[0].figure.tight_layout()
        return axes


def autocast_dtype(amp, device: torch.device):
    """The dtype for torch.autocast, or None for full float32.

    amp="auto": bf16 on a CUDA GPU that supports it, else None (CPU autocast is slower for
    small models); True or "bf16": bf16 on any device; "fp16": float16 (CUDA);
    False / None: off.
    """
    if amp in (False, None):
        return None
    if amp == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return None
    if amp in (True, "bf16", torch.bfloat16):
        return torch.bfloat16
    if amp in ("fp16", torch.float16):
        return torch.float16
    raise ValueError(f"amp must be 'auto', True, False, 'bf16' or 'fp16', but got {amp!r}.")


def train_step(model, optimizer, inputs, targets, *, loss_fn=None, amp_dtype=None, clip_grad=None):
    """ONE optimisation step on one batch; returns (loss () float32, logits (B, K)), both detached.

    inputs: tuple of the model's arguments; targets: (B,) class indices. In order:
    zero the old gradients (they would otherwise ADD UP across steps), run the forward
    pass under autocast (amp_dtype: torch.bfloat16 / float16, or None for float32), take
    the loss in float32, back-propagate, clip the gradients' global norm to `clip_grad`
    (None: no clipping), and let the optimiser step.
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    optimizer.zero_grad(set_to_none=True)
    device_type = targets.device.type
    with torch.autocast(device_type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
        logits = model(*inputs)
    loss = loss_fn(logits.float(), targets)
    loss.backward()
    if clip_grad is not None:
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    optimizer.step()
    return loss.detach(), logits.detach()


def warmup_cosine(optimizer, total_steps: int, warmup: float = 0.1, final: float = 0.01):
    """A LambdaLR: linear warm-up over `warmup` of the steps, then cosine decay to `final` x lr."""
    warm = max(1, int(round(warmup * total_steps)))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total_steps - warm))
        return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@torch.no_grad()
def predict(model: nn.Module, batches, *, device=None, amp=False):
    """(logits (n, K), targets (n,)) of `model` over `batches`, on the CPU, in batch order."""
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


@torch.no_grad()
def evaluate(model: nn.Module, batches, *, device=None, loss_fn=None, amp=False) -> dict:
    """Mean loss and accuracy of `model` over `batches`: {'loss': float, 'accuracy': float}.

    device: where to run (default: where the model's parameters are).
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = torch.device(device) if device is not None else next(model.parameters()).device
    dtype = autocast_dtype(amp, device)
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0.0, 0
    for batch in batches:
        inputs, targets = split_batch(batch)
        inputs, targets = to_device(inputs, device), targets.to(device)
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            logits = model(*inputs).float()
        total_loss += loss_fn(logits, targets).item() * len(targets)
        correct += accuracy(logits, targets) * len(targets)
        count += len(targets)
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate got no batches: is the data set empty?")
    return {"loss": total_loss / count, "accuracy": correct / count}


def _make_optimizer(name: str, parameters, lr: float, weight_decay: float):
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'adam' or 'adamw', but got {name!r}.")


def _make_schedule(schedule, optimizer, total_steps: int, warmup: float):
    if schedule is None:
        return None
    if schedule == "cosine":
        return warmup_cosine(optimizer, total_steps, warmup)
    if callable(schedule):
        return schedule(optimizer, total_steps)
    raise ValueError(
        f"schedule must be None, 'cosine' or a function (optimizer, total_steps) -> scheduler, but got {schedule!r}."
    )


def _is_better(result: dict, best: dict | None) -> bool:
    """Higher validation accuracy wins; at equal accuracy, lower validation loss."""
    if best is None:
        return True
    return (result["accuracy"], -result["loss"]) > (best["val_accuracy"], -best["val_loss"])


def _resume_state(path, model, optimizer, scheduler, train_batches, device, transform=None):
    """Restore what a checkpoint's `training` entry saved; returns (history, start epoch, best)."""
    checkpoint = read_checkpoint(path, device="cpu")
    state = checkpoint.get("training")
    if state is None:
        raise ValueError(f"{str(path)!r} holds no training state to resume from (it has only the weights).")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    if hasattr(train_batches, "epoch") and "batches_epoch" in state:
        train_batches.epoch = int(state["batches_epoch"])
    torch.set_rng_state(state["rng"])
    if state.get("transform") is not None and hasattr(transform, "load_state_dict"):
        transform.load_state_dict(state["transform"])  # e.g. the random draws of AttributeNegatives
    if device.type == "cuda" and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(state["cuda_rng"])
    best = dict(state["best"]) if state.get("best") else None
    if best is not None:
        best["state_dict"] = checkpoint["state_dict"]
    return History.from_dict(state["history"]), int(state["epoch"]), best


def _save_progress(
    path, model, optimizer, scheduler, train_batches, history, epoch, best, extra, transform=None
):
    """Write the best weights + config + vocab + metrics, and the state to resume after `epoch`."""
    training = {
        "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": epoch,
        "history": history.to_dict(),
        "best": {k: v for k, v in (best or {}).items() if k != "state_dict"} or None,
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
        "batches_epoch": getattr(train_batches, "epoch", None),
        "transform": transform.state_dict() if hasattr(transform, "state_dict") else None,
    }
    metrics = {k: v for k, v in (best or {}).items() if k != "state_dict"}
    weights = best["state_dict"] if best and "state_dict" in best else training["model"]
    extra = dict(extra or {})
    vocab = extra.pop("vocab", None)
    config = getattr(model, "config", {})
    save_checkpoint(
        path, state_dict=weights, config=config, vocab=vocab, metrics=metrics, training=training, **extra
    )


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
    optimizer: str = "adam",
    train_transform=None,
    schedule=None,
    warmup: float = 0.1,
    clip_grad: float | None = None,
    amp="auto",
    compile: bool = False,
    channels_last="auto",
    patience: int | None = None,
    target: float | None = None,
    restore_best: bool = False,
    checkpoint=None,
    checkpoint_extra: dict | None = None,
    resume=None,
) -> History:
    """Train `model` with Adam and cross-entropy; returns the History of every epoch.

    train_batches, val_batches: re-iterable collections of batches (inputs..., targets)
    (a mmcourse.data.TensorBatches, a DataLoader or a list); val_batches may be None.
    device: 'auto' (CUDA, then MPS, then CPU), or 'cpu', 'cuda', 'mps', or a torch.device.
    The model stays on the chosen device. Options (all off by default on a CPU):

    - optimizer: 'adam' or 'adamw' (decoupled weight decay); weight_decay.
    - train_transform: batch -> batch, applied (on the device) to every TRAINING batch
      before the forward pass -- never to validation batches. If it has state_dict() /
      load_state_dict() (its random state), checkpoints keep it, so a resumed run repeats.
    - schedule: None (constant lr), 'cosine' (linear warm-up over `warmup` of all steps,
      then cosine decay), or f(optimizer, total_steps) -> scheduler; stepped every batch.
    - clip_grad: clip the gradients' global L2 norm to this value.
    - amp: 'auto' (bf16 autocast on CUDA, off elsewhere), True / 'bf16', 'fp16', False.
    - compile: run the training steps through torch.compile(model).
    - channels_last: 'auto' (on for CUDA), True, False -- the memory layout of the CNN.
    - patience: stop after this many epochs without a better validation accuracy;
      target: stop as soon as the validation accuracy reaches it; restore_best: load the
      best epoch's weights back at the end.
    - checkpoint: a path; after each epoch it holds the best weights so far + model
      config + `checkpoint_extra` (e.g. {'vocab': vocab, 'task': 'shapes'}) + the best
      metrics, plus the state to resume from, written atomically.
    - resume: a checkpoint path written by an interrupted fit with the same settings:
      training continues after its last finished epoch, exactly as if never stopped.
    """
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    device = device if isinstance(device, torch.device) else pick_device(device)
    dtype = autocast_dtype(amp, device)
    layout = device.type == "cuda" if channels_last == "auto" else bool(channels_last)
    model.to(device, memory_format=torch.channels_last) if layout else model.to(device)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    opt = _make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    steps_per_epoch = len(train_batches) if hasattr(train_batches, "__len__") else None
    if schedule is not None and steps_per_epoch is None:
        raise ValueError("a learning-rate schedule needs train_batches with a len() (steps per epoch).")
    scheduler = _make_schedule(schedule, opt, epochs * (steps_per_epoch or 1), warmup)
    history, start, best = History(), 0, None
    if resume is not None:
        history, start, best = _resume_state(
            resume, model, opt, scheduler, train_batches, device, train_transform
        )
    step_model = torch.compile(model) if compile else model
    bar = tqdm(range(start, epochs), desc=f"training on {device.type}", unit="epoch", disable=not progress)
    for epoch in bar:
        began = time.perf_counter()
        model.train()
        total = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        count = 0
        for batch in train_batches:
            batch = to_device(batch, device, layout)
            if train_transform is not None:
                batch = train_transform(batch)
            inputs, targets = split_batch(batch)
            loss, logits = train_step(
                step_model, opt, inputs, targets, loss_fn=loss_fn, amp_dtype=dtype, clip_grad=clip_grad
            )
            if scheduler is not None:
                scheduler.step()
            total += loss.double() * len(targets)  # summed on the device: no CPU-GPU sync per step
            correct += (logits.argmax(dim=1) == targets).sum()
            count += len(targets)
        if count == 0:
            raise ValueError("fit got no training batches: is the training set empty?")
        history["train_loss"].append(total.item() / count)
        history["train_accuracy"].append(correct.item() / count)
        history["lr"].append(opt.param_groups[0]["lr"])
        postfix = {"train loss": f"{history['train_loss'][-1]:.3f}"}
        stop = False
        if val_batches is not None:
            result = evaluate(model, val_batches, device=device, loss_fn=loss_fn, amp=amp)
            history["val_loss"].append(result["loss"])
            history["val_accuracy"].append(result["accuracy"])
            postfix["val acc"] = f"{result['accuracy']:.3f}"
            if _is_better(result, best):
                best = {"epoch": epoch, "val_accuracy": result["accuracy"], "val_loss": result["loss"]}
                best["state_dict"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                history.best_epoch = epoch
            stop = (patience is not None and epoch - best["epoch"] >= patience) or (
                target is not None and result["accuracy"] >= target
            )
        history.seconds.append(time.perf_counter() - began)
        bar.set_postfix(postfix)
        if checkpoint is not None:
            history.stopped_early = stop
            _save_progress(
                checkpoint,
                model,
                opt,
                scheduler,
                train_batches,
                history,
                epoch + 1,
                best,
                checkpoint_extra,
                train_transform,
            )
        if stop:
            history.stopped_early = True
            break
    if restore_best and best is not None:
        model.load_state_dict(best["state_dict"])
    return history
