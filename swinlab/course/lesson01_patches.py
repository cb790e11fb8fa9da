"""Lesson 01, patches: figures, explorers and exercise checkers.

The course file behind ``notebooks/01_patches.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from .checks import ExerciseError, call, checker, compare, passed, refuse_answer_key
from .draw import new_figure, sample_photo
from .explorer import Explorer

# ---- figures -------------------------------------------------------------------------------------


def explode_patches(image: np.ndarray, patch_size: int, gap: int = 1) -> np.ndarray:
    """The image with a white gap of ``gap`` pixels between its patches, so each patch reads as a tile.

    ``(H, W, 3) -> (H/P*(P+gap) - gap, W/P*(P+gap) - gap, 3)``.
    """
    from einops import rearrange

    tiles = rearrange(image, "(h p1) (w p2) c -> h w p1 p2 c", p1=patch_size, p2=patch_size)
    tiles = np.pad(tiles, ((0, 0), (0, 0), (0, gap), (0, gap), (0, 0)), constant_values=1.0)
    out = rearrange(tiles, "h w p1 p2 c -> (h p1) (w p2) c")
    return out[: out.shape[0] - gap, : out.shape[1] - gap] if gap else out


def zoom_region(h: int, w: int, max_patches: int = 16, shown: int = 12) -> tuple[int, int, int, int]:
    """Which patches of an ``h x w`` patch grid the cut-apart panel of :func:`draw_patches` shows: all of them
    when both sides have at most ``max_patches``, else the central ``shown x shown`` block.
    Returns ``(top, left, rows, cols)`` in patches."""
    if h <= max_patches and w <= max_patches:
        return 0, 0, h, w
    rows, cols = min(h, shown), min(w, shown)
    return (h - rows) // 2, (w - cols) // 2, rows, cols


def draw_patches(image: np.ndarray, patch_size: int) -> tuple[Figure, dict]:
    """The photo with its patch grid (left) and a block of its patches cut apart (right).

    ``image``: ``(H, W, 3)`` floats in [0, 1]; H and W divisible by ``patch_size``. When the grid has more
    than 16 patches a side, the right panel shows the central 12 x 12 patches (marked on the left) enlarged,
    so the tiles stay visible at small P. ``state``: patch size, token grid ``(H/P, W/P)``, number of
    tokens, values per token ``P*P*3`` and the patches shown cut apart ``(rows, cols)``.
    """
    from matplotlib.patches import Rectangle

    from .._utils import check_divisible, pair

    P = pair(patch_size, "patch_size")[0]
    H, W, C = image.shape
    check_divisible("H", H, P, "patch", "P")
    check_divisible("W", W, P, "patch", "P")
    h, w = H // P, W // P
    top, left, rows, cols = zoom_region(h, w)
    fig, (ax_img, ax_tiles) = new_figure(1, 2, size=(3.0, 3.2))
    ax_img.imshow(image, extent=(0, W, H, 0))
    lw = 0.4 if max(h, w) > 32 else 0.8
    for k in range(1, h):
        ax_img.axhline(k * P, color="white", lw=lw)
    for k in range(1, w):
        ax_img.axvline(k * P, color="white", lw=lw)
    ax_img.set_title(f"{H}×{W} image\npatch P={P}: {h}×{w} = {h * w} tokens", fontsize=10)
    crop = image[top * P : (top + rows) * P, left * P : (left + cols) * P]
    zoomed = (rows, cols) != (h, w)
    scale = max(1, 16 // P) if zoomed else 1  # enlarge small patches so the gaps do not swallow them
    crop = np.repeat(np.repeat(crop, scale, axis=0), scale, axis=1)
    ax_tiles.imshow(explode_patches(crop, P * scale, gap=max(1, P * scale // 8)))
    if zoomed:
        ax_img.add_patch(Rectangle((left * P, top * P), cols * P, rows * P, fill=False, edgecolor="#ffd92f", lw=2.0))
        what = f"the marked {rows}×{cols} patches, cut apart"
    else:
        what = f"all {h}×{w} patches, cut apart"
    ax_tiles.set_title(f"{what}\neach P·P·{C} = {P * P * C} values", fontsize=10)
    for ax in (ax_img, ax_tiles):
        ax.set_xticks([])
        ax.set_yticks([])
    state = {"patch_size": P, "grid": (h, w), "num_tokens": h * w, "token_dim": P * P * C, "shown": (rows, cols)}
    return fig, state


def draw_patch_to_token(image: np.ndarray, linear: nn.Linear, patch_size: int = 4, at=(24, 20)) -> tuple[Figure, dict]:
    """One patch becomes one token: the ``P x P x 3`` patch at grid position ``at`` (left), flattened in the
    order ``(p1 p2 c)`` into ``P*P*3`` values, the ``Linear(P*P*3 -> C)`` weight, and the ``C``-value token.

    ``image``: ``(H, W, 3)`` floats in [0, 1]; ``linear``: the patch embedding's ``nn.Linear``. ``state``:
    the patch position, the flattened length, the weight's shape and the token's length.
    """
    from .._utils import pair

    P = pair(patch_size, "patch_size")[0]
    i, j = at
    H, W, C = image.shape
    if not (0 <= i < H // P and 0 <= j < W // P):
        raise ValueError(f"at={at} is outside the {H // P}x{W // P} patch grid: pick a row < {H // P}, col < {W // P}")
    if linear.in_features != P * P * C:
        raise ValueError(
            f"linear takes {linear.in_features} inputs but a {P}x{P}x{C} patch has {P * P * C} values: "
            f"use nn.Linear({P * P * C}, C)"
        )
    patch = image[i * P : (i + 1) * P, j * P : (j + 1) * P]  # P, P, 3
    vector = patch.reshape(-1)  # (p1 p2 c): rows, then columns, channels fastest
    with torch.no_grad():
        token = linear(torch.from_numpy(vector.copy())).numpy()
    weight = linear.weight.detach().numpy()

    fig = Figure(figsize=(11.0, 3.0), layout="constrained")
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1.0, 2.2, 1.3, 2.2]})
    ax_patch, ax_vec, ax_w, ax_tok = axes
    ax_patch.imshow(patch, interpolation="nearest")
    for k in range(1, P):
        ax_patch.axhline(k - 0.5, color="white", lw=0.8)
        ax_patch.axvline(k - 0.5, color="white", lw=0.8)
    ax_patch.set_title(f"patch ({i}, {j})\n{P}×{P} pixels × {C}", fontsize=9)
    ax_patch.set_xticks([])
    ax_patch.set_yticks([])

    colors = np.array(["#d62728", "#2ca02c", "#1f77b4"] * (P * P))[: vector.size]
    ax_vec.bar(np.arange(vector.size), vector, color=colors, width=0.85)
    ax_vec.set_xlim(-1, vector.size)
    ax_vec.set_xticks(np.arange(0, vector.size, C * P))
    ax_vec.set_xlabel("index in the flattened patch: (p1 p2 c), channels fastest", fontsize=8)
    ax_vec.set_title(f"→ flattened: {vector.size} values (R, G, B of pixel 0, then pixel 1, …)", fontsize=9)

    lim = float(np.abs(weight).max())
    ax_w.imshow(weight, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    ax_w.set_title(
        f"→ Linear({linear.in_features}, {linear.out_features})\nweight {weight.shape[0]}×{weight.shape[1]}, + bias",
        fontsize=9,
    )
    ax_w.set_xlabel("input value", fontsize=8)
    ax_w.set_ylabel("output channel", fontsize=8)

    ax_tok.bar(np.arange(token.size), token, color="0.35", width=0.85)
    ax_tok.axhline(0, color="0.6", lw=0.6)
    ax_tok.set_xlim(-1, token.size)
    ax_tok.set_xlabel("channel", fontsize=8)
    ax_tok.set_title(f"→ one token: {token.size} values", fontsize=9)
    for ax in (ax_vec, ax_w, ax_tok):
        ax.tick_params(labelsize=7)
    state = {"at": (i, j), "vector": vector.size, "weight": tuple(weight.shape), "token": token.size}
    return fig, state


# ---- explorers -----------------------------------------------------------------------------------


def patch_explorer(image=None, patch_sizes: tuple[int, ...] = (4, 7, 8, 14, 16, 28, 32, 56), P: int = 4) -> Explorer:
    """A slider over the patch size ``P`` cutting the lesson photo ``(224, 224, 3)`` into ``224/P x 224/P``
    patches (draws :func:`draw_patches`; control ``"P"``). It opens at ``P`` (Swin's 4, as the lesson's
    static figure), or the nearest offered size."""
    image = sample_photo(224) if image is None else image
    H, W = image.shape[:2]
    options = [p for p in patch_sizes if H % p == 0 and W % p == 0]
    if not options:
        raise ValueError(f"none of the patch sizes {patch_sizes} divides the {H}x{W} image: pick one that does")
    start = P if P in options else min(options, key=lambda p: abs(p - P))
    slider = widgets.SelectionSlider(options=options, value=start, description="patch P")
    return Explorer(lambda P: draw_patches(image, P), P=slider)


# ---- exercise checkers ---------------------------------------------------------------------------


@checker
def check_patches_to_image(fn) -> bool:
    """Exercise 1: the student's ``fn(patches, P)``: ``(B, H/P, W/P, P*P*C) -> (B, H, W, C)``, the inverse of
    :func:`swinlab.patches.image_to_patches`, on several shapes (rectangular, ``P = 1``, one and many channels).

    Refuses :func:`swinlab.patches.patches_to_image` (the answer key). Images hold ``0, 1, 2, ...`` so a value
    in the wrong place says where it belongs.
    """
    from ..patches import image_to_patches, patches_to_image

    refuse_answer_key(fn, patches_to_image, name="patches_to_image")
    hint = "Inside a patch the values run rows, then columns, channels fastest: (p1 p2 c)."
    for B, H, W, C, P in [(1, 4, 4, 1, 2), (2, 8, 12, 3, 4), (1, 6, 9, 5, 3), (2, 3, 5, 2, 1)]:
        images = torch.arange(B * H * W * C, dtype=torch.float32).view(B, H, W, C)
        got = call(fn, image_to_patches(images, P), P, name="my_patches_to_image")
        compare(f"my_patches_to_image on patches of a {(B, H, W, C)} image, P={P}", got, images, hint)
    return passed("my_patches_to_image(image_to_patches(x, P), P) gives x back on every shape tried.")


@checker
def check_linear_to_conv(fn) -> bool:
    """Exercise 2: the student's ``fn(linear, P)`` returns an ``nn.Conv2d`` (kernel = stride = P) that computes,
    on ``(B, C_in, H, W)`` images, exactly the tokens ``linear`` computes on the patches flattened ``(p1 p2 c)``
    (section 6 of the lesson, backwards). Tried with one and several input channels and three patch sizes.

    Names, in this order: not a conv, wrong channels, kernel or stride, a missing bias, the weight in the wrong
    layout (first position where it differs, with both values), and finally the tokens.
    """
    from einops import rearrange

    from ..patches import image_to_patches

    g = torch.Generator().manual_seed(0)
    for C_in, C_out, P, (B, H, W) in [(1, 2, 2, (1, 4, 4)), (3, 8, 4, (2, 8, 12)), (2, 5, 3, (1, 6, 9))]:
        linear = nn.Linear(P * P * C_in, C_out)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(linear.weight.shape, generator=g))
            linear.bias.copy_(torch.randn(linear.bias.shape, generator=g))
        case = f"for Linear({P * P * C_in}, {C_out}) and P={P}"
        conv = call(fn, linear, P, name="linear_to_conv")
        if not isinstance(conv, nn.Conv2d):
            raise ExerciseError(f"{case}: linear_to_conv returned a {type(conv).__name__}; return an nn.Conv2d.")
        if (conv.in_channels, conv.out_channels) != (C_in, C_out):
            raise ExerciseError(
                f"{case}: the conv maps {conv.in_channels} -> {conv.out_channels} channels, expected {C_in} -> "
                f"{C_out}: the linear layer reads P*P*C_in values per patch and writes C_out."
            )
        if tuple(conv.kernel_size) != (P, P) or tuple(conv.stride) != (P, P):
            raise ExerciseError(
                f"{case}: kernel_size={tuple(conv.kernel_size)}, stride={tuple(conv.stride)}; the conv should "
                "see each P x P patch exactly once, and nothing between patches."
            )
        if tuple(conv.padding) != (0, 0) or tuple(conv.dilation) != (1, 1) or conv.groups != 1:
            raise ExerciseError(
                f"{case}: padding={tuple(conv.padding)}, dilation={tuple(conv.dilation)}, groups={conv.groups}; "
                "a patch embedding uses none of them (0, 1 and 1)."
            )
        if conv.bias is None:
            raise ExerciseError(f"{case}: the conv has no bias, but the linear layer adds one to every token.")
        expected_weight = rearrange(linear.weight, "o (p1 p2 c) -> o c p1 p2", p1=P, p2=P, c=C_in)
        compare(
            f"{case}: the conv's weight (C_out, C_in, P, P)",
            conv.weight.detach(),
            expected_weight.detach(),
            "The linear weight's inputs are ordered (p1 p2 c); the conv's are (c, p1, p2).",
        )
        compare(f"{case}: the conv's bias", conv.bias.detach(), linear.bias.detach())
        images = torch.randn(B, C_in, H, W, generator=g)
        with torch.no_grad():
            tokens = rearrange(conv(images), "b c h w -> b h w c")
            expected = linear(image_to_patches(rearrange(images, "b c h w -> b h w c"), P))
        compare(f"{case}: the conv's tokens on {(B, C_in, H, W)} images", tokens, expected)
    return passed("your conv computes the linear layer's tokens exactly, for every size tried.")
