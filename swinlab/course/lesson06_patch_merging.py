"""Lesson 06, patch merging: figures, explorers and exercise checkers.

The course file behind ``notebooks/06_patch_merging.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from .checks import ExerciseError, call, checker, compare, passed, refuse_answer_key
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


# ---- merging as a convolution ----------------------------------------------------------------------


def normalise_groups(x: torch.Tensor, norm: torch.nn.LayerNorm) -> torch.Tensor:
    """``norm`` (PatchMerging's LayerNorm(4C)) applied to every 2x2 group of a map, the groups put back in place:
    ``(B, H, W, C) -> (B, C, H, W)``, channels first, ready for ``F.conv2d``.

    The four tokens of a group are normalised together (mean and variance over their 4C values), as in
    PatchMerging; the LayerNorm's scale and shift follow each value to its pixel.
    """
    from ..merging import merge_neighbours

    n = norm(merge_neighbours(x))  # B, H/2, W/2, 4C: x0 | x1 | x2 | x3
    B, h, w, c4 = n.shape
    n = n.view(B, h, w, 2, 2, c4 // 4)  # group g = dy + 2*dx: the 4C axis is (dx, dy, c)
    return n.permute(0, 5, 1, 4, 2, 3).reshape(B, c4 // 4, 2 * h, 2 * w)  # B, C, (h dy), (w dx)


# ---- exercise checkers ---------------------------------------------------------------------------


def _random_input(shape, generator) -> torch.Tensor:
    return torch.randn(*shape, generator=generator)


@checker
def check_merge_neighbours(fn) -> bool:
    """Lesson 06, exercise 1: ``fn(x)`` merges 2x2 neighbours, ``(B, H, W, C) -> (B, H/2, W/2, 4C)``, in the
    official channel order x0 (even row, even col), x1 (odd, even), x2 (even, odd), x3 (odd, odd).

    Checked against :func:`swinlab.merging.merge_neighbours`, which it refuses as the answer key; names swapped
    x1/x2 and channels that do not stay together.
    """
    from ..merging import merge_neighbours

    refuse_answer_key(fn, merge_neighbours, name="merge_neighbours")
    g = torch.Generator().manual_seed(0)
    for shape in ((2, 6, 8, 3), (1, 4, 4, 1), (1, 2, 2, 5)):
        x = _random_input(shape, g)
        name = f"my_merge(x of shape {shape})"
        got = call(fn, x.clone(), name="my_merge")
        expected = merge_neighbours(x)
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and not torch.equal(got, expected):
            B, h, w, c4 = expected.shape
            groups = expected.view(B, h, w, 4, c4 // 4)  # B, h, w, group, C
            if torch.equal(got, groups[:, :, :, [0, 2, 1, 3]].reshape(expected.shape)):
                raise ExerciseError(
                    f"{name}: x1 and x2 are swapped. x1 is the odd ROW (row offset 1, column offset 0), x2 the odd "
                    "COLUMN: in the 4C channels the row offset changes faster than the column offset."
                )
            if any(
                torch.equal(got, groups[:, :, :, order].transpose(3, 4).reshape(expected.shape))
                for order in ([0, 1, 2, 3], [0, 2, 1, 3])
            ):
                raise ExerciseError(
                    f"{name}: the channels of one pixel are spread out: the 4C channels must be four blocks "
                    "x0 | x1 | x2 | x3, each holding one pixel's C channels side by side."
                )
        compare(
            name,
            got,
            expected,
            "Merged token (i, j) holds the pixels (2i, 2j), (2i+1, 2j), (2i, 2j+1), (2i+1, 2j+1), in that order, "
            "each with its C channels.",
        )
    return passed("my_merge puts every pixel where the official PatchMerging does (x0, x1, x2, x3).")


@checker
def check_merging_as_conv(fn) -> bool:
    """Lesson 06, exercise 2: ``fn(merge)`` turns a :class:`swinlab.merging.PatchMerging` ``(C)`` into the weight
    ``(2C, C, 2, 2)`` of a stride-2 convolution without bias, so that
    ``F.conv2d(normalise_groups(x, merge.norm), weight, stride=2)`` equals ``merge(x)`` (channels first).

    Checks the weight entry by entry (``[o, c, dy, dx]``), then runs the convolution against ``merge(x)``.
    Names reduction's weight returned as it is, a transposed kernel and the 4C inputs split the wrong way.
    An ``nn.Conv2d`` with kernel 2, stride 2 and no bias is accepted in place of its weight.
    """
    import torch.nn.functional as F

    from ..merging import PatchMerging

    g = torch.Generator().manual_seed(0)
    for C in (3, 8):
        merge = PatchMerging(C)
        with torch.no_grad():
            for p in merge.parameters():  # every weight away from its initial value, so nothing hides
                p.copy_(_random_input(p.shape, g))
        name = f"merging_as_conv(PatchMerging({C}))"
        got = call(fn, merge, name="merging_as_conv")
        if isinstance(got, torch.nn.Conv2d):
            if got.kernel_size != (2, 2) or got.stride != (2, 2) or got.bias is not None:
                raise ExerciseError(
                    f"{name} returned a Conv2d with kernel {got.kernel_size}, stride {got.stride} and "
                    f"{'a' if got.bias is not None else 'no'} bias: merging reads each 2x2 group once, with no bias."
                )
            got = got.weight
        reduction = merge.reduction.weight  # 2C, 4C
        expected = reduction.view(2 * C, 2, 2, C).permute(0, 3, 2, 1)  # o, (dx, dy, c) -> o, c, dy, dx
        if isinstance(got, torch.Tensor):
            got = got.detach()
            if tuple(got.shape) in ((2 * C, 4 * C), (2 * C, 4 * C, 1, 1)):
                raise ExerciseError(
                    f"{name} has shape {tuple(got.shape)}: that is reduction's weight as it stands, for the 4C "
                    f"merged channels. A 2x2 convolution from the C channels of the map to 2C has a weight "
                    f"(2C, C, 2, 2) = {(2 * C, C, 2, 2)}."
                )
            if got.shape == expected.shape and not torch.equal(got, expected):
                if torch.equal(got, expected.transpose(2, 3)):
                    raise ExerciseError(
                        f"{name}: the kernel is transposed: weight[o, c, dy, dx] holds the pixel at row offset dy "
                        "and column offset dx, and x1 is the odd ROW (dy = 1, dx = 0)."
                    )
                if torch.equal(got, reduction.view(2 * C, C, 2, 2)) or torch.equal(
                    got, reduction.view(2 * C, C, 2, 2).transpose(2, 3)
                ):
                    raise ExerciseError(
                        f"{name}: the 4C inputs are split as if the channel came first. They are four blocks "
                        "x0 | x1 | x2 | x3 of C channels each: the group comes first, the channel last."
                    )
        compare(
            name,
            got,
            expected,
            "weight[o, c, dy, dx] is the reduction weight of output o for channel c of the group member at (dy, dx).",
        )
        x = _random_input((2, 4, 6, C), g)
        with torch.no_grad():
            conv = F.conv2d(normalise_groups(x, merge.norm), got.to(x.dtype), stride=2)  # B, 2C, H/2, W/2
            compare(f"conv2d with {name} against merge(x)", conv.permute(0, 2, 3, 1), merge(x))
    return passed(
        "PatchMerging(x) = conv2d(LayerNorm over each 2x2 group, your weight, stride 2) for C = 3 and 8: "
        "merging is a LayerNorm plus a 2x2, stride-2 convolution from C to 2C channels."
    )
