"""`mmcourse train`: the command line over mmcourse.tasks.train_model.

    mmcourse train --task shapes               # lesson 08's matcher, with settings that reach >= 98 %
    mmcourse train --task digits-arithmetic --model early --epochs 5
    mmcourse train --task shapes --resume runs/shapes-matcher-seed0/model.pt   # continue a stopped run
    mmcourse train --task shapes-contrastive --negatives 1   # lesson 11's dual encoder, NegCLIP's hard negatives

The options become one TrainConfig (the task's preset with the options given on top);
train_model writes DIR/model.pt and DIR/metrics.json; the LAST line printed is one JSON
object with the whole config and the test metrics. A bad option is one line, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .tasks import TASKS
from .validation import expect_number, number_rule

__all__ = ["add_arguments", "make_parser", "run", "main"]

DEVICES = ("auto", "cpu", "cuda", "mps")


def number(kind: str, low=None, high=None, low_open: bool = False):
    """An argparse type: the text as a number that follows the rule, else the rule in one line."""

    def parse(text: str):
        try:
            value = int(text) if kind == "int" else float(text)
            return expect_number("value", value, kind, low, high, low_open=low_open)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {number_rule(kind, low, high, low_open=low_open)}, "
                                             f"but got {text!r}") from None  # fmt: skip

    return parse


OPTIONS = [  # flag, type, help; every default is None: "the preset's value"
    ("--epochs", number("int", 1), "passes over the training set"),
    ("--n-train", number("int", 1), "number of training pairs"),
    ("--lr", number("float", 0, low_open=True), "Adam's learning rate"),
    ("--batch-size", number("int", 1), "pairs per mini-batch"),
    ("--cooldown", number("int", 0), "extra epochs at a tenth of the learning rate after --epochs"),
    ("--patience", number("int", 1), "stop after this many epochs without a better validation accuracy"),
    ("--clip-grad", number("float", 0, low_open=True), "clip the gradients' global norm to this value"),
    ("--negatives", number("float", 0, 1), "shapes: make new mismatches from this share of each batch's "
     "matching pairs by changing one colour or shape word; shapes-contrastive: give this share of each batch's "
     "images a word-order twin as a hard negative, NegCLIP (0 = none)"),
]  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of `mmcourse train` to `parser` (errors become one line, exit code 2)."""
    parser.error = lambda message: parser.exit(2, f"{parser.prog}: error: {message}\n")
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
        help="matcher (lesson 08's CNN+LSTM matcher), transformer (lesson 10), clip (lesson 11's dual "
        "encoder) or a fusion model of lesson 07: image-only, text-only, early, late, product, film, "
        "attention, gated; add -bow for a bag-of-words text encoder (default: matcher for shapes, clip "
        "for shapes-contrastive, early for the digit tasks)",
    )
    parser.add_argument(
        "--seed",
        type=number("int"),
        default=0,
        help="seed of the data, the weights and the shuffling (default: 0)",
    )
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA, then Apple MPS, then CPU), cpu, cuda or mps"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for model.pt and metrics.json (default: runs/TASK-MODEL-seedS)",
    )
    for flag, kind, text in OPTIONS:
        parser.add_argument(flag, type=kind, default=None, help=f"{text} (default: the preset's)")
    parser.add_argument(
        "--amp",
        choices=("auto", "on", "off"),
        default="auto",
        help="bf16 mixed precision: auto = on a CUDA GPU that supports it (default: auto)",
    )
    parser.add_argument(
        "--channels-last",
        choices=("auto", "on", "off"),
        default=None,
        help="the CNN's memory layout: auto = channels-last on a CUDA GPU; on is faster on CPUs too "
        "(default: the preset's -- on for lesson 08's matcher, auto for the others)",
    )
    parser.add_argument("--compile", action="store_true", help="train through torch.compile")
    parser.add_argument("--resume", type=Path, default=None, help="continue the run saved in this model.pt")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser  # fmt: skip


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmcourse train", description="Train a model on a course task; write "
                                     "model.pt and metrics.json; print the test metrics as one JSON line.")  # fmt: skip
    return add_arguments(parser)


def run(args) -> int:
    """Run `mmcourse train` with parsed `args`; returns the exit code."""
    from .env import pick_device
    from .tasks import resolve_config, train_model  # torch loads here, not for --help

    overrides = {
        flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_")) for flag, _, _ in OPTIONS
    }
    switch = {"auto": "auto", "on": True, "off": False, None: None}
    overrides["amp"], overrides["channels_last"] = switch[args.amp], switch[args.channels_last]
    try:
        if args.device not in DEVICES:
            raise ValueError(f"unknown device {args.device!r}; valid devices: {', '.join(DEVICES)}.")
        config = resolve_config(args.task, args.model, seed=args.seed, compile=args.compile, **overrides)
        device = pick_device(args.device)
    except (TypeError, ValueError) as error:
        print(f"mmcourse train: error: {error}", file=sys.stderr)
        return 2
    out = args.out or Path("runs") / f"{config.task}-{config.model}-seed{config.seed}"
    _, metrics = train_model(
        config, device=device, out=out, progress=not args.no_progress, resume=args.resume
    )
    print(f"wrote {out / 'model.pt'} and {out / 'metrics.json'}", file=sys.stderr)
    print(json.dumps({k: v for k, v in metrics.items() if k != "history"}))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(make_parser().parse_args(argv))
