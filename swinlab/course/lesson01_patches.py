"""Lesson 01, patches: figures, explorers and exercise checkers.

The course file behind ``notebooks/01_patches.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from .checks import ExerciseError, compare, passed
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


def draw_patches(image: np.ndarray, patch_size: int) -> tuple[Figure, dict]:
    """The photo with its patch grid (left) and cut into ``H/P x W/P`` separate patches (right).

    ``image``: ``(H, W, 3)`` floats in [0, 1]; H and W divisible by ``patch_size``.
    ``state``: patch size, token grid ``(H/P, W/P)``, number of tokens, values per token ``P*P*3``.
    """
    from .._utils import check_divisible, pair

    P = pair(patch_size, "patch_size")[0]
    H, W, C = image.shape
    check_divisible("H", H, P, "patch", "P")
    check_divisible("W", W, P, "patch", "P")
    h, w = H // P, W // P
    fig, (ax_img, ax_tiles) = new_figure(1, 2, size=(3.0, 3.2))
    ax_img.imshow(image, extent=(0, W, H, 0))
    lw = 0.4 if max(h, w) > 32 else 0.8
    for k in range(1, h):
        ax_img.axhline(k * P, color="white", lw=lw)
    for k in range(1, w):
        ax_img.axvline(k * P, color="white", lw=lw)
    ax_img.set_title(f"{H}×{W} image\npatch P={P}", fontsize=10)
    gap = max(1, P // 8)
    ax_tiles.imshow(explode_patches(image, P, gap))
    ax_tiles.set_title(f"{h}×{w} = {h * w} tokens\neach P·P·{C} = {P * P * C} values", fontsize=10)
    for ax in (ax_img, ax_tiles):
        ax.set_xticks([])
        ax.set_yticks([])
    state = {"patch_size": P, "grid": (h, w), "num_tokens": h * w, "token_dim": P * P * C}
    return fig, state


# ---- explorers -----------------------------------------------------------------------------------


def patch_explorer(image=None, patch_sizes: tuple[int, ...] = (4, 7, 8, 14, 16, 28, 32, 56)) -> Explorer:
    """A slider over the patch size ``P`` cutting the lesson photo ``(224, 224, 3)`` into ``224/P x 224/P``
    patches (draws :func:`swinlab.draw_patches`; control ``"P"``)."""
    image = sample_photo(224) if image is None else image
    H, W = image.shape[:2]
    options = [p for p in patch_sizes if H % p == 0 and W % p == 0]
    if not options:
        raise ValueError(f"none of the patch sizes {patch_sizes} divides the {H}x{W} image: pick one that does")
    slider = widgets.SelectionSlider(options=options, value=16 if 16 in options else options[0], description="patch P")
    return Explorer(lambda P: draw_patches(image, P), P=slider)


# ---- exercise checkers ---------------------------------------------------------------------------


def check_patches_to_image(fn) -> bool:
    """Check a student's ``fn(patches, P)``: ``(B, H/P, W/P, P*P*C) -> (B, H, W, C)``, the inverse of
    :func:`swinlab.patches.image_to_patches`, on several shapes (including ``P = 1`` and one channel)."""
    from ..patches import image_to_patches

    hint = (
        "Undo image_to_patches: rearrange(patches, 'b h w (p1 p2 c) -> b (h p1) (w p2) c', p1=P, p2=P). "
        "Inside a patch the values are ordered rows, then columns, channels fastest."
    )
    g = torch.Generator().manual_seed(0)
    for B, H, W, C, P in [(1, 4, 4, 1, 2), (2, 8, 12, 3, 4), (1, 6, 9, 5, 3), (2, 3, 5, 2, 1)]:
        images = torch.randn(B, H, W, C, generator=g)
        compare(f"patches_to_image on {(B, H, W, C)} with P={P}", fn(image_to_patches(images, P), P), images, hint)
    return passed("patches_to_image(image_to_patches(x, P), P) gives x back on every shape tried.")


def check_token_grid(fn) -> bool:
    """Check a student's ``fn(H, W, P, C)`` returning the token grid shape ``(H/P, W/P, C)`` of
    :class:`swinlab.patches.PatchEmbed` with patch ``P`` and ``embed_dim = C``."""
    from ..patches import PatchEmbed

    for H, W, P, C in [(224, 224, 4, 96), (224, 224, 16, 768), (32, 32, 2, 96), (384, 256, 4, 128)]:
        expected = tuple(PatchEmbed(P, 3, C)(torch.zeros(1, 3, H, W)).shape[1:])
        got = fn(H, W, P, C)
        if got is None or tuple(int(v) for v in got) != expected:
            raise ExerciseError(
                f"for a {H}x{W} image, P={P}, C={C}: got {got}, expected a grid of {expected}. "
                "Each axis shrinks by P; the channels are the embedding size C."
            )
    return passed("the token grid is (H/P, W/P, C) for every size tried.")
