"""Unimodal encoders (lessons 04-05): turn an image or a caption into one feature vector.

- `ImageEncoder`: a small CNN, images (B, C, H, W) -> features (B, out_dim), and on request
  the spatial feature grid (B, channels[-1], h, w) that attention can look at later.
- `TextEncoder`: embedding + LSTM over *packed* sequences, tokens (B, T) + lengths (B,) ->
  the hidden state at each caption's TRUE last token (B, hidden_dim) -- never a padding step.
- `BagOfWordsEncoder`: the masked mean of the word embeddings (B, embed_dim); word order is lost.

Token id 0 is padding throughout (`padding_idx=0`), and padding is always at the end.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["length_mask", "gather_last", "ImageEncoder", "TextEncoder", "BagOfWordsEncoder"]


def _check_tokens(tokens, lengths):
    """Validate a padded batch: tokens (B, T) integers, lengths (B,) in 1..T."""
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2 or tokens.is_floating_point():
        shape = tuple(tokens.shape) if hasattr(tokens, "shape") else type(tokens).__name__
        raise ValueError(
            f"tokens must be an integer tensor of shape (B, T), one caption per row, but got {shape}."
        )
    lengths = torch.as_tensor(lengths)
    if lengths.shape != (tokens.shape[0],):
        raise ValueError(
            f"lengths must have shape ({tokens.shape[0]},) -- one length per caption -- "
            f"but has shape {tuple(lengths.shape)}."
        )
    if len(lengths) and (lengths.min() < 1 or lengths.max() > tokens.shape[1]):
        raise ValueError(
            f"lengths must lie in 1..{tokens.shape[1]} (T, the padded length), but range from "
            f"{int(lengths.min())} to {int(lengths.max())}."
        )
    return lengths


def length_mask(lengths, max_len: int) -> torch.Tensor:
    """mask (B, max_len), True at real tokens: mask[b, t] = t < lengths[b]."""
    lengths = torch.as_tensor(lengths)
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def gather_last(outputs: torch.Tensor, lengths) -> torch.Tensor:
    """Each sequence's state at its true last token: outputs (B, T, H), lengths (B,) -> (B, H).

    `outputs[:, -1]` would read a padding step for every sequence shorter than T;
    this reads outputs[b, lengths[b] - 1] instead.
    """
    if outputs.dim() != 3:
        raise ValueError(
            f"outputs must have shape (B, T, H), batch first, but has shape {tuple(outputs.shape)}."
        )
    lengths = torch.as_tensor(lengths, device=outputs.device).long()
    if lengths.shape != (outputs.shape[0],):
        raise ValueError(
            f"lengths must have shape ({outputs.shape[0]},) but has shape {tuple(lengths.shape)}."
        )
    return outputs[torch.arange(outputs.shape[0], device=outputs.device), lengths - 1]


class ImageEncoder(nn.Module):
    """A small CNN: [conv -> ReLU -> max-pool] per entry of `channels`, then a feature vector.

    batch_norm=True puts a BatchNorm2d after each conv (it keeps every layer's inputs centred
    and scaled, so deeper CNNs leave the chance-level plateau sooner -- lesson 08's matcher);
    pools (default: every layer) is how many of the first layers halve the resolution.

    images (B, in_channels, H, W) -> features (B, out_dim). The last feature grid
    (B, channels[-1], H / 2^k, W / 2^k) is pooled over all its positions -- the maximum
    (global_pool="max": "is this pattern anywhere?") or the mean ("mean") -- so the
    features hardly depend on *where* in the image a pattern is, and then mapped to
    out_dim by a linear layer + ReLU. `forward(images, return_grid=True)` also returns
    the grid, for attention over image regions.
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels=(16, 32),
        out_dim: int = 64,
        kernel_size: int = 3,
        global_pool="max",
        batch_norm: bool = False,
        pools: int | None = None,
    ):
        super().__init__()
        if global_pool not in ("max", "mean"):
            raise ValueError(f"global_pool must be 'max' or 'mean', but got {global_pool!r}.")
        self.global_pool = global_pool
        layers, previous = [], in_channels
        pools = len(channels) if pools is None else pools
        for i, width in enumerate(channels):
            layers.append(nn.Conv2d(previous, width, kernel_size, padding=kernel_size // 2))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU())
            if i < pools:
                layers.append(nn.MaxPool2d(2))
            previous = width
        self.in_channels, self.out_dim, self.grid_channels = in_channels, out_dim, previous
        self.features = nn.Sequential(*layers)
        self.project = nn.Sequential(nn.Linear(previous, out_dim), nn.ReLU())

    def forward(self, images: torch.Tensor, return_grid: bool = False):
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"images must have shape (B, {self.in_channels}, H, W) -- NCHW -- but have shape "
                f"{tuple(images.shape)}. Channels last? Try images.permute(0, 3, 1, 2)."
            )
        grid = self.features(images)  # (B, channels[-1], h, w)
        pooled = grid.amax(dim=(2, 3)) if self.global_pool == "max" else grid.mean(dim=(2, 3))
        features = self.project(pooled)  # (B, out_dim)
        return (features, grid) if return_grid else features


class TextEncoder(nn.Module):
    """Embedding + LSTM over packed sequences.

    forward(tokens (B, T), lengths (B,)) -> (B, hidden_dim): the LSTM's hidden state at
    each caption's true last token (h_n of the packed sequence), so padding never
    changes the result. With `return_all=True` it returns (last, states, mask):
    states (B, T, hidden_dim) with zeros at padding steps, mask (B, T) True at real tokens.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden_dim: int = 64, padding_idx: int = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.out_dim = hidden_dim

    def forward(self, tokens: torch.Tensor, lengths, return_all: bool = False):
        lengths = _check_tokens(tokens, lengths)
        embedded = self.embedding(tokens)  # (B, T, E)
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_states, (h_n, _) = self.lstm(packed)
        last = h_n[-1]  # (B, hidden_dim), in the original batch order
        if not return_all:
            return last
        states, _ = pad_packed_sequence(packed_states, batch_first=True, total_length=tokens.shape[1])
        return last, states, length_mask(lengths, tokens.shape[1]).to(tokens.device)


class BagOfWordsEncoder(nn.Module):
    """The masked mean of the word embeddings: tokens (B, T), lengths (B,) -> (B, embed_dim).

    Padding steps are left out of the mean, so extra padding changes nothing; word
    order is lost ("red left of blue" and "blue left of red" give the same vector).
    """

    def __init__(self, vocab_size: int, embed_dim: int = 32, padding_idx: int = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.out_dim = embed_dim

    def forward(self, tokens: torch.Tensor, lengths):
        lengths = _check_tokens(tokens, lengths).to(tokens.device)
        mask = length_mask(lengths, tokens.shape[1]).unsqueeze(-1)  # (B, T, 1)
        summed = (self.embedding(tokens) * mask).sum(dim=1)  # (B, E)
        return summed / lengths.unsqueeze(-1).to(summed.dtype)
