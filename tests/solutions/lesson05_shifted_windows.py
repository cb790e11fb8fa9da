"""Lesson 05: correct answers to the notebook's exercises (the notebook never shows them)."""

import torch

from swinlab.windows import window_partition


def my_shift_mask(H: int, W: int, M: int, s: int) -> torch.Tensor:
    """Exercise 1: the (nW, M*M, M*M) mask from where each rolled token came from."""
    rows = (torch.arange(H) + s) % H  # the original row of each rolled row
    cols = (torch.arange(W) + s) % W
    piece_r = torch.where(rows >= s, (rows - s) // M, -1)  # displaced window along the rows; -1: the first s rows
    piece_c = torch.where(cols >= s, (cols - s) // M, -1)
    piece = (piece_r[:, None] + 1) * (W // M + 1) + piece_c[None, :] + 1  # H, W: one id per displaced window
    ids = window_partition(piece[None, :, :, None], M).reshape(-1, M * M)  # nW, M*M
    return torch.where(ids[:, :, None] == ids[:, None, :], 0.0, -100.0)


def masked_pairs(H: int, W: int, M: int, s: int) -> int:
    """Exercise 2: the -100 entries of the whole mask, from the piece widths M - s and s."""
    split = (M - s) ** 2 + s**2  # allowed pairs along one split axis, per row of the other axis
    edge = M**4 - M**2 * split  # a window of the last column (or row): two pieces, each M tokens long
    corner = M**4 - split**2  # the bottom-right window: four pieces
    return (H // M - 1) * edge + (W // M - 1) * edge + corner
