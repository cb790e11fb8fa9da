"""Lesson 02: the figures, the slider explorers (moved from Python) and the exercise checkers."""

import pytest
import torch
from einops import rearrange

from swinlab.course.checks import ExerciseError
from swinlab.course.draw import sample_photo
from swinlab.course.lesson02_local_windows import check_window_reverse, draw_windows, window_explorer, window_ids


@pytest.fixture(scope="module")
def photo():
    return sample_photo(224)


def test_window_explorer_redraws_when_the_window_slider_moves(photo):
    explorer = window_explorer(28, photo)
    assert list(explorer.controls["M"].options) == [1, 2, 4, 7, 14, 28]
    assert explorer.state["window_size"] == (7, 7) and explorer.state["num_windows"] == 16
    explorer.controls["M"].value = 4
    assert explorer.state["num_windows"] == 49
    assert explorer.state["pairs_computed"] == 49 * 16**2
    explorer.controls["M"].value = 28
    assert explorer.state["num_windows"] == 1
    assert explorer.state["pairs_computed"] == explorer.state["pairs_global"] == 784**2


def test_draw_windows_numbers_windows_as_window_partition_stacks_them():
    from swinlab.windows import window_partition

    ids = window_ids(6, 8, (3, 4))
    assert ids.tolist()[0] == [0, 0, 0, 0, 1, 1, 1, 1] and ids.tolist()[5] == [2, 2, 2, 2, 3, 3, 3, 3]
    partitioned = window_partition(torch.from_numpy(ids).view(1, 6, 8, 1), (3, 4))
    assert all((partitioned[i] == i).all() for i in range(4))
    _, state = draw_windows(6, 8, (3, 4))
    assert state["num_windows"] == 4 and state["tokens_per_window"] == 12


def test_draw_windows_rejects_a_window_that_does_not_divide_the_grid():
    with pytest.raises(ValueError, match="H=28 is not divisible by window M=5"):
        draw_windows(28, 28, 5)


def test_window_reverse_checker_accepts_the_inverse_and_rejects_a_transposed_order():
    right = lambda w, M, H, W: rearrange(w, "(b nh nw) mh mw c -> b (nh mh) (nw mw) c", nh=H // M, nw=W // M)
    column_major = lambda w, M, H, W: rearrange(w, "(b nw nh) mh mw c -> b (nh mh) (nw mw) c", nh=H // M, nw=W // M)
    assert check_window_reverse(right)
    with pytest.raises(ExerciseError, match="batch-major, then row-major"):
        check_window_reverse(column_major)
