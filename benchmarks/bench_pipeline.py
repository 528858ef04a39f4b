"""Training throughput: the course pipeline (data on the device) vs per-sample Dataset + DataLoader.

    python benchmarks/bench_pipeline.py [--n-train 8000] [--steps 60] [--threads 2] [--device auto]

All pipelines feed the SAME model (lesson 08's matcher) the same batch size, in the same run:

- course: `to_tensors` once, then `TensorBatches` -- batches by indexing tensors on the device;
- dataset: `PairDataset` (pre-encoded, one sample per __getitem__) + `DataLoader`;
- naive: the tutorial pipeline -- a Dataset holding NumPy images and caption STRINGS that
  tokenises and converts each sample in __getitem__, + `DataLoader` with padding in collate_fn.

Printed: samples/s for making one epoch of batches (the pipeline alone) and for training
steps (pipeline + model), and the ratios course / naive and course / dataset. The issue's
target is a training-throughput ratio >= 3x on 2 CPU cores.

Also printed, Amdahl's law: the share of a naive training step spent making its batch,
and the largest training speed-up ANY pipeline could give on this device,
1 / (1 - share) -- when the model's own arithmetic dominates (a CPU), no pipeline can
reach 3x; on a GPU the model step is fast and the pipeline's share large.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn


class NaiveDataset(torch.utils.data.Dataset):
    """Item i: (image tensor, token ids, length, label), made from NumPy and a string on every call."""

    def __init__(self, data, vocab):
        self.images, self.captions, self.labels, self.vocab = data.images, data.captions, data.labels, vocab

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        ids = self.vocab.token_ids(self.captions[i])
        return torch.tensor(self.images[i]), torch.tensor(ids), len(ids), int(self.labels[i])


def naive_collate(items):
    images, ids, lengths, labels = zip(*items)
    tokens = nn.utils.rnn.pad_sequence(list(ids), batch_first=True)
    return torch.stack(images), tokens, torch.tensor(lengths), torch.tensor(labels)


def pipelines(data, vocab, device, batch_size):
    from mmcourse.data import PairDataset, TensorBatches, to_tensors

    loader = torch.utils.data.DataLoader
    return {
        "course": TensorBatches(
            *to_tensors(data, vocab, device), batch_size=batch_size, shuffle=True, seed=0
        ),
        "dataset": loader(PairDataset(data, vocab), batch_size=batch_size, shuffle=True),
        "naive": loader(
            NaiveDataset(data, vocab), batch_size=batch_size, shuffle=True, collate_fn=naive_collate
        ),
    }


def epoch_seconds(batches, device) -> float:
    start = time.perf_counter()
    for batch in batches:
        batch = [t.to(device, non_blocking=True) for t in batch]
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def train_seconds(batches, model, device, steps: int) -> tuple[float, int]:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    done, samples, start = 0, 0, None
    while done < steps:
        for x, t, lens, y in batches:
            x, t, lens, y = x.to(device), t.to(device), lens.to(device), y.to(device)
            loss = nn.functional.cross_entropy(model(x, t, lens), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            if done == 3:  # warm-up steps are not timed
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start, samples = time.perf_counter(), 0
            elif done > 3:
                samples += len(y)
            if done >= steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, samples


def main(argv=None) -> dict:
    from mmcourse.env import pick_device
    from mmcourse.models.matching import build_matcher
    from mmcourse.tasks import config_for, load_task

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=8000)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the matcher's training batch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.batch_size is None:
        args.batch_size = config_for("shapes", "matcher").batch_size
    device = pick_device(args.device)
    task = load_task("shapes", n_train=args.n_train, seed=0)
    feeds = pipelines(task["train"], task["vocab"], device, args.batch_size)
    result = {"device": device.type, "threads": args.threads, "batch_size": args.batch_size}
    for name, batches in feeds.items():
        best = min(epoch_seconds(batches, device) for _ in range(args.repeat))
        result[f"pipeline_{name}_samples_per_s"] = round(len(task["train"]) / best)
    for name, batches in feeds.items():
        torch.manual_seed(0)
        model = build_matcher(**task["model_config"]).to(device)
        runs = [train_seconds(batches, model, device, args.steps) for _ in range(args.repeat)]
        seconds, samples = min(runs)
        result[f"train_{name}_samples_per_s"] = round(samples / seconds)
    for stage in ("pipeline", "train"):
        course = result[f"{stage}_course_samples_per_s"]
        for other in ("naive", "dataset"):
            result[f"{stage}_ratio_course_vs_{other}"] = round(
                course / result[f"{stage}_{other}_samples_per_s"], 2
            )
    share = result["train_naive_samples_per_s"] / result["pipeline_naive_samples_per_s"]
    result["naive_pipeline_share_of_step"] = round(share, 3)
    result["largest_possible_train_ratio"] = round(1 / (1 - share), 2) if share < 1 else float("inf")
    for key, value in result.items():
        print(f"{key:<40} {value}")
    print(
        f"training-throughput ratio course / naive: {result['train_ratio_course_vs_naive']}x (target >= 3x); "
        f"the naive pipeline is {share:.0%} of a naive step, so no pipeline can exceed "
        f"{result['largest_possible_train_ratio']}x here (Amdahl)"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
