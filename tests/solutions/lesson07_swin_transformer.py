"""Lesson 07: correct answers to the notebook's exercises (the notebook never shows them)."""


def block_params(C: int, heads: int, M: int, mlp_ratio: float = 4.0) -> int:
    """Exercise 1: one SwinBlock's learned parameters (the relative_position_index is a buffer, not counted)."""
    hidden = int(C * mlp_ratio)
    norms = 2 * (2 * C)  # norm1, norm2: weight and bias
    attention = (3 * C * C + 3 * C) + (C * C + C) + (2 * M - 1) ** 2 * heads  # qkv, proj, bias table
    mlp = (C * hidden + hidden) + (hidden * C + C)  # fc1, fc2
    return norms + attention + mlp


def swin_params(C: int, depths, heads, M: int = 7, num_classes: int = 1000) -> int:
    """Exercise 2: a Swin for 224x224 RGB images with patch size 4 (every stage's map is a multiple of M=7)."""
    total = (3 * 4 * 4 * C + C) + 2 * C  # patch embedding: Conv2d(3, C, 4, stride 4) with bias, LayerNorm(C)
    dim = C
    for i, (depth, h) in enumerate(zip(depths, heads, strict=True)):
        total += depth * block_params(dim, h, M)
        if i < len(depths) - 1:  # patch merging: LayerNorm(4C), Linear(4C, 2C) without bias
            total += 2 * 4 * dim + 4 * dim * 2 * dim
            dim *= 2
    return total + 2 * dim + dim * num_classes + num_classes  # final LayerNorm, head
