"""Small argument checks shared by every lesson's module (not a lesson of its own)."""

from __future__ import annotations

import numbers


def pair(value: int | tuple[int, int] | list[int], name: str = "size") -> tuple[int, int]:
    """Return ``value`` as a ``(height, width)`` pair of positive ints.

    ``7 -> (7, 7)``; ``(4, 8) -> (4, 8)``. Raises ``ValueError`` naming ``name`` otherwise.
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
        values = tuple(value)
    else:
        values = (value, value)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r} ({type(v).__name__})")
        if v < 1:
            raise ValueError(f"{name} must be positive, got {value!r}")
    return int(values[0]), int(values[1])


def divisors(n: int) -> list[int]:
    """The divisors of ``n`` greater than 1, in increasing order (used in error messages)."""
    return [d for d in range(2, n + 1) if n % d == 0]


def check_divisible(axis: str, length: int, size: int, what: str, symbol: str) -> None:
    """Raise a ``ValueError`` that names the sizes and the fix when ``size`` does not divide ``length``.

    ``check_divisible("H", 30, 7, "window", "M")`` raises
    "H=30 is not divisible by window M=7: pad to 35 or pick M in {2, 3, 5, 6, 10, 15, 30}".
    """
    if size > length:
        raise ValueError(
            f"{what} {symbol}={size} is larger than {axis}={length}: pick {symbol} <= {length} or use a larger input"
        )
    if length % size:
        padded = -(-length // size) * size
        choices = ", ".join(map(str, divisors(length))) or "none (the length is 1)"
        raise ValueError(
            f"{axis}={length} is not divisible by {what} {symbol}={size}: "
            f"pad to {padded} or pick {symbol} in {{{choices}}}"
        )


def check_rank(x, rank: int, layout: str, name: str = "x") -> None:
    """Raise a ``ValueError`` unless tensor ``x`` has ``rank`` dimensions (``layout`` names them)."""
    if x.dim() != rank:
        raise ValueError(f"{name} must be a {rank}-D tensor {layout}, got shape {tuple(x.shape)}")
