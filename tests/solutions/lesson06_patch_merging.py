"""Lesson 06: correct answers to the notebook's exercises (the notebook never shows them)."""

import torch
from einops import rearrange


def my_merge(x: torch.Tensor) -> torch.Tensor:
    """Exercise 1: (B, H, W, C) -> (B, H/2, W/2, 4C). The column offset pw is outermost, then the row offset ph:
    (pw, ph) = (0, 0) x0, (0, 1) x1 (odd row), (1, 0) x2 (odd column), (1, 1) x3; each pixel's c innermost."""
    return rearrange(x, "b (h ph) (w pw) c -> b h w (pw ph c)", ph=2, pw=2)


def merging_as_conv(merge) -> torch.Tensor:
    """Exercise 2: reduction's (2C, 4C) weight as a (2C, C, 2, 2) kernel: the 4C inputs are (dx, dy, c)."""
    return rearrange(merge.reduction.weight, "o (dx dy c) -> o c dy dx", dx=2, dy=2)
