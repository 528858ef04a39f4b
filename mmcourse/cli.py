"""The `mmcourse` command.

mmcourse doctor                 environment report; exits 1 with fixes if something is missing
mmcourse exercises build        write exercises/ from solutions/ (never over a learner's edits)
mmcourse exercises check        exit 1 if exercises/ is out of date with solutions/
mmcourse exercises refresh      re-execute solutions/ in place, storing their outputs
mmcourse exercises list         every exercise id with its lesson
mmcourse train                  train a fusion model on a course task (see mmcourse train --help)
mmcourse predict                run a trained model on one PNG and one caption (see mmcourse predict --help)
mmcourse export                 write a checkpoint as .pt2 / .onnx / .pte (ExecuTorch, --int8) for other runtimes
mmcourse caption                describe one PNG in a requested role with lesson 12's captioner
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _exercises_build(args) -> int:
    from . import exercises

    plans = exercises.build(exercises.find_root(args.root), force=args.force)
    unchanged = sum(p.action == "unchanged" for p in plans)
    print(
        f"{len(plans)} exercise notebook(s): {len(plans) - unchanged} written, {unchanged} already up to date."
    )
    return 0


def _exercises_check(args) -> int:
    from . import exercises

    problems = exercises.check(exercises.find_root(args.root))
    for problem in problems:
        print(f"✗ {problem}")
    if not problems:
        print("✓ exercises/ is in sync with solutions/.")
    return 1 if problems else 0


def _exercises_refresh(args) -> int:
    from . import exercises
    from .refresh import refresh_solutions

    root = exercises.find_root(args.root)
    refresh_solutions(root, names=args.notebooks)
    exercises.build(root)
    return 0


def _exercises_list(args) -> int:
    from .checks import list_exercises

    for entry in list_exercises():
        print(f"{entry.lesson:<32} {entry.id:<24} {entry.description}")
    return 0


def _train(args) -> int:
    from .train_cli import run

    return run(args)


def _predict(args) -> int:
    from .predict_cli import run

    return run(args)


def _export(args) -> int:
    from .export_cli import run

    return run(args)


def _caption(args) -> int:
    from .caption_cli import run

    return run(args)


def _doctor(args) -> int:
    from .env import doctor

    return doctor()


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmcourse", description="Tools for the mmcourse multimodal deep learning course."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = commands.add_parser(
        "doctor", help="check that the course can run here, and say how to fix it if not"
    )
    doctor.set_defaults(run=_doctor)

    from .train_cli import add_arguments  # argparse only: torch is imported when training starts

    train = commands.add_parser(
        "train",
        help="train a fusion model on a course task; write model.pt and metrics.json",
        description="Train a fusion model on a course task; write model.pt and metrics.json; "
        "print the test metrics as one JSON line.",
    )
    add_arguments(train)
    train.set_defaults(run=_train)

    from .predict_cli import add_arguments as add_predict_arguments  # argparse only: torch loads on use

    predict = commands.add_parser(
        "predict",
        help="run a trained model on one PNG image and one caption",
        description="Run a trained model on one PNG image and one caption; print the match probability.",
    )
    add_predict_arguments(predict)
    predict.set_defaults(run=_predict)

    from .export_cli import add_arguments as add_export_arguments  # argparse only: torch loads on use

    exporter = commands.add_parser(
        "export",
        help="export a trained model to torch.export (.pt2), ONNX (.onnx) or ExecuTorch (.pte, --int8)",
        description="Export a trained model for a runtime without the course's code: --to exported (.pt2), "
        "onnx (.onnx) or executorch (.pte, optionally --int8); the vocabulary goes beside it as FILE.json.",
    )
    add_export_arguments(exporter)
    exporter.set_defaults(run=_export)

    from .caption_cli import add_arguments as add_caption_arguments  # argparse only: torch loads on use

    caption = commands.add_parser(
        "caption",
        help="describe one PNG scene in a requested role (lesson 12's captioner)",
        description="Describe one PNG scene in a requested role with a model from `mmcourse train --task captions`; "
        "print the caption (or --sample N captions, one per line).",
    )
    add_caption_arguments(caption)
    caption.set_defaults(run=_caption)

    ex = commands.add_parser("exercises", help="generate and check the exercise notebooks")
    ex_commands = ex.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = ex_commands.add_parser("build", help="write exercises/ from solutions/")
    build.add_argument(
        "--force", action="store_true", help="overwrite edited notebooks, after a timestamped backup"
    )
    build.set_defaults(run=_exercises_build)
    check = ex_commands.add_parser("check", help="exit 1 if exercises/ is out of date with solutions/")
    check.set_defaults(run=_exercises_check)
    refresh = ex_commands.add_parser("refresh", help="re-execute solutions/ in place and rebuild exercises/")
    refresh.add_argument("notebooks", nargs="*", help="solution notebook names (default: all)")
    refresh.set_defaults(run=_exercises_refresh)
    listing = ex_commands.add_parser("list", help="list every exercise id and its lesson")
    listing.set_defaults(run=_exercises_list)
    for sub in (build, check, refresh):
        sub.add_argument(
            "--root", type=Path, default=None, help="the course folder (default: found from here)"
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.run(args)
    except Exception as error:
        # only the exercise commands import mmcourse.exercises (nbformat and its validator take
        # 1.5 s to import, which `mmcourse train` would pay for nothing), so only they can raise this
        exercises = sys.modules.get("mmcourse.exercises")
        if exercises is not None and isinstance(error, exercises.ExerciseBuildError):
            print(f"mmcourse: {error}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
