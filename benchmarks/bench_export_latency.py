"""Deployment targets of lesson 09, measured in one run: eager PyTorch, ONNX Runtime, ExecuTorch fp32 and int8.

    python benchmarks/bench_export_latency.py [--repeat 300] [--threads 1] [--calibration 256]

The model is lesson 08's trained matcher as the course ships it (mmcourse.assets, the run of
`mmcourse train --task shapes`), on its own test set (1000 pairs). It is exported to ONNX
(dynamo exporter) and to two ExecuTorch programs lowered to XNNPACK -- float32, and int8
(PT2E, calibrated on training pairs) -- and each runtime answers one pair at a time
(batch 1, `--threads` threads; the fastest of `--repeat` calls). Printed: file size,
milliseconds per pair, test accuracy, and the issue's targets against baselines measured
in the same run:

- the int8 .pte is at most 1/3 of the float32 .pte;
- int8 batch-1 latency at least 2x faster than eager PyTorch;
- int8 test accuracy within 1 point of float32.

Exits with status 1 if a target is missed (or a float32 runtime disagrees with PyTorch by
more than 1e-4); it needs the `export` and `mobile` extras.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from mmcourse import export, mobile
from mmcourse.assets import load_asset
from mmcourse.data import to_tensors
from mmcourse.tasks import config_for, load_task
from mmcourse.timing import best_time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=300, help="timed calls per runtime (the fastest counts)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--calibration", type=int, default=256, help="training pairs that calibrate int8")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_task("shapes", n_train=config_for("shapes").n_train, seed=0)
    model, vocab, _ = load_asset("shapes-matcher")
    images, tokens, lengths, labels = to_tensors(data["test"], vocab, "cpu")
    train = to_tensors(data["train"], vocab, "cpu")
    width = int(train[2].max())
    inputs = export.example_inputs(model, images, tokens, lengths, width=width)
    example, pair = tuple(t[:2] for t in inputs), tuple(t[:1] for t in inputs)
    calibration = [
        export.example_inputs(model, *(t[i : i + 64] for t in train[:3]), width=width)
        for i in range(0, args.calibration, 64)
    ]

    folder = Path(tempfile.mkdtemp())
    torch.save(model.state_dict(), folder / "model.pt")
    session = export.load_onnx(
        export.export_onnx(model, folder / "model.onnx", example), threads=args.threads
    )
    mobile.export_executorch(model, folder / "fp32.pte", pair)
    mobile.export_executorch(mobile.quantize_int8(model, example, calibration), folder / "int8.pte", pair)
    fp32, int8 = mobile.load_executorch(folder / "fp32.pte"), mobile.load_executorch(folder / "int8.pte")

    def eager(*batch):
        with torch.no_grad():
            return model(*batch)

    runners = {
        "PyTorch (eager)": (folder / "model.pt", eager, lambda: eager(images, tokens, lengths).numpy()),
        "ONNX Runtime": (folder / "model.onnx", lambda *b: export.run_onnx(session, *b), lambda: export.run_onnx(session, *inputs)),
        "ExecuTorch fp32": (folder / "fp32.pte", lambda *b: fp32.execute(list(b)), lambda: mobile.run_executorch(fp32, *inputs)),
        "ExecuTorch int8": (folder / "int8.pte", lambda *b: int8.execute(list(b)), lambda: mobile.run_executorch(int8, *inputs)),
    }  # fmt: skip
    reference = runners["PyTorch (eager)"][2]()
    rows, worst = {}, 0.0
    print(f"lesson 08's matcher, captions padded to {width} words, {args.threads} thread(s), batch 1")
    print(f"{'runtime':<18}{'file (KiB)':>12}{'ms / pair':>11}{'test accuracy':>15}")
    for name, (path, run, logits_of_test_set) in runners.items():
        logits = logits_of_test_set()
        if name != "ExecuTorch int8":
            worst = max(worst, export.max_difference(logits, reference))
        run(*pair)  # warm-up
        ms = 1e3 * best_time(lambda run=run: run(*pair), repeat=args.repeat)
        accuracy = float((np.asarray(logits).argmax(axis=1) == labels.numpy()).mean())
        rows[name] = {"KiB": export.file_size_kib(path), "ms": ms, "accuracy": accuracy}
        print(f"{name:<18}{rows[name]['KiB']:>12.0f}{ms:>11.3f}{accuracy:>15.3f}")
    print(f"largest |logit difference| of the float32 runtimes vs PyTorch: {worst:.1e}")

    small, quick = rows["ExecuTorch fp32"]["KiB"] / rows["ExecuTorch int8"]["KiB"], rows["PyTorch (eager)"]["ms"] / rows["ExecuTorch int8"]["ms"]  # fmt: skip
    points = 100 * (rows["ExecuTorch fp32"]["accuracy"] - rows["ExecuTorch int8"]["accuracy"])
    targets = [
        (f"int8 .pte {small:.2f}x smaller than the fp32 .pte (target >= 3x)", small >= 3),
        (f"int8 batch-1 latency {quick:.1f}x faster than eager PyTorch (target >= 2x)", quick >= 2),
        (f"int8 accuracy {points:+.1f} points below fp32 (target <= 1)", points <= 1),
        (f"float32 runtimes agree with PyTorch to {worst:.1e} (target < 1e-4)", worst < 1e-4),
    ]
    for text, met in targets:
        print(("met:    " if met else "MISSED: ") + text)
    return 0 if all(met for _, met in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
