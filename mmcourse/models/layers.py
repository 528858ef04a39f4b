"""Small layers and input checks that the fusion modules and the matcher share.

- `mlp(in_dim, hidden_dim)`: Linear + ReLU, the hidden layer every fusion head is made of.
- `coordinate_grid(h, w)`: the x and y of every grid position, so a layer can know *where*.
- `expect_features`, `expect_pair`, `expect_grid`: ValueError naming the tensor, its shape
  and the shape expected, before any matrix product fails somewhere deep inside.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["mlp", "coordinate_grid", "expect_features", "expect_pair", "expect_grid"]


def mlp(in_dim: int, hidden_dim: int) -> nn.Sequential:
    """One hidden layer: Linear(in_dim, hidden_dim) then ReLU; (B, in_dim) -> (B, hidden_dim)."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU())


def coordinate_grid(h: int, w: int, device=None) -> torch.Tensor:
    """(2, h, w): the x (column) and y (row) coordinate of every grid position, in [-1, 1].

    Appended to a feature grid as two extra channels, it tells a layer *where* each
    feature is -- which global pooling and convolutions alone forget.
    """
    ys = torch.linspace(-1, 1, h, device=device) if h > 1 else torch.zeros(1, device=device)
    xs = torch.linspace(-1, 1, w, device=device) if w > 1 else torch.zeros(1, device=device)
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x, y])


def expect_features(name: str, value, dim: int) -> None:
    """ValueError naming `name` unless value is a tensor of shape (B, dim)."""
    if not isinstance(value, torch.Tensor) or value.dim() != 2 or value.shape[1] != dim:
        shape = tuple(value.shape) if hasattr(value, "shape") else type(value).__name__
        raise ValueError(
            f"{name} must be a tensor of shape (B, {dim}) -- one feature vector per row -- but got {shape}."
        )


def expect_pair(image, text, image_dim: int, text_dim: int) -> None:
    """ValueError unless image is (B, image_dim) and text is (B, text_dim), with the same B."""
    expect_features("image", image, image_dim)
    expect_features("text", text, text_dim)
    if image.shape[0] != text.shape[0]:
        raise ValueError(
            f"image and text must hold the same number of pairs B, but have {image.shape[0]} and {text.shape[0]} rows."
        )


def expect_grid(grid, batch: int, channels: int) -> None:
    """ValueError unless grid is a feature map of shape (batch, channels, h, w)."""
    if not isinstance(grid, torch.Tensor) or grid.dim() != 4 or grid.shape[:2] != (batch, channels):
        got = tuple(grid.shape) if hasattr(grid, "shape") else grid
        raise ValueError(f"grid must have shape (B, {channels}, h, w), but got {got}.")
