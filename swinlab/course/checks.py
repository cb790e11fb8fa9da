"""What every lesson's exercise checkers share. A checker runs the student's answer against swinlab and says
what is wrong, in words, or confirms it is right.

A checker raises ``ExerciseError`` (an ``AssertionError``) with a hint when the answer is wrong and
returns ``True`` after printing a confirmation when it is right.
"""

from __future__ import annotations

import torch

__all__ = ["ExerciseError", "passed", "compare"]


class ExerciseError(AssertionError):
    """The answer is not right yet; the message says what differs and what to look at."""


def passed(message: str) -> bool:
    print(f"Correct: {message}")
    return True


def compare(name: str, got, expected: torch.Tensor, hint: str) -> None:
    """Raise ``ExerciseError`` unless ``got`` is a tensor equal (in shape and values) to ``expected``."""
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(f"{name}: expected a torch.Tensor, got {type(got).__name__}. {hint}")
    if tuple(got.shape) != tuple(expected.shape):
        raise ExerciseError(f"{name}: shape {tuple(got.shape)}, expected {tuple(expected.shape)}. {hint}")
    if not torch.allclose(got.to(expected.dtype), expected, atol=1e-5, rtol=1e-4):
        bad = (got.to(expected.dtype) - expected).abs() > 1e-5 + 1e-4 * expected.abs()
        first = tuple(int(i) for i in bad.nonzero()[0])
        raise ExerciseError(
            f"{name}: right shape, but {int(bad.sum())} of {bad.numel()} values differ "
            f"(first at index {first}: got {got[first].item():.4g}, expected "
            f"{expected[first].item():.4g}). {hint}"
        )
