"""Getting image-caption pairs to PyTorch: the fast on-device path, and the classic Dataset.

- `TensorBatches` keeps images, tokens, lengths and labels as tensors ON THE DEVICE and
  yields shuffled batches by indexing them: no per-sample Python, no host-to-device copy
  per batch. For data that fits in (GPU) memory -- all of this course's -- it is the
  fast path.
- `PairDataset` is the textbook `torch.utils.data.Dataset`: one sample at a time, put
  together by a `DataLoader`. Lesson 08 times the two against each other.
"""

from __future__ import annotations

import numpy as np
import torch

from ..text import Vocab
from ..validation import expect_positive_int
from .dataset import MultimodalData

__all__ = ["to_tensors", "TensorBatches", "PairDataset"]


def to_tensors(data: MultimodalData, vocab: Vocab, device=None, max_len: int | None = None):
    """(images (n, C, H, W) float32, tokens (n, T) int64, lengths (n,) int64, labels (n,) int64) on `device`."""
    if not isinstance(data, MultimodalData):
        raise TypeError(
            f"data must be a MultimodalData (e.g. from make_shapes), but got {type(data).__name__}."
        )
    if not isinstance(vocab, Vocab):
        raise TypeError(
            f"vocab must be a mmcourse.text.Vocab (Vocab.build(train.captions)), but got {type(vocab).__name__}."
        )
    tokens, lengths = vocab.encode(data.captions, max_len=max_len)
    device = torch.device("cpu") if device is None else torch.device(device)
    arrays = (data.images, tokens, lengths, data.labels)
    return tuple(torch.as_tensor(np.ascontiguousarray(a)).to(device) for a in arrays)


class TensorBatches:
    """Shuffled mini-batches (images, tokens, lengths, labels) sliced from tensors that stay on their device.

    tensors: equally long tensors (first axis n), all on one device; batch_size: B;
    shuffle: a new order every epoch, from `seed` (epoch e uses seed + e), so runs repeat;
    drop_last: skip a final batch smaller than B.
    """

    def __init__(
        self, *tensors, batch_size: int = 64, shuffle: bool = True, seed: int = 0, drop_last: bool = False
    ):
        if not tensors:
            raise ValueError(
                "TensorBatches needs at least one tensor, e.g. TensorBatches(*to_tensors(data, vocab))."
            )
        lengths = {len(t) for t in tensors}
        if len(lengths) != 1:
            raise ValueError(
                f"tensors must all have the same first dimension, but have lengths {sorted(lengths)}."
            )
        self.tensors, self.n = tensors, lengths.pop()
        self.batch_size = expect_positive_int("batch_size", batch_size)
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0

    @classmethod
    def from_data(cls, data: MultimodalData, vocab: Vocab, device=None, **options) -> TensorBatches:
        """Batches of `data`, encoded with `vocab` and moved to `device` once."""
        return cls(*to_tensors(data, vocab, device), **options)

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        device = self.tensors[0].device
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.n, generator=generator).to(device)
        else:
            order = torch.arange(self.n, device=device)
        self.epoch += 1
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            yield tuple(t[index] for t in self.tensors)


class PairDataset(torch.utils.data.Dataset):
    """The per-sample Dataset: item i is (image (C, H, W), tokens (T,), length, label) as CPU tensors.

    Every caption is padded to the same T, so the default DataLoader collation works.
    """

    def __init__(self, data: MultimodalData, vocab: Vocab, max_len: int | None = None):
        self.images, self.tokens, self.lengths, self.labels = to_tensors(data, vocab, "cpu", max_len)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.tokens[i], self.lengths[i], self.labels[i]
