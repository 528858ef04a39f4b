"""On the device (lesson 09): ExecuTorch programs (.pte), in float32 or quantised to int8.

    example = export.example_inputs(model, images[:1], tokens[:1], lengths[:1])    # batch 1
    export_executorch(model, "model.pte", example)                    # float32, lowered to XNNPACK
    quantized = quantize_int8(model, example, calibration)            # PT2E: observe, then convert
    export_executorch(quantized, "model-int8.pte", example)           # int8 weights and activations
    method = load_executorch("model-int8.pte")                        # ExecuTorch's runtime
    logits = run_executorch(method, images, tokens, lengths)          # NumPy (B, n_classes)

ExecuTorch (PyTorch's on-device runtime) runs a program that `torch.export` captured and
`to_edge_transform_and_lower` compiled: the operators the XNNPACK backend knows (the
convolutions, matrix products, activations) are handed to it, the rest run in
ExecuTorch's portable kernels. The program is exported for ONE pair at a time -- what
an app on a phone runs -- so `run_executorch` calls it once per row.

int8 post-training quantisation is PT2E (PyTorch 2 Export quantisation): the
XNNPACK quantiser marks what to quantise, `prepare_pt2e` inserts observers,
calibration batches show them the range of every activation, and `convert_pt2e`
replaces them by quantise / dequantise steps with a scale s and zero-point z:
q = clamp(round(x / s) + z, -128, 127), x ~ s (q - z) (Jacob et al., 2018). Weights are
symmetric (z = 0): a convolution gets one scale per output channel, a linear layer one
scale for the whole matrix (per-channel scales there cost about 10 KB of scale and bias
arrays in the matcher's program and changed no test answer); activations get one scale
and zero-point each. The LSTM's per-word input table (mmcourse.exportable), a lookup that
the quantiser leaves alone, is stored as int8 rows with one scale per word, by hand.

Needs the optional `mobile` extra (`pip install "mmcourse[mobile]"`: executorch, which
brings torchao); without it these functions raise an ImportError that says so.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from .export import ExportableClassifier, quiet, require

__all__ = [
    "quantize_int8",
    "prepare_int8",
    "convert_int8",
    "export_executorch",
    "load_executorch",
    "program_summary",
    "run_executorch",
    "quantized_weights",
    "activation_qparams",
]


def _batches(calibration):
    """Calibration data as a list of (images, tokens, lengths) batches."""
    if isinstance(calibration, tuple) and len(calibration) == 3 and isinstance(calibration[0], torch.Tensor):
        return [calibration]
    batches = list(calibration)
    if not batches or not all(len(b) == 3 for b in batches):
        raise ValueError(
            "calibration must be one (images, tokens, lengths) batch or a list of them, "
            f"but got {type(calibration).__name__} of {len(batches)} item(s)."
        )
    return batches


def _holds_weights_or_pools(node) -> bool:
    """What quantize_int8 quantises: everything the XNNPACK quantiser knows except elementwise add, mul and cat.

    Those are the LSTM's gate arithmetic, between a sigmoid and a tanh that stay in float:
    in int8 they would only add re-quantisation steps (a larger, slower program).
    """
    aten = torch.ops.aten
    return node.target not in (aten.add.Tensor, aten.mul.Tensor, aten.cat.default)


def quantize_int8(model, example, calibration) -> torch.fx.GraphModule:
    """PT2E int8 post-training quantisation (XNNPACK quantiser; see the module's note on scales).

    model: a FusionClassifier; example: (images, tokens, lengths) as export.example_inputs
    gives (batch >= 2: the batch size stays free); calibration: a batch or list of batches
    like it, drawn from the TRAINING data (captions padded to the same width).
    The weights of the convolutions and linear layers (the LSTM's W_hh too) become int8, and
    so do the activations between them; elementwise add / mul / cat stay float; the LSTM's
    input table becomes int8 rows (ExportableClassifier.store_table_in_int8).
    Returns the converted module: int8 arithmetic simulated in PyTorch, ready for
    export_executorch. The same as convert_int8(prepare_int8(model, example), calibration).
    """
    return convert_int8(prepare_int8(model, example), calibration)


def prepare_int8(model, example) -> torch.fx.GraphModule:
    """The first step of quantize_int8: the exported model with an observer on every tensor to quantise.

    Preparing takes seconds; convert_int8 calibrates a copy, so one prepared model can be
    calibrated on several data sets (lesson 09 compares training pairs with blank images).
    """
    require("executorch", "int8 quantisation")
    with quiet():
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )
        from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e

    from .export import _dynamic_shapes

    wrapper = ExportableClassifier(copy.deepcopy(model).cpu()).eval()
    if hasattr(wrapper, "input_table"):  # the LSTM's per-word input table: int8 rows, by hand
        wrapper.store_table_in_int8()
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=False))
    per_channel = get_symmetric_quantization_config(is_per_channel=True)
    quantizer.set_operator_type(torch.ops.aten.conv2d.default, per_channel)  # one scale per output channel
    quantizer.set_filter_function(_holds_weights_or_pools)
    with quiet():
        graph = torch.export.export(wrapper, tuple(example), dynamic_shapes=_dynamic_shapes(model, example))
        return prepare_pt2e(graph.module(), quantizer)


def convert_int8(observed: torch.fx.GraphModule, calibration) -> torch.fx.GraphModule:
    """The second step: run the calibration batches through a COPY of `observed`, then convert it.

    observed: what prepare_int8 returned (left as it is); calibration: as for quantize_int8.
    """
    if not isinstance(observed, torch.fx.GraphModule):
        raise TypeError(f"observed must be what prepare_int8 returned, but got {type(observed).__name__}.")
    batches = _batches(calibration)
    with quiet():
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

        observed = copy.deepcopy(observed)
        for images, tokens, lengths in batches:
            observed(images.float(), tokens.long(), lengths.long())  # the observers record min and max
        return convert_pt2e(observed)


def export_executorch(model, path, example) -> Path:
    """Lower a model to an ExecuTorch program for XNNPACK and write it to `path` (.pte).

    model: a FusionClassifier (float32) or what quantize_int8 returned (int8);
    example: ONE pair (images (1, C, H, W), tokens (1, T), lengths (1,)), as the program will be called.
    """
    require("executorch", "ExecuTorch export")
    with quiet():
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower

    if example[0].shape[0] != 1:
        raise ValueError(f"example must hold one pair (batch 1), but holds {example[0].shape[0]}.")
    quantized = isinstance(model, torch.fx.GraphModule)
    if not quantized:  # a float model: the export-friendly forward
        model = ExportableClassifier(copy.deepcopy(model).cpu()).eval()
    with quiet():
        program = torch.export.export(model, tuple(example))
        lowered = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
        Path(path).write_bytes(lowered.to_executorch().buffer)
    return Path(path)


def program_summary(path) -> dict:
    """What the .pte at `path` holds: {"bytes", "partitions": XNNPACK pieces, "portable": the other operators}.

    "portable" lists each operator that runs in ExecuTorch's portable kernels once, sorted
    (for the course's models: the lookups and the masks made from the lengths).
    """
    require("executorch", "reading an ExecuTorch program")
    if not Path(path).is_file():
        raise FileNotFoundError(f"no ExecuTorch program at {path}; export one with export_executorch first.")
    with quiet():
        from executorch.exir._serialize._program import deserialize_pte_binary

    data = Path(path).read_bytes()
    plan = deserialize_pte_binary(data).program.execution_plan[0]
    portable = sorted({operator.name.split("::")[-1] for operator in plan.operators})
    return {"bytes": len(data), "partitions": len(plan.delegates), "portable": portable}


def load_executorch(path):
    """The `forward` method of the ExecuTorch program at `path`, loaded by ExecuTorch's runtime."""
    require("executorch", "ExecuTorch inference")
    if not Path(path).is_file():
        raise FileNotFoundError(f"no ExecuTorch program at {path}; export one with export_executorch first.")
    with quiet(native=True):  # the runtime's CPU probe writes to stderr as it starts
        from executorch.runtime import Runtime

        return Runtime.get().load_program(str(path)).load_method("forward")


def run_executorch(method, images, tokens, lengths) -> np.ndarray:
    """Logits (B, n_classes) as NumPy: the batch-1 program run once per pair."""
    rows = []
    for b in range(images.shape[0]):
        inputs = [images[b : b + 1].float().contiguous(), tokens[b : b + 1].long(), lengths[b : b + 1].long()]
        rows.append(method.execute(inputs)[0].numpy())
    return np.concatenate(rows)


def _frozen(graph, node):
    return getattr(graph, node.target) if node.op == "get_attr" else None


def quantized_weights(quantized: torch.fx.GraphModule) -> list[dict]:
    """The int8 weights of a quantize_int8 model, in graph order (convolutions first, then the linear layers).

    Each entry: {"int8": the stored integers (out, ...) int8, "per_channel": bool, "scale":
    (out,) one per output channel for a convolution, (1,) one for the whole tensor for a
    linear layer, "zero_point": the same shape, "dequantized": scale * (int8 - zero_point), float32}.
    """
    weights, seen = [], set()
    for node in quantized.graph.nodes:
        if node.op != "call_function" or "dequantize_per_" not in str(node.target):
            continue
        values = _frozen(quantized, node.args[0])
        if values is None or values.dtype != torch.int8:
            continue  # an activation, not a stored weight
        if values.data_ptr() in seen:
            continue  # the LSTM's W_hh, read again at every step
        seen.add(values.data_ptr())
        per_channel = "per_channel" in str(node.target)
        if per_channel:
            scale, zero_point = (_frozen(quantized, a) for a in node.args[1:3])
        else:
            scale, zero_point = torch.tensor([float(node.args[1])]), torch.tensor([int(node.args[2])])
        shape = [-1 if per_channel else 1] + [1] * (values.dim() - 1)
        dequantized = (values.float() - zero_point.view(shape).float()) * scale.view(shape).float()
        weights.append(
            {
                "int8": values,
                "per_channel": per_channel,
                "scale": scale,
                "zero_point": zero_point,
                "dequantized": dequantized,
            }
        )
    return weights


def activation_qparams(quantized: torch.fx.GraphModule) -> list[tuple[float, int]]:
    """(scale, zero_point) of every activation that a quantize_int8 model quantises, in graph order."""
    pairs = []
    for node in quantized.graph.nodes:
        if (
            node.op == "call_function"
            and "quantize_per_tensor" in str(node.target)
            and "dequantize" not in str(node.target)
        ):
            scale, zero_point = node.args[1], node.args[2]
            pairs.append((float(scale), int(zero_point)))
    return pairs
