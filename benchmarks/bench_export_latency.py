"""Inference latency of a fusion model three ways: PyTorch eager, TorchScript, ONNX Runtime.

    python benchmarks/bench_export_latency.py [--model attention] [--repeat 10] [--threads 1]

Builds a shapes-sized model (16 x 16 RGB scenes, captions of 9 words; the weights do
not change the speed, so no training), exports it, checks that TorchScript and ONNX
Runtime give PyTorch's logits to within 1e-4, and prints milliseconds per batch and per
pair at batch 1 and 64, and the file sizes. All on the CPU. Exits with status 1 if an
exported model disagrees; without onnxruntime, the ONNX row is skipped with a message.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from mmcourse import export
from mmcourse.models import build_model


def _batch(B: int, T: int = 9, vocab_size: int = 20):
    g = torch.Generator().manual_seed(B)
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    lengths[0] = T
    tokens = torch.randint(2, vocab_size, (B, T), generator=g)
    tokens[torch.arange(T)[None, :] >= lengths[:, None]] = 0
    return torch.rand(B, 3, 16, 16, generator=g), tokens, lengths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="attention", help="a name from mmcourse.models.MODELS")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(args.model, vocab_size=20, n_classes=2, in_channels=3).eval()
    batches = {1: _batch(1), 64: _batch(64)}

    def run_torch(*batch):
        with torch.no_grad():
            return model(*batch)

    folder = Path(tempfile.mkdtemp())
    scripted = export.load_torchscript(export.export_torchscript(model, folder / "model.ts", *_batch(2)))
    runners, sizes = {"PyTorch (eager)": run_torch}, {"PyTorch (eager)": None}
    runners["TorchScript"], sizes["TorchScript"] = scripted, export.file_size_kib(folder / "model.ts")
    try:
        session = export.load_onnx(
            export.export_onnx(model, folder / "model.onnx", *_batch(2)), threads=args.threads
        )
        runners["ONNX Runtime"] = lambda *batch: export.run_onnx(session, *batch)
        sizes["ONNX Runtime"] = export.file_size_kib(folder / "model.onnx")
    except ImportError as error:
        print(f"skipping ONNX: {error}")

    worst = 0.0
    for run in runners.values():
        with torch.no_grad():
            worst = max(worst, export.max_difference(run(*batches[64]), run_torch(*batches[64])))
    print(
        f"model {args.model!r}, {args.threads} thread(s); largest |logit difference| vs PyTorch: {worst:.1e}"
    )
    print(f"{'runtime':<18}{'batch':>6}{'ms / batch':>12}{'ms / pair':>11}{'file (KiB)':>12}")
    with torch.no_grad():
        for row in export.latency_table(runners, batches, repeat=args.repeat):
            size = sizes[row["runtime"]]
            print(f"{row['runtime']:<18}{row['batch']:>6}{row['ms_per_batch']:>12.3f}{row['ms_per_pair']:>11.4f}"
                  f"{'-' if size is None else f'{size:.0f}':>12}")  # fmt: skip
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
