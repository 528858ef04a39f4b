"""Trained models the course ships, so that a later lesson can use what an earlier one trains.

    model, vocab, checkpoint = load_asset("shapes-matcher")    # lesson 08's matcher, in eval mode
    python -m mmcourse.assets rebuild shapes-matcher          # a maintainer makes the file again
    python -m mmcourse.assets from-run captioner runs/captions-captioner-seed0   # ... or ships a finished run

Lesson 12 needs lesson 08's matcher as a judge and a fully trained captioner to fine-tune, and
lesson 10 a transformer trained on shapes until it passes the bag-of-words ceiling (and lessons 09
and 10 the matcher too), but training them again in each lesson would cost from 20 s (the matcher,
on 2 CPU cores) to about five minutes (the transformer), against a budget of 90 s per lesson.
So the course ships the files that its own commands write (`mmcourse train --task shapes`,
`--task shapes --model transformer`, `--task captions`, each with its preset), made by
`rebuild_asset`; they keep the run's learning curves (metrics["history"]). They are
ordinary mmcourse checkpoints (mmcourse.checkpoint): plain data, read with
`weights_only=True`, holding the weights, the config, the vocabulary and the test metrics
of the run that made them -- and nothing of the optimiser, so they are small.

Nothing is downloaded: the files lie inside the installed package. A test
(tests/test_assets.py) loads each one and checks it still fits the code and still does what
its metrics say, so a change to a model that breaks an asset fails CI instead of a lesson.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Asset", "ASSETS", "asset_path", "load_asset", "asset_from_run", "rebuild_asset"]

FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Asset:
    """One shipped checkpoint: its file (in this folder) and the training run that makes it."""

    file: str
    task: str
    model: str
    description: str

    @property
    def command(self) -> str:
        """The course command whose run the file holds."""
        return f"mmcourse train --task {self.task} --model {self.model}"


ASSETS = {
    "shapes-matcher": Asset(
        "shapes_matcher.pt", "shapes", "matcher", "lesson 08's CNN+LSTM matcher on shapes"
    ),
    "captioner": Asset("captioner.pt", "captions", "captioner", "lesson 12's role captioner, fully trained"),
    "shapes-transformer": Asset(
        "shapes_transformer.pt",
        "shapes",
        "transformer",
        "lesson 10's single-stream transformer on shapes, on the matcher's frozen CNN",
    ),
}


def _expect_asset(name) -> Asset:
    if name not in ASSETS:
        raise ValueError(f"name must be one of the shipped assets ({', '.join(ASSETS)}), but got {name!r}.")
    return ASSETS[name]


def asset_path(name: str) -> Path:
    """The path of the shipped checkpoint `name` (one of ASSETS)."""
    return FOLDER / _expect_asset(name).file


def load_asset(name: str, device="cpu"):
    """(model in eval mode on `device`, Vocab, checkpoint dict) of the shipped checkpoint `name`.

    checkpoint["metrics"] holds the test metrics of the run that made it, and
    checkpoint["command"] the command that makes it again.
    """
    from ..checkpoint import load_checkpoint

    path = asset_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"the asset {name!r} is missing from {path}: run python -m mmcourse.assets "
                                f"rebuild {name}")  # fmt: skip
    return load_checkpoint(path, device)


def asset_from_run(name: str, run, out=None) -> Path:
    """Write the asset `name` from a finished run's folder (`run`/model.pt and `run`/metrics.json, as
    `mmcourse train --out run` leaves them) to `out` (default: the shipped file); returns the path.

    Keeps everything the run's checkpoint holds (weights, config, vocabulary, task, seed,
    image size) but its optimiser state, with the run's plain metrics (numbers and strings:
    the resolved config and the test results) and its learning curves (metrics["history"]:
    lists of numbers per epoch); refuses a run of another task or model.
    """
    import json

    from ..checkpoint import read_checkpoint, save_checkpoint

    asset, run = _expect_asset(name), Path(run)
    metrics = json.loads((run / "metrics.json").read_text())
    if (metrics.get("task"), metrics.get("model")) != (asset.task, asset.model):
        raise ValueError(f"run must be a run of {asset.command!r} for the asset {name!r}, but {str(run)!r} holds "
                         f"task={metrics.get('task')!r}, model={metrics.get('model')!r}.")  # fmt: skip
    trained = read_checkpoint(run / "model.pt")
    kept = {k: v for k, v in trained.items() if k not in ("format", "version", "training", "metrics")}
    plain = {k: v for k, v in metrics.items() if isinstance(v, (bool, int, float, str)) or v is None}
    if isinstance(metrics.get("history"), dict):  # the learning curves: History.to_dict, plain numbers
        plain["history"] = metrics["history"]
    target = Path(out) if out is not None else asset_path(name)
    return save_checkpoint(target, metrics=plain, command=asset.command, **kept)


def rebuild_asset(name: str, device="auto", out=None) -> Path:
    """Train `name`'s run with its task's preset (as its command does) and write the asset from it
    (asset_from_run) to `out` (default: the shipped file), atomically; returns the path."""
    from ..tasks import train_model

    asset = _expect_asset(name)
    with tempfile.TemporaryDirectory() as folder:
        train_model(asset.task, asset.model, device=device, out=folder, progress=False)
        return asset_from_run(name, folder, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mmcourse.assets", description="The course's shipped checkpoints."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="each asset, its file and the command that makes it")
    rebuild = commands.add_parser("rebuild", help="train an asset's run again and write its file")
    rebuild.add_argument("name", help=", ".join(ASSETS))
    rebuild.add_argument("--device", default="auto")
    rebuild.add_argument("--out", default=None, help="where to write it (default: the shipped file)")
    from_run = commands.add_parser("from-run", help="write an asset from a finished run's folder")
    from_run.add_argument("name", help=", ".join(ASSETS))
    from_run.add_argument("run", help="the folder of `mmcourse train --out RUN` (model.pt, metrics.json)")
    from_run.add_argument("--out", default=None, help="where to write it (default: the shipped file)")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, asset in ASSETS.items():
            print(f"{name:<15} {asset.file:<18} {asset.command}   ({asset.description})")
        return 0
    if args.name not in ASSETS:
        print(f"error: unknown asset {args.name!r}; the assets are: {', '.join(ASSETS)}", file=sys.stderr)
        return 2
    try:
        if args.command == "from-run":
            print(asset_from_run(args.name, args.run, args.out))
        else:
            print(rebuild_asset(args.name, args.device, args.out))
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
