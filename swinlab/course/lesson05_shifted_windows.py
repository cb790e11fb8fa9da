"""Lesson 05, shifted windows: figures, explorers and exercise checkers.

The course file behind ``notebooks/05_shifted_windows.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .checks import ExerciseError, compare, passed
from .draw import bare, grid_lines, new_figure, sample_photo, token_colors
from .explorer import Explorer

# ---- figures -------------------------------------------------------------------------------------


def draw_cyclic_shift(H: int = 4, W: int = 4, window_size: int = 2, shift: int = 1) -> Figure:
    """A small labelled ``H x W`` grid before and after ``torch.roll(x, (-s, -s), (1, 2))``.

    Tokens are numbered ``row * W + col`` before the shift and coloured by the region (0..8) they
    fall into after it; the thick lines are the ``M x M`` windows the rolled grid is cut into.
    """
    import torch

    from ..shift import cyclic_shift, shift_regions

    ids = torch.arange(H * W).reshape(1, H, W, 1)
    rolled = cyclic_shift(ids, shift)[0, :, :, 0]
    regions = shift_regions(H, W, window_size, shift)
    # the region of each token in its original place: roll the label map back
    regions_before = torch.roll(regions, shifts=(shift, shift), dims=(0, 1))
    colors = token_colors(9, "Pastel1")
    fig, axes = new_figure(1, 2, size=(3.2, 3.4))
    for ax, grid, reg, title in (
        (axes[0], ids[0, :, :, 0], regions_before, "before the shift"),
        (axes[1], rolled, regions, f"after torch.roll by -{shift} (rows and cols)"),
    ):
        ax.imshow(colors[reg.numpy()])
        for r in range(H):
            for c in range(W):
                ax.text(c, r, f"{int(grid[r, c])}", ha="center", va="center", fontsize=10)
        grid_lines(ax, H, W, color="white", lw=1)
        ax.set_title(title, fontsize=9)
        bare(ax)
    grid_lines(axes[1], H, W, every=window_size, color="black", lw=2.5)
    fig.suptitle(
        f"cyclic shift: {H}x{W} tokens, window M={window_size}, shift s={shift} (colour = region after the shift)",
        fontsize=9,
    )
    return fig


def draw_shifted_windows(
    shift: int = 2, window: int = 3, grid: int = 8, window_size: int = 4, patch_px: int = 16
) -> tuple[Figure, dict]:
    """The lesson photo as a ``grid x grid`` token map: shifted windows, regions and one window's mask.

    Left: the photo with the shifted window grid (thick, uneven pieces) over the tokens (thin).
    Middle: the photo rolled by ``shift`` tokens, cut into regular ``M x M`` windows, each token labelled
    with its region; the selected ``window`` outlined in red. Right: that window's ``(M², M²)`` mask
    (white 0, black -100). Returns ``(fig, state)``.
    """
    import torch

    from ..shift import MASK_VALUE, cyclic_shift, shift_mask, shift_regions, shifted_window_bounds
    from ..windows import window_partition

    M, s = window_size, shift
    n_windows = (grid // M) ** 2
    if not 0 <= window < n_windows:
        raise ValueError(
            f"window={window} is out of range: a {grid}x{grid} grid has {n_windows} windows of "
            f"{M}x{M} (0..{n_windows - 1})"
        )
    px = grid * patch_px
    photo = torch.from_numpy(sample_photo(px))  # px, px, 3
    rolled = cyclic_shift(photo[None], s * patch_px)[0]  # rolled by s tokens
    regions = shift_regions(grid, grid, M, s) if s else torch.zeros(grid, grid, dtype=torch.long)
    mask = shift_mask(grid, grid, M, s)
    window_mask = mask[window] if mask is not None else torch.zeros(M * M, M * M)
    window_regions = window_partition(regions[None, :, :, None], M).reshape(-1, M * M)[window]
    bounds = shifted_window_bounds(grid, M, s)
    colors = token_colors(9, "tab10")

    fig, axes = new_figure(1, 3, size=(3.0, 3.2))
    ax = axes[0]
    ax.imshow(photo.numpy(), interpolation="nearest")
    grid_lines(ax, grid, grid, step=patch_px, color="white", lw=0.5, alpha=0.6)
    for start, _ in bounds[1:]:
        ax.axhline(start * patch_px - 0.5, color="yellow", lw=2.5)
        ax.axvline(start * patch_px - 0.5, color="yellow", lw=2.5)
    ax.set_title(
        f"shifted windows on the image:\n{len(bounds)}x{len(bounds)} = {len(bounds) ** 2} pieces of uneven size",
        fontsize=9,
    )
    bare(ax)

    ax = axes[1]
    ax.imshow(rolled.numpy(), interpolation="nearest")
    overlay = np.kron(colors[regions.numpy()][:, :, :3], np.ones((patch_px, patch_px, 1)))
    ax.imshow(np.concatenate([overlay, np.full((px, px, 1), 0.35)], axis=-1), interpolation="nearest")
    for r in range(grid):
        for c in range(grid):
            ax.text(
                (c + 0.5) * patch_px,
                (r + 0.5) * patch_px,
                str(int(regions[r, c])),
                ha="center",
                va="center",
                fontsize=7,
                color="white",
                fontweight="bold",
            )
    grid_lines(ax, grid, grid, step=patch_px, every=M, color="black", lw=2)
    wr, wc = divmod(window, grid // M)
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle(
            (wc * M * patch_px - 0.5, wr * M * patch_px - 0.5),
            M * patch_px,
            M * patch_px,
            fill=False,
            edgecolor="red",
            lw=4,
            zorder=5,
        )
    )
    ax.set_title(
        f"rolled by s={s}: {n_windows} regular windows,\nnumbers = regions (window {window} in red)", fontsize=9
    )
    bare(ax)

    ax = axes[2]
    ax.imshow(window_mask.numpy(), cmap="gray", vmin=MASK_VALUE, vmax=0)
    ticks = list(range(M * M))
    labels = [str(int(r)) for r in window_regions]
    ax.set_xticks(ticks, labels, fontsize=6)
    ax.set_yticks(ticks, labels, fontsize=6)
    ax.set_xlabel("key token (its region)", fontsize=8)
    ax.set_ylabel("query token (its region)", fontsize=8)
    masked = int((window_mask == MASK_VALUE).sum())
    ax.set_title(
        f"mask of window {window}: {M * M}x{M * M}\n{masked} of {M**4} pairs set to {MASK_VALUE:g}", fontsize=9
    )
    state = {
        "shift": s,
        "window": window,
        "window_size": M,
        "grid": grid,
        "num_windows": n_windows,
        "pieces": len(bounds) ** 2,
        "regions_in_window": sorted({int(r) for r in window_regions}),
        "masked_pairs": masked,
        "mask": window_mask.clone(),
    }
    return fig, state


def draw_padded_vs_cyclic(H: int = 8, W: int = 8, window_size: int = 4, shift: int = 2) -> Figure:
    """The two ways to attend over shifted windows, side by side.

    Left: the naive partition of the map into ``(H/M+1) x (W/M+1)`` uneven windows, one colour each.
    Right: the map rolled by ``shift`` and cut into ``(H/M) x (W/M)`` regular windows; a token keeps
    its colour, so a regular window at the border holds pieces of several naive windows (the mask
    keeps them apart).
    """
    import torch

    from ..shift import cyclic_shift, shifted_window_bounds

    rows, cols = shifted_window_bounds(H, window_size, shift), shifted_window_bounds(W, window_size, shift)
    piece = torch.zeros(H, W, dtype=torch.long)
    for i, (top, bottom) in enumerate(rows):
        for j, (left, right) in enumerate(cols):
            piece[top:bottom, left:right] = i * len(cols) + j
    rolled = cyclic_shift(piece[None, :, :, None], shift)[0, :, :, 0]
    colors = token_colors(len(rows) * len(cols), "tab20")
    fig, axes = new_figure(1, 2, size=(3.4, 3.6))
    for ax, grid, title in (
        (axes[0], piece, f"naive: {len(rows)}x{len(cols)} = {len(rows) * len(cols)} windows of uneven size"),
        (
            axes[1],
            rolled,
            f"cyclic shift: {H // window_size}x{W // window_size} = "
            f"{(H // window_size) * (W // window_size)} windows of {window_size}x{window_size}",
        ),
    ):
        ax.imshow(colors[grid.numpy()])
        for r in range(H):
            for c in range(W):
                ax.text(c, r, str(int(grid[r, c])), ha="center", va="center", fontsize=7)
        grid_lines(ax, H, W, color="white", lw=0.8)
        ax.set_title(title, fontsize=9)
        bare(ax)
    for start, _ in rows[1:]:
        axes[0].axhline(start - 0.5, color="black", lw=2.5)
    for start, _ in cols[1:]:
        axes[0].axvline(start - 0.5, color="black", lw=2.5)
    for r in range(0, H + 1, window_size):
        axes[1].axhline(r - 0.5, color="black", lw=2.5)
    for c in range(0, W + 1, window_size):
        axes[1].axvline(c - 0.5, color="black", lw=2.5)
    fig.suptitle(f"{H}x{W} tokens, M={window_size}, s={shift}: numbers = naive window of each token", fontsize=9)
    return fig


# ---- explorers -----------------------------------------------------------------------------------


def shifted_windows_explorer(grid: int = 8, window_size: int = 4) -> Explorer:
    """Sliders for the shift (0..M-1) and the window index over the lesson photo's ``grid x grid`` tokens.

    Draws :func:`swinlab.draw_shifted_windows`: the rolled grid with its windows and region labels,
    and the selected window's ``(M², M²)`` mask.
    """
    n_windows = (grid // window_size) ** 2
    return Explorer(
        lambda shift, window: draw_shifted_windows(shift, window, grid=grid, window_size=window_size),
        shift=widgets.IntSlider(value=window_size // 2, min=0, max=window_size - 1, description="shift s"),
        window=widgets.IntSlider(value=n_windows - 1, min=0, max=n_windows - 1, description="window"),
    )


# ---- exercise checkers ---------------------------------------------------------------------------


def check_shift_mask(fn) -> bool:
    """Lesson 05 exercise: ``fn(H, W, M, s) -> (nW, M*M, M*M)``, the shifted-window mask built from the
    tokens' original coordinates (without ``shift_regions``): 0.0 where two tokens of a rolled window
    come from the same piece of the displaced window grid, -100.0 where they don't.

    Checked against :func:`swinlab.shift.shift_mask` on several grids, square and not.
    """
    from ..shift import shift_mask

    for H, W, M, s in ((4, 4, 2, 1), (8, 8, 4, 2), (6, 9, 3, 1), (8, 12, 4, 3), (14, 14, 7, 3)):
        got = fn(H, W, M, s)
        if got is None:
            raise ExerciseError("your function returned None: build the (nW, M*M, M*M) mask and return it.")
        compare(
            f"the mask of an {H}x{W} grid with M={M}, s={s}",
            got,
            shift_mask(H, W, M, s),
            "The token at rolled position (i, j) came from ((i + s) % H, (j + s) % W). The displaced "
            "windows cut each axis at s, s+M, s+2M, ...: rows r < s form one piece, then piece (r - s) // M. "
            "Give each token the id of its piece, cut the id map into windows with window_partition, and "
            "compare ids pairwise: equal -> 0.0, different -> -100.0.",
        )
    return passed(
        "your mask equals shift_mask on five grids: two tokens may attend exactly when they were "
        "neighbours in one shifted window before the roll."
    )
