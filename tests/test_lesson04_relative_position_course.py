"""Lesson 04: the figures, the slider explorers (moved from Python) and the exercise checkers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from swinlab.course.lesson04_relative_position import (  # noqa: E402
    bias_row,
    bias_table_grid,
    demo_bias_table,
    gathered_bias,
    relative_bias_explorer,
    relative_index_steps,
)
from swinlab.relative_position import relative_position_index  # noqa: E402


def test_index_steps_figure_has_six_panels_and_the_sum_is_captioned_with_its_two_terms():
    fig = relative_index_steps((2, 3))
    assert len([ax for ax in fig.axes if ax.images]) == 6
    assert fig.axes[5].get_title() == "index = top right + bottom middle"


def test_bias_row_middle_panel_has_offset_ticks_and_right_to_left_entry_numbers():
    fig, _ = bias_row(M=3, query=4)
    table_ax = fig.axes[1]
    assert [t.get_text() for t in table_ax.get_xticklabels()] == ["-2", "-1", "0", "1", "2"]
    assert [t.get_text() for t in table_ax.get_yticklabels()] == ["-2", "-1", "0", "1", "2"]
    texts = {(round(t.get_position()[0]), round(t.get_position()[1])): t.get_text() for t in table_ax.texts}
    # drawn as key - query: entry 0 (query - key = (-2, -2)) sits bottom right, the last entry top left
    assert texts[(4, 4)] == "#0" and texts[(0, 0)] == "#24" and texts[(3, 4)] == "#1"


def test_bias_table_grid_draws_one_grid_per_head_and_rejects_a_wrong_table():
    fig = bias_table_grid(torch.zeros(25, 4), 3)
    grids = [ax.images[0].get_array().shape for ax in fig.axes if ax.images]
    assert grids == [(5, 5)] * 4
    with pytest.raises(ValueError, match="25"):
        bias_table_grid(torch.zeros(24, 4), 3)


@pytest.mark.parametrize("M, query", [(1, 0), (2, 3), (3, 4), (4, 5), (5, 0), (5, 24)])
def test_bias_row_is_the_outlined_block_of_the_drawn_table(M, query):
    table = demo_bias_table(M)
    _, state = bias_row(M, query, head=0)
    top, left = state["table_block"]
    drawn = table[:, 0].reshape(2 * M - 1, 2 * M - 1)[::-1, ::-1]
    np.testing.assert_allclose(state["bias_row"], drawn[top : top + M, left : left + M], rtol=1e-6)
    assert state["index_row"] == relative_position_index(M)[query].reshape(M, M).tolist()
    # the query itself sits on the centre of the table (offset 0)
    qr, qc = state["query_rc"]
    assert state["index_row"][qr][qc] == (2 * M - 1) * (M - 1) + (M - 1)


def test_demo_table_head0_is_largest_at_zero_offset():
    table = demo_bias_table(4)
    assert table.shape == (49, 3) and int(np.argmax(table[:, 0])) == 24


def test_relative_bias_explorer_follows_M_query_and_head():
    ex = relative_bias_explorer(M=3, query=4)
    assert ex.state["M"] == 3 and ex.state["query_rc"] == (1, 1)
    ex.controls["query"].value = 8
    assert ex.state["query"] == 8 and ex.state["query_rc"] == (2, 2) and ex.state["table_block"] == (0, 0)
    ex.controls["head"].value = 2
    assert ex.state["head"] == 2
    ex.controls["M"].value = 5
    assert ex.controls["query"].max == 24 and ex.state["M"] == 5 and len(ex.state["bias_row"]) == 5
    ex.controls["query"].value = 24
    ex.controls["M"].value = 2  # fewer tokens: query clamped to 3
    assert ex.controls["query"].value == 3 and ex.state["query"] == 3 and ex.state["M"] == 2


def test_bias_row_rejects_bad_window():
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="M must be a positive int"):
            bias_row(bad, 0)


def test_gathered_bias_draws_each_heads_bias_from_the_table():
    from swinlab.relative_position import relative_position_bias

    table = torch.randn(9, 2)
    fig = gathered_bias(table, 2)
    drawn = [np.asarray(ax.images[0].get_array()) for ax in fig.axes if ax.images]
    expected = relative_position_bias(table, relative_position_index(2)).numpy()
    assert len(drawn) == 2
    np.testing.assert_allclose(np.stack(drawn), expected)
