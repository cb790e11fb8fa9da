"""Lesson 00, welcome: figures, explorers and exercise checkers.

The course file behind ``notebooks/00_welcome.ipynb``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .checks import ExerciseError, passed
from .draw import new_figure

# ---- figures -------------------------------------------------------------------------------------


def _draw_plane(ax, level: int, cells: int, window_cells: int, color, label: str) -> None:
    """One feature map drawn as a tilted square of ``cells x cells`` tokens with windows in red."""
    from matplotlib.patches import Polygon

    def at(u: float, v: float) -> tuple[float, float]:  # unit square -> tilted plane at height `level`
        return u + 0.55 * v, 0.32 * v + 0.62 * level

    ax.add_patch(
        Polygon(
            [at(0, 0), at(1, 0), at(1, 1), at(0, 1)],
            closed=True,
            facecolor=color,
            edgecolor="0.2",
            lw=1.0,
            alpha=0.95,
            zorder=2 * level,
        )
    )
    for i in range(1, cells):
        t = i / cells
        for a, b in ((at(t, 0), at(t, 1)), (at(0, t), at(1, t))):
            ax.plot([a[0], b[0]], [a[1], b[1]], color="0.35", lw=0.5, zorder=2 * level + 1)
    for i in range(0, cells + 1, window_cells):
        t = i / cells
        for a, b in ((at(t, 0), at(t, 1)), (at(0, t), at(1, t))):
            ax.plot([a[0], b[0]], [a[1], b[1]], color="#d62728", lw=2.0, zorder=2 * level + 1)
    x, y = at(1, 0.5)
    ax.text(x + 0.12, y, label, va="center", fontsize=9)


def roadmap_figure() -> Figure:
    """Where the course goes: ViT's single-scale tokens beside Swin's hierarchy of stages.

    ViT-B/16 keeps 14x14 tokens (16x downsampling) in every layer and attends globally (one red
    window covers the map); Swin-T starts at 56x56 tokens (4x), attends inside local windows (red)
    and merges patches between stages: 56 -> 28 -> 14 -> 7 tokens, 96 -> 768 channels.
    Grids are drawn schematically (16, 8, 4, 2 cells across, windows of 2x2 cells: 64, 16, 4, 1
    windows as in Swin-T with M=7); the labels give the real sizes.
    """
    fig, (ax_vit, ax_swin) = new_figure(1, 2, size=(5.2, 4.6))
    vit_color, swin_colors = "#c6dbef", ["#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d"]
    for level in range(4):
        label = "14×14 tokens, C=768" if level < 3 else "14×14 tokens, C=768\n(every layer: 16×)"
        _draw_plane(ax_vit, level, cells=4, window_cells=4, color=vit_color, label=label)
    stages = [(56, 96, 4), (28, 192, 8), (14, 384, 16), (7, 768, 32)]
    for level, (side, channels, down) in enumerate(stages):
        cells = 16 >> level
        _draw_plane(
            ax_swin,
            level,
            cells=cells,
            window_cells=2,
            color=swin_colors[level],
            label=f"stage {level + 1}: {side}×{side} tokens\nC={channels} ({down}×)",
        )
    ax_vit.set_title("ViT: one scale, global attention\n(cost quadratic in tokens)", fontsize=11)
    ax_swin.set_title("Swin: a hierarchy, attention in local windows\n(cost linear in tokens)", fontsize=11)
    for ax in (ax_vit, ax_swin):
        ax.set_xlim(-0.1, 2.75)
        ax.set_ylim(-0.15, 0.62 * 3 + 0.5)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.annotate(
            "", xy=(-0.05, 0.62 * 3 + 0.15), xytext=(-0.05, 0.1), arrowprops={"arrowstyle": "->", "color": "0.4"}
        )
    ax_swin.text(
        -0.08, 0.62 * 1.5 + 0.15, "patch merging", rotation=90, ha="right", va="center", fontsize=9, color="0.3"
    )
    ax_vit.text(-0.08, 0.62 * 1.5 + 0.15, "layers", rotation=90, ha="right", va="center", fontsize=9, color="0.3")
    return fig


def attention_cost(img_size: int = 224, patch_sizes: tuple[int, ...] = (16, 4)) -> tuple[Figure, dict]:
    """Global self-attention's cost as the image grows: tokens ``N = (img/P)^2``, matrix ``N x N``.

    Draws the attention matrix size (entries, log-log) against the image side for each patch size,
    marks ``img_size``; ``state`` holds the token counts and matrix entries at ``img_size`` by ``P``.
    """
    sides = np.arange(32, 1025, 16)
    fig, ax = new_figure(size=(6.0, 4.0))
    tokens, entries = {}, {}
    for p in patch_sizes:
        n = (sides // p) ** 2
        (line,) = ax.loglog(sides, n.astype(float) ** 2, label=f"patch P={p}")
        tokens[p] = (img_size // p) ** 2
        entries[p] = tokens[p] ** 2
        ax.plot([img_size], [entries[p]], "o", color=line.get_color())
        ax.annotate(
            f"{tokens[p]:,} tokens\n{entries[p]:,} entries",
            (img_size, entries[p]),
            textcoords="offset points",
            xytext=(8, -4),
            fontsize=8,
            va="top",
        )
    ax.axvline(img_size, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("image side (pixels)")
    ax.set_ylabel("attention matrix entries N² (per head, per layer)")
    ax.set_title(f"Global attention at {img_size}×{img_size}: N = (side/P)², cost ∝ N²")
    ax.legend(loc="upper left")
    return fig, {"img_size": img_size, "tokens": tokens, "attention_entries": entries}


# ---- exercise checkers ---------------------------------------------------------------------------


def check_token_counts(side: int, P: int, M: int, N, scores, windowed) -> bool:
    """Lesson 00: tokens of a ``side x side`` image cut into ``P x P`` patches, the attention scores of
    global attention over them (per head and layer), and of attention in ``M x M`` windows."""
    expected_n = (side // P) ** 2
    for name, got, want, hint in (
        ("N", N, expected_n, f"an image of {side}x{side} pixels holds ({side}/{P})^2 patches of {P}x{P}"),
        ("scores", scores, expected_n**2, "global attention compares every token with every token: N * N"),
        (
            "windowed",
            windowed,
            expected_n * M * M,
            f"in a window each token meets only the M*M = {M * M} tokens of its window: N * M * M",
        ),
    ):
        if got is None:
            raise ExerciseError(f"{name} is still None: fill it in. Hint: {hint}.")
        if got != want:
            raise ExerciseError(f"{name} = {got} is not right. Hint: {hint}.")
    return passed(f"{N:,} tokens, {scores:,} global scores, {windowed:,} windowed: {scores // windowed}x fewer")
