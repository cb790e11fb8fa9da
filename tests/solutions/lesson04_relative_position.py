"""Lesson 04: correct answers to the notebook's exercises (the notebook never shows them)."""

import torch


def my_index(M: int) -> torch.Tensor:
    """Exercise 1: the (M*M, M*M) relative position index of a square window."""
    rows, cols = torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()  # token i sits at (rows[i], cols[i])
    dy = rows[:, None] - rows[None, :] + (M - 1)  # query - key, shifted to 0 .. 2M-2
    dx = cols[:, None] - cols[None, :] + (M - 1)
    return dy * (2 * M - 1) + dx


def my_rect_index(Mh: int, Mw: int) -> torch.Tensor:
    """Exercise 2: the index of an Mh x Mw window; the row part counts whole table rows of 2Mw-1 entries."""
    rows, cols = torch.meshgrid(torch.arange(Mh), torch.arange(Mw), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    dy = rows[:, None] - rows[None, :] + (Mh - 1)
    dx = cols[:, None] - cols[None, :] + (Mw - 1)
    return dy * (2 * Mw - 1) + dx
