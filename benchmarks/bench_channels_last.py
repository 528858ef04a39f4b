"""Training steps of lesson 08's matcher: NCHW, channels-last, and channels-last with shared images, in one run.

    python benchmarks/bench_channels_last.py [--steps 40] [--repeat 3] [--threads 2] [--device auto]

A 4-D image batch (B, C, H, W) can lie in memory channel by channel (NCHW, PyTorch's
default) or pixel by pixel with the channels of each pixel side by side (channels-last,
NHWC). oneDNN's CPU convolutions and max-pools, like cuDNN's, are written for the second,
so a model in NCHW pays for a layout change inside every convolution. Both layouts here
train the same matcher (the same initial weights, the same batches, AttributeNegatives
included, as `mmcourse train --task shapes` does) with gpu_check.py's throughput measure;
the repeats alternate between the setups, so that a busy machine slows all alike, and
the fastest repeat of each counts. Printed: training pairs per second in each setup and
the ratio channels-last / NCHW, which `TrainConfig(channels_last=True)` and
`mmcourse train --channels-last on` buy (the rounding differs, so the results do too).

The third setup adds `TrainConfig(share_images=True)`: AttributeNegatives repeats the
scene of every pair it changes (once with the changed caption, once unchanged), so it
hands the model each image once with the row each pair shows, and the CNN encodes a
batch's images once instead of up to three times. Printed: the ratio shared / channels-last
(the same pairs per step, less CNN work).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from dataclasses import replace
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
    setups = {"nchw": (False, False), "channels_last": (True, False), "shared": (True, True)}  # layout, sharing
    best = dict.fromkeys(setups, 0.0)
    for _ in range(args.repeat):
        for name, (layout, shared) in setups.items():
            setup = replace(config, share_images=shared)  # a fresh transform: the same new mismatches
            speed = throughput(data, device, amp=False, channels_last=layout, compile=False, batch_size=config.batch_size,
                               steps=args.steps, transform=training_transform(setup, data["vocab"]))  # fmt: skip
            best[name] = max(best[name], speed)
    result = {
        "device": device.type,
        "threads": args.threads,
        "batch_size": config.batch_size,
        "nchw_samples_per_s": round(best["nchw"]),
        "channels_last_samples_per_s": round(best["channels_last"]),
        "ratio_channels_last_vs_nchw": round(best["channels_last"] / best["nchw"], 2),
        "shared_samples_per_s": round(best["shared"]),
        "ratio_shared_vs_channels_last": round(best["shared"] / best["channels_last"], 2),
        "ratio_shared_vs_nchw": round(best["shared"] / best["nchw"], 2),
    }
    for key, value in result.items():
        print(f"{key:<32} {value}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
