"""Training steps of lesson 08's matcher in the two memory layouts, NCHW and channels-last, in one run.

    python benchmarks/bench_channels_last.py [--steps 40] [--repeat 3] [--threads 2] [--device auto]

A 4-D image batch (B, C, H, W) can lie in memory channel by channel (NCHW, PyTorch's
default) or pixel by pixel with the channels of each pixel side by side (channels-last,
NHWC). oneDNN's CPU convolutions and max-pools, like cuDNN's, are written for the second,
so a model in NCHW pays for a layout change inside every convolution. Both layouts here
train the same matcher (the same initial weights, the same batches, AttributeNegatives
included, as `mmcourse train --task shapes` does) with gpu_check.py's throughput measure;
the repeats alternate between the layouts, so that a busy machine slows both alike, and
the fastest repeat of each counts. Printed: training samples per second in each layout
and the ratio channels-last / NCHW, which `TrainConfig(channels_last=True)` and
`mmcourse train --channels-last on` buy (the rounding differs, so the results do too).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import torch


def _gpu_check():
    path = Path(__file__).resolve().parent / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> dict:
    from mmcourse.env import pick_device
    from mmcourse.tasks import config_for, load_task, training_transform

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    config = config_for("shapes", "matcher")
    data = load_task("shapes", n_train=args.n_train, seed=0)
    throughput = _gpu_check().throughput
    best = {"nchw": 0.0, "channels_last": 0.0}
    for _ in range(args.repeat):
        for layout in best:
            transform = training_transform(config, data["vocab"])  # a fresh one: the same new mismatches
            speed = throughput(data, device, amp=False, channels_last=layout == "channels_last", compile=False,
                               batch_size=config.batch_size, steps=args.steps, transform=transform)  # fmt: skip
            best[layout] = max(best[layout], speed)
    result = {
        "device": device.type,
        "threads": args.threads,
        "batch_size": config.batch_size,
        "nchw_samples_per_s": round(best["nchw"]),
        "channels_last_samples_per_s": round(best["channels_last"]),
        "ratio_channels_last_vs_nchw": round(best["channels_last"] / best["nchw"], 2),
    }
    for key, value in result.items():
        print(f"{key:<32} {value}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
