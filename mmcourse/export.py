"""Deployment (lesson 09): a trained fusion model as a file that runs without the course's code.

    example = example_inputs(model, images, tokens, lengths)      # captions padded to the model's width
    program = export_program(model, "model.pt2", example)         # torch.export: an ExportedProgram
    export_onnx(model, "model.onnx", example)                     # torch.onnx.export(..., dynamo=True)
    logits = run_onnx(load_onnx("model.onnx"), *example)          # onnxruntime: NumPy (B, n_classes)

ExecuTorch (`.pte`, fp32 or int8, for phones) lives in mmcourse.mobile; `mmcourse export`
(mmcourse.export_cli) writes any of the three from a checkpoint.

Every format is made from `ExportableClassifier` (mmcourse.exportable): the model's
forward written with plain tensor operations that every exporter, runtime and quantiser
knows -- the LSTM run step by step instead of over packed sequences (exact, because padding
is on the right), and only operators that XNNPACK has after the lookups. That loop has a
fixed number of steps, so an LSTM model is exported for captions padded to a fixed width
(`caption_width`); a bag-of-words model reads any length up to it. The batch size stays
free (dynamic) in `.pt2` and `.onnx`.

ONNX needs the optional packages of the `export` extra (`pip install "mmcourse[export]"`);
without them the ONNX functions raise an ImportError that says so. TorchScript (`export_torchscript`) is kept only as a
legacy format: PyTorch has deprecated it in favour of `torch.export`.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import logging
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .exportable import ExportableClassifier, lstm_input_table, lstm_states
from .models.encoders import TextEncoder
from .timing import best_time

__all__ = [
    "EXTRAS",
    "require",
    "quiet",
    "ExportableClassifier",
    "lstm_states",
    "lstm_input_table",
    "caption_width",
    "example_inputs",
    "export_program",
    "load_program",
    "export_onnx",
    "load_onnx",
    "run_onnx",
    "export_torchscript",
    "load_torchscript",
    "max_difference",
    "file_size_kib",
    "latency_table",
]

INPUT_NAMES = ("images", "tokens", "lengths")
EXTRAS = {"onnx": "export", "onnxruntime": "export", "onnxscript": "export", "executorch": "mobile"}
"""Optional package -> the mmcourse extra that installs it."""
DEFAULT_WIDTH = 12  # the longest course caption has 10 tokens


def require(module: str, purpose: str = "this"):
    """Import an optional package, or raise an ImportError naming the extra that installs it."""
    try:
        with quiet():  # torchao logs the CUDA kernels it cannot load on a CPU machine
            return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS.get(module.split(".")[0], "export")
        raise ImportError(
            f"{purpose} needs the optional package {module.split('.')[0]!r}, which is not installed. "
            f'Install it with: pip install "mmcourse[{extra}]"'
        ) from None


def caption_width(model: nn.Module) -> int:
    """The caption width T an exported model reads: the model's max_words, else 12 tokens."""
    return int(getattr(model, "config", {}).get("max_words", DEFAULT_WIDTH))


def example_inputs(model: nn.Module, images, tokens, lengths, width: int | None = None) -> tuple:
    """(images, tokens, lengths) on the CPU, with the captions padded with <pad> (0) to `width`.

    width: the caption width of the exported model (default caption_width(model)); an
    LSTM model is unrolled over that many steps. Padding on the right changes nothing the
    model computes. ValueError if a caption is longer.
    """
    width = caption_width(model) if width is None else int(width)
    tokens = torch.as_tensor(tokens).detach().cpu().long()
    if tokens.dim() != 2 or tokens.shape[1] > width:
        raise ValueError(
            f"tokens must have shape (B, T) with T <= {width} (the exported model's caption width), "
            f"but have shape {tuple(tokens.shape)}."
        )
    tokens = nn.functional.pad(tokens, (0, width - tokens.shape[1]))
    lengths = torch.as_tensor(lengths).detach().cpu().long().clone()
    # clone: a slice of a larger tensor would carry all of its storage into a saved .pt2's sample inputs
    return images.detach().cpu().float().clone(), tokens, lengths


def _wrapper(model):
    return ExportableClassifier(copy.deepcopy(model).cpu()).eval()  # the caller's model stays where it is


def _dynamic_shapes(model, example, names: bool = False):
    """Batch dynamic everywhere; the caption length too where the model allows it (bag of words).

    names=True gives the dimensions as names ("batch", "words"), which the ONNX exporter writes into the file.
    """
    batch = "batch" if names else torch.export.Dim("batch", min=1, max=4096)
    words = torch.export.Dim.STATIC
    if not isinstance(model.text_encoder, TextEncoder):  # an LSTM is unrolled over the width
        words = "words" if names else torch.export.Dim("words", min=1, max=example[1].shape[1])
    return ({0: batch}, {0: batch, 1: words}, {0: batch})


CHATTY_LOGGERS = ("torch.onnx", "torch.utils._pytree", "torch.export", "torchao", "executorch")


@contextlib.contextmanager
def quiet(native: bool = False):
    """Warnings and the exporters' log messages silenced -- the parity checks are the referee.

    native=True also silences what compiled code writes to the process's own stdout and stderr
    (ExecuTorch's CPU probe, as the runtime starts).
    """
    loggers = [logging.getLogger(name) for name in CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    saved = {}
    if native:
        sys.stdout.flush()
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            saved[fd] = os.dup(fd)
            os.dup2(devnull, fd)
        os.close(devnull)
    try:
        with contextlib.ExitStack() as stack, warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            if native:  # ... and what it writes through Python's sys.stdout / sys.stderr
                stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
                stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
            yield
    finally:
        for fd, copy_of_fd in saved.items():
            os.dup2(copy_of_fd, fd)
            os.close(copy_of_fd)
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _quietly(function, *args, **kwargs):
    with quiet():
        return function(*args, **kwargs)


def export_program(model: nn.Module, path, example) -> torch.export.ExportedProgram:
    """torch.export the model (batch size dynamic) and save it to `path` (.pt2); returns the ExportedProgram.

    example: (images, tokens, lengths) from example_inputs, with a batch of at least 2
    (torch.export treats a size of 1 as a constant).
    """
    wrapper = _wrapper(model)
    program = _quietly(
        torch.export.export, wrapper, tuple(example), dynamic_shapes=_dynamic_shapes(model, example)
    )
    torch.export.save(program, str(path))
    return program


def load_program(path) -> torch.export.ExportedProgram:
    """The ExportedProgram saved at `path`; call `.module()(images, tokens, lengths)` on it."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no exported program at {path}; export one with export_program first.")
    return torch.export.load(str(path))


def export_onnx(model: nn.Module, path, example, opset: int = 18, program=None) -> Path:
    """Export to ONNX with the dynamo exporter (torch.export underneath), batch size dynamic; returns the path.

    program: the ExportedProgram that export_program made of the same model and example, if
    there is one: the exporter then translates it instead of capturing the model again
    (about half the time for the matcher).
    """
    require("onnxscript", "ONNX export")
    if program is not None and not isinstance(program, torch.export.ExportedProgram):
        raise TypeError(f"program must be an ExportedProgram (from export_program), but got {type(program).__name__}.")
    path = Path(path)
    onnx_program = _quietly(
        torch.onnx.export, _wrapper(model) if program is None else program, tuple(example), dynamo=True,
        opset_version=opset, input_names=list(INPUT_NAMES), output_names=["logits"],
        dynamic_shapes=_dynamic_shapes(model, example, names=True), verbose=False,
    )  # fmt: skip
    onnx_program.save(str(path))
    return path


def load_onnx(path, threads: int | None = None):
    """An onnxruntime InferenceSession for the ONNX file at `path`, on the CPU."""
    ort = require("onnxruntime", "ONNX inference")
    if not Path(path).is_file():
        raise FileNotFoundError(f"no ONNX file at {path}; export one with export_onnx first.")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def run_onnx(session, images, tokens, lengths) -> np.ndarray:
    """Logits (B, n_classes) as a NumPy array, from an onnxruntime session."""
    feeds = dict(zip(INPUT_NAMES, (torch.as_tensor(t).cpu().numpy() for t in (images, tokens, lengths))))
    feeds["images"] = feeds["images"].astype(np.float32)
    names = {i.name for i in session.get_inputs()}
    return session.run(["logits"], {k: v for k, v in feeds.items() if k in names})[0]


def export_torchscript(model: nn.Module, path, images, tokens, lengths) -> Path:
    """LEGACY: trace the model and save it as TorchScript (deprecated by PyTorch in favour of torch.export)."""
    path = Path(path)
    example = (images.detach().cpu().float(), tokens.detach().cpu().long(), lengths.detach().cpu().long())
    traced = _quietly(torch.jit.trace, _wrapper(model), example, check_trace=False)
    _quietly(torch.jit.save, traced, str(path))
    return path


def load_torchscript(path):
    """LEGACY: the TorchScript module saved at `path` (torch.jit.load, without its deprecation warning)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no TorchScript file at {path}; export one with export_torchscript first.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.load(str(path), map_location="cpu")


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
