"""Lesson 05's exercise checkers accept the correct answers kept in tests/solutions, refuse the answer key, print
what is missing for an unfinished answer, and name each typical mistake without printing the solution."""

from __future__ import annotations

import pytest
import torch
from solutions.lesson05_shifted_windows import masked_pairs, my_shift_mask

from swinlab.course.checks import ExerciseError
from swinlab.course.lesson05_shifted_windows import check_masked_pairs, check_shift_mask
from swinlab.shift import MASK_VALUE, shift_mask, shift_regions
from swinlab.windows import window_partition


def pieces_mask(H, W, M, s, roll=1):
    """A mask built from piece numbers, with the roll as given: +1 right, -1 the wrong way, 0 none."""
    rows, cols = (torch.arange(H) + roll * s) % H, (torch.arange(W) + roll * s) % W
    piece = (torch.where(rows >= s, (rows - s) // M, -1)[:, None] + 1) * 100 + torch.where(
        cols >= s, (cols - s) // M, -1
    )[None, :]
    ids = window_partition(piece[None, :, :, None], M).reshape(-1, M * M)
    return torch.where(ids[:, :, None] == ids[:, None, :], 0.0, MASK_VALUE)


def assert_no_solution_in(message: str) -> None:
    for giveaway in ("(i + s) % H", "% H", "(r - s) // M", "window_partition(", "torch.where"):
        assert giveaway not in message


# ---- exercise 1: the mask from the original coordinates -----------------------------------------


def test_mask_checker_accepts_the_correct_answer(capsys):
    assert check_shift_mask(my_shift_mask) is True
    assert capsys.readouterr().out.startswith("Correct: ")


@pytest.mark.parametrize(
    "answer_key",
    [shift_mask, lambda H, W, M, s: shift_mask(H, W, M, s), lambda H, W, M, s: shift_regions(H, W, M, s)],
)
def test_mask_checker_refuses_the_answer_key(answer_key):
    with pytest.raises(ExerciseError, match="answer key"):
        check_shift_mask(answer_key)


def test_mask_checker_prints_what_is_missing_for_the_saved_unfinished_cell(capsys):
    def my_unfinished_mask(H, W, M, s): ...

    assert check_shift_mask(my_unfinished_mask) is False
    assert capsys.readouterr().out.startswith("Not finished yet: my_shift_mask returns None")


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda H, W, M, s: my_shift_mask(H, W, M, s) == 0, r"my_shift_mask\(4, 4, 2, 1\) is a boolean tensor"),
        (lambda H, W, M, s: MASK_VALUE - my_shift_mask(H, W, M, s), r"my_shift_mask\(4, 4, 2, 1\) is inverted"),
        (
            lambda H, W, M, s: my_shift_mask(H, W, M, s) * float("inf"),
            r"my_shift_mask\(4, 4, 2, 1\) holds -inf where it should hold -100",
        ),
        (lambda H, W, M, s: pieces_mask(H, W, M, s, roll=-1), r"\(4, 4, 2, 1\) is .* another layout: .* wrong way"),
        (lambda H, W, M, s: pieces_mask(H, W, M, s, roll=0), r"\(4, 4, 2, 1\) is .* another layout: .* where they are"),
        (lambda H, W, M, s: my_shift_mask(H, W, M, s)[0], r"shape \(4, 4\) \(16 values\), expected \(4, 4, 4\)"),
        (
            lambda H, W, M, s: my_shift_mask(H, W, M, s).flatten(1),
            r"my_shift_mask\(4, 4, 2, 1\): shape \(4, 16\), expected \(4, 4, 4\) \(the same number of values, grouped",
        ),
    ],
    ids=["bool", "inverted", "minus-inf", "rolled-wrong-way", "not-rolled", "one-window", "pairs-flattened"],
)
def test_mask_checker_names_each_typical_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message) as err:
        check_shift_mask(wrong)
    assert_no_solution_in(str(err.value))


def test_mask_checker_names_the_first_differing_position_and_both_values():
    def one_pair_wrong(H, W, M, s):
        mask = my_shift_mask(H, W, M, s).clone()
        mask[-1, 0, -1] = 0.0  # the corner window's first and last token: different regions
        return mask

    with pytest.raises(ExerciseError, match=r"the first at position \(3, 0, 3\): got 0, expected -100"):
        check_shift_mask(one_pair_wrong)


# ---- exercise 2: how much is masked, for any shift ------------------------------------------------


def test_count_checker_accepts_the_correct_answer(capsys):
    assert check_masked_pairs(masked_pairs) is True
    assert capsys.readouterr().out.startswith("Correct: ")


def test_count_checker_refuses_the_answer_key():
    def by_counting(H, W, M, s):
        return int((shift_mask(H, W, M, s) == MASK_VALUE).sum())

    with pytest.raises(ExerciseError, match="answer key"):
        check_masked_pairs(by_counting)


def test_count_checker_prints_what_is_missing_for_the_saved_unfinished_cell(capsys):
    def masked_unfinished(H, W, M, s): ...

    assert check_masked_pairs(masked_unfinished) is False
    assert "masked_pairs returns None" in capsys.readouterr().out


def allowed_pairs(H, W, M, s):
    return (H // M) * (W // M) * M**4 - masked_pairs(H, W, M, s)


def corner_only(H, W, M, s):
    return M**4 - ((M - s) ** 2 + s**2) ** 2


def fixed_half(H, W, M, s):
    return masked_pairs(H, W, M, M // 2)


def corner_counted_twice(H, W, M, s):
    return masked_pairs(H, W, M, s) + corner_only(H, W, M, s)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (allowed_pairs, r"masked_pairs\(8, 8, 4, 2\) = 576 counts the pairs that may attend"),
        (corner_only, r"masked_pairs\(8, 8, 4, 2\) = 192 is the bottom-right window alone"),
        (fixed_half, r"masked_pairs\(8, 8, 4, 1\) = 448 is the count for s = 2: with s = 1 .* 3 and 1 tokens wide"),
        (corner_counted_twice, r"masked_pairs\(8, 8, 4, 2\) = 640 is too large, expected 448"),
        (lambda H, W, M, s: str(masked_pairs(H, W, M, s)), r"masked_pairs\(8, 8, 4, 2\): expected a number, got str"),
    ],
    ids=["allowed-instead", "corner-only", "ignores-s", "corner-twice", "string"],
)
def test_count_checker_names_each_typical_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message) as err:
        check_masked_pairs(wrong)
    for giveaway in ("(M - s) ** 2", "M**4 -", "(M-s)^2 + s^2"):
        assert giveaway not in str(err.value)
