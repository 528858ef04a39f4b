"""Deployment (lesson 09): export a fusion model to TorchScript and ONNX, check it, time it.

    exportable = ExportableClassifier(model)                 # the same function, export-friendly
    export_torchscript(model, "model.ts", images, tokens, lengths)
    export_onnx(model, "model.onnx", images, tokens, lengths)
    session = load_onnx("model.onnx")                          # onnxruntime, on the CPU
    logits = run_onnx(session, images, tokens, lengths)        # NumPy (B, n_classes)

Why a wrapper: the course's `TextEncoder` packs the padded captions
(`pack_padded_sequence`), which neither tracing nor ONNX follows faithfully. Because
padding is on the right and the LSTM reads left to right, running it over the whole
padded batch and reading each caption's state at its true last step
(`gather_last(states, lengths)`) gives *exactly* the same vector -- with plain tensor
operations that export cleanly. `ExportableClassifier` shares the model's weights.

ONNX needs the optional packages `onnx` and `onnxruntime`
(`pip install "mmcourse[export]"`); without them the ONNX functions raise an
ImportError that says so. TorchScript needs nothing beyond PyTorch.
"""

from __future__ import annotations

import copy
import importlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .models.encoders import BagOfWordsEncoder, TextEncoder, gather_last, length_mask
from .models.fusion import EncodedPair
from .timing import best_time

__all__ = [
    "ExportableClassifier",
    "export_torchscript",
    "load_torchscript",
    "export_onnx",
    "load_onnx",
    "run_onnx",
    "max_difference",
    "file_size_kib",
    "latency_table",
]

INPUT_NAMES = ("images", "tokens", "lengths")
INSTALL_HINT = 'pip install "mmcourse[export]"  (or: pip install onnx onnxruntime)'


def _require(module: str):
    """Import an optional dependency, or raise an ImportError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"ONNX export and inference need the optional package {module!r}, which is not installed. "
            f"Install it with: {INSTALL_HINT}"
        ) from None


class ExportableClassifier(nn.Module):
    """A FusionClassifier's forward written with export-friendly operations (same weights, same outputs).

    forward(images (B, C, H, W) float, tokens (B, T) int64, lengths (B,) int64) -> logits (B, n_classes).
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        for part in ("image_encoder", "text_encoder", "fusion", "classifier"):
            if not hasattr(model, part):
                raise TypeError(
                    f"model must be a FusionClassifier (from mmcourse.models.build_model), but has no {part!r}."
                )
        if not isinstance(model.text_encoder, (TextEncoder, BagOfWordsEncoder)):
            raise TypeError(f"cannot export a text encoder of type {type(model.text_encoder).__name__}.")
        self.model = model

    def text_features(self, tokens, lengths) -> torch.Tensor:
        encoder = self.model.text_encoder
        embedded = encoder.embedding(tokens)  # (B, T, E)
        if isinstance(encoder, TextEncoder):
            states, _ = encoder.lstm(embedded)  # (B, T, H): padding sits AFTER each caption's last word
            return gather_last(states, lengths)  # (B, H), equal to the packed LSTM's h_n
        mask = length_mask(lengths, tokens.shape[1]).unsqueeze(-1).to(embedded.dtype)  # (B, T, 1)
        return (embedded * mask).sum(dim=1) / lengths.unsqueeze(-1).to(embedded.dtype)

    def forward(self, images, tokens, lengths):
        """The classifier's own encode -> fuse -> classify, with the text encoded as text_features does."""
        model = self.model
        image, grid = model.image_encoder(images, return_grid=True)
        words = model.text_encoder.embedding(tokens)  # (B, T, E)
        mask = length_mask(lengths, tokens.shape[1])  # (B, T), True at real words
        pair = EncodedPair(image, self.text_features(tokens, lengths), grid, words, mask)
        return model.classifier(model.fusion.fuse(pair))


def _example(images, tokens, lengths):
    return images.detach().cpu().float(), tokens.detach().cpu().long(), lengths.detach().cpu().long()


def export_torchscript(model: nn.Module, path, images, tokens, lengths) -> Path:
    """Trace the model on an example batch and save it as TorchScript; returns the path.

    Load it back with load_torchscript(path) (torch.jit.load): no Python class needed, any batch size.
    """
    path = Path(path)
    wrapper = ExportableClassifier(copy.deepcopy(model).cpu()).eval()  # the caller's model stays where it is
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings: the parity check is the referee
        traced = torch.jit.trace(wrapper, _example(images, tokens, lengths), check_trace=False)
        torch.jit.save(traced, str(path))
    return path


def load_torchscript(path):
    """The TorchScript module saved at `path` (torch.jit.load, without its deprecation warning)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no TorchScript file at {path}; export one with export_torchscript first.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path), map_location="cpu")


def export_onnx(model: nn.Module, path, images, tokens, lengths, opset: int = 17) -> Path:
    """Export to ONNX with a dynamic batch size and caption length; returns the path."""
    _require("onnx")
    path = Path(path)
    wrapper = ExportableClassifier(copy.deepcopy(model).cpu()).eval()  # the caller's model stays where it is
    dynamic = {
        "images": {0: "batch"},
        "tokens": {0: "batch", 1: "words"},
        "lengths": {0: "batch"},
        "logits": {0: "batch"},
    }
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            _example(images, tokens, lengths),
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=["logits"],
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
        )
    return path


def load_onnx(path, threads: int | None = None):
    """An onnxruntime InferenceSession for the ONNX file at `path`, on the CPU."""
    ort = _require("onnxruntime")
    if not Path(path).is_file():
        raise FileNotFoundError(f"no ONNX file at {path}; export one with export_onnx first.")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def run_onnx(session, images, tokens, lengths) -> np.ndarray:
    """Logits (B, n_classes) as a NumPy array, from an onnxruntime session."""
    feeds = dict(zip(INPUT_NAMES, (t.numpy() for t in _example(images, tokens, lengths))))
    names = {i.name for i in session.get_inputs()}
    return session.run(["logits"], {k: v for k, v in feeds.items() if k in names})[0]


def max_difference(a, b) -> float:
    """The largest absolute difference between two arrays or tensors of the same shape."""
    a = a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().cpu().numpy() if hasattr(b, "detach") else np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"the two outputs must have the same shape, but have {a.shape} and {b.shape}.")
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def file_size_kib(path) -> float:
    """The size of the file at `path` in KiB (1 KiB = 1024 bytes)."""
    return os.path.getsize(path) / 1024


def latency_table(runners: dict, batches: dict, repeat: int = 5) -> list[dict]:
    """Time each runner on each batch with best_time (the fastest of `repeat` calls).

    runners: {name: function(images, tokens, lengths)}; batches: {batch size: (images,
    tokens, lengths)}. Returns rows {"runtime", "batch", "ms_per_batch", "ms_per_pair"}.
    """
    rows = []
    for name, run in runners.items():
        for size, batch in batches.items():
            run(*batch)  # warm-up: first calls allocate and plan
            seconds = best_time(lambda run=run, batch=batch: run(*batch), repeat=repeat)
            rows.append(
                {
                    "runtime": name,
                    "batch": size,
                    "ms_per_batch": 1e3 * seconds,
                    "ms_per_pair": 1e3 * seconds / size,
                }
            )
    return rows
