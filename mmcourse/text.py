"""Text processing: tokens, a vocabulary, padded id arrays and bags of words (lesson 05, 06).

The path from a caption to numbers a network can read:

    >>> vocab = Vocab.build(["a red circle is left of a blue square", "a green square is above a red circle"])
    >>> tokens, lengths = vocab.encode(["a red circle is above a blue square", "a red circle"])
    >>> tokens.shape, lengths.tolist()        # (n, T): one caption per row, right-padded with 0
    ((2, 8), [8, 3])
    >>> vocab.decode(tokens, lengths)
    ['a red circle is above a blue square', 'a red circle']

Conventions every later lesson relies on:

- `<pad>` has id 0 and `<unk>` has id 1 (`PAD_ID`, `UNK_ID`); words never seen when the
  vocabulary was built map to `<unk>`;
- padding is on the RIGHT: row i holds `lengths[i]` real ids, then zeros;
- ids are int64 (what `nn.Embedding` expects), shapes are (n, T) with rows = captions.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .validation import expect_positive_int

__all__ = [
    "PAD",
    "UNK",
    "PAD_ID",
    "UNK_ID",
    "tokenize",
    "Vocab",
    "Vocabulary",
    "pad_sequences",
    "bag_of_words",
]

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

_TOKEN = re.compile(r"<pad>|<unk>|[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Split `text` into lower-case word tokens; punctuation marks become tokens of their own.

    >>> tokenize("A red circle, left of a BLUE square.")
    ['a', 'red', 'circle', ',', 'left', 'of', 'a', 'blue', 'square', '.']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, but got {type(text).__name__} {text!r}.")
    return _TOKEN.findall(text.lower())


def _expect_captions(name: str, captions) -> list[str]:
    """A list of strings, or TypeError/ValueError naming `name`."""
    if isinstance(captions, str):
        raise TypeError(
            f"{name} must be a list of strings, but got one string {captions!r}. Wrap it in a list: [{captions!r}]."
        )
    try:
        captions = list(captions)
    except TypeError:
        raise TypeError(f"{name} must be a list of strings, but got {type(captions).__name__}.") from None
    if not captions:
        raise ValueError(f"{name} must hold at least one caption, but is empty.")
    for index, caption in enumerate(captions):
        if not isinstance(caption, str):
            raise TypeError(
                f"{name} must be a list of strings, but item {index} is {type(caption).__name__} {caption!r}."
            )
    return captions


def pad_sequences(sequences: Sequence[Sequence[int]], max_len: int | None = None, pad_id: int = PAD_ID):
    """Right-pad id sequences into one int64 array.

    sequences: n lists of ids (any lengths); max_len: T, the width (default: the longest);
    longer sequences are cut to max_len. Returns (tokens (n, T) int64, lengths (n,) int64),
    where lengths counts the real ids in each row after any cut.
    """
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    width = int(lengths.max(initial=0)) if max_len is None else expect_positive_int("max_len", max_len)
    lengths = np.minimum(lengths, width)
    tokens = np.full((len(sequences), width), pad_id, dtype=np.int64)
    for row, (sequence, length) in enumerate(zip(sequences, lengths)):
        tokens[row, :length] = sequence[:length]
    return tokens, lengths


class Vocab:
    """A two-way map between words and integer ids, with `<pad>` = 0 and `<unk>` = 1.

    Build it from training captions with `Vocab.build(captions)`; ids are assigned by
    decreasing frequency, ties broken alphabetically, so the same captions always give
    the same ids.
    """

    def __init__(self, words: Iterable[str]):
        words = [w for w in words if w not in (PAD, UNK)]
        if len(set(words)) != len(words):
            raise ValueError("words must not repeat: each word gets exactly one id.")
        self.itos: list[str] = [PAD, UNK, *words]
        self.stoi: dict[str, int] = {word: index for index, word in enumerate(self.itos)}

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 1, max_size: int | None = None) -> Vocab:
        """The vocabulary of `captions`: words seen at least `min_count` times, at most `max_size` ids in all."""
        captions = _expect_captions("captions", captions)
        min_count = expect_positive_int("min_count", min_count)
        counts = Counter(token for caption in captions for token in tokenize(caption))
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        if max_size is not None:
            max_size = expect_positive_int("max_size", max_size)
            if max_size < 3:
                raise ValueError(
                    f"max_size must be at least 3 (<pad>, <unk> and one word), but got {max_size}."
                )
            words = words[: max_size - 2]
        return cls(words)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def __repr__(self) -> str:
        preview = ", ".join(self.itos[2:8])
        return f"Vocab({len(self)} ids: <pad>=0, <unk>=1, {preview}{', ...' if len(self) > 8 else ''})"

    @property
    def pad_id(self) -> int:
        return PAD_ID

    @property
    def unk_id(self) -> int:
        return UNK_ID

    def token_ids(self, caption: str) -> list[int]:
        """The ids of one caption's tokens (unknown words -> `<unk>`), no padding."""
        return [self.stoi.get(token, UNK_ID) for token in tokenize(caption)]

    def encode(self, captions: Iterable[str], max_len: int | None = None):
        """Captions -> (tokens (n, T) int64, lengths (n,) int64), right-padded with `<pad>` = 0.

        T is the longest caption, or `max_len` (longer captions are cut, and their
        length is then max_len).
        """
        captions = _expect_captions("captions", captions)
        return pad_sequences([self.token_ids(c) for c in captions], max_len=max_len)

    def decode(self, tokens, lengths=None) -> list[str]:
        """Ids (n, T) -> n strings; stops at `lengths[i]` if given, else drops `<pad>` ids."""
        tokens = np.asarray(tokens.detach().cpu() if hasattr(tokens, "detach") else tokens)
        if tokens.ndim == 1:
            tokens = tokens[None, :]
        if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(
                f"tokens must be a 2-D integer array (n, T), but has shape {tokens.shape}, dtype {tokens.dtype}."
            )
        if tokens.size and (tokens.min() < 0 or tokens.max() >= len(self)):
            raise ValueError(
                f"tokens must be ids in [0, {len(self) - 1}], but range {tokens.min()}..{tokens.max()}."
            )
        if lengths is None:
            rows = [[i for i in row if i != PAD_ID] for row in tokens.tolist()]
        else:
            lengths = np.asarray(lengths.detach().cpu() if hasattr(lengths, "detach") else lengths).astype(
                int
            )
            if lengths.shape != (len(tokens),):
                raise ValueError(
                    f"lengths must have shape ({len(tokens)},), one per row of tokens, but has {lengths.shape}."
                )
            rows = [row[:length] for row, length in zip(tokens.tolist(), lengths)]
        return [" ".join(self.itos[i] for i in row) for row in rows]

    def to_dict(self) -> dict:
        return {"format": "mmcourse.Vocab", "version": 1, "itos": list(self.itos)}

    @classmethod
    def from_dict(cls, state: dict) -> Vocab:
        itos = state.get("itos") if isinstance(state, dict) else None
        if not isinstance(itos, list) or itos[:2] != [PAD, UNK]:
            raise ValueError(
                "not a saved Vocab: expected a dict whose 'itos' list starts with '<pad>', '<unk>'."
            )
        return cls(itos[2:])

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON (a list of words in id order)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a vocabulary written by `save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


Vocabulary = Vocab  # the long name, for readers who prefer it


def bag_of_words(tokens, vocab_size: int, lengths=None):
    """Word counts per caption, ignoring `<pad>`: tokens (n, T) int ids -> (n, vocab_size) float32.

    Word order is lost: "a red circle is left of a blue square" and "a blue square is
    left of a red circle" get the SAME row -- which is exactly what lesson 06 measures.
    If `lengths` (n,) is given, ids past each length are ignored too.
    """
    vocab_size = expect_positive_int("vocab_size", vocab_size)
    tokens = np.asarray(tokens.detach().cpu() if hasattr(tokens, "detach") else tokens)
    if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError(
            f"tokens must be a 2-D integer array (n, T), but has shape {tokens.shape}, dtype {tokens.dtype}."
        )
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab_size):
        raise ValueError(
            f"tokens must be ids in [0, vocab_size - 1 = {vocab_size - 1}], but range {tokens.min()}..{tokens.max()}."
        )
    keep = tokens != PAD_ID
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (len(tokens),):
            raise ValueError(
                f"lengths must have shape ({len(tokens)},), one per row of tokens, but has {lengths.shape}."
            )
        keep &= np.arange(tokens.shape[1])[None, :] < lengths[:, None]
    counts = np.zeros((len(tokens), vocab_size), dtype=np.float32)
    rows = np.broadcast_to(np.arange(len(tokens))[:, None], tokens.shape)
    np.add.at(counts, (rows[keep], tokens[keep]), 1.0)
    return counts
