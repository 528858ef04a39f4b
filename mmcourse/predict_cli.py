"""`mmcourse predict`: the command line over mmcourse.inference.predict.

    mmcourse predict runs/shapes-matcher-seed0/model.pt --image scene.png \\
        --caption "a red circle is left of a blue square"
    match probability: 0.9731
    mmcourse predict model-int8.pte --image scene.png --caption "..."     # an exported model, by its runtime

For a shapes model it prints the match probability; for a digit task, the predicted
class and its probability. The last line is always one JSON object. Bad input (see
mmcourse.inference) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .inference import PredictError, predict

__all__ = ["add_arguments", "run", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `mmcourse predict` (errors become one line, exit code 2)."""

    parser.error = lambda message: parser.exit(2, f"{parser.prog}: error: {message}\n")
    parser.add_argument(
        "checkpoint", type=Path,
        help="model.pt written by `mmcourse train`, or a .pt2 / .onnx / .pte written by `mmcourse export`",
    )  # fmt: skip
    parser.add_argument(
        "--image", type=Path, required=True, help="a PNG of the size the model was trained on"
    )
    parser.add_argument(
        "--caption", required=True, help='the caption, e.g. "a red circle is left of a blue square"'
    )
    return parser


def run(args) -> int:
    """Run `mmcourse predict` with parsed `args`; returns the exit code."""
    try:
        result = predict(args.checkpoint, args.image, args.caption)
    except PredictError as error:
        print(f"mmcourse predict: error: {error}", file=sys.stderr)
        return 2
    if result["task"] in ("shapes", "shapes-contrastive"):
        print(f"match probability: {result['probabilities']['match']:.4f}")
    else:
        print(f"predicted class: {result['prediction']} (probability {result['probability']:.4f})")
    print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mmcourse predict", description="Run a trained model on one PNG image and one caption."
    )
    return run(add_arguments(parser).parse_args(argv))
