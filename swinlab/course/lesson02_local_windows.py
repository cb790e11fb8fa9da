"""Lesson 02, local windows: figures, explorers and exercise checkers.

The course file behind ``notebooks/02_local_windows.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from .checks import compare, passed
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


def draw_windows(
    H: int, W: int, window_size: int | tuple[int, int], image: np.ndarray | None = None
) -> tuple[Figure, dict]:
    """The ``H x W`` token grid cut into windows, one colour per window (left), and which token pairs
    attend to each other (right: the ``(HW, HW)`` attention pattern, tokens in the order
    :func:`swinlab.windows.window_partition` stacks them, so each window is one diagonal block).

    ``image`` (optional, ``(H', W', 3)``) is drawn under the grid. ``state``: grid, window size,
    number of windows ``nW``, tokens per window ``Mh*Mw``, attention pairs computed by windows
    ``nW*(Mh*Mw)^2`` and by global attention ``(HW)^2``.
    """
    from .._utils import pair

    ids = window_ids(H, W, window_size)
    mh, mw = pair(window_size, "window_size")
    n_windows = int(ids.max()) + 1
    colors = token_colors(n_windows)
    fig, (ax_grid, ax_pairs) = new_figure(1, 2, size=(3.6, 3.9))

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
                    fontsize=8 if n_windows > 16 else 11,
                    color="black",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0},
                )
    ax_grid.set_xlim(0, W)
    ax_grid.set_ylim(H, 0)
    ax_grid.set_title(f"{H}×{W} tokens, window M={mh if mh == mw else (mh, mw)}: {n_windows} windows")

    order = np.sort(ids.reshape(-1), kind="stable")  # window of each token, in window order
    same = order[:, None] == order[None, :]  # (HW, HW): do tokens i and j share a window?
    rgb = (colors[:, :3] * 255).astype(np.uint8)
    pattern = np.where(same[..., None], rgb[order][:, None, :], np.uint8(255))
    ax_pairs.imshow(pattern, interpolation="nearest")
    computed, total = n_windows * (mh * mw) ** 2, (H * W) ** 2
    ax_pairs.set_title(f"pairs attended: nW·(M²)² = {computed:,}\nof (hw)² = {total:,} ({100 * computed / total:.1f}%)")
    ax_pairs.set_xlabel("key token (window by window)")
    ax_pairs.set_ylabel("query token (window by window)")
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


def check_window_reverse(fn) -> bool:
    """Check a student's ``fn(windows, M, H, W)``: ``(B*nW, M, M, C) -> (B, H, W, C)``, the inverse of
    :func:`swinlab.windows.window_partition`, on several shapes (B = 1 and 2, one and many windows)."""
    from ..windows import window_partition

    hint = (
        "Windows are stacked batch-major, then row-major: "
        "rearrange(windows, '(b nh nw) mh mw c -> b (nh mh) (nw mw) c', nh=H // M, nw=W // M)."
    )
    g = torch.Generator().manual_seed(0)
    cases = [(1, 4, 4, 1, 2), (2, 4, 4, 1, 2), (2, 6, 9, 4, 3), (1, 7, 7, 3, 7), (3, 8, 4, 2, 2)]
    for B, H, W, C, M in cases:
        x = (
            torch.arange(B * H * W * C, dtype=torch.float32).reshape(B, H, W, C)
            if C == 1
            else torch.randn(B, H, W, C, generator=g)
        )
        compare(f"window_reverse on {(B, H, W, C)} with M={M}", fn(window_partition(x, M), M, H, W), x, hint)
    return passed("window_reverse(window_partition(x, M), M, H, W) gives x back on every shape tried.")
