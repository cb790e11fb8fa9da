"""Lesson 02, local windows: figures, explorers and exercise checkers.

The course file behind ``notebooks/02_local_windows.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from .checks import call, checker, compare, passed, refuse_answer_key
from .draw import new_figure, sample_photo, token_colors
from .explorer import Explorer

# ---- figures -------------------------------------------------------------------------------------


def window_ids(H: int, W: int, window_size: int | tuple[int, int]) -> np.ndarray:
    """For every token of an ``H x W`` grid, the index of its window: ``(H, W)`` ints.

    Windows are numbered row-major, as :func:`swinlab.windows.window_partition` stacks them
    (window ``i`` of an image is row ``i`` of its windows in the batch).
    """
    from .._utils import pair
    from ..windows import num_windows

    num_windows(H, W, window_size)  # raises a ValueError naming the sizes and the fix
    mh, mw = pair(window_size, "window_size")
    rows, cols = np.arange(H)[:, None] // mh, np.arange(W)[None, :] // mw
    return rows * (W // mw) + cols


def pair_pattern(order: np.ndarray, rgb: np.ndarray, max_side: int = 392) -> np.ndarray:
    """The ``(n, n)`` attention pattern of tokens whose windows are ``order`` (``(n,)`` ints), as an RGB image:
    pair ``(i, j)`` coloured with the window's colour (``rgb``: ``(nW, 3)`` uint8) when tokens i and j share a
    window, white otherwise. Above ``max_side`` tokens, each pixel covers a ``k x k`` block of pairs and is
    coloured when any pair in it is attended (so thin stripes stay visible): ``(ceil(n/k), ceil(n/k), 3)``."""
    n = order.size
    k = max(1, -(-n // max_side))
    m = -(-n // k)
    padded = np.concatenate([order, np.full(m * k - n, -1)])  # -1: padding, shares no window
    rows = padded.reshape(m, k)
    # block (a, b) holds an attended pair when some window appears in row block a and in column block b
    present = np.zeros((m, rgb.shape[0]), dtype=bool)
    for r in range(k):
        valid = rows[:, r] >= 0
        present[np.flatnonzero(valid), rows[valid, r]] = True
    attended = (present.astype(np.int32) @ present.T.astype(np.int32)) > 0
    first = np.where(rows[:, 0] >= 0, rows[:, 0], 0)
    return np.where(attended[..., None], rgb[first][:, None, :], np.uint8(255))


def draw_windows(
    H: int, W: int, window_size: int | tuple[int, int], image: np.ndarray | None = None
) -> tuple[Figure, dict]:
    """The ``H x W`` token grid cut into windows, one colour per window (left), and which token pairs attend to
    each other, as an ``(HW, HW)`` pattern, twice: tokens in raster order, row by row over the whole map (middle),
    and in the order :func:`swinlab.windows.window_partition` stacks them, window by window (right), where each
    window becomes one dense diagonal block.

    ``image`` (optional, ``(H', W', 3)``) is drawn under the grid. ``state``: grid, window size, number of
    windows ``nW``, tokens per window ``Mh*Mw``, attention pairs computed by windows ``nW*(Mh*Mw)^2`` and by
    global attention ``(HW)^2``.
    """
    from .._utils import pair

    ids = window_ids(H, W, window_size)
    mh, mw = pair(window_size, "window_size")
    n_windows = int(ids.max()) + 1
    colors = token_colors(n_windows)
    fig, (ax_grid, ax_raster, ax_pairs) = new_figure(1, 3, size=(3.3, 3.6))

    if image is not None:
        ax_grid.imshow(image, extent=(0, W, H, 0))
    ax_grid.imshow(colors[ids][..., :3], extent=(0, W, H, 0), alpha=0.45 if image is not None else 0.9)
    if max(H, W) <= 64:
        for k in range(1, H):
            ax_grid.axhline(k, color="white", lw=0.3)
        for k in range(1, W):
            ax_grid.axvline(k, color="white", lw=0.3)
    for k in range(0, H + 1, mh):
        ax_grid.axhline(k, color="black", lw=1.5 if mh > 1 else 0.5)
    for k in range(0, W + 1, mw):
        ax_grid.axvline(k, color="black", lw=1.5 if mw > 1 else 0.5)
    for i in range(H // mh):
        for j in range(W // mw):
            if n_windows <= 64:
                ax_grid.text(
                    j * mw + mw / 2,
                    i * mh + mh / 2,
                    str(i * (W // mw) + j),
                    ha="center",
                    va="center",
                    fontsize=7 if n_windows > 16 else 10,
                    color="black",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0},
                )
    ax_grid.set_xlim(0, W)
    ax_grid.set_ylim(H, 0)
    ax_grid.set_title(f"{H}×{W} tokens, window M={mh if mh == mw else (mh, mw)}:\n{n_windows} windows", fontsize=10)

    rgb = (colors[:, :3] * 255).astype(np.uint8)
    for ax, order, name in (
        (ax_raster, ids.reshape(-1), "raster order (row by row)"),
        (ax_pairs, np.sort(ids.reshape(-1), kind="stable"), "window by window"),
    ):
        ax.imshow(pair_pattern(order, rgb), interpolation="nearest", extent=(0, H * W, H * W, 0))
        ax.set_xlabel(f"key token, {name}", fontsize=8)
        ax.set_ylabel(f"query token, {name}", fontsize=8)
        ax.tick_params(labelsize=7)
    computed, total = n_windows * (mh * mw) ** 2, (H * W) ** 2
    ax_raster.set_title("pairs attended, tokens in raster order:\nscattered in stripes", fontsize=10)
    ax_pairs.set_title(
        f"the same pairs, window by window:\nnW·(M²)² = {computed:,} of {total:,} ({100 * computed / total:.1f}%)",
        fontsize=10,
    )
    ax_grid.set_xticks([])
    ax_grid.set_yticks([])
    state = {
        "grid": (H, W),
        "window_size": (mh, mw),
        "num_windows": n_windows,
        "tokens_per_window": mh * mw,
        "pairs_computed": computed,
        "pairs_global": total,
    }
    return fig, state


# ---- explorers -----------------------------------------------------------------------------------


def window_explorer(grid: int = 56, image=None) -> Explorer:
    """A slider over the window size ``M`` (every divisor of ``grid``) on a ``grid x grid`` token map
    drawn over the lesson photo (draws :func:`swinlab.draw_windows`; control ``"M"``)."""
    from .._utils import pair

    grid = pair(grid, "grid")[0]
    image = sample_photo(224) if image is None else image
    options = [1] + [m for m in range(2, grid + 1) if grid % m == 0]
    slider = widgets.SelectionSlider(
        options=options, value=7 if 7 in options else options[len(options) // 2], description="window M"
    )
    return Explorer(lambda M: draw_windows(grid, grid, M, image=image), M=slider)


# ---- exercise checkers ---------------------------------------------------------------------------


@checker
def check_window_reverse(fn) -> bool:
    """Exercise 1: the student's ``fn(windows, M, H, W)``: ``(B*nW, M, M, C) -> (B, H, W, C)``, the inverse of
    :func:`swinlab.windows.window_partition`, on several shapes (B = 1 to 3, one and many windows, H != W).

    Refuses :func:`swinlab.windows.window_reverse` (the answer key). Maps hold ``0, 1, 2, ...`` so a value in
    the wrong place says where it belongs.
    """
    from ..windows import window_partition, window_reverse

    refuse_answer_key(fn, window_reverse, name="window_reverse")
    hint = "Windows are stacked batch-major, then row-major over the grid of windows, as window_partition made them."
    for B, H, W, C, M in [(1, 4, 4, 1, 2), (2, 4, 4, 1, 2), (2, 6, 9, 4, 3), (1, 7, 7, 3, 7), (3, 8, 4, 2, 2)]:
        x = torch.arange(B * H * W * C, dtype=torch.float32).view(B, H, W, C)
        got = call(fn, window_partition(x, M), M, H, W, name="my_window_reverse")
        compare(f"my_window_reverse on the windows of a {(B, H, W, C)} map, M={M}", got, x, hint)
    return passed("my_window_reverse(window_partition(x, M), M, H, W) gives x back on every shape tried.")


def window_sequences_channels_first(x: torch.Tensor, Mh: int, Mw: int) -> torch.Tensor:
    """What exercise 2 asks for, computed the lesson's way: channels-first maps ``(B, C, H, W)`` cut into
    ``Mh x Mw`` windows of token sequences ``(B*nW, Mh*Mw, C)``, windows in :func:`window_partition`'s order,
    tokens row by row inside each window."""
    from ..windows import window_partition

    windows = window_partition(x.permute(0, 2, 3, 1), (Mh, Mw))  # B*nW, Mh, Mw, C
    return windows.reshape(windows.shape[0], Mh * Mw, x.shape[1])


@checker
def check_window_sequences(fn) -> bool:
    """Exercise 2: the student's ``fn(x, Mh, Mw)``: channels-first maps ``(B, C, H, W)`` (as convolutions and
    data loaders give them) -> ``(B*nW, Mh*Mw, C)`` token sequences ready for attention, with rectangular
    windows ``Mh x Mw``, windows in :func:`swinlab.windows.window_partition`'s order.

    Refuses ``window_partition`` and ``window_partition_loop``: here they are the answer key. Maps hold
    ``0, 1, 2, ...`` so a value in the wrong place says where it belongs.
    """
    from ..windows import window_partition, window_partition_loop

    refuse_answer_key(
        fn, window_partition, window_partition_loop, window_sequences_channels_first, name="window_partition"
    )
    hint = (
        "Each output row is one window's tokens, row by row inside the window; each token holds its C channel "
        "values together; windows come in window_partition's order."
    )
    for B, C, H, W, Mh, Mw in [(1, 1, 4, 6, 2, 3), (2, 3, 6, 8, 3, 2), (1, 2, 4, 4, 4, 1), (2, 4, 6, 6, 3, 3)]:
        x = torch.arange(B * C * H * W, dtype=torch.float32).view(B, C, H, W)
        got = call(fn, x, Mh, Mw, name="window_sequences")
        compare(
            f"window_sequences on a {(B, C, H, W)} map, Mh={Mh}, Mw={Mw}",
            got,
            window_sequences_channels_first(x, Mh, Mw),
            hint,
        )
    return passed("channels-first maps become (B*nW, Mh*Mw, C) window sequences, for every shape tried.")
