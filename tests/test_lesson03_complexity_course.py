"""Lesson 03: the figures, the slider explorers (moved from Python) and the exercise checkers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from swinlab.complexity import msa_flops, wmsa_flops  # noqa: E402
from swinlab.course.checks import ExerciseError
from swinlab.course.lesson03_complexity import (
    check_attention_flops,
    check_tokens_for_ratio,
    complexity_explorer,
    msa_wmsa_costs,
    msa_wmsa_timing,
    tokens_for_ratio,
)


def test_cost_figure_state_holds_both_formulas_and_their_ratio():
    fig, state = msa_wmsa_costs(56, 56, 96, 7)
    assert state["msa"] == msa_flops(56, 56, 96) and state["wmsa"] == wmsa_flops(56, 56, 96, 7)
    assert state["ratio"] == pytest.approx(2_003_828_736 / 145_108_992)
    assert not state["window_larger_than_map"]
    assert len(fig.axes) == 2


def test_cost_figure_flags_a_window_larger_than_the_map():
    _, state = msa_wmsa_costs(4, 4, 8, 7)
    assert state["window_larger_than_map"]


def test_complexity_explorer_redraws_when_each_slider_moves():
    ex = complexity_explorer()
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
    fig = msa_wmsa_timing(
        [64, 256, 1024, 4096],
        {"MSA": [1, 4, 40, 600], "W-MSA": [1, 3, 10, 40]},
        fit_from=1024,
        slopes={"MSA": 2.0, "W-MSA": 1.0},
    )
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any("slope 2.00" in label for label in labels) and any("slope 1.00" in label for label in labels)


def test_attention_flops_checker_accepts_the_formulas_and_rejects_a_missing_factor():
    assert check_attention_flops(msa_flops, wmsa_flops)
    with pytest.raises(ExerciseError, match="msa_fn"):
        check_attention_flops(lambda h, w, C: 4 * h * w * C * C + (h * w) ** 2 * C, wmsa_flops)
    with pytest.raises(ExerciseError, match="wmsa_fn"):
        check_attention_flops(msa_flops, lambda h, w, C, M: 4 * h * w * C * C + 2 * M * h * w * C)
    with pytest.raises(ExerciseError, match="None"):
        check_attention_flops(lambda h, w, C: None, wmsa_flops)


def test_tokens_for_ratio_is_the_smallest_n_reaching_the_ratio():
    # (4C + 2n) / (4C + 2M^2) >= 10 with C=96, M=7: n >= (10 * 482 - 384) / 2 = 2218
    assert tokens_for_ratio(96, 7, 10) == 2218
    for C, M, r in [(32, 4, 3), (96, 7, 2.5), (128, 8, 10)]:
        n = tokens_for_ratio(C, M, r)
        assert msa_flops(n, 1, C) >= r * wmsa_flops(n, 1, C, M) > msa_flops(n - 1, 1, C)


def test_tokens_checker_accepts_the_answer_and_says_which_way_a_wrong_one_is_off():
    assert check_tokens_for_ratio(2218)
    with pytest.raises(ExerciseError, match="too small"):
        check_tokens_for_ratio(2217)
    with pytest.raises(ExerciseError, match="not the smallest"):
        check_tokens_for_ratio(3136)
    with pytest.raises(ExerciseError, match="None"):
        check_tokens_for_ratio(None)
