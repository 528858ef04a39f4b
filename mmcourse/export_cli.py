"""`mmcourse export`: a checkpoint as a file for a runtime without the course's code.

    mmcourse export runs/shapes-matcher-seed0/model.pt --to executorch --int8 --out model-int8.pte
    wrote model-int8.pte (212 KiB, ExecuTorch, int8) and model-int8.pte.json; ...

--to exported    torch.export's ExportedProgram (.pt2), run by PyTorch without the model's classes
--to onnx        ONNX (.onnx) from the dynamo exporter, run by onnxruntime      (extra: export)
--to executorch  an ExecuTorch program (.pte) lowered to XNNPACK, for phones   (extra: mobile)
--int8           (executorch only) int8 post-training quantisation, calibrated on training pairs

The vocabulary, task and image size go beside the file as FILE.json (mmcourse.deployed),
so that `mmcourse predict FILE` can prepare its inputs. Every problem -- a missing
checkpoint, a model that cannot be exported, a runtime that is not installed -- is one
line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["FORMATS", "add_arguments", "run", "main"]

FORMATS = {"exported": ".pt2", "onnx": ".onnx", "executorch": ".pte"}
"""--to -> the extension the output file must have."""


class ExportError(ValueError):
    """A problem `mmcourse export` reports as one line."""


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `mmcourse export` (errors become one line, exit code 2)."""
    parser.error = lambda message: parser.exit(2, f"{parser.prog}: error: {message}\n")
    parser.add_argument("checkpoint", type=Path, help="model.pt written by `mmcourse train`")
    parser.add_argument("--to", required=True, choices=list(FORMATS), help="the format to write")
    parser.add_argument("--int8", action="store_true", help="quantise to int8 (with --to executorch)")
    parser.add_argument("--out", type=Path, required=True, help="the file to write (.pt2, .onnx or .pte)")
    parser.add_argument(
        "--calibration", type=int, default=256, help="training pairs that calibrate --int8 (default 256)"
    )
    return parser


def _check_options(args) -> None:
    suffix = FORMATS[args.to]
    if args.out.suffix != suffix:
        raise ExportError(f"--out must end in {suffix} for --to {args.to}, but is {args.out}.")
    if args.int8 and args.to != "executorch":
        raise ExportError(
            f"--int8 needs --to executorch (int8 programs are ExecuTorch .pte files), not --to {args.to}."
        )
    if args.calibration < 1:
        raise ExportError(f"--calibration must be a positive number of pairs, but is {args.calibration}.")


def _load(path: Path):
    from .checkpoint import load_checkpoint
    from .export import ExportableClassifier

    if not path.is_file():
        raise ExportError(f"no checkpoint at {path}; train one with `mmcourse train`.")
    try:
        model, vocab, checkpoint = load_checkpoint(path, device="cpu")
        ExportableClassifier(model)  # TypeError for a model that is not a pair classifier
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ExportError(f"cannot export {path}: {reason}") from None
    return model, vocab, checkpoint


def _training_pairs(checkpoint, vocab, n: int):
    """(images, tokens, lengths) of n training pairs of the checkpoint's task, encoded with its vocabulary."""
    import torch

    from .tasks import TASKS, load_task

    task = checkpoint.get("task")
    if task not in TASKS:
        raise ExportError("--int8 calibrates on the training data of the checkpoint's task, "
                          f"but this checkpoint names no course task (task={task!r}).")  # fmt: skip
    seed = checkpoint.get("seed", 0)
    train = load_task(task, n_train=max(n, 64), seed=int(seed))["train"]
    tokens, lengths = vocab.encode(list(train.captions[:n]))
    return torch.as_tensor(train.images[:n]), torch.as_tensor(tokens), torch.as_tensor(lengths)


def _example(model, checkpoint, vocab):
    """Two pairs of the right shapes (the values do not matter to the exported graph)."""
    import torch

    from .inference import expected_image_size

    size = expected_image_size(checkpoint) or 16
    channels = int(model.config.get("in_channels", 3))
    tokens = torch.full((2, 1), 1, dtype=torch.long)  # one <unk> word each
    return torch.zeros(2, channels, size, size), tokens, torch.ones(2, dtype=torch.long)


def export_checkpoint(args) -> str:
    """Do what `mmcourse export` was asked; returns the line it prints."""
    from . import export
    from .deployed import write_metadata
    from .inference import expected_image_size

    _check_options(args)
    model, vocab, checkpoint = _load(args.checkpoint)
    example = export.example_inputs(model, *_example(model, checkpoint, vocab))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.to == "exported":
        export.export_program(model, args.out, example)
    elif args.to == "onnx":
        export.export_onnx(model, args.out, example)
    else:
        from . import mobile

        export.require("executorch", "--to executorch")
        one = tuple(t[:1] for t in example)
        if args.int8:
            calibration = export.example_inputs(model, *_training_pairs(checkpoint, vocab, args.calibration))
            model = mobile.quantize_int8(model, example, calibration)
        mobile.export_executorch(model, args.out, one)
    write_metadata(
        args.out, vocab=vocab, task=checkpoint.get("task"), image_size=expected_image_size(checkpoint),
        in_channels=example[0].shape[1], caption_width=example[1].shape[1], int8=args.int8, source=args.checkpoint,
    )  # fmt: skip
    kind = {"exported": "ExportedProgram", "onnx": "ONNX", "executorch": "ExecuTorch"}[args.to]
    size = args.out.stat().st_size / 1024
    return (
        f"wrote {args.out} ({size:.0f} KiB, {kind}{', int8' if args.int8 else ''}) and {args.out.name}.json"
    )


def run(args) -> int:
    """Run `mmcourse export` with parsed `args`; returns the exit code."""
    try:
        print(export_checkpoint(args))
    except (ExportError, ImportError) as error:
        print(f"mmcourse export: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # an exporter's own failure: one line, never a traceback
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"mmcourse export: error: exporting failed: {type(error).__name__}: {reason}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mmcourse export", description="Export a trained model for a runtime without the course's code."
    )
    return run(add_arguments(parser).parse_args(argv))
