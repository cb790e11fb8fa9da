"""Lesson 04's exercise checkers accept the correct answers kept in tests/solutions, refuse the answer key, print
what is missing for an unfinished answer, and name each typical mistake without printing the solution."""

from __future__ import annotations

import pytest
import torch
from solutions.lesson04_relative_position import my_index, my_rect_index

import swinlab.relative_position as rp
from swinlab.course.checks import ExerciseError
from swinlab.course.lesson04_relative_position import check_rectangular_index, check_relative_position_index
from swinlab.relative_position import RelativePositionBias, relative_position_index


def offsets(mh, mw):
    rows, cols = torch.meshgrid(torch.arange(mh), torch.arange(mw), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    return rows[:, None] - rows[None, :], cols[:, None] - cols[None, :]


def square_with(factor=lambda M: 2 * M - 1, shift=True, transpose=False, swap=False):
    def fn(M):
        dy, dx = offsets(M, M)
        if transpose:
            dy, dx = -dy, -dx
        if shift:
            dy, dx = dy + M - 1, dx + M - 1
        if swap:
            dy, dx = dx, dy
        return dy * factor(M) + dx

    return fn


def assert_no_solution_in(message: str) -> None:
    for giveaway in ("meshgrid", "* (2 * M - 1)", "(2M-1) +", "rows[:, None]"):
        assert giveaway not in message


# ---- exercise 1: the square index ---------------------------------------------------------------


def test_index_checker_accepts_the_correct_answer(capsys):
    assert check_relative_position_index(my_index) is True
    assert capsys.readouterr().out.startswith("Correct: ")


@pytest.mark.parametrize(
    "answer_key",
    [
        relative_position_index,
        lambda M: relative_position_index(M),
        lambda M: rp.relative_position_index(M),
        lambda M: RelativePositionBias(M, 1).relative_position_index,
    ],
)
def test_index_checker_refuses_the_answer_key(answer_key):
    with pytest.raises(ExerciseError, match="answer key"):
        check_relative_position_index(answer_key)


def test_index_checker_prints_what_is_missing_for_the_saved_unfinished_cell(capsys):
    def unfinished(M): ...

    assert check_relative_position_index(unfinished) is False
    assert capsys.readouterr().out.startswith("Not finished yet: my_index returns None")


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda M: my_index(M).float(), r"my_index\(1\) has dtype torch.float32: .* integer tensor"),
        (square_with(shift=False), r"my_index\(2\) holds -4 at position \(0, 3\): an index must start at 0"),
        (square_with(factor=lambda M: 2 * M - 2), r"my_index\(2\) uses 7 different entries, .* 9 different offsets"),
        (square_with(factor=lambda M: 2 * M), r"my_index\(2\) holds 10, but the table of a 2x2 window has 9 rows"),
        (square_with(transpose=True), r"my_index\(2\) is the transpose .* key - query"),
        (square_with(swap=True), r"my_index\(2\) has the right values in the wrong places: .* column offset"),
        (lambda M: my_index(M)[: M * M // 2 + 1], r"my_index\(2\): shape \(3, 4\) \(12 values\), expected \(4, 4\)"),
        (lambda M: my_index(M).view(M, M, M, M), r"my_index\(1\): shape \(1, 1, 1, 1\), expected \(1, 1\)"),
    ],
    ids=["float", "no-shift", "factor-2M-2", "factor-2M", "key-minus-query", "column-digit-high", "rows", "4-D"],
)
def test_index_checker_names_each_typical_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message) as err:
        check_relative_position_index(wrong)
    assert_no_solution_in(str(err.value))


def test_index_checker_names_the_first_differing_position_and_both_values():
    def off_by_one_at_the_end(M):
        idx = my_index(M).clone()
        idx[-1, -1] += 1 if M > 1 else 0
        return idx

    expected = r"1 of 16 values differ; the first at position \(3, 3\): got 5, expected 4"
    with pytest.raises(ExerciseError, match=expected):
        check_relative_position_index(off_by_one_at_the_end)


# ---- exercise 2: the rectangular index -----------------------------------------------------------


def test_rectangular_checker_accepts_the_correct_answer(capsys):
    assert check_rectangular_index(my_rect_index) is True
    assert "2x3, 3x2, 1x4, 4x1, 3x5, 7x4 and 4x4" in capsys.readouterr().out


def test_rectangular_checker_refuses_the_answer_key():
    with pytest.raises(ExerciseError, match="answer key"):
        check_rectangular_index(lambda mh, mw: relative_position_index((mh, mw)))


def test_rectangular_checker_prints_what_is_missing_for_the_saved_unfinished_cell(capsys):
    def unfinished(Mh, Mw): ...

    assert check_rectangular_index(unfinished) is False
    assert "my_rect_index returns None" in capsys.readouterr().out


def rect_with(factor, shift_h, shift_w, column_major=False):
    def fn(mh, mw):
        dy, dx = offsets(mh, mw)
        if column_major:  # tokens numbered column by column
            order = torch.arange(mh * mw).view(mh, mw).T.flatten()
            dy, dx = dy[order][:, order], dx[order][:, order]
        return (dy + shift_h(mh, mw)) * factor(mh, mw) + dx + shift_w(mh, mw)

    return fn


@pytest.mark.parametrize(
    "wrong, message",
    [
        # the row part multiplied by the number of row offsets: offsets collide in a wide window
        (
            rect_with(lambda h, w: 2 * h - 1, lambda h, w: h - 1, lambda h, w: w - 1),
            r"my_rect_index\(2, 3\) uses 11 different entries, but a 2x3 window has 15 different offsets",
        ),
        # both axes shifted by the row count: a column offset stays negative
        (
            rect_with(lambda h, w: 2 * w - 1, lambda h, w: h - 1, lambda h, w: h - 1),
            r"my_rect_index\(2, 3\) holds -1 at position .* must start at 0",
        ),
        # both axes shifted by the column count: the last entry overshoots the table
        (
            rect_with(lambda h, w: 2 * w - 1, lambda h, w: w - 1, lambda h, w: w - 1),
            r"my_rect_index\(2, 3\) holds 19, but the table of a 2x3 window has 15 rows \(0 \.\. 14\)",
        ),
        # the square answer, with only Mh
        (
            lambda mh, mw: my_index(mh),
            r"my_rect_index\(2, 3\): shape \(4, 4\) \(16 values\), expected \(6, 6\) \(36 values\)",
        ),
        # tokens numbered column by column: the right entries in the wrong places
        (
            rect_with(lambda h, w: 2 * w - 1, lambda h, w: h - 1, lambda h, w: w - 1, column_major=True),
            r"my_rect_index\(2, 3\): right shape \(6, 6\), but .* values differ; the first at position \(0, 1\): "
            r"got 2, expected 6\. Every expected value is there, in another order",
        ),
    ],
    ids=["factor-2Mh-1", "shift-Mh-both", "shift-Mw-both", "square-only", "column-major"],
)
def test_rectangular_checker_names_each_typical_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message) as err:
        check_rectangular_index(wrong)
    assert_no_solution_in(str(err.value))
    assert "2 * Mw - 1" not in str(err.value) and "2Mw-1" not in str(err.value)
