"""Lesson 01: an image becomes a grid of patch tokens.

The paper: "It first splits an input RGB image into non-overlapping patches by a patch splitting
module, like ViT. Each patch is treated as a 'token' and its feature is set as a concatenation of
the raw pixel RGB values." A linear embedding then projects each patch to C channels; a
convolution with kernel = stride = P is exactly that linear layer applied to every patch.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from ._utils import check_divisible, check_rank, pair

__all__ = ["image_to_patches", "patches_to_image", "PatchEmbed"]


def image_to_patches(images: torch.Tensor, patch_size: int | tuple[int, int]) -> torch.Tensor:
    """Cut channels-last images into flattened patches.

    ``(B, H, W, C) -> (B, H/P, W/P, P*P*C)``; each patch is flattened row by row, pixel by pixel,
    channels fastest (einops ``(p1 p2 c)``).
    """
    check_rank(images, 4, "(B, H, W, C)", "images")
    ph, pw = pair(patch_size, "patch_size")
    _, H, W, _ = images.shape
    check_divisible("H", H, ph, "patch", "P")
    check_divisible("W", W, pw, "patch", "P")
    return rearrange(images, "b (h p1) (w p2) c -> b h w (p1 p2 c)", p1=ph, p2=pw)


def patches_to_image(patches: torch.Tensor, patch_size: int | tuple[int, int]) -> torch.Tensor:
    """The exact inverse of :func:`image_to_patches`: ``(B, H/P, W/P, P*P*C) -> (B, H, W, C)``."""
    check_rank(patches, 4, "(B, H/P, W/P, P*P*C)", "patches")
    ph, pw = pair(patch_size, "patch_size")
    if patches.shape[-1] % (ph * pw):
        raise ValueError(
            f"the last dimension {patches.shape[-1]} is not P*P*C for patch size {(ph, pw)}: "
            f"it must be a multiple of {ph * pw}"
        )
    return rearrange(patches, "b h w (p1 p2 c) -> b (h p1) (w p2) c", p1=ph, p2=pw)


class PatchEmbed(nn.Module):
    """Patch partition + linear embedding as one stride-P convolution, then an optional LayerNorm.

    Images ``(B, C_in, H, W) -> (B, H/P, W/P, embed_dim)`` (tokens channels-last, as swinlab
    keeps every feature map). Parameter names follow the official checkpoints: ``proj``, ``norm``.
    """

    def __init__(
        self, patch_size: int | tuple[int, int] = 4, in_chans: int = 3, embed_dim: int = 96, norm: bool = True
    ) -> None:
        super().__init__()
        self.patch_size = pair(patch_size, "patch_size")
        self.in_chans, self.embed_dim = in_chans, embed_dim
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=self.patch_size, stride=self.patch_size)
        self.norm = nn.LayerNorm(embed_dim) if norm else None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_rank(images, 4, "(B, C, H, W)", "images")
        if images.shape[1] != self.in_chans:
            raise ValueError(
                f"images have {images.shape[1]} channels but PatchEmbed expects "
                f"in_chans={self.in_chans}: pass (B, {self.in_chans}, H, W) images"
            )
        _, _, H, W = images.shape
        check_divisible("H", H, self.patch_size[0], "patch", "P")
        check_divisible("W", W, self.patch_size[1], "patch", "P")
        x = self.proj(images)  # B, C, H/P, W/P
        x = rearrange(x, "b c h w -> b h w c")  # B, H/P, W/P, C
        if self.norm is not None:
            x = self.norm(x)
        return x
