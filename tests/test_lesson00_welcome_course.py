"""Lesson 00: the figures, the slider explorer and the two exercise checkers (each accepts the correct answer
kept in tests/solutions and names every typical mistake without giving the answer away)."""

import re

import ipywidgets
import pytest
from matplotlib.figure import Figure
from solutions import lesson00_welcome as solution

from swinlab.course.checks import ExerciseError
from swinlab.course.explorer import Explorer
from swinlab.course.lesson00_welcome import (
    attention_cost,
    check_equal_scores_side,
    check_token_counts,
    roadmap_figure,
    vit_and_swin_scores,
)


def test_roadmap_figure_draws_both_models_and_says_it_is_a_schematic():
    fig = roadmap_figure()
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("ViT") for t in titles) and any(t.startswith("Swin") for t in titles)
    note = fig.get_supxlabel()
    assert "Schematic" in note and "Red outlines" in note and "ViT: one window, the whole map" in note


def test_attention_cost_counts_tokens_and_quadratic_entries():
    _, state = attention_cost(224)
    assert state["tokens"] == {16: 196, 4: 3136}
    assert state["attention_entries"] == {16: 196**2, 4: 3136**2}
    explorer = Explorer(attention_cost, img_size=ipywidgets.IntSlider(value=224, min=64, max=1024, step=32))
    explorer.controls["img_size"].value = 448
    assert explorer.state["tokens"][16] == 784 and explorer.state["attention_entries"][4] == 12544**2


# ---- exercise 1: token counts ------------------------------------------------------------------


def test_token_counts_checker_accepts_the_solution(capsys):
    assert check_token_counts(384, 4, 12, *solution.token_counts(384, 4, 12)) is True
    assert "Correct" in capsys.readouterr().out
    assert check_token_counts(224, 4, 7, *solution.token_counts(224, 4, 7)) is True


def test_token_counts_left_unfinished_prints_what_is_missing_and_raises_nothing(capsys):
    assert check_token_counts(384, 4, 12, ..., ..., ...) is False
    out = capsys.readouterr().out
    assert "Not finished yet" in out and "N, scores and windowed are still `...`" in out
    N, scores, _ = solution.token_counts(384, 4, 12)
    assert check_token_counts(384, 4, 12, N, scores, ...) is False
    assert "windowed is still `...`" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mistake, message",
    [
        (lambda N, S, W: (96, S, W), "N = 96: that is the number of patches along one side"),
        (lambda N, S, W: (384 * 384, S, W), "that is the number of pixels"),
        (lambda N, S, W: (384 * 384 // 4, S, W), "divided by P once"),
        (lambda N, S, W: (N, N, W), "scores = 9,216: that is one score per token"),
        (lambda N, S, W: (N, N * (N - 1), W), "a token also attends to itself"),
        (lambda N, S, W: (N, W, W), "that is the windowed count"),
        (lambda N, S, W: (N, S, N * 12), "a window holds M x M = 144 tokens, not M"),
        (lambda N, S, W: (N, S, 144**2), "that is the count of one window"),
        (lambda N, S, W: (N, S, N * 12**4), "not M^2 windows' worth"),
        (lambda N, S, W: (N, S, S), "that is global attention"),
        (lambda N, S, W: (N + 1, S, W), "N = 9,217 is too large"),
        (lambda N, S, W: ("9216", S, W), "N should be a number, got str"),
    ],
)
def test_token_counts_checker_names_each_typical_mistake(mistake, message):
    answer = mistake(*solution.token_counts(384, 4, 12))
    with pytest.raises(ExerciseError, match=re.escape(message)) as err:
        check_token_counts(384, 4, 12, *answer)
    for value in solution.token_counts(384, 4, 12):  # no right count the student did not write is shown
        if str(value) not in repr(answer):
            assert f"{value:,}" not in str(err.value) and str(value) not in str(err.value)


# ---- exercise 2: the side where windows win -------------------------------------------------------


def test_equal_scores_checker_accepts_the_solution_and_both_counts_agree_there(capsys):
    assert check_equal_scores_side(solution.side_equal()) is True
    assert "Correct" in capsys.readouterr().out
    vit, swin = vit_and_swin_scores(solution.side_equal())
    assert vit == pytest.approx(swin)


def test_equal_scores_left_unfinished_prints_what_is_missing(capsys):
    assert check_equal_scores_side(...) is False
    assert "side_equal is still `...`" in capsys.readouterr().out


@pytest.mark.parametrize(
    "guess, message",
    [
        (224, "ViT still computes fewer: the sides are equal further out"),
        (1024, "Swin computes fewer already: they are equal at a smaller side"),
        (-3, "side_equal should be a positive number of pixels"),
        ("448", "side_equal should be a positive number of pixels"),
    ],
)
def test_equal_scores_checker_says_which_model_is_ahead_at_a_wrong_side(guess, message):
    with pytest.raises(ExerciseError, match=re.escape(message)) as err:
        check_equal_scores_side(guess)
    if guess != "448":
        assert f"{solution.side_equal():g}" not in str(err.value)
