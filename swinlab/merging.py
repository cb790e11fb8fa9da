"""Lesson 06: patch merging, the step that builds the hierarchy.

The paper: "The first patch merging layer concatenates the features of each group of 2 x 2
neighboring patches, and applies a linear layer on the 4C-dimensional concatenated features.
This reduces the number of tokens by a multiple of 2 x 2 = 4, and the output dimension is set to 2C."
"""

from __future__ import annotations

import torch
from torch import nn

from ._utils import check_rank

__all__ = ["PatchMerging", "merge_neighbours"]


def merge_neighbours(x: torch.Tensor) -> torch.Tensor:
    """Concatenate every 2x2 group of tokens: ``(B, H, W, C) -> (B, H/2, W/2, 4C)``.

    Channel groups, in the official order: x0 = even row/even col, x1 = odd row/even col,
    x2 = even row/odd col, x3 = odd row/odd col.
    """
    check_rank(x, 4, "(B, H, W, C)")
    _, H, W, _ = x.shape
    if H % 2 or W % 2:
        raise ValueError(
            f"patch merging needs an even grid, got H={H}, W={W}: "
            f"pad to {H + H % 2}x{W + W % 2} or change the image size or patch size"
        )
    x0 = x[:, 0::2, 0::2, :]  # B, H/2, W/2, C
    x1 = x[:, 1::2, 0::2, :]
    x2 = x[:, 0::2, 1::2, :]
    x3 = x[:, 1::2, 1::2, :]
    return torch.cat([x0, x1, x2, x3], dim=-1)  # B, H/2, W/2, 4C


class PatchMerging(nn.Module):
    """``(B, H, W, C) -> (B, H/2, W/2, 2C)``: merge 2x2 neighbours, ``norm`` = LayerNorm(4C),
    ``reduction`` = Linear(4C, 2C, bias=False) (official names and order)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and x.shape[-1] != self.dim:
            raise ValueError(f"PatchMerging(dim={self.dim}) got {x.shape[-1]} channels (shape {tuple(x.shape)})")
        return self.reduction(self.norm(merge_neighbours(x)))
