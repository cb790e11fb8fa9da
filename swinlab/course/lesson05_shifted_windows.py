"""Lesson 05, shifted windows: figures, explorers and exercise checkers.

The course file behind ``notebooks/05_shifted_windows.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from .checks import ExerciseError, call, checker, compare, compare_number, passed, refuse_answer_key
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
    (white 0, black -100) with its tokens sorted by region, so each region is one block on the diagonal.
    Returns ``(fig, state)``; ``state["mask"]`` is the mask in the window's own (row-major) token order,
    ``state["order"]`` the token order drawn.
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
    # Sorted by region, the tokens of one region sit together and the mask is one block per region on the
    # diagonal; in the window's own row-major order the same mask interleaves like a checkerboard.
    order = torch.argsort(window_regions, stable=True)
    ax.imshow(window_mask[order][:, order].numpy(), cmap="gray", vmin=MASK_VALUE, vmax=0)
    sorted_regions = window_regions[order].tolist()
    starts = [i for i in range(M * M) if i == 0 or sorted_regions[i] != sorted_regions[i - 1]]
    ends = starts[1:] + [M * M]
    centres = [(a + b - 1) / 2 for a, b in zip(starts, ends, strict=True)]
    names = [str(sorted_regions[a]) for a in starts]
    ax.set_xticks(centres, names, fontsize=8)
    ax.set_yticks(centres, names, fontsize=8)
    for edge in starts[1:]:
        ax.axhline(edge - 0.5, color="tab:red", lw=0.8)
        ax.axvline(edge - 0.5, color="tab:red", lw=0.8)
    ax.set_xlabel("key tokens, grouped by region", fontsize=8)
    ax.set_ylabel("query tokens, grouped by region", fontsize=8)
    masked = int((window_mask == MASK_VALUE).sum())
    ax.set_title(
        f"mask of window {window}: {M * M}x{M * M}, tokens sorted by region\n"
        f"{masked} of {M**4} pairs set to {MASK_VALUE:g}",
        fontsize=9,
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
        "order": order.tolist(),
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


def _mask_from_pieces(H: int, W: int, M: int, s: int, roll: int = 1) -> torch.Tensor:
    # The mask built from where each rolled token came from; roll=-1 and roll=0 give the masks of two slips
    # (rolling the wrong way, not rolling at all), so the checker can name them.
    from ..windows import window_partition

    def piece(n: int) -> torch.Tensor:
        origin = (torch.arange(n) + roll * s) % n  # the original row (column) of each rolled one
        return torch.where(origin >= s, (origin - s) // M + 1, 0)  # 0: the first s rows; then one piece per M

    ids = piece(H)[:, None] * (W // M + 2) + piece(W)[None, :]  # H, W: one number per displaced window
    ids = window_partition(ids[None, :, :, None], M).reshape(-1, M * M)  # nW, M*M
    return torch.where(ids[:, :, None] == ids[:, None, :], 0.0, -100.0)


@checker
def check_shift_mask(fn) -> bool:
    """Lesson 05, exercise 1: ``fn(H, W, M, s) -> (nW, M*M, M*M)``, the mask of shifted windows built from the
    tokens' original coordinates: 0.0 where two tokens of a rolled window came from the same displaced window,
    -100.0 where they did not. Checked with ``s = M // 2`` on square and non-square maps against
    :func:`swinlab.shift.shift_mask`; refuses ``shift_mask`` and ``shift_regions``.

    Names a boolean mask, an inverted mask, -inf for -100, a roll the wrong way and a missing roll.
    """
    from ..shift import MASK_VALUE, shift_mask, shift_regions

    refuse_answer_key(fn, shift_mask, shift_regions, name="shift_mask")
    hint = (
        "Give every token of the rolled map the number of the displaced window it sat in before the roll; "
        "two tokens may attend exactly when their numbers are equal."
    )
    for H, W, M in ((4, 4, 2), (8, 8, 4), (6, 9, 3), (8, 12, 4), (12, 8, 4), (14, 14, 7)):
        s = M // 2
        name = f"my_shift_mask({H}, {W}, {M}, {s})"
        got = call(fn, H, W, M, s, name="my_shift_mask")
        expected = shift_mask(H, W, M, s)
        if isinstance(got, torch.Tensor) and got.shape == expected.shape:
            if got.dtype == torch.bool:
                raise ExerciseError(
                    f"{name} is a boolean tensor: the mask is added to the attention scores, so it holds numbers, "
                    f"0.0 where two tokens may attend and {MASK_VALUE:g} where they may not."
                )
            g = got.double()
            if torch.equal(g == 0, expected != 0):
                raise ExerciseError(
                    f"{name} is inverted: it holds 0 where the tokens came from different displaced windows "
                    f"and {MASK_VALUE:g} where they came from the same one."
                )
            if torch.isinf(g).any() and torch.equal(torch.isinf(g), expected != 0):
                raise ExerciseError(
                    f"{name} holds -inf where it should hold {MASK_VALUE:g}: section 7 shows why the mask is "
                    "finite (use swinlab.shift.MASK_VALUE)."
                )
            for slip, why in (
                (-1, "you rolled the wrong way: the token at rolled row i came from a row s further down"),
                (0, "the rolled tokens are numbered by where they are now, not by where they came from"),
            ):
                if torch.equal(g, _mask_from_pieces(H, W, M, s, roll=slip).double()):
                    raise ExerciseError(f"{name} is the mask of another layout: {why}.")
        compare(name, got, expected, hint)
    return passed(
        "my_shift_mask equals shift_mask on six maps, square and not: two tokens may attend exactly when they "
        "sat in one displaced window before the roll."
    )


@checker
def check_masked_pairs(fn) -> bool:
    """Lesson 05, exercise 2: ``fn(H, W, M, s) -> int``, how many entries of the whole ``(nW, M², M²)`` mask are
    -100, for any shift ``s`` in ``0 .. M-1``, from the sizes of the pieces. Checked against the count in
    :func:`swinlab.shift.shift_mask`; refuses ``shift_mask`` and ``shift_regions``.

    Names the count of the allowed pairs instead of the masked ones, the corner window alone, and a count that
    does not change with ``s``.
    """
    from ..shift import MASK_VALUE, shift_mask, shift_regions

    refuse_answer_key(fn, shift_mask, shift_regions, name="shift_mask")

    def count(H: int, W: int, M: int, s: int) -> int:
        mask = shift_mask(H, W, M, s)
        return 0 if mask is None else int((mask == MASK_VALUE).sum())

    cases = [(8, 8, 4, 2), (8, 8, 4, 1), (8, 8, 4, 3), (8, 8, 4, 0), (6, 9, 3, 1), (9, 6, 3, 2)]
    cases += [(14, 21, 7, s) for s in (1, 3, 5, 6)] + [(56, 56, 7, 3), (56, 56, 7, 2)]
    hint = (
        "Only the windows of the last row and the last column of windows hold more than one region; count the "
        "masked pairs of each kind of window, then how many windows there are of each kind."
    )
    for H, W, M, s in cases:
        name = f"masked_pairs({H}, {W}, {M}, {s})"
        got = call(fn, H, W, M, s, name="masked_pairs")
        expected = count(H, W, M, s)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, (int, float)) and not isinstance(got, bool) and got != expected:
            total = (H // M) * (W // M) * M**4
            corner = int((shift_mask(M, M, M, s) == MASK_VALUE).sum()) if s else 0
            if got == total - expected:
                raise ExerciseError(
                    f"{name} = {got} counts the pairs that may attend (the 0 entries); the exercise asks for the "
                    f"masked ones ({MASK_VALUE:g}). The mask has {total} entries in all."
                )
            if got == corner and expected != corner:
                raise ExerciseError(
                    f"{name} = {got} is the bottom-right window alone: the other windows of the last row and of "
                    "the last column of windows are masked too."
                )
            if s != M // 2 and got == count(H, W, M, M // 2):
                raise ExerciseError(
                    f"{name} = {got} is the count for s = {M // 2}: with s = {s} the pieces of a window are "
                    f"{M - s} and {s} tokens wide, so the count changes with s."
                )
        compare_number(name, got, expected, hint, show_expected=True)
    return passed(
        "masked_pairs equals the count in shift_mask for every shift 0 … M-1 on six maps: the mask of any shift "
        "follows from the two piece widths, M - s and s."
    )
