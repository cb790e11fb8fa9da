"""Lesson 10's course layer: the figures and the verdict table read the ablation summary, partial or complete;
the exercise checkers accept the correct answers, refuse the answer key, print what is missing when unfinished,
and name the typical mistakes without printing the solution."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from solutions.lesson10_ablations import my_difference, my_seeds_needed
from test_ablate import fake_record

from swinlab import ablate
from swinlab.ablate import difference, plan, quick_settings, run_grid, seeds_needed
from swinlab.course.checks import ExerciseError
from swinlab.course.lesson10_ablations import (
    ablation_figure,
    check_difference,
    check_seeds_needed,
    data_size_figure,
    runs_in,
    verdict_table,
)


@pytest.fixture
def summary(tmp_path, monkeypatch):
    """A complete quick grid (3 seeds) with chosen accuracies: shift off is 5 points worse, everything else
    within noise; the ViT is 10 points worse than Swin at every size."""
    rng = np.random.default_rng(0)

    def acc(spec, seed):
        base = 0.6 + 0.004 * rng.standard_normal()
        return base - 0.05 * ("shift=False" in spec.name) - 0.10 * spec.model.startswith("vit")

    monkeypatch.setattr(
        ablate, "run_one", lambda spec, seed, data, s, device="cpu": fake_record(spec, seed, s, acc(spec, seed))
    )
    return run_grid(ablate.EXPERIMENTS, quick_settings(), [0, 1, 2], None, tmp_path, progress=False, log=None)


def test_every_experiment_draws_bars_with_error_bars_and_the_paper_beside_shift_and_position(summary):
    for experiment in ("shift", "position", "window"):
        fig = ablation_figure(summary, experiment)
        axes = fig.get_axes()
        assert len(axes) == (2 if experiment in ("shift", "position") else 1)
        rows = summary["experiments"][experiment]
        heights = [p.get_height() for p in axes[0].patches]
        assert heights == pytest.approx([100 * r["test_mean"] for r in rows])
        assert [t.get_text() for t in axes[0].get_xticklabels()] == [r["label"] for r in rows]
        if len(axes) == 2:
            paper = [p.get_height() for p in axes[1].patches]
            assert paper == [ablate.PAPER_TABLE4[experiment][r["label"]] for r in rows]
            assert "Table 4" in axes[1].get_title()
    fig = data_size_figure(summary)
    labels = [t.get_text() for t in fig.get_axes()[0].get_legend().get_texts()]
    assert labels == ["swin_micro", "vit_micro"]


def test_the_verdict_table_calls_a_difference_within_two_standard_errors_noise(summary):
    table = verdict_table(summary)
    rows = {line.split()[1]: line for line in table.splitlines()[1:] if line.startswith(("shift", "position"))}
    assert "worse (>= 2 SE)" in rows["shift_off"]
    assert "(reference)" in rows["shift_on"]
    for label in ("absolute", "none"):
        ref, var = (
            summary["experiments"]["position"][0],
            next(r for r in summary["experiments"]["position"] if r["label"] == label),
        )
        diff, se = difference(ref["test_acc"], var["test_acc"])
        assert ("noise" in rows[label]) == (abs(diff) < 2 * se)
    for r in summary["experiments"]["data_size"]:  # each ViT against the Swin of its size
        assert r["reference"] == (None if r["model"] == "swin_micro" else f"swin {r['train_images']:,}")
        if r["reference"]:
            assert r["noise"] is False and r["diff_to_default"] == pytest.approx(-0.10, abs=0.02)
    vit_lines = [line for line in table.splitlines() if line.startswith("data_size") and "vit" in line]
    assert len(vit_lines) == 2 and all("worse (>= 2 SE) vs swin" in line for line in vit_lines)


def test_a_partial_grid_is_drawn_and_says_which_runs_are_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(
        ablate, "run_one", lambda spec, seed, data, s, device="cpu": fake_record(spec, seed, s, 0.5 + 0.01 * seed)
    )
    settings = quick_settings()
    summary = run_grid(["shift"], settings, [0, 1, 2], None, tmp_path, progress=False, log=None, shard=(0, 2))
    text = runs_in(summary)
    assert "missing 3 runs" in text
    ablation_figure(summary, "shift")
    assert "(needs 2 seeds)" in verdict_table(summary) or "(not run yet)" in verdict_table(summary)
    assert len(plan(["shift"], settings, [0, 1, 2])) == 6


# ---- exercise 1: the difference and its standard error ---------------------------------------------


def test_difference_checker_accepts_the_correct_answer(capsys):
    assert check_difference(my_difference) is True
    assert capsys.readouterr().out.startswith("Correct: ")


def test_difference_checker_refuses_the_answer_key():
    with pytest.raises(ExerciseError, match="answer key"):
        check_difference(difference)
    with pytest.raises(ExerciseError, match="answer key"):
        check_difference(lambda a, b: difference(a, b))


def test_difference_checker_prints_what_is_missing_when_unfinished(capsys):
    def unfinished(reference, variant):
        return ...

    assert check_difference(unfinished) is False
    assert capsys.readouterr().out.startswith("Not finished yet: ")


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda a, b: (statistics.mean(a) - statistics.mean(b), my_difference(a, b)[1]), "wrong sign"),
        (
            lambda a, b: (my_difference(a, b)[0], math.hypot(np.std(a) / len(a) ** 0.5, np.std(b) / len(b) ** 0.5)),
            "ddof",
        ),
        (
            lambda a, b: (
                my_difference(a, b)[0],
                statistics.stdev(a) / len(a) ** 0.5 + statistics.stdev(b) / len(b) ** 0.5,
            ),
            "quadrature",
        ),
        (lambda a, b: (my_difference(a, b)[0], my_difference(a, b)[1] ** 2), "square root"),
        (lambda a, b: my_difference(a, b)[0], "a pair"),
    ],
)
def test_difference_checker_names_each_typical_mistake_without_the_solution(wrong, words):
    with pytest.raises(ExerciseError) as info:
        check_difference(wrong)
    message = str(info.value)
    assert words in message
    assert "sqrt(" not in message and "/ n" not in message


# ---- exercise 2: seeds needed ------------------------------------------------------------------------


def test_seeds_checker_accepts_the_correct_answer_and_refuses_the_answer_key(capsys):
    assert check_seeds_needed(my_seeds_needed) is True
    assert capsys.readouterr().out.startswith("Correct: ")
    with pytest.raises(ExerciseError, match="answer key"):
        check_seeds_needed(seeds_needed)


def test_seeds_checker_prints_what_is_missing_when_unfinished(capsys):
    assert check_seeds_needed(lambda std, diff: None) is False
    assert "Not finished yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda std, diff: max(2, math.ceil(4 * std**2 / diff**2 - 1e-12)), "ONE mean"),
        (lambda std, diff: 8 * std**2 / diff**2 + 0.5, "whole number"),
        (lambda std, diff: max(2, math.floor(8 * std**2 / diff**2)), "too small"),
        (lambda std, diff: math.ceil(8 * std**2 / diff**2 - 1e-12), "at least 2 seeds"),
    ],
)
def test_seeds_checker_names_each_typical_mistake_without_the_solution(wrong, words):
    with pytest.raises(ExerciseError) as info:
        check_seeds_needed(wrong)
    message = str(info.value)
    assert words in message
    assert "8 *" not in message and "ceil" not in message
