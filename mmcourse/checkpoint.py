"""Checkpoints (lesson 08): save a trained model so that nothing is lost, load it so that nothing runs.

    save_checkpoint(path, model, vocab=vocab, metrics={"val_accuracy": 0.99})
    model, vocab, checkpoint = load_checkpoint(path)       # model in eval mode, on the CPU

A checkpoint is ONE file holding plain data only -- tensors, numbers, strings, lists and
dicts -- so `torch.load(..., weights_only=True)` can read it without running any code
from the file (a pickled object could run anything when loaded). It holds:

- `format`: the string "mmcourse-checkpoint" and `version`: 1 -- what a foreign file lacks;
- `state_dict`: the weights, on the CPU;
- `config`: `model.config`, everything `mmcourse.models.build_model` needs to rebuild it;
- `vocab`: the vocabulary's word list (token id = position);
- `metrics`: e.g. the validation accuracy that made this the best epoch;
- `training` (optional): what `fit` needs to RESUME -- optimiser and scheduler state,
  the epoch reached, the history so far, the random generator states.

Saving is atomic: the bytes go to a temporary file in the same folder, which then
replaces the target with `os.replace` (a single rename). A crash or Ctrl-C mid-save
leaves the previous checkpoint intact, never half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

__all__ = [
    "CheckpointError",
    "FORMAT",
    "build_by_name",
    "save_checkpoint",
    "read_checkpoint",
    "load_checkpoint",
]

FORMAT, VERSION = "mmcourse-checkpoint", 1


class CheckpointError(ValueError):
    """A file that is not a readable mmcourse checkpoint (corrupt, truncated or foreign)."""


def build_by_name(name: str, **config):
    """A model from its config: any name of the model zoo (mmcourse.models.MODELS), or lesson 12's "captioner"."""
    if name == "captioner":  # lesson 12's generator is not a pair classifier, so not in the zoo
        from .models.captioner import build_captioner

        return build_captioner(name, **config)
    from .models.zoo import build_model

    return build_model(name, **config)


def save_checkpoint(
    path, model=None, *, state_dict=None, config=None, vocab=None, metrics=None, training=None, **extra
) -> Path:
    """Write a checkpoint of `model` to `path` atomically; returns the path.

    model: a module with a `.config` dict (a FusionClassifier from build_model) or None;
    state_dict, config: given instead of (or to override) the model's own;
    vocab: a mmcourse.text.Vocab or a list of words (None: no vocabulary);
    metrics: a dict of numbers; training: resume state from `fit` (plain data only);
    extra: more plain entries (e.g. task="shapes", seed=0).
    """
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, **extra}
    if model is not None or state_dict is not None:
        state_dict = model.state_dict() if state_dict is None else state_dict
        payload["state_dict"] = {k: v.detach().cpu().clone() for k, v in state_dict.items()}
        config = getattr(model, "config", {}) if config is None else config
        payload["config"] = dict(config or {})
    if vocab is not None:
        payload["vocab"] = list(getattr(vocab, "itos", vocab))
    payload["metrics"] = dict(metrics or {})
    if training is not None:
        payload["training"] = training
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)  # atomic: readers see the old file or the new one, never half
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_checkpoint(path, device="cpu") -> dict:
    """The checkpoint dict at `path`, read with weights_only=True; CheckpointError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}: the file does not exist.")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # truncated zip, random bytes, a pickle with code in it, ...
        raise CheckpointError(
            f"{str(path)!r} is not a readable checkpoint (corrupt, truncated, or not written by "
            f"mmcourse): {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        ) from None
    if not isinstance(payload, dict) or ("format" in payload and payload["format"] != FORMAT):
        raise CheckpointError(
            f"{str(path)!r} is not an mmcourse checkpoint: expected a dict with format={FORMAT!r}, "
            f"got {type(payload).__name__}."
        )
    missing = [key for key in ("state_dict", "config") if key not in payload]
    if missing:
        raise CheckpointError(
            f"{str(path)!r} is not an mmcourse model checkpoint: it lacks {missing} "
            "(was it written by torch.save(model.state_dict()) instead of save_checkpoint?)."
        )
    return payload


def load_checkpoint(path, device="cpu"):
    """(model in eval mode on `device`, Vocab, checkpoint dict) from a file written by save_checkpoint.

    Nothing from the file is executed (weights_only=True), and a corrupt or foreign
    file raises CheckpointError before any model is built.
    """
    from .text import Vocab

    checkpoint = read_checkpoint(path, device)
    config = dict(checkpoint["config"])
    if "name" not in config:
        raise CheckpointError(f"{str(path)!r}: its config names no model (config has no 'name').")
    try:
        model = build_by_name(config.pop("name"), **config)
        model.load_state_dict(checkpoint["state_dict"])
    except (ValueError, RuntimeError, TypeError) as error:
        raise CheckpointError(
            f"{str(path)!r}: the weights do not fit the model its config describes: {error}"
        ) from None
    model.to(device).eval()
    vocab = Vocab(checkpoint["vocab"]) if "vocab" in checkpoint else None
    return model, vocab, checkpoint  # Vocab re-adds <pad> = 0 and <unk> = 1 itself
