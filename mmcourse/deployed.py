"""Exported models, ready to be asked: which runtime runs which file, and what travels beside it.

    run = load_runner("model.pte")                  # .pt2 -> torch.export, .onnx -> onnxruntime, .pte -> ExecuTorch
    logits = run(images, tokens, lengths)           # NumPy (B, n_classes); captions padded to the file's width
    info = read_metadata("model.pte")               # the vocabulary, task, image size, caption width, int8 or not

An exported file holds the computation, not the course's preprocessing: the words of
the vocabulary, the image size, the caption width. `mmcourse export` writes them beside
the model, as FILE.json (e.g. model.pte.json), so that `mmcourse predict model.pte`
prepares its inputs exactly as training did.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

__all__ = ["RUNTIMES", "metadata_path", "write_metadata", "read_metadata", "load_runner"]

RUNTIMES = {".pt2": "torch.export", ".onnx": "onnxruntime", ".pte": "executorch"}
"""File extension -> the runtime that runs it."""
FORMAT = "mmcourse-export"


def metadata_path(path) -> Path:
    """Where the metadata of the exported file `path` lives: the same name + ".json"."""
    return Path(f"{path}.json")


def write_metadata(
    path, *, vocab, task, image_size, in_channels, caption_width, int8=False, source=None
) -> Path:
    """Write the metadata of the exported file `path` (see the module docstring); returns its path."""
    info = {
        "format": FORMAT,
        "runtime": RUNTIMES[Path(path).suffix],
        "int8": bool(int8),
        "task": task,
        "image_size": image_size,
        "in_channels": int(in_channels),
        "caption_width": int(caption_width),
        "vocab": list(getattr(vocab, "itos", vocab)),
        "source": None if source is None else str(source),
    }
    target = metadata_path(path)
    target.write_text(json.dumps(info, indent=1) + "\n")
    return target


def read_metadata(path) -> dict:
    """The metadata written beside the exported file `path`; ValueError naming the problem if it is missing or foreign."""
    target = metadata_path(path)
    if not target.is_file():
        raise ValueError(f"{target.name} is missing beside {Path(path).name}: export the model with `mmcourse export`, "
                         "which writes the vocabulary and image size there.")  # fmt: skip
    try:
        info = json.loads(target.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{target} is not valid JSON: {error}.") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ValueError(f"{target} was not written by `mmcourse export` (no format {FORMAT!r}).")
    return info


def load_runner(path):
    """A function (images, tokens, lengths) -> logits (B, n_classes) NumPy, for the exported file at `path`.

    The runtime is chosen by the extension (RUNTIMES). Raises ValueError for another
    extension, FileNotFoundError for a missing file, ImportError (naming the extra) for a
    runtime that is not installed.
    """
    path = Path(path)
    if path.suffix not in RUNTIMES:
        raise ValueError(f"cannot run {path.name}: the exported formats are {', '.join(RUNTIMES)}.")
    if not path.is_file():
        raise FileNotFoundError(f"no exported model at {path}.")
    if path.suffix == ".pt2":
        from .export import load_program

        module = load_program(path).module()

        def run(images, tokens, lengths):
            with torch.no_grad():
                return module(images, tokens, lengths).numpy()

        return run
    if path.suffix == ".onnx":
        from .export import load_onnx, run_onnx

        session = load_onnx(path, threads=1)
        return lambda images, tokens, lengths: np.asarray(run_onnx(session, images, tokens, lengths))
    from .mobile import load_executorch, run_executorch

    method = load_executorch(path)
    return lambda images, tokens, lengths: run_executorch(method, images, tokens, lengths)
