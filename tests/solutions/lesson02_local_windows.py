"""Lesson 02: correct answers to the notebook's exercises (the notebook never shows them)."""

import torch
from einops import rearrange


def my_window_reverse(windows: torch.Tensor, M: int, H: int, W: int) -> torch.Tensor:
    """Exercise 1: ``(B*nW, M, M, C) -> (B, H, W, C)``."""
    return rearrange(windows, "(b nh nw) mh mw c -> b (nh mh) (nw mw) c", nh=H // M, nw=W // M)


def my_window_reverse_view_permute(windows: torch.Tensor, M: int, H: int, W: int) -> torch.Tensor:
    """Exercise 1 as the official implementation writes it."""
    B = windows.shape[0] // ((H // M) * (W // M))
    x = windows.view(B, H // M, W // M, M, M, -1)  # B, H/M, W/M, M, M, C
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, -1)  # B, H, W, C


def window_sequences(x: torch.Tensor, Mh: int, Mw: int) -> torch.Tensor:
    """Exercise 2: ``(B, C, H, W) -> (B*nW, Mh*Mw, C)``."""
    return rearrange(x, "b c (nh mh) (nw mw) -> (b nh nw) (mh mw) c", mh=Mh, mw=Mw)
