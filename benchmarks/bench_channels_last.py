"""Training steps of lesson 08's matcher in the two memory layouts, NCHW and channels-last, in one run.

    python benchmarks/bench_channels_last.py [--steps 40] [--repeat 3] [--threads 2] [--device auto]

A 4-D image batch (B, C, H, W) can lie in memory channel by channel (NCHW, PyTorch's
default) or pixel by pixel with the channels of each pixel side by side (channels-last,
NHWC). oneDNN's CPU convolutions and max-pools, like cuDNN's, are written for the second,
so a model in NCHW pays for a layout change inside every convolution. Both layouts here
train the same matcher (the same initial weights, the same batches, AttributeNegatives
included, as `mmcourse train --task shapes` does) through mmcourse.train's own steps;
the repeats alternate between the layouts, so that a busy machine slows both alike, and
the fastest repeat of each counts. Printed: training samples per second in each layout
and the ratio channels-last / NCHW, which `TrainConfig(channels_last=True)` and
`mmcourse train --channels-last on` buy (the rounding differs, so the results do too).
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def samples_per_second(model, batches, transform, device, channels_last: bool, steps: int) -> float:
    """Training samples per second over `steps` timed steps (after 3 untimed ones), in one layout."""
    from mmcourse.train import split_batch, to_device, train_step

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    samples, start, done = 0, None, 0
    while done < steps + 3:
        for batch in batches:
            batch = to_device(transform(to_device(batch, device)), device, channels_last)
            inputs, targets = split_batch(batch)
            train_step(model, optimizer, inputs, targets)
            done += 1
            if done == 3:  # warm-up steps are not timed
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            elif done > 3:
                samples += len(targets)
            if done == steps + 3:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return samples / (time.perf_counter() - start)


def main(argv=None) -> dict:
    from mmcourse.data import TensorBatches, to_tensors
    from mmcourse.env import pick_device
    from mmcourse.models.matching import build_matcher
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
    task = load_task("shapes", n_train=args.n_train, seed=0)
    batches = TensorBatches(*to_tensors(task["train"], task["vocab"], device), batch_size=config.batch_size,
                            shuffle=True, seed=0)  # fmt: skip
    best = {"nchw": 0.0, "channels_last": 0.0}
    for _ in range(args.repeat):
        for layout in best:
            torch.manual_seed(0)
            model = build_matcher(**task["model_config"])
            memory_format = torch.channels_last if layout == "channels_last" else torch.contiguous_format
            model = model.to(device, memory_format=memory_format)
            transform = training_transform(config, task["vocab"])  # a fresh one: the same new mismatches
            speed = samples_per_second(
                model, batches, transform, device, layout == "channels_last", args.steps
            )
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
