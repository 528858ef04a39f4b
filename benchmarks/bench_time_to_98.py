"""Time to a target test accuracy on shapes from a cold start, data generation included.

    python benchmarks/bench_time_to_98.py [--target 0.98] [--threads 2] [--max-epochs 20] [--device auto]
    python benchmarks/bench_time_to_98.py --negatives 0     # without AttributeNegatives: where it stalls
    python benchmarks/bench_time_to_98.py --seed 0 1 2 3 4   # how often the recipe reaches the target
    python benchmarks/bench_time_to_98.py --stop-early       # stop once validation says the target is reached
    python benchmarks/bench_time_to_98.py --channels-last on # the CNN in NHWC: faster steps on a CPU too
    python benchmarks/bench_time_to_98.py --model transformer  # lesson 10's single stream, the matcher's recipe
    python benchmarks/bench_time_to_98.py --model transformer --recipe own --stop-early  # ... on its own recipe

The clock starts before the data are generated: generate the shapes data, encode it and
move it to the device, build lesson 08's matcher, train with mmcourse.train.fit (the
settings of `mmcourse train --task shapes`, AttributeNegatives included: the whole recipe,
which itself stops once validation reaches 98.6 %, or with --stop-early until the
VALIDATION accuracy is one standard error above --target); then measure the test accuracy. --recipe own trains a model on its own preset instead
(config_for("shapes", model): lesson 10's transformer reads the matcher's trained CNN,
frozen, for up to 80 epochs -- its time does not count the minute that CNN took to train).
Prints the seconds, the epochs, the test accuracy, whether the target was reached, the
peak resident memory (RSS) of the process, and (after the clock stops) the test accuracy
per kind of pair. Issue 19's target: >= 98 % test accuracy in <= 20 s on
2 CPU cores, on each of 3 seeds (issue 7 asked for 60 s). What bought what, on this 2-core
machine (seeds 0 1 2): the old recipe (10 epochs, NCHW) 56.6 / 56.1 / 52.8 s; channels-last
41.8 / 48.2 / 43.2 s; the recipe of today (channels-last, each scene encoded once, stop at
98.6 % validation, at most 8 epochs) 16.8 / 18.6 / 19.4 s in one run, 24.1 / 21.6 / 21.1 s
in another (5, 6 and 7 epochs; this machine's speed varies by a fifth from run to run).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from dataclasses import replace


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss is kB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def run(target=0.98, threads=2, max_epochs=None, device="auto", n_train=None, batch_size=None, amp="auto",
        compile=False, seed=0, negatives=None, stop_early=False, model="matcher", recipe="matcher",
        channels_last=None, lr=None) -> dict:  # fmt: skip
    start = time.perf_counter()
    import torch

    from mmcourse.data import TensorBatches, mismatch_kinds, to_tensors
    from mmcourse.env import pick_device
    from mmcourse.models import build_model
    from mmcourse.tasks import config_for, load_task, training_transform
    from mmcourse.train import evaluate, fit, predict

    torch.set_num_threads(threads)
    device = pick_device(device)
    if recipe not in ("matcher", "own"):
        raise ValueError(f"recipe must be 'matcher' or 'own', but got {recipe!r}.")
    # by default the same recipe for every model, so the comparison is fair; "own": the model's preset
    preset = config_for("shapes", "matcher" if recipe == "matcher" else model)
    config = replace(preset, model=model, seed=seed, amp=amp, compile=compile, epochs=max_epochs or preset.epochs,
                     batch_size=batch_size or preset.batch_size, n_train=n_train or preset.n_train)  # fmt: skip
    if negatives is not None:  # the rate of AttributeNegatives; 0 trains on the data set's own pairs alone
        config = replace(config, negatives=negatives)
    if channels_last is not None:  # the CNN's memory layout: True is faster on CPUs too (rounding differs)
        config = replace(config, channels_last=channels_last)
    batch_size = config.batch_size
    data = load_task("shapes", n_train=config.n_train, seed=seed)
    tensors = {part: to_tensors(data[part], data["vocab"], device) for part in ("train", "val", "test")}
    data_seconds = time.perf_counter() - start
    train = TensorBatches(*tensors["train"], batch_size=batch_size, shuffle=True, seed=seed)
    val = TensorBatches(*tensors["val"], batch_size=500, shuffle=False)
    test = TensorBatches(*tensors["test"], batch_size=500, shuffle=False)
    torch.manual_seed(seed)
    net = build_model(model, **data["model_config"], **config.model_settings)
    transform = training_transform(config, data["vocab"])
    config = replace(
        config, lr=(lr or preset.lr) * (batch_size / preset.batch_size) ** 0.5
    )  # larger batches, larger steps
    # stop_early: stop when the VALIDATION accuracy is one standard error above the target (a
    # 500-pair validation set measures 98 % only to +-0.6 points: stopping the moment it touches
    # 98 % would stop about half the time at a model below 98 % on the test set). Otherwise the
    # whole recipe runs, as `mmcourse train --task shapes` does.
    stop_at = min(1.0, target + math.sqrt(target * (1 - target) / len(data["val"]))) if stop_early else None
    config = replace(config, target=stop_at if stop_early else preset.target)  # a preset's own stop (lesson 10's: 0.99)
    history = fit(
        net, train, val, device=device, progress=False, train_transform=transform, **config.fit_options()
    )
    accuracy = evaluate(net, test, amp=amp)["accuracy"]
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    logits, targets = predict(net, test)  # not timed: which kinds of pair are still wrong?
    correct = (logits.argmax(dim=1) == targets).numpy()
    kinds = mismatch_kinds(data["test"])
    by_kind = {kind: round(float(correct[kinds == kind].mean()), 3) for kind in sorted(set(kinds))}
    return {
        "model": model,
        "recipe": recipe,
        "parameters": sum(p.numel() for p in net.parameters()),
        "device": device.type,
        "threads": threads,
        "target": target,
        "stop_at_val_accuracy": None if stop_at is None else round(stop_at, 4),
        "test_accuracy": round(accuracy, 4),
        "reached": accuracy >= target,
        "seconds": round(seconds, 2),
        "data_seconds": round(data_seconds, 2),
        "epochs": history.epochs,
        "negatives": config.negatives,
        "channels_last": config.channels_last,
        "lr": config.lr,
        "batch_size": batch_size,
        "peak_rss_mb": round(peak_rss_mb()),
        "accuracy_by_kind": by_kind,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--stop-early",
        action="store_true",
        help="stop once the validation accuracy is 1 s.e. above the target",
    )
    parser.add_argument("--negatives", type=float, default=None, help="AttributeNegatives rate (0: none)")
    parser.add_argument("--channels-last", choices=("on", "off"), default=None,
                        help="the CNN's memory layout (default: the preset's, which is channels-last on CUDA only)")
    parser.add_argument("--lr", type=float, default=None, help="the learning rate at the preset's batch size")
    parser.add_argument("--model", default="matcher", help="matcher (lesson 08) or transformer (lesson 10)")
    parser.add_argument("--recipe", choices=("matcher", "own"), default="matcher",
                        help="matcher: the matcher's preset for every model (default); own: the model's own preset")
    parser.add_argument(
        "--seed", type=int, nargs="+", default=[0], help="one run per seed (data, weights, order)"
    )
    args = parser.parse_args(argv)
    results = []
    for seed in args.seed:
        result = run(args.target, args.threads, args.max_epochs, args.device, args.n_train, args.batch_size,
                     seed=seed, negatives=args.negatives, stop_early=args.stop_early, model=args.model,
                     recipe=args.recipe, lr=args.lr,
                     channels_last={"on": True, "off": False, None: None}[args.channels_last])  # fmt: skip
        for key, value in result.items():
            print(f"{key:<16} {value}")
        verdict = "reached" if result["reached"] else "NOT reached"
        print(f"seed {seed}: target {args.target:.0%} {verdict}: test accuracy {result['test_accuracy']} in "
              f"{result['seconds']} s (issue 19's target: <= 20 s on 2 CPU cores); peak RSS {result['peak_rss_mb']} MB")  # fmt: skip
        print(json.dumps(result), flush=True)
        results.append(result)
    if len(results) > 1:  # a recipe should reach the target from most starts, not from one lucky seed
        reached = [r for r in results if r["reached"]]
        seconds = sorted(r["seconds"] for r in results)
        print(f"reached the target in {len(reached)} of {len(results)} seeds; seconds: median "
              f"{seconds[len(seconds) // 2]}, worst {seconds[-1]}; test accuracies "
              f"{[r['test_accuracy'] for r in results]}")  # fmt: skip
    return results[0] if len(results) == 1 else results


if __name__ == "__main__":
    main()
