"""Lesson 02: local windows.

The paper: "we propose to compute self-attention within local windows. The windows are arranged
to evenly partition the image in a non-overlapping manner. Supposing each window contains M x M
patches, ..." Windows are folded into the batch dimension ("efficient batch computation"), so one
batched attention call serves every window at once.
"""

from __future__ import annotations

import torch
from einops import rearrange

from ._utils import check_divisible, check_rank, pair

__all__ = ["window_partition", "window_reverse", "window_partition_loop", "num_windows"]


def _check_grid(H: int, W: int, window_size) -> tuple[int, int]:
    pair((H, W), "the grid size (H, W)")  # H = 0 would otherwise read as "window larger than the grid"
    mh, mw = pair(window_size, "window_size")
    check_divisible("H", H, mh, "window", "M")
    check_divisible("W", W, mw, "window", "M")
    return mh, mw


def num_windows(H: int, W: int, window_size: int | tuple[int, int]) -> int:
    """How many windows of size ``M`` tile an ``H x W`` grid: ``(H/Mh) * (W/Mw)``."""
    mh, mw = _check_grid(H, W, window_size)
    return (H // mh) * (W // mw)


def window_partition(x: torch.Tensor, window_size: int | tuple[int, int]) -> torch.Tensor:
    """Cut a feature map into non-overlapping windows folded into the batch dimension.

    ``(B, H, W, C) -> (B*nW, Mh, Mw, C)`` with ``nW = (H/Mh)*(W/Mw)``; windows are ordered
    batch-major, then row-major over the grid of windows (the official implementation's order).
    """
    check_rank(x, 4, "(B, H, W, C)")
    mh, mw = _check_grid(x.shape[1], x.shape[2], window_size)
    return rearrange(x, "b (nh mh) (nw mw) c -> (b nh nw) mh mw c", mh=mh, mw=mw)


def window_reverse(windows: torch.Tensor, window_size: int | tuple[int, int], H: int, W: int) -> torch.Tensor:
    """The exact inverse of :func:`window_partition`: ``(B*nW, Mh, Mw, C) -> (B, H, W, C)``."""
    check_rank(windows, 4, "(B*nW, Mh, Mw, C)", "windows")
    mh, mw = _check_grid(H, W, window_size)
    if tuple(windows.shape[1:3]) != (mh, mw):
        raise ValueError(f"windows have shape {tuple(windows.shape)} but window_size is {(mh, mw)}")
    nh, nw = H // mh, W // mw
    if windows.shape[0] % (nh * nw):
        raise ValueError(
            f"{windows.shape[0]} windows cannot come from an H={H} x W={W} grid: "
            f"each image has {nh * nw} windows of {(mh, mw)}"
        )
    return rearrange(windows, "(b nh nw) mh mw c -> b (nh mh) (nw mw) c", nh=nh, nw=nw)


def window_partition_loop(x: torch.Tensor, window_size: int | tuple[int, int]) -> torch.Tensor:
    """:func:`window_partition` written as plain Python loops (the lesson's slow baseline).

    ``(B, H, W, C) -> (B*nW, Mh, Mw, C)``, same order: for each image, window rows top to
    bottom, windows left to right.
    """
    check_rank(x, 4, "(B, H, W, C)")
    B, H, W, _ = x.shape
    mh, mw = _check_grid(H, W, window_size)
    out = []
    for b in range(B):
        for top in range(0, H, mh):
            for left in range(0, W, mw):
                out.append(x[b, top : top + mh, left : left + mw, :])
    return torch.stack(out)
