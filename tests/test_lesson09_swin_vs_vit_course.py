"""Lesson 09: the Swin-vs-ViT figures, the cost explorer (moved from Python) and the exercise checker."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from swinlab.complexity import swin_macs, vit_macs  # noqa: E402
from swinlab.course.checks import ExerciseError
from swinlab.course.lesson09_swin_vs_vit import (
    budget_race_figure,
    check_quadratic_takeover,
    model_cost_curves,
    model_cost_explorer,
    quadratic_takeover_tokens,
    swin_vs_vit_figure,
)
from swinlab.model import swin_cifar  # noqa: E402
from swinlab.vit import vit_cifar  # noqa: E402


def test_cost_curves_state_matches_the_models_at_32_pixels():
    _, state = model_cost_curves()
    assert state["vit_macs_32"] == vit_cifar().macs()["total"]
    assert state["swin_macs_32"] == swin_cifar().macs()["total"]
    assert state["crossover_px"] == 32  # the parameter-matched ViT costs more at every size
    assert state["n_star"] == 1024


def test_cost_explorer_redraws_when_each_slider_moves():
    ex = model_cost_explorer()
    assert ex.state["crossover_px"] == 32
    ex.controls["vit_dim"].value = 128
    ex.controls["vit_depth"].value = 4  # 0.20 GMACs: cheaper than Swin's 0.24 at 32 px
    assert ex.state["vit_macs_32"] == vit_macs(32, 2, 3, 128, 4, 2.0, 10)["total"]
    assert ex.state["n_star"] == 2 * 128 + 256 and ex.state["crossover_px"] == 64
    ex.controls["window"].value = 8
    assert ex.state["swin_macs_32"] == swin_macs(32, 2, 3, 96, (2, 6, 4), (8, 8, 4), 2.0, 10)["total"]
    ex.controls["mlp_ratio"].value = 4.0
    assert ex.state["n_star"] == 2 * 128 + 512
    ex.controls["patch_size"].value = 4
    assert ex.state["patch_size"] == 4 and ex.state["vit_macs_32"] == vit_macs(32, 4, 3, 128, 4, 4.0, 10)["total"]


def _rows():
    rows = []
    for size, (vit, swin) in {32: (0.01, 0.02), 64: (0.1, 0.05), 96: (1.0, 0.1)}.items():
        for name, sec in (("ViT", vit), ("Swin", swin)):
            rows.append(
                {
                    "model": name,
                    "img_size": size,
                    "tokens": (size // 2) ** 2,
                    "macs": int(1e9 * sec),
                    "seconds": sec,
                    "images_per_s": 1 / sec,
                }
            )
    return rows


def test_swin_vs_vit_figure_draws_three_panels_with_the_slopes():
    fig = swin_vs_vit_figure(_rows(), slopes={"ViT": {"macs": 1.9, "seconds": 1.8}})
    assert len(fig.axes) == 3
    assert any("slope 1.90" in t.get_text() for t in fig.axes[1].get_legend().get_texts())
    assert any("from 64 px" in t.get_text() for t in fig.axes[0].texts)


def test_budget_race_figure_reports_best_accuracy_and_epochs():
    hist = [
        {"elapsed_s": 30.0, "test_acc": 0.2, "images_per_s": 100.0},
        {"elapsed_s": 60.0, "test_acc": 0.3, "images_per_s": 120.0},
    ]
    fig = budget_race_figure({"ViT": hist[:1], "Swin": hist})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["ViT: best 20.0% (1 epochs)", "Swin: best 30.0% (2 epochs)"]


def test_quadratic_takeover_is_two_c_plus_the_mlp_width():
    assert quadratic_takeover_tokens(256, 2.0) == 1024
    assert quadratic_takeover_tokens(96, 4.0) == 576


def test_quadratic_takeover_checker_accepts_the_formula_and_explains_mistakes(capsys):
    assert check_quadratic_takeover(lambda C, r: 2 * C + int(C * r))
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="returned None"):
        check_quadratic_takeover(lambda C, r: None)
    with pytest.raises(ExerciseError, match=r"fn\(256, 2.0\) = 512, expected 1024"):
        check_quadratic_takeover(lambda C, r: int(C * r))  # forgot the projections
