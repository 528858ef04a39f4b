"""The training loop of the course: `train_epochs` is the loop, `fit` sets it up.

    history = fit(model, train, val, epochs=10, lr=1e-3, seed=0)

Every epoch, for every batch: move it to the device, transform it (training batches
only), take one optimisation step, step the learning-rate schedule, record the loss.
Then validate, remember the best epoch, and let the callbacks act (mmcourse.train.callbacks:
early stopping, checkpoints, the progress bar). Everything else -- which optimiser,
which schedule, mixed precision, resuming -- is decided once, before the loop, by `fit`.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from ..env import pick_device
from .callbacks import Checkpointing, EarlyStopping, ProgressBar, TrainState, resume_training
from .evaluation import evaluate
from .history import History
from .steps import autocast_dtype, make_optimizer, make_schedule, split_batch, to_device, train_step

__all__ = ["train_epochs", "fit"]


def train_epochs(state: TrainState, epochs: int, val_batches=None, *, step_model=None, loss_fn=None,
                 amp=False, clip_grad=None, channels_last=False, callbacks=()) -> History:  # fmt: skip
    """Train from epoch `state.epoch` up to `epochs` (or until a callback sets state.stop).

    step_model: the module that takes the steps (e.g. torch.compile(state.model); default
    the model itself); amp: as in autocast_dtype; channels_last: the layout of 4-D inputs.
    Returns state.history.
    """
    model, device = state.model, state.device
    step_model, loss_fn = step_model or model, loss_fn or nn.functional.cross_entropy
    dtype = autocast_dtype(amp, device)
    for callback in callbacks:
        callback.on_fit_start(state)
    for epoch in range(state.epoch, epochs):
        began = time.perf_counter()
        model.train()
        total = torch.zeros((), dtype=torch.float64, device=device)  # summed on the device: no sync per step
        correct = torch.zeros((), dtype=torch.int64, device=device)
        count = 0
        for batch in state.train_batches:
            batch = to_device(batch, device, channels_last)  # 1. move
            if state.transform is not None:  # 2. transform (training batches only) ...
                batch = to_device(state.transform(batch), device, channels_last)  # ... in the same layout
            inputs, targets = split_batch(batch)
            loss, logits = train_step(  # 3. step
                step_model,
                state.optimizer,
                inputs,
                targets,
                loss_fn=loss_fn,
                amp_dtype=dtype,
                clip_grad=clip_grad,
            )
            if state.scheduler is not None:
                state.scheduler.step()  # 4. schedule
            total += loss.double() * len(targets)  # 5. record
            correct += (logits.argmax(dim=1) == targets).sum()
            count += len(targets)
        if count == 0:
            raise ValueError("fit got no training batches: is the training set empty?")
        _record_epoch(state, epoch, total.item() / count, correct.item() / count, val_batches, loss_fn, amp)
        state.history.seconds.append(time.perf_counter() - began)
        for callback in callbacks:
            callback.on_epoch_end(state)
        if state.stop:
            break
    for callback in callbacks:
        callback.on_fit_end(state)
    return state.history


def _record_epoch(state: TrainState, epoch: int, train_loss, train_accuracy, val_batches, loss_fn, amp):
    """Append the epoch's numbers to the history; validate; keep the best epoch's weights."""
    history = state.history
    history["train_loss"].append(train_loss)
    history["train_accuracy"].append(train_accuracy)
    history["lr"].append(state.optimizer.param_groups[0]["lr"])
    state.epoch = epoch + 1
    if val_batches is None:
        return
    result = evaluate(state.model, val_batches, device=state.device, loss_fn=loss_fn, amp=amp)
    history["val_loss"].append(result["loss"])
    history["val_accuracy"].append(result["accuracy"])
    best = state.best
    if best is None or (result["accuracy"], -result["loss"]) > (best["val_accuracy"], -best["val_loss"]):
        state.best = {"epoch": epoch, "val_accuracy": result["accuracy"], "val_loss": result["loss"]}
        state.best["state_dict"] = {k: v.detach().cpu().clone() for k, v in state.model.state_dict().items()}
        history.best_epoch = epoch


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
    callbacks=(),
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
    - callbacks: more mmcourse.train.callbacks.Callback objects, called after the built-in ones.
    """
    torch.manual_seed(seed)
    device = device if isinstance(device, torch.device) else pick_device(device)
    layout = device.type == "cuda" if channels_last == "auto" else bool(channels_last)
    model.to(device, memory_format=torch.channels_last) if layout else model.to(device)
    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    steps_per_epoch = len(train_batches) if hasattr(train_batches, "__len__") else None
    if schedule is not None and steps_per_epoch is None:
        raise ValueError("a learning-rate schedule needs train_batches with a len() (steps per epoch).")
    scheduler = make_schedule(schedule, opt, epochs * (steps_per_epoch or 1), warmup)
    state = TrainState(model, opt, scheduler, train_batches, train_transform, device, History())
    if resume is not None:
        resume_training(resume, state)
    built_in = [EarlyStopping(patience, target)]
    if checkpoint is not None:
        built_in.append(Checkpointing(checkpoint, checkpoint_extra))
    if progress:
        built_in.append(ProgressBar(epochs, f"training on {device.type}"))
    train_epochs(
        state, epochs, val_batches, step_model=torch.compile(model) if compile else model,
        loss_fn=loss_fn or nn.CrossEntropyLoss(), amp=amp, clip_grad=clip_grad, channels_last=layout,
        callbacks=[*built_in, *callbacks],
    )  # fmt: skip
    if restore_best and state.best is not None:
        model.load_state_dict(state.best["state_dict"])
    return state.history
