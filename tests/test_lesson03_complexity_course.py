"""Lesson 03: the figures, the slider explorer and the three exercise checkers (each accepts the correct answer
kept in tests/solutions, refuses swinlab's own answer and names every typical mistake without the solution)."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from solutions import lesson03_complexity as solution  # noqa: E402

from swinlab.complexity import count_flops, msa_flops, msa_terms, wmsa_flops  # noqa: E402
from swinlab.course.checks import ExerciseError  # noqa: E402
from swinlab.course.lesson03_complexity import (  # noqa: E402
    check_attention_flops,
    check_block_flops,
    check_tokens_for_ratio,
    complexity_explorer,
    counted_block_flops,
    msa_wmsa_costs,
    msa_wmsa_timing,
    tokens_for_ratio,
    window_used,
)


def test_cost_figure_state_holds_both_formulas_and_their_ratio():
    fig, state = msa_wmsa_costs(56, 56, 96, 7)
    assert state["msa"] == msa_flops(56, 56, 96) and state["wmsa"] == wmsa_flops(56, 56, 96, 7)
    assert state["ratio"] == pytest.approx(msa_flops(56, 56, 96) / wmsa_flops(56, 56, 96, 7))
    assert not state["window_larger_than_map"] and state["note"] == ""
    assert len(fig.axes) == 2


def test_a_window_larger_than_the_map_shrinks_to_the_map_and_costs_what_global_attention_costs():
    fig, state = msa_wmsa_costs(4, 4, 8, 7)
    assert state["window_larger_than_map"] and state["window"] == 4
    assert state["wmsa"] == state["msa"] and state["ratio"] == 1.0
    assert "the window shrinks to M=4, as in the model" in fig.get_suptitle()


def test_a_window_that_does_not_divide_the_map_is_counted_on_the_padded_map_and_says_so():
    assert window_used(56, 56, 5) == {
        "M": 5,
        "padded": (60, 60),
        "windows": 144,
        "note": "M=5 does not divide 56×56: swinlab's model refuses it; counted here as Swin's detection code "
        "does it, padded to 60×60",
    }
    fig, state = msa_wmsa_costs(56, 56, 96, 5)
    assert state["wmsa"] == wmsa_flops(60, 60, 96, 5) and state["windows"] == 12 * 12
    assert "padded to 60×60" in fig.get_suptitle()
    assert window_used(4, 6, 7)["M"] == 4 and window_used(4, 6, 7)["padded"] == (4, 8)


def test_cost_figure_draws_window_attention_only_where_a_window_fits_and_keeps_labels_clear_of_the_legend():
    fig, _ = msa_wmsa_costs(56, 56, 96, 7)
    bars, curves = fig.axes
    wmsa_line = next(line for line in curves.get_lines() if line.get_label().startswith("W-MSA"))
    assert min(wmsa_line.get_xdata()) >= 49
    legend = bars.get_legend()
    assert legend.get_bbox_to_anchor().y1 < bars.get_window_extent().y0 + 1  # under the axes, not over the bars


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
    ex.controls["M"].value = 32
    assert ex.state["window"] == 32 and ex.state["padded"] == (128, 128)


def test_timing_figure_draws_measured_points_and_fits():
    fig = msa_wmsa_timing(
        [64, 256, 1024, 4096],
        {"MSA": [1, 4, 40, 600], "W-MSA": [1, 3, 10, 40]},
        fit_from=1024,
        slopes={"MSA": 2.0, "W-MSA": 1.0},
    )
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any("slope 2.00" in label for label in labels) and any("slope 1.00" in label for label in labels)


# ---- exercise 1: the two formulas ----------------------------------------------------------------


def test_attention_flops_checker_accepts_the_solution(capsys):
    assert check_attention_flops(solution.my_msa_flops, solution.my_wmsa_flops) is True
    assert "Correct" in capsys.readouterr().out


def test_attention_flops_checker_refuses_swinlabs_answer_key():
    with pytest.raises(ExerciseError, match=re.escape("swinlab's answer key (msa_flops)")):
        check_attention_flops(msa_flops, solution.my_wmsa_flops)
    with pytest.raises(ExerciseError, match=re.escape("swinlab's answer key (msa_flops)")):
        check_attention_flops(lambda h, w, C: sum(msa_terms(h, w, C).values()), solution.my_wmsa_flops)
    with pytest.raises(ExerciseError, match=re.escape("swinlab's answer key (wmsa_flops)")):
        check_attention_flops(solution.my_msa_flops, wmsa_flops)


def test_attention_flops_left_unfinished_prints_what_is_missing(capsys):
    def my_msa_flops(h, w, C): ...

    assert check_attention_flops(my_msa_flops, solution.my_wmsa_flops) is False
    assert "Not finished yet: my_msa_flops returns None" in capsys.readouterr().out


@pytest.mark.parametrize(
    "msa, message",
    [
        (lambda h, w, C: 2 * solution.my_msa_flops(h, w, C), "That is the FLOP counter's number"),
        (lambda h, w, C: 2 * (h * w) ** 2 * C, "The linear layers (q, k, v and the output projection) are missing"),
        (lambda h, w, C: 4 * h * w * C * C, "The two products between tokens, QKᵀ and AV, are missing"),
        (lambda h, w, C: 4 * h * w * C * C + (h * w) ** 2 * C, "Only one of the two products between tokens"),
        (lambda h, w, C: 3 * h * w * C * C + 2 * (h * w) ** 2 * C, "One projection is missing"),
        (lambda h, w, C: 4 * h * w * C * C + 2 * h * w * C, "it grows with (hw)², not hw"),
        (
            lambda h, w, C: 4 * h * w * C * C + 2 * (h * w) ** 2 * C + 1,
            "my_msa_flops(56, 56, 96) = 2003828737 is too large, expected 2003828736",
        ),
    ],
)
def test_attention_flops_checker_names_each_typical_mistake_in_msa(msa, message):
    with pytest.raises(ExerciseError, match=re.escape(message)) as err:
        check_attention_flops(msa, solution.my_wmsa_flops)
    assert "4hwC" not in str(err.value) and "(hw)^2" not in str(err.value)


@pytest.mark.parametrize(
    "wmsa, message",
    [
        (lambda h, w, C, M: solution.my_msa_flops(h, w, C), "That is global attention"),
        (lambda h, w, C, M: 4 * h * w * C * C + 2 * M * h * w * C, "each query meets M² keys, not M"),
        (lambda h, w, C, M: 4 * h * w * C * C + 2 * M**4 * h * w * C, "M² per query, not M⁴"),
        (lambda h, w, C, M: 2 * solution.my_wmsa_flops(h, w, C, M), "That is the FLOP counter's number"),
        (lambda h, w, C, M: 2 * M * M * h * w * C, "windows do not change them"),
    ],
)
def test_attention_flops_checker_names_each_typical_mistake_in_wmsa(wmsa, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_attention_flops(solution.my_msa_flops, wmsa)


# ---- exercise 2: ten times dearer ----------------------------------------------------------------


def test_tokens_for_ratio_is_the_smallest_n_reaching_the_ratio():
    assert tokens_for_ratio(96, 7, 10) == solution.n_tokens(96, 7, 10)
    for C, M, r in [(32, 4, 3), (96, 7, 2.5), (128, 8, 10)]:
        n = tokens_for_ratio(C, M, r)
        assert msa_flops(n, 1, C) >= r * wmsa_flops(n, 1, C, M) > msa_flops(n - 1, 1, C)


def test_tokens_checker_accepts_the_solution_and_says_which_way_a_wrong_one_is_off(capsys):
    n = solution.n_tokens()
    assert check_tokens_for_ratio(n) is True
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="too small: the ratio there is only 9.99") as err:
        check_tokens_for_ratio(n - 1)
    assert str(n) not in str(err.value)
    with pytest.raises(ExerciseError, match="not the smallest: the ratio is already"):
        check_tokens_for_ratio(56 * 56)
    with pytest.raises(ExerciseError, match="should be a positive int"):
        check_tokens_for_ratio(2218.5)


def test_tokens_left_unfinished_prints_what_is_missing(capsys):
    assert check_tokens_for_ratio(...) is False
    assert "n_tokens is still `...`" in capsys.readouterr().out


# ---- exercise 3: the FLOP counter's number for a whole block -------------------------------------


def test_the_counted_block_is_counted_as_attention_plus_mlp_times_two():
    for h, w, C, M, r in [(8, 8, 16, 4, 4), (6, 9, 24, 3, 2)]:
        assert counted_block_flops(h, w, C, M, r) == solution.block_flops(h, w, C, M, r)


def test_block_flops_checker_accepts_the_solution(capsys):
    assert check_block_flops(solution.block_flops) is True
    assert "Correct" in capsys.readouterr().out


def test_block_flops_checker_refuses_the_counter():
    with pytest.raises(ExerciseError, match=re.escape("swinlab's answer key (the FLOP counter)")):
        check_block_flops(lambda h, w, C, M, r: count_flops(None))
    with pytest.raises(ExerciseError, match="answer key"):
        check_block_flops(counted_block_flops)


def test_block_flops_left_unfinished_prints_what_is_missing(capsys):
    def block_flops(h, w, C, M, r): ...

    assert check_block_flops(block_flops) is False
    assert "Not finished yet: block_flops returns None" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mistake, message",
    [
        (lambda h, w, C, M, r: solution.block_flops(h, w, C, M, r) // 2, "That is the multiply-accumulates"),
        (lambda h, w, C, M, r: 2 * solution.my_wmsa_flops(h, w, C, M), "That is the attention alone"),
        (lambda h, w, C, M, r: solution.my_wmsa_flops(h, w, C, M), "in multiply-accumulates: the block also runs"),
        (
            lambda h, w, C, M, r: 2 * (solution.my_wmsa_flops(h, w, C, M) + r * h * w * C * C),
            "The MLP has two linear layers",
        ),
        (
            lambda h, w, C, M, r: 2 * (solution.my_wmsa_flops(h, w, C, M) + 2 * h * w * C * C),
            "hidden layer is r*C wide",
        ),
        (lambda h, w, C, M, r: 4 * r * h * w * C * C, "The attention is missing"),
        (
            lambda h, w, C, M, r: solution.block_flops(h, w, C, M, r) + 4 * h * w * C,  # LayerNorms counted too
            "block_flops(6, 9, 24, 3, 3) = 673920 is too large, expected 668736. What does the counter count",
        ),
    ],
)
def test_block_flops_checker_names_each_typical_mistake(mistake, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        check_block_flops(mistake)
