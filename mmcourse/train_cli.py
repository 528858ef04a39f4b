"""`mmcourse train`: train a fusion model on one of the course's tasks from the command line.

    mmcourse train --task shapes               # lesson 08's model, with settings that reach >= 98 %
    mmcourse train --task digits-arithmetic --model early
    mmcourse train --task shapes --model attention --epochs 20 --out runs/shapes-attention
    mmcourse train --task shapes --resume runs/shapes-matcher-seed0/model.pt   # continue a stopped run

Writes DIR/model.pt (weights, the model's config and the vocabulary -- plain tensors,
numbers and strings, so `torch.load(..., weights_only=True)` reads it) and
DIR/metrics.json, shows a progress bar on stderr, and prints as its LAST line one JSON
object: task, model, test_accuracy, test_loss, val_accuracy, seconds, device, ...

The same steps are functions a notebook can call: `load_task` (data + vocabulary),
`train_model` (build, fit, evaluate, save) and `load_checkpoint` (from
mmcourse.checkpoint). Torch is imported only when they run, so `mmcourse train --help`
stays quick.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = [
    "TASKS",
    "TASK_DEFAULTS",
    "DEFAULT_MODEL",
    "MODEL_SETTINGS",
    "settings_for",
    "training_transform",
    "load_task",
    "train_model",
    "load_checkpoint",
    "add_arguments",
    "run",
    "main",
]

TASKS = ("shapes", "digits-arithmetic", "digits-captions")

TASK_DEFAULTS = {  # settings that work for each task; a CPU trains any model in well under a minute
    "shapes": {"n_train": 5000, "epochs": 20, "lr": 3e-3, "batch_size": 64, "cooldown": 0, "image_size": 16},
    "digits-arithmetic": {
        "n_train": 4000,
        "epochs": 20,
        "lr": 2e-3,
        "batch_size": 32,
        "cooldown": 5,
        "model": {"image_channels": [32, 64], "hidden_dim": 128},
    },
    "digits-captions": {
        "n_train": 2000,
        "epochs": 10,
        "lr": 2e-3,
        "batch_size": 32,
        "cooldown": 3,
        "model": {"image_channels": [32, 64], "hidden_dim": 128},
    },
}
DEFAULT_MODEL = {"shapes": "matcher", "digits-arithmetic": "early", "digits-captions": "early"}
"""The model `mmcourse train --task T` trains when --model is not given."""

MODEL_SETTINGS = {  # per (task, model): settings that override TASK_DEFAULTS for that model only
    ("shapes", "matcher"): {
        "n_train": 12000,
        "epochs": 10,
        "lr": 3e-3,
        "batch_size": 128,
        "cooldown": 0,
        "negatives": 0.5,
        "fit": {"schedule": "cosine", "warmup": 0.15, "clip_grad": 1.0, "restore_best": True},
    },
}
"""Lesson 08's CNN+LSTM matcher trains with a warm-up + cosine schedule, clipped gradients and
AttributeNegatives (rate `negatives`: new mismatches made from half the matching pairs of each batch)."""

DEVICES = ("auto", "cpu", "cuda", "mps")
N_TEST = 1000  # test pairs per task; the validation set has N_TEST // 2


class UsageError(ValueError):
    """A bad option value: reported as one line, exit code 2."""


def _check_task(task) -> str:
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}.")
    return task


def load_task(task: str, n_train: int | None = None, seed: int = 0, image_size: int | None = None) -> dict:
    """The data of one task, ready for a FusionClassifier.

    task: 'shapes' (does the caption match the scene? 2 classes), 'digits-arithmetic'
    ((digit +/- k) mod 10) or 'digits-captions' (the digit, from an image and a noisy
    caption); n_train: training pairs (default: TASK_DEFAULTS); seed: the data's seed;
    image_size: shapes only, H = W in pixels.

    Returns a dict: train, val, test (MultimodalData), vocab (built from train captions),
    model_config (n_classes, in_channels, vocab_size: the settings build_model needs).
    Digit tasks draw test images from a pool disjoint from the training images.
    """
    from .data import make_digit_arithmetic, make_digit_captions, make_shapes, split
    from .text import Vocab

    _check_task(task)
    defaults = TASK_DEFAULTS[task]
    n_train = defaults["n_train"] if n_train is None else n_train
    n_val = N_TEST // 2
    if task == "shapes":
        size = image_size or defaults["image_size"]
        total = n_train + n_val + N_TEST
        data = make_shapes(total, seed=seed, image_size=size)
        parts = split(data, (n_train / total, n_val / total, N_TEST / total), seed=seed)
        train, val, test = parts.train, parts.val, parts.test
    else:
        make = make_digit_arithmetic if task == "digits-arithmetic" else make_digit_captions
        train = make(n_train, split="train", seed=seed)
        val = make(n_val, split="test", seed=seed + 1)
        test = make(N_TEST, split="test", seed=seed + 2)
    vocab = Vocab.build(train.captions)
    config = {
        "n_classes": len(train.label_names),
        "in_channels": int(train.images.shape[1]),
        "vocab_size": len(vocab),
    }
    return {"task": task, "train": train, "val": val, "test": test, "vocab": vocab, "model_config": config}


def _expect_model(name) -> str:
    """A model name of the zoo (mmcourse.models.MODELS, lesson 08's "matcher" included); ValueError otherwise."""
    from .models.zoo import _expect_name

    return _expect_name(name)


def settings_for(task: str, model: str | None = None) -> dict:
    """The training settings of `model` on `task`: TASK_DEFAULTS, then MODEL_SETTINGS on top."""
    _check_task(task)
    model = model or DEFAULT_MODEL[task]
    settings = {**TASK_DEFAULTS[task], **MODEL_SETTINGS.get((task, model), {})}
    settings["fit"] = dict(settings.get("fit", {}))
    return settings


def training_transform(settings: dict, vocab, seed: int = 0, then=None):
    """The batch transform `settings` asks for: AttributeNegatives when settings["negatives"] > 0.

    then: another transform (e.g. robust.ModalityDropout) applied after it; returned alone
    when the settings ask for none (None when neither exists).
    """
    rate = settings.get("negatives", 0)
    if not rate:
        return then
    from .data import AttributeNegatives

    negatives = AttributeNegatives(vocab, rate=rate, seed=seed)
    return negatives if then is None else ChainedTransforms(negatives, then)


class ChainedTransforms:
    """Batch transforms applied one after the other; their random states are saved together."""

    def __init__(self, *transforms):
        self.transforms = transforms

    def __call__(self, batch):
        for transform in self.transforms:
            batch = transform(batch)
        return batch

    def state_dict(self) -> dict:
        return {i: t.state_dict() for i, t in enumerate(self.transforms) if hasattr(t, "state_dict")}

    def load_state_dict(self, state: dict) -> None:
        for i, t in enumerate(self.transforms):
            if i in state and hasattr(t, "load_state_dict"):
                t.load_state_dict(state[i])


def train_model(
    task: str,
    model: str | None = None,
    *,
    epochs: int | None = None,
    n_train: int | None = None,
    seed: int = 0,
    device: str = "auto",
    out=None,
    lr: float | None = None,
    batch_size: int | None = None,
    cooldown: int | None = None,
    negatives: float | None = None,
    progress: bool = True,
    data: dict | None = None,
    resume=None,
    fit_options: dict | None = None,
    **model_config,
):
    """Build `model` (a name from mmcourse.models.MODELS), train it on `task`, and test it.

    model: default DEFAULT_MODEL[task] (lesson 08's "matcher" on shapes). Unset options
    take settings_for(task, model). `data` (a load_task result) skips regenerating the
    data when several models are trained on the same task. With `out` (a folder), the
    best model so far is checkpointed to out/model.pt after every epoch (atomically: a
    killed run leaves the last good file) and out/metrics.json is written at the end;
    negatives: the rate of AttributeNegatives (shapes only; 0 = none; default: per model);
    `resume` (a model.pt of a run stopped early) continues that run. fit_options: more
    keyword arguments for mmcourse.train.fit (amp, compile, patience, train_transform, ...).
    Returns (the trained model, metrics: task, model, test_accuracy, test_loss,
    val_accuracy, train_loss, seconds, device, epochs, n_train, seed, lr, batch_size, history).
    """
    import torch

    from .checkpoint import build_by_name
    from .data import TensorBatches, to_tensors
    from .env import pick_device
    from .train import History, evaluate, fit

    _check_task(task)
    model = model or DEFAULT_MODEL[task]
    _expect_model(model)
    defaults = settings_for(task, model)
    if negatives is not None:
        if isinstance(negatives, bool) or not isinstance(negatives, (int, float)) or not 0 <= negatives <= 1:
            raise ValueError(f"negatives must be a rate in [0, 1], but got {negatives!r}.")
        if negatives and task != "shapes":
            raise ValueError(
                f"negatives (changed colour or shape words) are for the shapes task only, not {task!r}: only there "
                "is a caption with one attribute word changed guaranteed to be false."
            )
        defaults["negatives"] = negatives
    epochs = defaults["epochs"] if epochs is None else epochs
    lr = defaults["lr"] if lr is None else lr
    batch_size = defaults["batch_size"] if batch_size is None else batch_size
    cooldown = defaults["cooldown"] if cooldown is None else cooldown
    n_train = defaults["n_train"] if n_train is None else n_train
    options = {**defaults["fit"], **(fit_options or {})}
    start = time.perf_counter()
    data = data or load_task(task, n_train, seed)
    options["train_transform"] = training_transform(
        defaults, data["vocab"], seed, options.get("train_transform")
    )
    device = pick_device(device) if not isinstance(device, torch.device) else device
    tensors = {part: to_tensors(data[part], data["vocab"], device) for part in ("train", "val", "test")}
    train = TensorBatches(*tensors["train"], batch_size=batch_size, shuffle=True, seed=seed)
    val = TensorBatches(*tensors["val"], batch_size=500, shuffle=False)
    test = TensorBatches(*tensors["test"], batch_size=500, shuffle=False)
    torch.manual_seed(seed)
    net = build_by_name(model, **{**data["model_config"], **defaults.get("model", {}), **model_config})
    checkpoint = None
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        checkpoint = out / "model.pt"
    extra = {"vocab": data["vocab"], "task": task, "seed": seed}
    history = fit(
        net, train, val, epochs=epochs, lr=lr, device=device, seed=seed, progress=progress,
        checkpoint=checkpoint, checkpoint_extra=extra, resume=resume, **options,
    )  # fmt: skip
    if cooldown:  # a few last epochs at a tenth of the learning rate: the weights settle instead of jittering
        settled = fit(
            net, train, val, epochs=cooldown, lr=lr / 10, device=device, seed=seed + 1, progress=progress
        )
        history = History(
            {key: history[key] + settled[key] for key in history}, history.seconds + settled.seconds
        )
    result = evaluate(net, test)
    metrics = {
        "task": task,
        "model": model,
        "test_accuracy": result["accuracy"],
        "test_loss": result["loss"],
        "val_accuracy": history["val_accuracy"][-1] if history["val_accuracy"] else None,
        "train_loss": history["train_loss"][-1] if history["train_loss"] else None,
        "seconds": round(time.perf_counter() - start, 2),
        "device": device.type,
        "epochs": epochs,
        "n_train": len(data["train"]),
        "seed": seed,
        "lr": lr,
        "batch_size": batch_size,
        "cooldown": cooldown,
        "negatives": defaults.get("negatives", 0),
        "history": history.to_dict(),
    }
    if out is not None:  # the final model (the best epoch's, with restore_best) and its test metrics
        from .checkpoint import read_checkpoint, save_checkpoint

        summary = {
            k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        training = read_checkpoint(checkpoint).get("training")  # keep what --resume needs
        save_checkpoint(checkpoint, net, metrics=summary, training=training, **extra)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return net, metrics


def load_checkpoint(path, device="cpu"):
    """(model in eval mode, Vocab, checkpoint dict) from a model.pt written by train_model / `mmcourse train`.

    The same function as mmcourse.checkpoint.load_checkpoint (weights_only=True; a corrupt
    or foreign file raises CheckpointError and builds nothing).
    """
    from .checkpoint import load_checkpoint as load

    return load(path, device)


# --- the command ------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, but got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, but got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, but got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, but got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, but got {text!r}") from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, but got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, but got {text!r}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], but got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], but got {text!r}")
    return value


def _one_line_error(parser: argparse.ArgumentParser):
    def error(message: str):
        parser.exit(2, f"{parser.prog}: error: {message}\n")

    return error


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of `mmcourse train` to `parser` (errors become one line, exit code 2)."""
    parser.error = _one_line_error(parser)
    parser.add_argument(
        "--task",
        default="digits-arithmetic",
        metavar="TASK",
        help=f"the data set: {', '.join(TASKS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--model",
        default=None,
        metavar="NAME",
        help="the model: matcher (lesson 08's CNN+LSTM matcher) or a name from mmcourse.models.MODELS: "
        "image-only, text-only, early, late, product, film, attention, gated; add -bow for a "
        "bag-of-words text encoder (e.g. early-bow) (default: matcher for shapes, early for the digit tasks)",
    )
    parser.add_argument(
        "--epochs", type=_positive_int, default=None, help="passes over the training set (default: per task)"
    )
    parser.add_argument(
        "--n-train", type=_positive_int, default=None, help="number of training pairs (default: per task)"
    )
    parser.add_argument(
        "--seed", type=_int, default=0, help="seed of the data, the weights and the shuffling (default: 0)"
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA, then Apple MPS, then CPU), cpu, cuda or mps (default: auto)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for model.pt and metrics.json (default: runs/TASK-MODEL-seedS)",
    )
    parser.add_argument(
        "--lr", type=_positive_float, default=None, help="Adam's learning rate (default: per task)"
    )
    parser.add_argument(
        "--batch-size", type=_positive_int, default=None, help="pairs per mini-batch (default: per task)"
    )
    parser.add_argument(
        "--cooldown",
        type=_non_negative_int,
        default=None,
        help="extra epochs at a tenth of the learning rate after --epochs (default: per task)",
    )
    parser.add_argument(
        "--patience",
        type=_positive_int,
        default=None,
        help="stop after this many epochs without a better validation accuracy (default: never)",
    )
    parser.add_argument(
        "--clip-grad", type=_positive_float, default=None, help="clip the gradient norm (default: per model)"
    )
    parser.add_argument(
        "--amp",
        choices=("auto", "on", "off"),
        default="auto",
        help="bf16 mixed precision: auto = on a CUDA GPU that supports it (default: auto)",
    )
    parser.add_argument(
        "--negatives",
        type=_rate,
        default=None,
        metavar="RATE",
        help="shapes only: make new mismatches from this share of each batch's matching pairs by changing "
        "one colour or shape word (0 = none; default: per model, 0.5 for the matcher)",
    )
    parser.add_argument("--compile", action="store_true", help="train through torch.compile")
    parser.add_argument(
        "--resume", type=Path, default=None, help="continue the run saved in this model.pt (same options)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _fit_options(args) -> dict:
    options = {"amp": {"auto": "auto", "on": True, "off": False}[args.amp], "compile": args.compile}
    if args.patience is not None:
        options["patience"] = args.patience
    if args.clip_grad is not None:
        options["clip_grad"] = args.clip_grad
    return options


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmcourse train",
        description="Train a fusion model on a course task; write model.pt and metrics.json; "
        "print the test metrics as one JSON line.",
    )
    return add_arguments(parser)


def run(args) -> int:
    """Run `mmcourse train` with parsed `args`; returns the exit code."""
    from .env import pick_device

    prog = "mmcourse train"
    try:
        _check_task(args.task)
        if args.device not in DEVICES:
            raise UsageError(f"unknown device {args.device!r}; valid devices: {', '.join(DEVICES)}.")
        try:
            model = args.model or DEFAULT_MODEL[args.task]
            _expect_model(model)
            if args.negatives and args.task != "shapes":
                raise ValueError(f"--negatives is for the shapes task only, not {args.task!r}.")
            device = pick_device(args.device)
        except ValueError as error:
            raise UsageError(str(error)) from None
    except UsageError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    out = args.out or Path("runs") / f"{args.task}-{model}-seed{args.seed}"
    _, metrics = train_model(
        args.task,
        model,
        epochs=args.epochs,
        n_train=args.n_train,
        seed=args.seed,
        device=device,
        out=out,
        lr=args.lr,
        batch_size=args.batch_size,
        cooldown=args.cooldown,
        negatives=args.negatives,
        progress=not args.no_progress,
        resume=args.resume,
        fit_options=_fit_options(args),
    )
    summary = {k: v for k, v in metrics.items() if k != "history"}
    print(f"wrote {out / 'model.pt'} and {out / 'metrics.json'}", file=sys.stderr)
    print(json.dumps(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(make_parser().parse_args(argv))
