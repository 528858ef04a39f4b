"""The training loop of the course: readable in lesson 04, complete in lesson 08.

    from mmcourse.data import TensorBatches
    train = TensorBatches(images, labels, batch_size=64, shuffle=True, seed=0)
    history = fit(model, train, val, epochs=10, lr=1e-3, seed=0)
    evaluate(model, test)   # {'loss': ..., 'accuracy': ...}
    history.plot()          # learning curves

The device is chosen by `mmcourse.env.pick_device` (CUDA, then Apple MPS, then the CPU).
What lesson 08 adds is each off unless asked for, so the lesson-04 loop is unchanged:
mixed precision, torch.compile, channels_last, a warm-up + cosine schedule, gradient
clipping, early stopping, an atomic best checkpoint, resuming, a training-batch transform.
Lesson 11 adds `fit_contrastive`: a dual encoder trained with InfoNCE on true pairs only.
"""

# isort: off
# one step (lesson 04; mixed precision and clipping in lesson 08)
from .steps import (
    autocast_dtype,
    make_optimizer,
    make_schedule,
    split_batch,
    to_device,
    train_step,
    warmup_cosine,
)

# running a model without training it
from .evaluation import evaluate, predict

# the loop and its record
from .history import History
from .loop import fit, train_epochs

# lesson 08: what happens around the loop
from .callbacks import Callback, Checkpointing, EarlyStopping, ProgressBar, TrainState, resume_training

# lesson 11: contrastive training of a dual encoder
from .contrastive import (
    calibrate_match_head,
    contrastive_step,
    contrastive_tensors,
    fit_contrastive,
    retrieval_metrics,
)

# isort: on

__all__ = [
    "to_device", "split_batch", "autocast_dtype", "train_step", "warmup_cosine", "make_optimizer", "make_schedule",
    "predict", "evaluate",
    "History", "train_epochs", "fit",
    "TrainState", "Callback", "EarlyStopping", "Checkpointing", "ProgressBar", "resume_training",
    "contrastive_tensors", "contrastive_step", "fit_contrastive", "retrieval_metrics", "calibrate_match_head",
]  # fmt: skip
