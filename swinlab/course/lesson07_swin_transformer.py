"""Lesson 07, the Swin Transformer: figures, explorers and exercise checkers.

The course file behind ``notebooks/07_swin_transformer.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from .checks import ExerciseError, compare, passed
from .draw import bare, grid_lines, new_figure
from .explorer import Explorer

# ---- figures -------------------------------------------------------------------------------------


def token_dependencies(
    blocks: int,
    shift: bool = True,
    grid: int = 16,
    window_size: int = 4,
    token: tuple[int, int] = (5, 5),
    dim: int = 8,
    num_heads: int = 2,
    seed: int = 0,
):
    """Which input tokens one output token depends on after ``blocks`` Swin blocks: ``(grid, grid)`` bool.

    Stacks ``blocks`` :class:`swinlab.model.SwinBlock` (random weights, float64) on a ``grid x grid`` map,
    alternating W-MSA and SW-MSA (``shift=True``) or W-MSA only (``shift=False``), back-propagates
    from output ``token = (row, col)`` and marks the inputs with a non-zero gradient. Masked pairs
    leak ``exp(-100)``, far below the ``1e-12`` relative threshold used here.
    """
    import torch

    from ..model import SwinBlock

    if blocks < 1:
        raise ValueError(f"blocks must be at least 1, got {blocks}")
    torch.manual_seed(seed)
    stack = (
        torch.nn.Sequential(
            *[
                SwinBlock(
                    dim, (grid, grid), num_heads, window_size, window_size // 2 if shift and i % 2 else 0, fused=False
                )
                for i in range(blocks)
            ]
        )
        .double()
        .eval()
    )
    x = torch.randn(1, grid, grid, dim, dtype=torch.float64, requires_grad=True)
    stack(x)[0, token[0], token[1]].sum().backward()
    influence = x.grad[0].abs().sum(-1)  # grid, grid
    return influence > 1e-12 * influence.max()


def draw_token_dependencies(
    blocks: int = 2, shift: bool = True, grid: int = 16, window_size: int = 4, token: tuple[int, int] = (5, 5), ax=None
):
    """Heatmap of :func:`token_dependencies`, windows drawn as lines, the output token as a star.

    Returns ``(fig, state)`` with ``state = {"blocks", "shift", "reached", "grid"}`` (``reached``: how many
    of the ``grid²`` input tokens the output token depends on).
    """
    reached = token_dependencies(blocks, shift, grid, window_size, token).numpy()
    if ax is None:
        fig, ax = new_figure(size=(3.6, 3.6))
    else:
        fig = ax.figure
    ax.imshow(reached, cmap="Blues", vmin=0, vmax=1.4)
    grid_lines(ax, grid // window_size, grid // window_size, step=window_size, color="0.4", lw=0.8)
    ax.plot(token[1], token[0], marker="*", color="#C44E52", markersize=12)
    ax.set_title(
        f"{blocks} block{'s' if blocks > 1 else ''}, {'W-MSA/SW-MSA' if shift else 'W-MSA only'}\n"
        f"{int(reached.sum())} of {grid * grid} tokens",
        fontsize=9,
    )
    bare(ax)
    return fig, {"blocks": blocks, "shift": shift, "reached": int(reached.sum()), "grid": grid}


def draw_information_flow(
    max_blocks: int = 4, grid: int = 16, window_size: int = 4, token: tuple[int, int] = (5, 5)
) -> Figure:
    """Two rows of :func:`draw_token_dependencies`: with the shift (top) and without (bottom), 1..max_blocks blocks."""
    fig, axes = new_figure(2, max_blocks, size=(2.6, 2.8))
    for row, shift in enumerate((True, False)):
        for b in range(1, max_blocks + 1):
            draw_token_dependencies(b, shift, grid, window_size, token, ax=axes[row, b - 1])
    fig.suptitle("Input tokens one output token (star) depends on; thin lines: the M x M windows", fontsize=10)
    return fig


# ---- explorers -----------------------------------------------------------------------------------


def information_flow_explorer(grid: int = 16, window_size: int = 4, token: tuple[int, int] = (5, 5)) -> Explorer:
    """A slider over the number of Swin blocks (1..6) and a shift on/off switch: which input tokens one
    output token depends on (draws :func:`swinlab.draw_token_dependencies`; controls ``"blocks"``,
    ``"shift"``)."""
    return Explorer(
        lambda blocks, shift: draw_token_dependencies(blocks, shift, grid=grid, window_size=window_size, token=token),
        blocks=widgets.IntSlider(value=2, min=1, max=6, description="blocks"),
        shift=widgets.Checkbox(value=True, description="shift every 2nd block"),
    )


# ---- exercise checkers ---------------------------------------------------------------------------


def check_block_forward(fn) -> bool:
    """Lesson 07 exercise: ``fn(block, x)`` is the forward pass of ``block`` (a :class:`swinlab.model.SwinBlock`),
    ``(B, H, W, C) -> (B, H, W, C)``, written from its parts (``norm1``, ``attn``, ``norm2``, ``mlp``,
    ``attention_mask``) and the earlier lessons' functions.

    Checked against ``block(x)`` for a W-MSA block and an SW-MSA block; the hint says which one is wrong.
    """
    from ..model import SwinBlock

    torch.manual_seed(0)
    for shift in (0, 2):
        kind = "W-MSA block (shift 0)" if shift == 0 else "SW-MSA block (shift 2)"
        block = SwinBlock(
            dim=8, input_resolution=(8, 8), num_heads=2, window_size=4, shift_size=shift, fused=False
        ).eval()
        with torch.no_grad():
            for p in block.parameters():  # move every weight off its initial value so nothing hides
                p.add_(0.1 * torch.randn_like(p))
            x = torch.randn(2, 8, 8, 8)
            got = fn(block, x.clone())
            expected = block(x)
        if got is None:
            raise ExerciseError(f"{kind}: your function returned None: return the (B, H, W, C) output.")
        hint = (
            "Check the order: shortcut = x; LN; roll by -s; window_partition; attn(windows, mask); "
            "window_reverse; roll by +s; x = shortcut + that; then x + mlp(norm2(x))."
        )
        if shift:
            hint = (
                "The W-MSA block is right, so look at the shift: roll by -s on both H and W before "
                "partitioning, pass block.attention_mask(H, W, x.device) to attn, and roll back by +s "
                "after window_reverse."
            )
        compare(f"the output of the {kind}", got, expected, hint)
    return passed("your forward pass equals SwinBlock for both W-MSA and SW-MSA blocks.")
