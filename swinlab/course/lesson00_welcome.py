"""Lesson 00, welcome: figures, explorers and exercise checkers.

The course file behind ``notebooks/00_welcome.ipynb``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .checks import ExerciseError, checker, passed, require
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
    """Where the course goes, as a schematic: ViT's single-scale tokens beside Swin's hierarchy of stages.

    Red outlines are the windows attention works in, in both panels. ViT-B/16 keeps 14x14 tokens (16x
    downsampling) in every layer and attends globally: its one red window is the whole map. Swin-T starts at
    56x56 tokens (4x), attends inside local windows and merges patches between stages: 56 -> 28 -> 14 -> 7
    tokens, 96 -> 768 channels. The grids are schematic (4 cells across for ViT; 16, 8, 4, 2 for Swin, in
    windows of 2x2 cells: 64, 16, 4, 1 windows as in Swin-T with M=7); the labels give the real sizes, and
    a note under the figure says so.
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
    fig.supxlabel(
        "Schematic: each map is drawn with fewer cells than it has tokens; the labels give the real sizes.\n"
        "Red outlines: the windows attention works in. ViT: one window, the whole map. Swin: local windows.",
        fontsize=8.5,
        color="0.25",
    )
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


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _diagnose(name: str, got, expected: int, known: dict) -> None:
    """Raise :class:`ExerciseError` unless ``got == expected``; ``known`` maps the values of typical mistakes
    to what each one means (never to the right formula)."""
    if not _is_number(got):
        raise ExerciseError(f"{name} should be a number, got {type(got).__name__} ({got!r}).")
    if got == expected:
        return
    for value, meaning in known.items():
        if value != expected and got == value:
            raise ExerciseError(f"{name} = {got:,}: {meaning}")
    side = "too large" if got > expected else "too small"
    raise ExerciseError(f"{name} = {got:,} is {side}. Count again from the definition in the text above.")


@checker
def check_token_counts(side: int, P: int, M: int, N, scores, windowed) -> bool:
    """Lesson 00, exercise 1: the tokens ``N`` of a ``side x side`` image cut into ``P x P`` patches, the
    attention ``scores`` of global attention over them (per head and layer), and the scores ``windowed``
    when attention stays inside ``M x M`` windows. Names the first count that is wrong and, for the typical
    mistakes, what was counted instead; never prints the right count."""
    require(N=N, scores=scores, windowed=windowed)
    n = (side // P) ** 2
    _diagnose(
        "N",
        N,
        n,
        {
            side // P: "that is the number of patches along one side; the grid has that many rows and columns.",
            side * side: "that is the number of pixels; each token is a whole P x P patch.",
            side * side // P: "the image was divided by P once, but a patch covers P x P pixels.",
        },
    )
    _diagnose(
        "scores",
        scores,
        n * n,
        {
            n: "that is one score per token; attention scores every (query, key) pair.",
            n * (n - 1): "a token also attends to itself: the pair (i, i) has a score too.",
            n * (n - 1) // 2: "the score of query i for key j and of query j for key i are two different numbers.",
            n * M * M: "that is the windowed count; global attention lets every token meet every token.",
        },
    )
    _diagnose(
        "windowed",
        windowed,
        n * M * M,
        {
            n * M: f"a window holds M x M = {M * M} tokens, not M.",
            (M * M) ** 2: "that is the count of one window; every token is in some window.",
            n * M**4: "each query meets the keys of its own window only, not M^2 windows' worth.",
            n: "that is one score per token; inside its window a query still meets several keys.",
            n * n: "that is global attention; inside windows each query meets fewer keys.",
        },
    )
    return passed(f"{N:,} tokens, {scores:,} global scores, {windowed:,} windowed: {scores // windowed}x fewer.")


def vit_and_swin_scores(side: float) -> tuple[float, float]:
    """Attention scores per head and layer at a ``side x side`` image: ViT-B/16 (P = 16, global attention,
    ``((side/16)^2)^2``) and Swin's first stage (P = 4, 7 x 7 windows, ``(side/4)^2 * 49``)."""
    n_vit, n_swin = (side / 16) ** 2, (side / 4) ** 2
    return n_vit * n_vit, n_swin * 49


@checker
def check_equal_scores_side(side_equal) -> bool:
    """Lesson 00, exercise 2: the image side (pixels) at which ViT-B/16's global attention and Swin's first
    stage (P = 4, 7 x 7 windows) compute the same number of attention scores per head and layer.

    A wrong answer is told both counts at that side and which model is ahead there, never the side itself.
    """
    require(side_equal=side_equal)
    if not _is_number(side_equal) or side_equal <= 0:
        raise ExerciseError(f"side_equal should be a positive number of pixels, got {side_equal!r}.")
    vit, swin = vit_and_swin_scores(float(side_equal))
    if abs(vit - swin) > 1e-9 * max(vit, swin):
        ahead = (
            "ViT still computes fewer: the sides are equal further out"
            if vit < swin
            else "Swin computes fewer already: they are equal at a smaller side"
        )
        raise ExerciseError(
            f"at side = {side_equal:g} pixels ViT-B/16 computes {vit:,.0f} scores and Swin's first stage "
            f"{swin:,.0f}. {ahead}."
        )
    return passed(
        f"at {side_equal:g}x{side_equal:g} both compute {vit:,.0f} scores per head and layer; above it Swin "
        "computes fewer, although it has 16x more tokens: global attention grows as side^4, windows as side^2."
    )
