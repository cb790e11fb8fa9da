"""Lesson 02: the figures, the slider explorer and the two exercise checkers (each accepts the correct answers
kept in tests/solutions, refuses swinlab's own answer and names every typical mistake without the solution)."""

import re

import numpy as np
import pytest
import torch
from einops import rearrange
from solutions import lesson02_local_windows as solution

import swinlab.windows
from swinlab.course.checks import ExerciseError
from swinlab.course.draw import sample_photo
from swinlab.course.lesson02_local_windows import (
    check_window_reverse,
    check_window_sequences,
    draw_windows,
    pair_pattern,
    window_explorer,
    window_ids,
)
from swinlab.windows import window_partition


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
    ids = window_ids(6, 8, (3, 4))
    assert ids.tolist()[0] == [0, 0, 0, 0, 1, 1, 1, 1] and ids.tolist()[5] == [2, 2, 2, 2, 3, 3, 3, 3]
    partitioned = window_partition(torch.from_numpy(ids).view(1, 6, 8, 1), (3, 4))
    assert all((partitioned[i] == i).all() for i in range(4))
    _, state = draw_windows(6, 8, (3, 4))
    assert state["num_windows"] == 4 and state["tokens_per_window"] == 12


def test_draw_windows_shows_the_pairs_in_raster_order_beside_window_order():
    fig, _ = draw_windows(8, 8, (2, 4))
    titles = [ax.get_title() for ax in fig.axes]
    assert "raster order" in titles[1] and "window by window" in titles[2]
    raster, windowed = (ax.images[0].get_array() for ax in fig.axes[1:])
    coloured = lambda img: (np.asarray(img) != 255).any(-1)
    assert coloured(raster).sum() == coloured(windowed).sum() == 8 * 8**2  # the same 512 pairs, reordered
    ids = window_ids(8, 8, (2, 4)).reshape(-1)
    block_diagonal = np.kron(np.eye(8, dtype=bool), np.ones((8, 8), dtype=bool))
    assert (coloured(windowed) == block_diagonal).all() and not (coloured(raster) == block_diagonal).all()
    assert (coloured(raster) == (ids[:, None] == ids[None, :])).all()


def test_pair_pattern_keeps_every_attended_pair_visible_when_it_shrinks_a_large_matrix():
    ids = window_ids(56, 56, 7).reshape(-1)
    rgb = np.full((64, 3), 7, dtype=np.uint8)
    small = pair_pattern(ids, rgb, max_side=392)
    assert small.shape == (392, 392, 3)
    k = 3136 // 392
    same = ids[:, None] == ids[None, :]
    any_in_block = same.reshape(392, k, 392, k).any(axis=(1, 3))
    assert ((small != 255).any(-1) == any_in_block).all()


def test_draw_windows_rejects_a_window_that_does_not_divide_the_grid():
    with pytest.raises(ValueError, match="H=28 is not divisible by window M=5"):
        draw_windows(28, 28, 5)


# ---- exercise 1: window_reverse ------------------------------------------------------------------


@pytest.mark.parametrize("answer", [solution.my_window_reverse, solution.my_window_reverse_view_permute])
def test_window_reverse_checker_accepts_the_solutions(answer, capsys):
    assert check_window_reverse(answer) is True
    assert "Correct" in capsys.readouterr().out


def test_window_reverse_checker_refuses_swinlabs_answer_key():
    for key in (swinlab.windows.window_reverse, lambda w, M, H, W: swinlab.windows.window_reverse(w, M, H, W)):
        with pytest.raises(ExerciseError, match=re.escape("swinlab's answer key (window_reverse)")):
            check_window_reverse(key)


def test_window_reverse_left_unfinished_prints_what_is_missing(capsys):
    def my_window_reverse(windows, M, H, W): ...

    assert check_window_reverse(my_window_reverse) is False
    assert "Not finished yet: my_window_reverse returns None" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mistake, message",
    [
        (  # windows read column-major
            lambda w, M, H, W: rearrange(w, "(b nw nh) mh mw c -> b (nh mh) (nw mw) c", nh=H // M, nw=W // M),
            "the first at position (0, 0, 2, 0): got 8, expected 2. Every expected value is there, in another "
            "order (the 8 found at (0, 0, 2, 0) belongs at (0, 2, 0, 0))",
        ),
        (  # image index last instead of first: right for B = 1, wrong from B = 2
            lambda w, M, H, W: rearrange(w, "(nh nw b) mh mw c -> b (nh mh) (nw mw) c", nh=H // M, nw=W // M),
            "my_window_reverse on the windows of a (2, 4, 4, 1) map, M=2: right shape (2, 4, 4, 1)",
        ),
        (  # rows and columns of a window swapped
            lambda w, M, H, W: rearrange(w, "(b nh nw) mw mh c -> b (nh mh) (nw mw) c", nh=H // M, nw=W // M),
            "got 4, expected 1",
        ),
        (  # a plain reshape, no permute
            lambda w, M, H, W: w.reshape(-1, H, W, w.shape[-1]),
            "Windows are stacked batch-major, then row-major over the grid of windows",
        ),
        (
            lambda w, M, H, W: rearrange(w, "(b nh nw) mh mw c -> b (nw mw) (nh mh) c", nh=H // M, nw=W // M),
            "(the 4 found at (0, 0, 1, 0) belongs at (0, 1, 0, 0))",
        ),
    ],
)
def test_window_reverse_checker_names_each_typical_mistake(mistake, message):
    with pytest.raises(ExerciseError, match=re.escape(message)) as err:
        check_window_reverse(mistake)
    assert "rearrange" not in str(err.value) and "(b nh nw)" not in str(err.value)


# ---- exercise 2: channels-first maps, rectangular windows ----------------------------------------


def test_window_sequences_checker_accepts_the_solution(capsys):
    assert check_window_sequences(solution.window_sequences) is True
    assert "Correct" in capsys.readouterr().out


def test_window_sequences_checker_refuses_window_partition():
    def via_partition(x, Mh, Mw):
        windows = window_partition(x.permute(0, 2, 3, 1), (Mh, Mw))
        return windows.reshape(windows.shape[0], Mh * Mw, -1)

    with pytest.raises(ExerciseError, match=re.escape("swinlab's answer key (window_partition)")):
        check_window_sequences(via_partition)


def test_window_sequences_left_unfinished_prints_what_is_missing(capsys):
    def window_sequences(x, Mh, Mw):
        raise NotImplementedError

    assert check_window_sequences(window_sequences) is False
    assert "Not finished yet: window_sequences raises NotImplementedError" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mistake, message",
    [
        (  # channels left where they were: (B*nW, C, Mh*Mw)
            lambda x, Mh, Mw: rearrange(x, "b c (nh mh) (nw mw) -> (b nh nw) c (mh mw)", mh=Mh, mw=Mw),
            "shape (4, 1, 6), expected (4, 6, 1) (the same axes in another order)",
        ),
        (  # reshaped to channels-last instead of permuted: right for one channel only
            lambda x, Mh, Mw: rearrange(
                x.reshape(x.shape[0], x.shape[2], x.shape[3], x.shape[1]),
                "b (nh mh) (nw mw) c -> (b nh nw) (mh mw) c",
                mh=Mh,
                mw=Mw,
            ),
            "window_sequences on a (2, 3, 6, 8) map, Mh=3, Mw=2: right shape (16, 6, 3), but",
        ),
        (  # Mh and Mw swapped: the student's own code fails on the first map, and the message names the input
            lambda x, Mh, Mw: rearrange(x, "b c (nh mh) (nw mw) -> (b nh nw) (mh mw) c", mh=Mw, mw=Mh),
            "window_sequences(<tensor of shape (1, 1, 4, 6)>, 2, 3) raised EinopsError",
        ),
        (  # tokens column by column inside a window
            lambda x, Mh, Mw: rearrange(x, "b c (nh mh) (nw mw) -> (b nh nw) (mw mh) c", mh=Mh, mw=Mw),
            "the first at position (0, 1, 0): got 6, expected 1",
        ),
        (  # windows column-major
            lambda x, Mh, Mw: rearrange(x, "b c (nh mh) (nw mw) -> (b nw nh) (mh mw) c", mh=Mh, mw=Mw),
            "values differ",
        ),
    ],
)
def test_window_sequences_checker_names_each_typical_mistake(mistake, message):
    with pytest.raises(ExerciseError, match=re.escape(message)) as err:
        check_window_sequences(mistake)
    if "raised" not in str(err.value):  # (an error of the student's own code quotes the student's own pattern)
        assert "rearrange" not in str(err.value) and "(mh mw)" not in str(err.value)
