"""Lesson 06, patch merging: figures, explorers and exercise checkers.

The course file behind ``notebooks/06_patch_merging.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from .checks import ExerciseError, compare, passed
from .draw import bare, grid_lines, new_figure, sample_photo, token_colors
from .explorer import Explorer

# ---- figures -------------------------------------------------------------------------------------

#: colours of the four channel groups x0..x3 of patch merging
MERGE_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52")


def _merge_group(r: int, c: int) -> int:
    """The channel group of pixel (r, c): x0 even/even, x1 odd row/even col, x2 even row/odd col, x3 odd/odd."""
    return (r % 2) + 2 * (c % 2)


def draw_patch_merging(H: int = 4, W: int = 4, C: int = 3) -> Figure:
    """Where every token of an ``H x W`` grid goes in patch merging.

    Left: the grid, each token coloured by its channel group (x0..x3) and named by its (row, col).
    Middle: the ``H/2 x W/2`` merged grid, each token listing the four tokens it holds, in channel order.
    Right: one merged token's ``4C`` channels (x0|x1|x2|x3), LayerNorm(4C), then Linear(4C -> 2C).
    """
    from matplotlib.patches import FancyArrowPatch, Rectangle

    fig, axes = new_figure(1, 3, size=(3.4, 3.4))
    ax = axes[0]
    for r in range(H):
        for c in range(W):
            g = _merge_group(r, c)
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor=MERGE_COLORS[g], edgecolor="white", lw=1))
            ax.text(c + 0.5, r + 0.5, f"({r},{c})\nx{g}", ha="center", va="center", fontsize=8, color="white")
    for r in range(0, H + 1, 2):
        ax.plot([0, W], [r, r], color="black", lw=2.5)
    for c in range(0, W + 1, 2):
        ax.plot([c, c], [0, H], color="black", lw=2.5)
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)
    ax.set_aspect("equal")
    ax.set_title(f"{H}x{W} tokens, C={C} channels each\n(thick: the 2x2 groups that merge)", fontsize=9)
    bare(ax)

    ax = axes[1]
    for r in range(H // 2):
        for c in range(W // 2):
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor="#eeeeee", edgecolor="black", lw=2))
            src = [(2 * r, 2 * c), (2 * r + 1, 2 * c), (2 * r, 2 * c + 1), (2 * r + 1, 2 * c + 1)]
            for g, (sr, sc) in enumerate(src):
                ax.text(
                    c + 0.5,
                    r + 0.2 + 0.2 * g,
                    f"x{g}: ({sr},{sc})",
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color=MERGE_COLORS[g],
                    fontweight="bold",
                )
    ax.set_xlim(0, W // 2)
    ax.set_ylim(H // 2, 0)
    ax.set_aspect("equal")
    ax.set_title(f"merged: {H // 2}x{W // 2} tokens, 4C={4 * C} channels\n(concatenated x0, x1, x2, x3)", fontsize=9)
    bare(ax)

    ax = axes[2]
    ax.set_xlim(0, 10)
    ax.set_ylim(4 * C + 1, -1)
    for g in range(4):
        ax.add_patch(Rectangle((0.5, g * C), 2, C, facecolor=MERGE_COLORS[g], edgecolor="white"))
        ax.text(1.5, g * C + C / 2, f"x{g}\n{C} ch", ha="center", va="center", fontsize=8, color="white")
    ax.add_patch(Rectangle((3.8, 0), 2, 4 * C, facecolor="#bbbbbb", edgecolor="black"))
    ax.text(4.8, 2 * C, f"Layer\nNorm\n({4 * C})", ha="center", va="center", fontsize=8)
    ax.add_patch(Rectangle((7.2, C), 2, 2 * C, facecolor="#8172B3", edgecolor="black"))
    ax.text(8.2, 2 * C, f"2C\n= {2 * C} ch", ha="center", va="center", fontsize=8, color="white")
    for x0, x1 in ((2.6, 3.7), (5.9, 7.1)):
        ax.add_patch(FancyArrowPatch((x0, 2 * C), (x1, 2 * C), arrowstyle="->", mutation_scale=14))
    ax.text(6.5, 2 * C - 0.6, "Linear\n4C→2C\nno bias", ha="center", va="bottom", fontsize=7)
    ax.set_title("one merged token: norm, then reduction", fontsize=9)
    ax.axis("off")
    return fig


def swin_stage_shapes(img_size: int = 224, patch_size: int = 4, embed_dim: int = 96, num_stages: int = 4) -> list[dict]:
    """Grid, channels and pixels per token of every stage: ``[{"stage", "grid", "channels", "tokens", "px"}]``.

    Stage 1 is the patch embedding's grid ``img/P``; each later stage halves the grid (patch merging)
    and doubles the channels. ``px`` is the side of the image square one token stands for: ``P * 2**(i-1)``.
    """
    rows = []
    for i in range(num_stages):
        grid = img_size // patch_size // 2**i
        rows.append(
            {"stage": i + 1, "grid": grid, "channels": embed_dim * 2**i, "tokens": grid * grid, "px": patch_size * 2**i}
        )
    return rows


def draw_swin_stages(img_size: int = 224, patch_size: int = 4, embed_dim: int = 96) -> Figure:
    """The hierarchy of Swin-T: the image, then the token grid of each of the four stages.

    Every grid covers the same image; the red square is one token of that stage.
    """
    from matplotlib.patches import Rectangle

    stages = swin_stage_shapes(img_size, patch_size, embed_dim)
    fig, axes = new_figure(1, 5, size=(2.4, 2.8))
    axes[0].imshow(sample_photo(img_size))
    axes[0].set_title(f"image {img_size}x{img_size}x3", fontsize=9)
    bare(axes[0])
    colors = token_colors(4, "tab10")
    for ax, st in zip(axes[1:], stages, strict=True):
        g = st["grid"]
        ax.add_patch(Rectangle((0, 0), g, g, facecolor=colors[st["stage"] - 1], alpha=0.25))
        for k in range(g + 1):
            ax.plot([0, g], [k, k], color="black", lw=0.3)
            ax.plot([k, k], [0, g], color="black", lw=0.3)
        ax.add_patch(Rectangle((0, 0), 1, 1, facecolor="red"))
        ax.set_xlim(0, g)
        ax.set_ylim(g, 0)
        ax.set_aspect("equal")
        merge = "patch embed" if st["stage"] == 1 else "after merging"
        ax.set_title(
            f"stage {st['stage']} ({merge})\n{g}x{g}x{st['channels']}\n{st['tokens']} tokens, 1 token = {st['px']} px",
            fontsize=8,
        )
        bare(ax)
    return fig


def draw_receptive_field(
    stage: int = 1, img_size: int = 224, patch_size: int = 4, point: tuple[float, float] = (0.33, 0.45)
) -> tuple[Figure, dict]:
    """What one token of ``stage`` stands for in the input image. Returns ``(fig, state)``.

    Left: the photo with the stage's token grid and, in red, the token that holds the pixel at
    ``point`` (fractions of height and width). Right: that token's square of pixels, enlarged.
    """
    from matplotlib.patches import Rectangle

    stages = swin_stage_shapes(img_size, patch_size)
    if not 1 <= stage <= len(stages):
        raise ValueError(f"stage={stage} is out of range: Swin has stages 1..{len(stages)}")
    st = stages[stage - 1]
    px, grid = st["px"], st["grid"]
    photo = sample_photo(img_size)
    row, col = int(point[0] * img_size) // px, int(point[1] * img_size) // px
    fig, axes = new_figure(1, 2, size=(3.2, 3.4))
    ax = axes[0]
    ax.imshow(photo, interpolation="nearest")
    grid_lines(ax, grid, grid, step=px, color="white", lw=0.3 if grid > 28 else 0.6, alpha=0.7)
    ax.add_patch(Rectangle((col * px - 0.5, row * px - 0.5), px, px, fill=False, edgecolor="red", lw=2))
    ax.set_title(f"stage {stage}: {grid}x{grid} tokens, {st['channels']} channels", fontsize=9)
    bare(ax)
    ax = axes[1]
    ax.imshow(photo[row * px : (row + 1) * px, col * px : (col + 1) * px], interpolation="nearest")
    ax.set_title(
        f"token ({row}, {col}) stands for {px}x{px} = {px * px} px\n"
        f"({4 ** (stage - 1)} patches of {patch_size}x{patch_size})",
        fontsize=9,
    )
    bare(ax)
    state = {"stage": stage, "grid": grid, "channels": st["channels"], "px": px, "token": (row, col), "pixels": px * px}
    return fig, state


# ---- explorers -----------------------------------------------------------------------------------


def patch_merging_explorer(img_size: int = 224, patch_size: int = 4) -> Explorer:
    """A slider over the stage (1..4): what one token of that stage stands for in the lesson photo.

    Draws :func:`swinlab.draw_receptive_field`.
    """
    return Explorer(
        lambda stage: draw_receptive_field(stage, img_size=img_size, patch_size=patch_size),
        stage=widgets.IntSlider(value=1, min=1, max=4, description="stage"),
    )


# ---- exercise checkers ---------------------------------------------------------------------------


def check_merge_neighbours(fn) -> bool:
    """Lesson 06 exercise: ``fn(x)`` merges 2x2 neighbours, ``(B, H, W, C) -> (B, H/2, W/2, 4C)``, in the
    official channel order x0 (even row, even col), x1 (odd, even), x2 (even, odd), x3 (odd, odd).

    Checked against :func:`swinlab.merging.merge_neighbours`; a swapped x1/x2 gets its own hint.
    """
    from ..merging import merge_neighbours

    g = torch.Generator().manual_seed(0)
    for shape in ((1, 4, 4, 1), (2, 6, 8, 3)):
        x = torch.randn(*shape, generator=g)
        got = fn(x.clone())
        if got is None:
            raise ExerciseError("your function returned None: return the merged (B, H/2, W/2, 4C) tensor.")
        expected = merge_neighbours(x)
        C = shape[-1]
        if isinstance(got, torch.Tensor) and got.shape == expected.shape:
            swapped = torch.cat(
                [expected[..., :C], expected[..., 2 * C : 3 * C], expected[..., C : 2 * C], expected[..., 3 * C :]],
                dim=-1,
            )
            if torch.equal(got, swapped) and not torch.equal(got, expected):
                raise ExerciseError(
                    "x1 and x2 are swapped: the official order takes the odd ROW first "
                    "(x1 = x[:, 1::2, 0::2]), then the odd COLUMN (x2 = x[:, 0::2, 1::2]). "
                    "With einops, put the column offset outside the row offset: '(pw ph c)'."
                )
        compare(
            f"merging a tensor of shape {shape}",
            got,
            expected,
            "Concatenate x0 = x[:, 0::2, 0::2], x1 = x[:, 1::2, 0::2], x2 = x[:, 0::2, 1::2], "
            "x3 = x[:, 1::2, 1::2] along the channels.",
        )
    return passed("your merge puts every pixel where the official PatchMerging does (x0, x1, x2, x3).")
