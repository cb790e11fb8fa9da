"""Lesson 05: shifted windows, the cyclic shift and the attention mask.

The paper: "we propose a more efficient batch computation approach by cyclic-shifting toward the
top-left direction [...]. After this shift, a batched window may be composed of several
sub-windows that are not adjacent in the feature map, so a masking mechanism is employed to limit
self-attention computation to within each sub-window."
"""

from __future__ import annotations

import torch

from ._utils import check_divisible, check_rank, pair
from .windows import window_partition

__all__ = [
    "cyclic_shift",
    "reverse_cyclic_shift",
    "shift_regions",
    "shift_mask",
    "MASK_VALUE",
    "window_and_shift",
    "shifted_window_bounds",
    "padded_window_attention",
]

#: The value the official implementation writes where two tokens come from different regions.
#: ``exp(-100) ~ 4e-44`` is zero for any softmax weight that matters, and unlike ``-inf`` it never
#: turns a row into NaN and stays finite in half precision arithmetic after the bias is added.
MASK_VALUE = -100.0


def _check_shift(window_size, shift) -> tuple[tuple[int, int], tuple[int, int]]:
    mh, mw = pair(window_size, "window_size")
    if isinstance(shift, (tuple, list)):
        sh, sw = shift
    else:
        sh = sw = shift
    for s, m in ((sh, mh), (sw, mw)):
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"shift must be a non-negative int (or a pair), got {shift!r}")
        if s >= m:
            raise ValueError(
                f"shift={s} must be smaller than the window M={m}: a shift of M or more "
                f"moves whole windows and changes nothing; Swin uses shift = M // 2 = {m // 2}"
            )
    return (mh, mw), (sh, sw)


def _check_map_and_roll(x: torch.Tensor, shift, name: str) -> tuple[int, int]:
    # A roll along dims 1 and 2 is right only for a (B, H, W, C) map: on (H, W, C) it would roll W and C.
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        fix = (
            "add the batch dimension with x[None] (one map) or x.unsqueeze(0)"
            if isinstance(x, torch.Tensor) and x.dim() == 3
            else "reshape it to (B, H, W, C), channels last"
        )
        raise ValueError(f"{name} rolls a (B, H, W, C) map along H and W, got shape {shape}: {fix}")
    sh, sw = shift if isinstance(shift, (tuple, list)) and len(shift) == 2 else (shift, shift)
    for s in (sh, sw):
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(
                f"{name}: shift must be a non-negative int or a pair (sh, sw) of them, got {shift!r}; "
                f"Swin shifts by M // 2 (3 for M=7)"
            )
    return sh, sw


def cyclic_shift(x: torch.Tensor, shift: int | tuple[int, int]) -> torch.Tensor:
    """Roll a feature map up and to the left by ``shift``: ``(B, H, W, C) -> (B, H, W, C)``."""
    sh, sw = _check_map_and_roll(x, shift, "cyclic_shift")
    return torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))


def reverse_cyclic_shift(x: torch.Tensor, shift: int | tuple[int, int]) -> torch.Tensor:
    """Undo :func:`cyclic_shift`: roll down and to the right. ``(B, H, W, C) -> (B, H, W, C)``."""
    sh, sw = _check_map_and_roll(x, shift, "reverse_cyclic_shift")
    return torch.roll(x, shifts=(sh, sw), dims=(1, 2))


def shift_regions(H: int, W: int, window_size: int | tuple[int, int], shift: int | tuple[int, int]) -> torch.Tensor:
    """Label every position of the shifted ``H x W`` grid with the region it came from.

    ``(H, W)`` int64 with labels ``0..8``. Each axis has three bands, ``[0, H-M)``, ``[H-M, H-s)``
    and ``[H-s, H)``; labels count the bands row-major, as the official implementation does.
    Two tokens of one window may attend to each other only if their labels are equal.
    """
    (mh, mw), (sh, sw) = _check_shift(window_size, shift)
    if H < mh or W < mw:
        raise ValueError(
            f"the map H={H} x W={W} is smaller than the window {(mh, mw)}: shrink the window to "
            f"the map and do not shift (window_and_shift((H, W), M, s) gives the pair to use)"
        )
    labels = torch.zeros(H, W, dtype=torch.long)
    h_bands = (slice(0, H - mh), slice(H - mh, H - sh), slice(H - sh, H))
    w_bands = (slice(0, W - mw), slice(W - mw, W - sw), slice(W - sw, W))
    label = 0
    for hs in h_bands:
        for ws in w_bands:
            labels[hs, ws] = label
            label += 1
    return labels


def shift_mask(
    H: int,
    W: int,
    window_size: int | tuple[int, int],
    shift: int | tuple[int, int],
    device: torch.device | str | None = None,
) -> torch.Tensor | None:
    """The attention mask of shifted windows: ``(nW, M², M²)`` float, or ``None`` when ``shift == 0``.

    Entry ``[w, i, j]`` is 0 when tokens ``i`` and ``j`` of window ``w`` share a region, and
    ``MASK_VALUE`` (-100) when they don't.
    """
    (mh, mw), (sh, sw) = _check_shift(window_size, shift)
    if sh == 0 and sw == 0:
        return None
    labels = shift_regions(H, W, (mh, mw), (sh, sw)).to(device)
    windows = window_partition(labels[None, :, :, None], (mh, mw)).reshape(-1, mh * mw)  # nW, M*M
    same = windows[:, :, None] == windows[:, None, :]  # nW, M*M, M*M
    zero = torch.zeros((), device=labels.device)
    return torch.where(same, zero, torch.full((), MASK_VALUE, device=labels.device))


def window_and_shift(resolution: tuple[int, int], window_size: int, shift: int) -> tuple[int, int]:
    """The window and shift a block really uses on a map of ``resolution = (H, W)``.

    The official rule: if the map is no larger than the window, the window shrinks to the map and
    nothing is shifted (one window covers everything, so there is nothing to connect).
    """
    H, W = pair(resolution, "resolution")
    if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 1:
        raise ValueError(
            f"window_size must be a positive int, got {window_size!r}: a window holds M x M tokens, "
            f"so M >= 1 (Swin uses M=7; for this {H}x{W} map any M <= {min(H, W)} fits)"
        )
    if isinstance(shift, bool) or not isinstance(shift, int) or not 0 <= shift < window_size:
        raise ValueError(
            f"shift must be an int in 0 .. M-1 = {window_size - 1} for window M={window_size}, got {shift!r}: "
            f"use 0 (regular windows) or M // 2 = {window_size // 2} (shifted windows)"
        )
    if min(H, W) <= window_size:
        return min(H, W), 0
    return window_size, shift


def shifted_window_bounds(length: int, window_size: int, shift: int) -> list[tuple[int, int]]:
    """Where the shifted windows cut one axis of the *unshifted* map: ``[(start, stop), ...]``.

    Shifting the window grid by ``s`` (paper: "displacing the windows by (⌊M/2⌋, ⌊M/2⌋)") cuts an axis of
    length ``L`` at ``s, s+M, s+2M, ...``: ``L/M + 1`` pieces when ``s > 0`` (the first ``s`` long, the last
    ``M-s`` long), ``L/M`` pieces of length ``M`` when ``s = 0``. ``12, 4, 2 -> [(0,2), (2,6), (6,10), (10,12)]``.
    """
    pair(length, "length")
    (m, _), (s, _) = _check_shift(window_size, shift)
    check_divisible("length", length, m, "window", "M")
    cuts = sorted({0, length, *range(s, length, m)})
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def padded_window_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    window_size: int | tuple[int, int],
    shift: int | tuple[int, int],
    scale: float | None = None,
) -> torch.Tensor:
    """Shifted-window attention the naive way: ``(B, H, W, d) x3 -> (B, H, W, d)``.

    The paper's "naive solution": the displaced window grid cuts the map into ``(H/M+1) x (W/M+1)``
    windows of uneven size (:func:`shifted_window_bounds`); attend within each one separately,
    ``softmax(q k^T * scale) v`` with ``scale = d**-0.5``. (Padding each piece to ``M x M`` and masking
    the padding gives the same numbers.) A Python loop over windows: the slow reference that cyclic
    shift + :func:`shift_mask` must reproduce.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        check_rank(t, 4, "(B, H, W, d)", name)
    if q.shape != k.shape or q.shape[:3] != v.shape[:3]:
        raise ValueError(
            f"q, k, v must share (B, H, W) and q, k their d: got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    (mh, mw), (sh, sw) = _check_shift(window_size, shift)
    B, H, W, d = q.shape
    scale = d**-0.5 if scale is None else scale
    out = torch.empty(v.shape, dtype=torch.result_type(q, v), device=v.device)
    for top, bottom in shifted_window_bounds(H, mh, sh):
        for left, right in shifted_window_bounds(W, mw, sw):
            qw, kw, vw = (t[:, top:bottom, left:right].flatten(1, 2) for t in (q, k, v))  # B, n, d
            attn = (qw @ kw.transpose(-2, -1) * scale).softmax(dim=-1)  # B, n, n
            out[:, top:bottom, left:right] = (attn @ vw).unflatten(1, (bottom - top, right - left))
    return out
