"""Lessons 03 and 04: the figures, the slider explorers (moved from Python) and the exercise checkers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from swinlab import exercises, viz, widgets  # noqa: E402
from swinlab.complexity import msa_flops, wmsa_flops  # noqa: E402
from swinlab.exercises import ExerciseError  # noqa: E402
from swinlab.relative_position import relative_position_index  # noqa: E402

# ---- lesson 03 -------------------------------------------------------------------------------------


def test_cost_figure_state_holds_both_formulas_and_their_ratio():
    fig, state = viz.msa_wmsa_costs(56, 56, 96, 7)
    assert state["msa"] == msa_flops(56, 56, 96) and state["wmsa"] == wmsa_flops(56, 56, 96, 7)
    assert state["ratio"] == pytest.approx(2_003_828_736 / 145_108_992)
    assert not state["window_larger_than_map"]
    assert len(fig.axes) == 2


def test_cost_figure_flags_a_window_larger_than_the_map():
    _, state = viz.msa_wmsa_costs(4, 4, 8, 7)
    assert state["window_larger_than_map"]


def test_complexity_explorer_redraws_when_each_slider_moves():
    ex = widgets.complexity_explorer()
    assert (ex.state["h"], ex.state["w"], ex.state["C"], ex.state["M"]) == (56, 56, 96, 7)
    before = ex.state["ratio"]
    ex.controls["h"].value = 112
    assert ex.state["tokens"] == 112 * 56 and ex.state["ratio"] > before
    ex.controls["w"].value = 112
    assert ex.state["msa"] == msa_flops(112, 112, 96)
    ex.controls["C"].value = 192
    assert ex.state["wmsa"] == wmsa_flops(112, 112, 192, 7)
    ex.controls["M"].value = 14
    assert ex.state["wmsa"] == wmsa_flops(112, 112, 192, 14)


def test_timing_figure_draws_measured_points_and_fits():
    fig = viz.msa_wmsa_timing([64, 256, 1024, 4096], {"MSA": [1, 4, 40, 600], "W-MSA": [1, 3, 10, 40]},
                              fit_from=1024, slopes={"MSA": 2.0, "W-MSA": 1.0})
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any("slope 2.00" in label for label in labels) and any("slope 1.00" in label for label in labels)


def test_attention_flops_checker_accepts_the_formulas_and_rejects_a_missing_factor():
    assert exercises.check_attention_flops(msa_flops, wmsa_flops)
    with pytest.raises(ExerciseError, match="msa_fn"):
        exercises.check_attention_flops(lambda h, w, C: 4 * h * w * C * C + (h * w) ** 2 * C, wmsa_flops)
    with pytest.raises(ExerciseError, match="wmsa_fn"):
        exercises.check_attention_flops(msa_flops, lambda h, w, C, M: 4 * h * w * C * C + 2 * M * h * w * C)
    with pytest.raises(ExerciseError, match="None"):
        exercises.check_attention_flops(lambda h, w, C: None, wmsa_flops)


def test_tokens_for_ratio_is_the_smallest_n_reaching_the_ratio():
    # (4C + 2n) / (4C + 2M^2) >= 10 with C=96, M=7: n >= (10 * 482 - 384) / 2 = 2218
    assert exercises.tokens_for_ratio(96, 7, 10) == 2218
    for C, M, r in [(32, 4, 3), (96, 7, 2.5), (128, 8, 10)]:
        n = exercises.tokens_for_ratio(C, M, r)
        assert msa_flops(n, 1, C) >= r * wmsa_flops(n, 1, C, M) > msa_flops(n - 1, 1, C)


def test_tokens_checker_accepts_the_answer_and_says_which_way_a_wrong_one_is_off():
    assert exercises.check_tokens_for_ratio(2218)
    with pytest.raises(ExerciseError, match="too small"):
        exercises.check_tokens_for_ratio(2217)
    with pytest.raises(ExerciseError, match="not the smallest"):
        exercises.check_tokens_for_ratio(3136)
    with pytest.raises(ExerciseError, match="None"):
        exercises.check_tokens_for_ratio(None)


# ---- lesson 04 -------------------------------------------------------------------------------------


def test_index_steps_figure_has_six_panels():
    fig = viz.relative_index_steps((2, 3))
    assert len([ax for ax in fig.axes if ax.images]) == 6


def test_bias_table_grid_draws_one_grid_per_head_and_rejects_a_wrong_table():
    fig = viz.bias_table_grid(torch.zeros(25, 4), 3)
    grids = [ax.images[0].get_array().shape for ax in fig.axes if ax.images]
    assert grids == [(5, 5)] * 4
    with pytest.raises(ValueError, match="25"):
        viz.bias_table_grid(torch.zeros(24, 4), 3)


@pytest.mark.parametrize("M, query", [(1, 0), (2, 3), (3, 4), (4, 5), (5, 0), (5, 24)])
def test_bias_row_is_the_outlined_block_of_the_drawn_table(M, query):
    table = viz.demo_bias_table(M)
    _, state = viz.bias_row(M, query, head=0)
    top, left = state["table_block"]
    drawn = table[:, 0].reshape(2 * M - 1, 2 * M - 1)[::-1, ::-1]
    np.testing.assert_allclose(state["bias_row"], drawn[top:top + M, left:left + M], rtol=1e-6)
    assert state["index_row"] == relative_position_index(M)[query].reshape(M, M).tolist()
    # the query itself sits on the centre of the table (offset 0)
    qr, qc = state["query_rc"]
    assert state["index_row"][qr][qc] == (2 * M - 1) * (M - 1) + (M - 1)


def test_demo_table_head0_is_largest_at_zero_offset():
    table = viz.demo_bias_table(4)
    assert table.shape == (49, 3) and int(np.argmax(table[:, 0])) == 24


def test_relative_bias_explorer_follows_M_query_and_head():
    ex = widgets.relative_bias_explorer(M=3, query=4)
    assert ex.state["M"] == 3 and ex.state["query_rc"] == (1, 1)
    ex.controls["query"].value = 8
    assert ex.state["query"] == 8 and ex.state["query_rc"] == (2, 2) and ex.state["table_block"] == (0, 0)
    ex.controls["head"].value = 2
    assert ex.state["head"] == 2
    ex.controls["M"].value = 5
    assert ex.controls["query"].max == 24 and ex.state["M"] == 5 and len(ex.state["bias_row"]) == 5
    ex.controls["query"].value = 24
    ex.controls["M"].value = 2                                    # fewer tokens: query clamped to 3
    assert ex.controls["query"].value == 3 and ex.state["query"] == 3 and ex.state["M"] == 2


def test_bias_row_rejects_bad_window():
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="M must be a positive int"):
            viz.bias_row(bad, 0)


def test_index_checker_accepts_swinlab_and_rejects_a_wrong_multiplier_or_float_dtype():
    assert exercises.check_relative_position_index(relative_position_index)

    def wrong_multiplier(M):
        idx = relative_position_index(M)
        return (idx // (2 * M - 1)) * (2 * M) + idx % (2 * M - 1)                # multiplies by 2M

    with pytest.raises(ExerciseError, match="values differ"):
        exercises.check_relative_position_index(wrong_multiplier)
    with pytest.raises(ExerciseError, match="dtype"):
        exercises.check_relative_position_index(lambda M: relative_position_index(M).float())
    with pytest.raises(ExerciseError, match="None"):
        exercises.check_relative_position_index(lambda M: None)


def test_gathered_bias_draws_each_heads_bias_from_the_table():
    from swinlab.relative_position import relative_position_bias

    table = torch.randn(9, 2)
    fig = viz.gathered_bias(table, 2)
    drawn = [np.asarray(ax.images[0].get_array()) for ax in fig.axes if ax.images]
    expected = relative_position_bias(table, relative_position_index(2)).numpy()
    assert len(drawn) == 2
    np.testing.assert_allclose(np.stack(drawn), expected)
