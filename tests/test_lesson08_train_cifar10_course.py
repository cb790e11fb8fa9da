"""Lesson 08: the figures, the slider explorers (moved from Python) and the exercise checkers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from solutions.lesson08_train_cifar10 import my_loss_floor, my_lr

from swinlab.course.checks import ExerciseError
from swinlab.course.draw import plot_history
from swinlab.course.lesson08_train_cifar10 import (
    attention_explorer,
    augmentation_explorer,
    bias_tables_figure,
    check_loss_floor,
    check_lr_schedule,
    draw_attention,
    draw_augmentation,
    epoch_table,
    run_dynamics_figure,
)
from swinlab.data import synthetic_cifar10
from swinlab.train import WarmupCosine, lr_at


@pytest.fixture(scope="module")
def data():
    return synthetic_cifar10(96, 32, seed=1)


def test_lesson08_figures_draw(data):

    hist = [
        {
            "epoch": e,
            "train_loss": 2.0 / e,
            "train_acc": 0.1 * e,
            "test_loss": 2.1 / e,
            "test_acc": 0.1 * e,
            "lr": 1e-3,
            "seconds": 1.0,
            "images_per_s": 10.0,
            "elapsed_s": 60.0 * e,
        }
        for e in (1, 2, 3)
    ]
    assert len(plot_history(hist, reference=hist, x="minutes").axes) == 3
    fig, state = draw_augmentation(
        data.train_images[:4], 4, "cutmix", 1.0, 0.0, seed=1, classes=data.classes, labels=data.train_labels[:4]
    )
    assert state["mix"] == "cutmix" and 0 < state["lam"] <= 1 and state["changed"] > 0
    assert draw_augmentation(data.train_images[:4], 0, "none", 1.0, 0.0, seed=0)[1]["lam"] == 1.0
    maps = np.random.default_rng(0).random((3, 2, 4, 4))
    fig, state = draw_attention(data.test_images[:3], maps, index=1, head=0)
    assert state["peak"] == tuple(int(i) for i in np.unravel_index(maps[1, 0].argmax(), (4, 4)))


def test_augmentation_explorer_redraws_when_a_slider_moves(data):

    ex = augmentation_explorer(data.train_images[:3], data.train_labels[:3], data.classes)
    assert ex.state["mix"] == "none" and ex.state["padding"] == 4
    assert ex.controls["alpha"].disabled  # nothing is mixed: alpha would change nothing
    ex.controls["mix"].value = "mixup"
    assert not ex.controls["alpha"].disabled
    assert ex.state["mix"] == "mixup" and ex.state["lam"] < 1
    ax = attention_explorer(data.test_images[:3], np.random.default_rng(0).random((3, 2, 4, 4)))
    ax.controls["index"].value = 2
    assert ax.state["index"] == 2


def test_plot_history_draws_validation_solid_test_dotted_and_the_final_test_as_a_star():
    hist = [
        {
            "epoch": e,
            "train_loss": 2.0 / e,
            "train_acc": 0.1 * e,
            "val_loss": 2.1 / e,
            "val_acc": 0.1 * e,
            "lr": 1e-3,
            "seconds": 1.0,
            "images_per_s": 10.0,
            "elapsed_s": 60.0 * e,
        }
        for e in (1, 2, 3)
    ]
    fig = plot_history(hist, test={"epoch": 3, "acc": 0.31, "n": 10_000, "loss": 1.0, "ci95": [0.3, 0.32]})
    labels = [line.get_label() for line in fig.axes[1].get_lines()]
    assert any("validation (best 30.0%)" in label for label in labels)
    assert any("test, once (31.0% on 10,000)" in label for label in labels)
    old = [{**h, "test_acc": h["val_acc"], "test_loss": h["val_loss"]} for h in hist]
    for h in old:
        del h["val_acc"], h["val_loss"]
    # a test curve is never summarised by its best epoch (that would be choosing on the test set)
    assert any("test (last 30.0%)" in line.get_label() for line in plot_history(old).axes[1].get_lines())


def test_bias_tables_figure_has_a_colourbar_per_row_and_offset_ticks():
    tables = [np.random.default_rng(0).normal(size=(2, 7, 7)), np.random.default_rng(1).normal(size=(4, 7, 7))]
    fig = bias_tables_figure(tables, block_labels=["stage 1", "stage 2"])
    panels = [ax for ax in fig.axes if ax.get_title().startswith("head")]
    colourbars = [ax for ax in fig.axes if ax not in panels and ax.get_visible() and ax.get_label() == "<colorbar>"]
    assert len(panels) == 6 and len(colourbars) == 2
    assert [t for t in panels[0].get_xticks()] == [-3, 0, 3]


def test_lr_checker_accepts_a_correct_schedule_and_refuses_the_answer_key(capsys):
    assert check_lr_schedule(my_lr)
    assert "Correct" in capsys.readouterr().out
    for key in (lr_at, lambda s, t, w, p, m: lr_at(s, t, w, p, m), WarmupCosine):
        with pytest.raises(ExerciseError, match="answer key"):
            check_lr_schedule(key)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda s, t, w, p, m: p * s / w if s < w else my_lr(s, t, w, p, m), "in the warmup"),
        (lambda s, t, w, p, m: my_lr(s, t, w, p, m) if s < w else p * (1 - (s - w) / (t - w)), "cosine phase"),
        (lambda s, t, w, p, m: p * (s + 1) / w if s <= w else my_lr(s, t, w, p, m), "don't divide by 0"),
        (lambda s, t, w, p, m: my_lr(min(s, t - 1), t, w, p, m), "the cosine is over"),
    ],
)
def test_lr_checker_names_the_phase_of_a_typical_mistake_without_the_formula(wrong, message):
    with pytest.raises(ExerciseError, match=message) as e:
        check_lr_schedule(wrong)
    assert "cos(" not in str(e.value) and "math." not in str(e.value)


def test_lr_checker_prints_what_is_missing_when_unfinished(capsys):
    def my_unfinished(step, total_steps, warmup_steps, peak, min_lr): ...

    assert check_lr_schedule(my_unfinished) is False
    assert "Not finished yet" in capsys.readouterr().out


def test_loss_floor_checker_accepts_the_entropy_and_names_typical_mistakes(capsys):
    assert check_loss_floor(my_loss_floor)
    with pytest.raises(ExerciseError, match="too small"):  # only the true class's term
        check_loss_floor(lambda e, k: -(1 - e + e / k) * math.log(1 - e + e / k))
    with pytest.raises(ExerciseError, match="too large"):  # the loss of a one-hot-ish prediction: ln 10-ish
        check_loss_floor(lambda e, k: math.log(k))
    with pytest.raises(ExerciseError, match="0 \\* log 0"):  # forgot the limit at smoothing 0
        check_loss_floor(lambda e, k: my_loss_floor(e, k) if e > 0 else float("nan"))
    assert check_loss_floor(lambda e, k: ...) is False
    out = capsys.readouterr().out
    assert "Correct" in out and "Not finished yet" in out and "0.500" not in out


def _history(with_test: bool, with_norm: bool = False):
    return [
        {"epoch": e, "lr": 1e-3 * e, "train_loss": 2.0 - 0.1 * e, "val_acc": 0.2 * e, "elapsed_s": 5.0 * e}
        | ({"test_acc": 0.19 * e} if with_test else {})
        | ({"grad_norm": 0.5 + e} if with_norm else {})
        for e in (1, 2, 3)
    ]


def test_run_dynamics_figure_lines_up_accuracy_loss_and_learning_rate_on_one_epoch_axis():
    fig = run_dynamics_figure(_history(with_test=True), title="a run")
    top, bottom, loss = fig.axes
    assert [line.get_label() for line in top.lines] == ["validation accuracy", "test accuracy (per epoch)"]
    assert np.allclose(top.lines[0].get_ydata(), [0.2, 0.4, 0.6]) and np.allclose(
        loss.lines[0].get_ydata(), [1.9, 1.8, 1.7]
    )
    assert list(bottom.lines[0].get_xdata()) == [1, 2, 3] and np.allclose(
        bottom.lines[0].get_ydata(), [1e-3, 2e-3, 3e-3]
    )
    assert len(run_dynamics_figure(_history(with_test=False)).axes[0].lines) == 1  # no test curve recorded
    with_norm = run_dynamics_figure(_history(with_test=False, with_norm=True))
    assert len(with_norm.axes) == 4  # the gradient norm on its own axis beside the learning rate
    assert with_norm.axes[3].lines[0].get_label() == "gradient norm (epoch mean)"
    assert np.allclose(with_norm.axes[3].lines[0].get_ydata(), [1.5, 2.5, 3.5])


def test_epoch_table_shows_the_chosen_epochs_only():
    rows = epoch_table(_history(with_test=False), [1, 3, 7]).splitlines()
    assert rows[0].split() == ["epoch", "lr", "train", "loss", "grad", "norm", "val", "acc", "test", "acc", "elapsed"]
    assert [r.split()[0] for r in rows[1:]] == ["1", "3"]  # epoch 7 is not in the history
    assert rows[2].split() == ["3", "3.00e-03", "1.700", "-", "0.600", "-", "15s"]
    rows = epoch_table(_history(with_test=True, with_norm=True), [2]).splitlines()
    assert rows[1].split() == ["2", "2.00e-03", "1.800", "2.50", "0.400", "0.380", "10s"]
