"""Lesson 07, the Swin Transformer: figures, explorers and exercise checkers.

The course file behind ``notebooks/07_swin_transformer.ipynb``.
"""

from __future__ import annotations

import functools

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from .checks import ExerciseError, call, checker, compare_number, passed, refuse_answer_key
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


def _count(module: torch.nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def _name_the_difference(name: str, got, expected: int, slips: dict[str, int]) -> None:
    # A wrong count that is off by exactly one well-known piece gets that piece's name.
    if isinstance(got, bool) or not isinstance(got, (int, float)) or got == expected:
        return
    diff = got - expected
    for why, amount in slips.items():
        if amount and diff == amount:
            raise ExerciseError(f"{name} = {got:,} is {abs(diff):,} too {'many' if diff > 0 else 'few'}: {why}.")


@functools.cache
def _block_count(C: int, heads: int, M: int, ratio: float) -> int:
    from ..model import SwinBlock

    with torch.device("meta"):  # shapes without memory: counting is instant
        return _count(SwinBlock(C, (2 * M, 2 * M), heads, window_size=M, mlp_ratio=ratio))


@functools.cache
def _model_counts(C: int, depths: tuple, heads: tuple, M: int, classes: int) -> tuple[int, dict[str, int]]:
    # The parameters of a 224-pixel, patch-4 SwinTransformer, and the pieces a wrong count typically misses.
    from ..merging import PatchMerging
    from ..model import SwinTransformer

    with torch.device("meta"):
        model = SwinTransformer(
            img_size=224, patch_size=4, num_classes=classes, embed_dim=C, depths=depths, num_heads=heads, window_size=M
        )
        last_merge = _count(PatchMerging(C * 2 ** (len(depths) - 1)))
    merges = [layer.downsample for layer in model.layers if layer.downsample is not None]
    pieces = {
        "buffers": sum(b.numel() for n, b in model.named_buffers() if n.endswith("relative_position_index")),
        "last_merge": last_merge,
        "merges": sum(_count(m) for m in merges),
        "merge_outputs": sum(m.reduction.out_features for m in merges),
        "embed_norm": _count(model.patch_embed.norm),
        "final_norm": _count(model.norm),
        "head": _count(model.head),
    }
    return _count(model), pieces


@checker
def check_block_params(fn) -> bool:
    """Lesson 07, exercise 1: ``fn(C, heads, M, mlp_ratio=4.0) -> int``, the learned parameters of one
    :class:`swinlab.model.SwinBlock`, checked against counting the block's parameters for six configurations.

    Refuses a function that builds the model to count it; names the index buffer counted, the bias table or the
    biases left out, one table for all heads, the LayerNorms left out and an MLP without its ratio.
    """
    from ..model import SwinBlock, SwinStage, SwinTransformer, swin_b, swin_s, swin_t

    refuse_answer_key(fn, SwinBlock, SwinStage, SwinTransformer, swin_t, swin_s, swin_b, name="counting the model")
    cases = [(96, 3, 7, 4.0), (192, 6, 7, 4.0), (768, 24, 7, 4.0), (128, 4, 7, 4.0), (32, 2, 4, 2.0), (60, 5, 5, 3.0)]
    for C, heads, M, ratio in cases:
        name = f"block_params({C}, {heads}, {M}" + (f", mlp_ratio={ratio:g})" if ratio != 4.0 else ")")
        got = call(fn, C, heads, M, mlp_ratio=ratio, name="block_params")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        expected = _block_count(C, heads, M, ratio)
        hidden = int(C * ratio)
        table = (2 * M - 1) ** 2 * heads
        _name_the_difference(
            name,
            got,
            expected,
            {
                "relative_position_index is a buffer (computed, not learned); count only parameters": M**4,
                "the relative position bias table is learned too, (2M-1)^2 rows, one column per head": -table,
                "the table has one column per head": -((2 * M - 1) ** 2) * (heads - 1),
                "qkv, proj, fc1 and fc2 each have a bias": -(3 * C + C + hidden + C),
                "the two LayerNorms each have a weight and a bias of C": -4 * C,
                "the MLP's hidden layer has mlp_ratio * C units": -2 * (hidden - C) * C - (hidden - C),
            },
        )
        compare_number(
            name,
            got,
            expected,
            "Go through one block's tensors (the list in section 3 shows Swin-T's first block).",
            show_expected=True,
        )
    return passed("block_params equals the count of SwinBlock's parameters for six configurations.")


@checker
def check_swin_params(fn) -> bool:
    """Lesson 07, exercise 2: ``fn(C, depths, heads, M=7, num_classes=1000) -> int``, the learned parameters of a
    Swin Transformer for 224x224 RGB images with patch size 4, checked against counting
    :class:`swinlab.model.SwinTransformer` for Swin-T, Swin-S, Swin-B and two other configurations (one with three
    stages).

    Refuses a function that builds the model; names the buffers counted, patch merging after the last stage or
    missing, a bias in the merging, and the LayerNorms, the patch embedding's bias or the head left out.
    """
    from ..model import SwinBlock, SwinStage, SwinTransformer, swin_b, swin_s, swin_t

    refuse_answer_key(fn, SwinBlock, SwinStage, SwinTransformer, swin_t, swin_s, swin_b, name="counting the model")
    cases = [
        ("Swin-T", 96, (2, 2, 6, 2), (3, 6, 12, 24), 7, 1000),
        ("Swin-S", 96, (2, 2, 18, 2), (3, 6, 12, 24), 7, 1000),
        ("Swin-B", 128, (2, 2, 18, 2), (4, 8, 16, 32), 7, 1000),
        ("a small Swin", 64, (1, 1, 3, 1), (2, 4, 8, 16), 7, 10),
        ("a three-stage Swin", 48, (2, 4, 2), (2, 4, 8), 7, 100),
    ]
    for label, C, depths, heads, M, classes in cases:
        name = f"swin_params({C}, {depths}, {heads}" + (f", num_classes={classes})" if classes != 1000 else ")")
        got = call(fn, C, depths, heads, M, num_classes=classes, name="swin_params")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        expected, pieces = _model_counts(C, depths, heads, M, classes)
        _name_the_difference(
            f"{name} ({label})",
            got,
            expected,
            {
                "relative_position_index is a buffer in every block (computed, not learned)": pieces["buffers"],
                "no patch merging follows the last stage": pieces["last_merge"],
                "patch merging sits after every stage but the last (LayerNorm(4C) and Linear(4C, 2C))": -pieces[
                    "merges"
                ],
                "patch merging's Linear(4C, 2C) has no bias": pieces["merge_outputs"],
                "a LayerNorm follows the patch embedding": -pieces["embed_norm"],
                "a LayerNorm of the last stage's channels comes before the head": -pieces["final_norm"],
                "the patch embedding's convolution has a bias": -C,
                "the head is a Linear layer with bias, from the last stage's channels to the classes": -pieces["head"],
            },
        )
        compare_number(
            f"{name} ({label})",
            got,
            expected,
            "Walk through the model: patch embedding, stages (blocks, then merging), final LayerNorm, head.",
            show_expected=True,
        )
    return passed(
        "swin_params equals the count of SwinTransformer's parameters for Swin-T, Swin-S, Swin-B and two other "
        "configurations: Swin-S's 49.6 M parameters follow from C, the depths and the heads."
    )
