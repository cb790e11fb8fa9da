"""Lesson 09: correct answers to the notebook's exercises (the notebook never shows them)."""


def my_takeover(C: int, mlp_ratio: float) -> int:
    """Exercise 1: 2n²C >= 4nC² + 2nC·int(rC); divided by 2nC: n >= 2C + int(rC)."""
    return 2 * C + int(C * mlp_ratio)


def my_memory_takeover(C: int, mlp_ratio: float, heads: int) -> int:
    """Exercise 2: heads·n² >= 8nC + 2n·int(rC) + 4n; divided by n: n >= (8C + 2 int(rC) + 4) / heads, rounded up."""
    return -(-(8 * C + 2 * int(C * mlp_ratio) + 4) // heads)
