"""ONE prepared script for a GPU session: throughput and time-to-98 % of lesson 08's matcher.

    python benchmarks/gpu_check.py                 # on a CUDA GPU: the full check (a few minutes)
    python benchmarks/gpu_check.py --quick         # anywhere, CPU included: a reduced run that tests the script

For each configuration -- fp32; bf16 autocast; bf16 + channels_last; bf16 + channels_last +
torch.compile -- it measures
  1. training throughput (samples/s over timed steps, after warm-up, with the data on the device), and
  2. time to >= 98 % test accuracy from a cold start, data generation included
     (benchmarks/bench_time_to_98.py's run(), with a large batch).
Every result is printed as one JSON line as soon as it is known (so a run cut short still
reports), and with --out FILE all of them are also written there. A configuration that
fails (e.g. torch.compile without a compiler) is reported with its error and skipped.
The issue's goal on an H200-class GPU: >= 98 % in <= 3 s including data generation.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
CONFIGS = {  # name -> (amp, channels_last, compile)
    "fp32": (False, False, False),
    "bf16": (True, False, False),
    "bf16+channels_last": (True, True, False),
    "bf16+channels_last+compile": (True, True, True),
}


def _load(name):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def throughput(data, device, amp, channels_last, compile, batch_size, steps, transform=None) -> float:
    """Training samples/s of the matcher with the data on the device (warm-up steps not timed).

    transform: a training-batch transform (e.g. AttributeNegatives), applied as fit applies it.
    """
    from mmcourse.data import TensorBatches, to_tensors
    from mmcourse.models.matching import build_matcher
    from mmcourse.train import autocast_dtype, to_device, train_step

    torch.manual_seed(0)
    model = build_matcher(**data["model_config"])
    model = model.to(device, memory_format=torch.channels_last) if channels_last else model.to(device)
    step_model = torch.compile(model) if compile else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    dtype = autocast_dtype(amp, device)
    batches = TensorBatches(*to_tensors(data["train"], data["vocab"], device), batch_size=batch_size, seed=0)
    warmup, timed, done, start = 5, 0, 0, None
    while done < warmup + steps:
        for batch in batches:
            batch = to_device(batch, device, channels_last)
            if transform is not None:  # as in fit: the transformed batch back in the layout
                batch = to_device(transform(batch), device, channels_last)
            inputs, targets = batch[:-1], batch[-1]
            train_step(step_model, optimizer, inputs, targets, amp_dtype=dtype, clip_grad=1.0)
            done += 1
            if done == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            elif done > warmup:
                timed += len(targets)
            if done >= warmup + steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return timed / (time.perf_counter() - start)


def main(argv=None) -> list:
    from mmcourse.env import pick_device
    from mmcourse.tasks import load_task

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="reduced run (CPU-friendly): tiny data, no compile"
    )
    parser.add_argument("--device", default="auto")
    # 256: on 2 CPU cores bench_time_to_98 reached 0.998 in 8 epochs with it, 512 only 0.980 in 12
    parser.add_argument("--batch-size", type=int, default=None, help="default: 256 (GPU), 64 (--quick)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    device = pick_device(args.device)
    quick = args.quick or device.type != "cuda"
    batch_size = args.batch_size or (64 if quick else 256)
    steps = args.steps or (4 if quick else 100)
    names = ["fp32", "bf16"] if quick else list(CONFIGS)
    info = {"device": device.type, "torch": torch.__version__, "quick": quick, "batch_size": batch_size}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
        info["bf16_supported"] = torch.cuda.is_bf16_supported()
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    print(json.dumps(info), flush=True)
    results = [info]
    data = load_task("shapes", n_train=256 if quick else 12000, seed=0)
    bench = _load("bench_time_to_98")
    for name in names:
        amp, channels_last, compile = CONFIGS[name]
        row = {"config": name}
        try:
            row["train_samples_per_s"] = round(
                throughput(data, device, amp, channels_last, compile, batch_size, steps)
            )
            run = bench.run(
                target=0.98, threads=torch.get_num_threads(), device=str(device), amp=amp, compile=compile,
                batch_size=batch_size, max_epochs=1 if quick else 20, n_train=256 if quick else None, stop_early=True,
                channels_last=channels_last,  # the configuration's layout, not the preset's 'auto' (on for CUDA)
            )  # fmt: skip
            row.update(
                {f"time_to_98_{k}": v for k, v in run.items() if k not in ("device", "threads", "target")}
            )
        except Exception as error:  # report and go on: one failing configuration must not hide the others
            row["error"] = f"{type(error).__name__}: {error}"
            traceback.print_exc(file=sys.stderr)
        print(json.dumps(row), flush=True)
        results.append(row)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
