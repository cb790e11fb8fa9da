"""Lesson 03: correct answers to the notebook's exercises (the notebook never shows them)."""


def my_msa_flops(h: int, w: int, C: int) -> int:
    """Exercise 1, Eq. (1): 4hwC^2 + 2(hw)^2 C multiply-accumulates."""
    return 4 * h * w * C**2 + 2 * (h * w) ** 2 * C


def my_wmsa_flops(h: int, w: int, C: int, M: int) -> int:
    """Exercise 1, Eq. (2): 4hwC^2 + 2M^2 hwC multiply-accumulates."""
    return 4 * h * w * C**2 + 2 * M**2 * h * w * C


def n_tokens(C: int = 96, M: int = 7, ratio: int = 10) -> int:
    """Exercise 2: (4C + 2n) / (4C + 2M^2) >= ratio  <=>  n >= (ratio (4C + 2M^2) - 4C) / 2, rounded up."""
    return -(-(ratio * (4 * C + 2 * M**2) - 4 * C) // 2)


def block_flops(h: int, w: int, C: int, M: int, r: int) -> int:
    """Exercise 3: the FLOP counter on one block counts 2 per multiply-accumulate of W-MSA and of the MLP's two
    linear layers (C -> rC -> C: 2 r hw C^2 MACs); LayerNorm, softmax, GELU and the residual sums are not counted."""
    return 2 * (my_wmsa_flops(h, w, C, M) + 2 * r * h * w * C**2)
