"""Hard negatives for free: change one colour or shape word of a TRUE caption, and it is false.

In `make_shapes` the two objects of a scene always differ in colour AND in shape. Take a
true caption, "a red circle is left of a blue square", and change any one attribute word:

- "a green circle ..." -- nothing in the scene is green;
- "a red triangle ..." -- nothing is a triangle;
- "a red square ..."   -- there is a square, but it is blue: the words exist, the object does not.

Each is false, whatever the scene. So a training loop can make as many "changed
attribute" mismatches as it wants from the MATCHING pairs of every batch -- no metadata,
no new images, only the vocabulary. Lesson 08 needs them: the data set's own
shape-changed mismatches are only 1/12 of the pairs (a third of the negatives are
attribute changes, half of those change a shape), too rare a signal for the matcher to
learn to check shapes before it has settled on colours.

`AttributeNegatives` is the batch transform for `fit(..., train_transform=...)`:

    negatives = AttributeNegatives(vocab, rate=0.5)
    images, tokens, lengths, labels = negatives((images, tokens, lengths, labels))
    # B pairs in; B + 2k out: k matching pairs, each changed (label 0) AND repeated unchanged (label 1)

The unchanged copy keeps the classes balanced: k new mismatches alone would tilt every
batch towards "mismatch", and a model that answers "mismatch" more often is rewarded for it.

The k picked images now appear three times in the batch, and an image encoder would compute
the same features three times. `AttributeNegatives(vocab, rate, share_images=True)` hands
the model each image once instead, with the row of the image that each pair shows:

    images, tokens, lengths, image_index, labels = negatives(batch)   # images (B,...), the rest B + 2k
    logits = model(images, tokens, lengths, image_index)              # FusionClassifier: the CNN runs B times

Same pairs, same labels, a third less CNN work per batch (the matcher's recipe uses it).
"""

from __future__ import annotations

import torch

from ..text import Vocab
from ..validation import expect_number
from .shapes import COLOURS, SHAPES

__all__ = ["attribute_word_groups", "change_one_attribute", "AttributeNegatives"]


def attribute_word_groups(vocab: Vocab, groups=None) -> list[list[int]]:
    """Token ids of interchangeable words, one list per group: by default [colours, shapes].

    groups: lists of words (default: mmcourse.data's COLOURS and SHAPES). Words absent
    from `vocab` are left out; each group must keep at least 2 words (one to replace,
    one to replace it with), and no word may sit in two groups.
    """
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a mmcourse.text.Vocab, but got {type(vocab).__name__}.")
    groups = (tuple(COLOURS), SHAPES) if groups is None else groups
    if isinstance(groups, str) or any(isinstance(group, str) for group in groups):
        raise TypeError(
            f"groups must be lists of words, such as [['red', 'blue'], ['circle', 'square']], but got {groups!r}."
        )
    ids = [[vocab.stoi[word] for word in group if word in vocab] for group in groups]
    for group, found in zip(groups, ids):
        if len(found) < 2:
            raise ValueError(
                f"the group {list(group)} has {len(found)} word(s) in the vocabulary; it needs at least 2 to "
                "change one word into another."
            )
    flat = [i for group in ids for i in group]
    if len(set(flat)) != len(flat):
        raise ValueError(f"a word must belong to one group only, but groups {list(groups)} share words.")
    return ids


def change_one_attribute(tokens, lengths, word_groups, generator=None) -> torch.Tensor:
    """A copy of `tokens` in which ONE attribute word per caption is replaced by another of its group.

    tokens (B, T) int64, right-padded; lengths (B,); word_groups: from
    `attribute_word_groups`. In each caption one position holding a group word is drawn
    uniformly, and its word is replaced by a different word of the same group, drawn
    uniformly. Random numbers come from `generator` (a CPU torch.Generator), so runs repeat
    on any device. A caption without any group word raises ValueError.
    """
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2 or tokens.is_floating_point():
        raise ValueError(
            f"tokens must be an integer torch tensor (B, T), but got {type(tokens).__name__} "
            f"{tuple(getattr(tokens, 'shape', ()))} {getattr(tokens, 'dtype', '')}."
        )
    lengths = torch.as_tensor(lengths, device=tokens.device)
    B, T = tokens.shape
    if lengths.shape != (B,):
        raise ValueError(
            f"lengths must have shape ({B},), one per caption, but has shape {tuple(lengths.shape)}."
        )
    if B == 0:
        return tokens.clone()
    # Look-up tables over the vocabulary: which group a word is in (-1: none) and its rank there.
    vocab_size = max(int(tokens.max()), *(max(group) for group in word_groups)) + 1
    group_of = torch.full((vocab_size,), -1, dtype=torch.long)
    rank_of = torch.zeros(vocab_size, dtype=torch.long)
    table = torch.zeros(len(word_groups), max(len(g) for g in word_groups), dtype=torch.long)
    for g, group in enumerate(word_groups):
        group_of[group] = g
        rank_of[group] = torch.arange(len(group))
        table[g, : len(group)] = torch.tensor(group)
    sizes = torch.tensor([len(group) for group in word_groups])
    group_of, rank_of, table, sizes = (t.to(tokens.device) for t in (group_of, rank_of, table, sizes))

    # 1. one attribute position per caption: the largest of random keys among its attribute words
    real = torch.arange(T, device=tokens.device)[None, :] < lengths[:, None]
    is_attribute = (group_of[tokens] >= 0) & real  # (B, T)
    if not bool(is_attribute.any(dim=1).all()):
        row = int((~is_attribute.any(dim=1)).nonzero()[0])
        raise ValueError(
            f"caption {row} of the batch holds no word of any group: there is nothing to change."
        )
    keys = torch.rand(B, T, generator=generator).to(tokens.device).masked_fill(~is_attribute, -1.0)
    position = keys.argmax(dim=1)  # (B,)
    rows = torch.arange(B, device=tokens.device)
    word = tokens[rows, position]
    group, rank = group_of[word], rank_of[word]

    # 2. a DIFFERENT word of the same group: move 1..size-1 places round the group
    size = sizes[group]
    step = 1 + (torch.rand(B, generator=generator).to(tokens.device) * (size - 1)).long()
    changed = tokens.clone()
    changed[rows, position] = table[group, (rank + step) % size]
    return changed


class AttributeNegatives:
    """A training-batch transform: new mismatches made from a batch's matching pairs.

    vocab: the training vocabulary; rate: the probability that each matching pair
    (label `match_label`) of a batch yields a new pair; seed: for the random draws;
    groups: the interchangeable words (default: colours and shapes).

    Called on (images, tokens, lengths, labels) it returns the same four tensors with
    2k pairs appended, for the k matching pairs drawn: first the k captions with one
    attribute word changed (label `mismatch_label`), then the k pairs unchanged (label
    `match_label`), so the batch stays as balanced as it was. With share_images=True it
    returns five: (images (B, ...) unchanged, tokens, lengths, image_index (B + 2k,) -- the
    row of `images` each pair shows -- and labels), for a model that takes image_index
    (FusionClassifier does), so that each image is encoded once. Only the matching task of
    make_shapes guarantees that a changed caption is false -- do not use it elsewhere
    without that guarantee.
    """

    def __init__(self, vocab: Vocab, rate: float = 0.5, seed: int = 0, groups=None, match_label: int = 1,
                 mismatch_label: int = 0, share_images: bool = False):  # fmt: skip
        rate = expect_number("rate", rate, "float", 0, 1, rule="a probability in [0, 1]")
        if not isinstance(share_images, bool):
            raise TypeError(f"share_images must be True or False, but got {share_images!r}.")
        self.share_images = share_images
        self.word_groups = attribute_word_groups(vocab, groups)
        self.rate, self.match_label, self.mismatch_label = float(rate), match_label, mismatch_label
        self.generator = torch.Generator().manual_seed(int(seed))

    def __call__(self, batch):
        if not isinstance(batch, (tuple, list)) or len(batch) != 4:
            raise ValueError(
                "AttributeNegatives expects a batch (images, tokens, lengths, labels), but got "
                f"{type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}."
            )
        images, tokens, lengths, labels = batch
        if self.rate == 0 and not self.share_images:
            return batch
        drawn = torch.rand(len(labels), generator=self.generator).to(labels.device) < self.rate
        picked = torch.nonzero((labels == self.match_label) & drawn).flatten()  # (k,)
        changed = change_one_attribute(tokens[picked], lengths[picked], self.word_groups, self.generator)
        k = len(picked)
        tokens = torch.cat([tokens, changed, tokens[picked]])
        lengths = torch.cat([lengths, lengths[picked], lengths[picked]])
        labels = torch.cat([labels, labels.new_full((k,), self.mismatch_label), labels[picked]])
        if self.share_images:  # each image once, and the row each pair shows
            image_index = torch.cat([torch.arange(len(images), device=picked.device), picked, picked])
            return images, tokens, lengths, image_index, labels
        return torch.cat([images, images[picked], images[picked]]), tokens, lengths, labels

    def state_dict(self) -> dict:
        """The random state, for checkpoints: fit saves it, so a resumed run draws the same pairs."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])

    def __repr__(self) -> str:
        shared = ", share_images=True" if self.share_images else ""
        return f"AttributeNegatives(rate={self.rate}, groups of {[len(g) for g in self.word_groups]} words{shared})"
