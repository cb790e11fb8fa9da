"""Lesson 07: how far information travels, its explorer, and the block-forward exercise checker."""

from __future__ import annotations

import pytest

from swinlab.course.checks import ExerciseError
from swinlab.course.lesson07_swin_transformer import (
    check_block_forward,
    draw_information_flow,
    information_flow_explorer,
    token_dependencies,
)
from swinlab.shift import cyclic_shift, reverse_cyclic_shift
from swinlab.windows import window_partition, window_reverse


def test_without_shift_a_token_never_sees_beyond_its_window():
    for blocks in (1, 3):
        reached = token_dependencies(blocks, shift=False, grid=16, window_size=4, token=(5, 5))
        assert reached.sum() == 16
        assert reached[4:8, 4:8].all()  # exactly the 4x4 window holding token (5, 5)


def test_with_shift_the_dependencies_grow_until_they_cover_the_map():
    counts = [int(token_dependencies(b, shift=True, grid=16, window_size=4).sum()) for b in range(1, 6)]
    assert counts[0] == 16 and counts[1] > counts[0]
    assert counts == sorted(counts)
    assert counts[-1] == 16 * 16


def test_explorer_redraws_when_blocks_and_shift_change():
    ex = information_flow_explorer()
    assert ex.state == {"blocks": 2, "shift": True, "reached": 64, "grid": 16}
    ex.controls["blocks"].value = 1
    assert ex.state["blocks"] == 1 and ex.state["reached"] == 16
    ex.controls["blocks"].value = 5
    assert ex.state["reached"] == 256
    ex.controls["shift"].value = False
    assert ex.state == {"blocks": 5, "shift": False, "reached": 16, "grid": 16}


def test_static_figure_has_one_panel_per_block_count_and_setting():
    fig = draw_information_flow(max_blocks=3)
    assert len(fig.axes) == 6


def right_forward(block, x):
    B, H, W, C = x.shape
    M, s = block.window_size, block.shift_size
    h = cyclic_shift(block.norm1(x), s) if s else block.norm1(x)
    windows = block.attn(window_partition(h, M).reshape(-1, M * M, C), block.attention_mask(H, W, x.device))
    h = window_reverse(windows.reshape(-1, M, M, C), M, H, W)
    x = x + (reverse_cyclic_shift(h, s) if s else h)
    return x + block.mlp(block.norm2(x))


def no_roll_back(block, x):
    B, H, W, C = x.shape
    M, s = block.window_size, block.shift_size
    h = cyclic_shift(block.norm1(x), s) if s else block.norm1(x)
    windows = block.attn(window_partition(h, M).reshape(-1, M * M, C), block.attention_mask(H, W, x.device))
    x = x + window_reverse(windows.reshape(-1, M, M, C), M, H, W)
    return x + block.mlp(block.norm2(x))


def test_block_checker_accepts_a_right_forward(capsys):
    assert check_block_forward(right_forward)
    assert "Correct" in capsys.readouterr().out


def test_block_checker_points_at_the_shift_when_only_the_shifted_block_is_wrong():
    with pytest.raises(ExerciseError, match="SW-MSA block.*roll back by \\+s"):
        check_block_forward(no_roll_back)


def test_block_checker_rejects_none_and_a_missing_residual():
    with pytest.raises(ExerciseError, match="returned None"):
        check_block_forward(lambda block, x: None)
    with pytest.raises(ExerciseError, match="W-MSA block \\(shift 0\\)"):
        check_block_forward(lambda block, x: right_forward(block, x) - x)
