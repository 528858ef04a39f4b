"""Lesson 12's role captioner from a cold start: per-role style, truth and knowledge, and the seconds it took.

    python benchmarks/bench_vlm.py [--threads 2] [--device auto] [--seed 0]
    python benchmarks/bench_vlm.py --baseline        # also the first prototype's recipe, on the same clock

The clock starts before the data are generated: draw the role captions (`load_task("captions")`:
8000 training scenes), build the captioner of `mmcourse train --task captions`, train it with
its preset (mmcourse.tasks.CAPTIONS), decode the 400 test scenes greedily and judge every caption
by parsing it in its requested role against the scene (mmcourse.vlm.caption_report). The issue's
targets: content truth >= 0.95 and style adherence >= 0.99 for every role, the painter's role
knowledge >= 0.95, within 90 s of training on 2 CPU cores. Prints one JSON object.

--baseline also trains, in the same run, the prototype's recipe that the targets were set
against -- a 2-layer CNN (32, 64) with 2 poolings, so 16 image tokens whose receptive fields
each cover a corner of the scene, 8 epochs at lr 2e-3 -- and reports the ratio of the two
recipes' content truth: a machine's speed changes both runs alike.
"""

from __future__ import annotations

import argparse
import json
import time


def run(threads: int = 2, device: str = "auto", seed: int = 0, settings=None, epochs=None, lr=None) -> dict:
    start = time.perf_counter()
    import torch

    from mmcourse.data.roles import ROLES
    from mmcourse.env import pick_device
    from mmcourse.models.captioner import build_captioner, greedy_decode
    from mmcourse.tasks import CAPTIONS, load_task
    from mmcourse.vlm import caption_report, fit_captioner

    torch.set_num_threads(threads)
    device = pick_device(device)
    data = load_task("captions", n_train=CAPTIONS.n_train, seed=seed)
    torch.manual_seed(seed)
    model = build_captioner(**data["model_config"], **(settings or {})).to(device)
    history = fit_captioner(model, data["train"], data["vocab"], epochs=epochs or CAPTIONS.epochs,
                            lr=lr or CAPTIONS.lr, batch_size=CAPTIONS.batch_size, seed=seed,
                            weight_decay=CAPTIONS.weight_decay, warmup=CAPTIONS.warmup, device=device)  # fmt: skip
    train_seconds = time.perf_counter() - start
    test = data["test"]
    texts = greedy_decode(model, data["vocab"], torch.as_tensor(test.images), torch.as_tensor(test.labels))
    report = caption_report(texts, test)
    roles = {role: report[role] for role in ROLES}
    met = (all(r["truth"] >= 0.95 and r["style"] >= 0.99 for r in roles.values())
           and report["painter"]["knowledge"] >= 0.95 and train_seconds <= 90)  # fmt: skip
    return {
        "seconds_to_trained": round(train_seconds, 1),
        "device": device.type,
        "threads": threads,
        "steps": len(history["train_loss"]) * (len(data["train"]) // CAPTIONS.batch_size),
        "truth": round(report["all"]["truth"], 4),
        "style": round(report["all"]["style"], 4),
        "painter_knowledge": round(report["painter"]["knowledge"], 4),
        "per_role": {role: {k: round(v, 4) for k, v in r.items() if k != "n"} for role, r in roles.items()},
        "targets_met": bool(met),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", action="store_true", help="also the prototype's recipe, for a ratio")
    args = parser.parse_args(argv)
    result = {"recipe": run(args.threads, args.device, args.seed)}
    if args.baseline:
        prototype = {"image_channels": [32, 64], "pools": 2}
        result["prototype"] = run(args.threads, args.device, args.seed, prototype, epochs=8, lr=2e-3)
        result["truth_ratio"] = round(result["recipe"]["truth"] / max(result["prototype"]["truth"], 1e-9), 3)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
