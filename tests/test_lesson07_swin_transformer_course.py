"""Lesson 07: how far information travels, its figure and its explorer."""

from __future__ import annotations

from swinlab.course.lesson07_swin_transformer import (
    draw_information_flow,
    information_flow_explorer,
    token_dependencies,
)


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


def test_the_reach_grows_in_steps_that_depend_on_where_the_token_sits():
    # what the lesson's text says: blocks 3 and 4 both reach 144 tokens from (5, 5); other tokens grow otherwise
    reach = {
        token: [int(token_dependencies(b, shift=True, grid=16, window_size=4, token=token).sum()) for b in range(1, 7)]
        for token in ((5, 5), (6, 6), (1, 1))
    }
    assert reach[(5, 5)] == [16, 64, 144, 144, 256, 256]
    assert reach[(6, 6)] == [16, 64, 144, 256, 256, 256]
    assert reach[(1, 1)] == [16, 16, 64, 64, 144, 144]
