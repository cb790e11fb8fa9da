"""Lesson 01: correct answers to the notebook's exercises (the notebook never shows them)."""

import torch
from einops import rearrange
from torch import nn


def my_patches_to_image(patches: torch.Tensor, P: int) -> torch.Tensor:
    """Exercise 1: ``(B, H/P, W/P, P*P*C) -> (B, H, W, C)``."""
    return rearrange(patches, "b h w (p1 p2 c) -> b (h p1) (w p2) c", p1=P, p2=P)


def linear_to_conv(linear: nn.Linear, P: int) -> nn.Conv2d:
    """Exercise 2: the stride-P conv computing ``linear`` on patches flattened ``(p1 p2 c)``."""
    C_in = linear.in_features // (P * P)
    conv = nn.Conv2d(C_in, linear.out_features, kernel_size=P, stride=P)
    with torch.no_grad():
        conv.weight.copy_(rearrange(linear.weight, "o (p1 p2 c) -> o c p1 p2", p1=P, p2=P))
        conv.bias.copy_(linear.bias)
    return conv
