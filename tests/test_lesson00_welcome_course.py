"""Lesson 00: the figures, the slider explorers (moved from Python) and the exercise checkers."""

import ipywidgets
import pytest
from matplotlib.figure import Figure

from swinlab.course.checks import ExerciseError
from swinlab.course.explorer import Explorer
from swinlab.course.lesson00_welcome import attention_cost, check_token_counts, roadmap_figure


def test_roadmap_figure_draws_both_models():
    fig = roadmap_figure()
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("ViT") for t in titles) and any(t.startswith("Swin") for t in titles)


def test_attention_cost_counts_tokens_and_quadratic_entries():
    _, state = attention_cost(224)
    assert state["tokens"] == {16: 196, 4: 3136}
    assert state["attention_entries"] == {16: 196**2, 4: 3136**2}
    explorer = Explorer(attention_cost, img_size=ipywidgets.IntSlider(value=224, min=64, max=1024, step=32))
    explorer.controls["img_size"].value = 448
    assert explorer.state["tokens"][16] == 784 and explorer.state["attention_entries"][4] == 12544**2


def test_token_counts_checker_accepts_the_counts_and_names_what_is_wrong(capsys):
    assert check_token_counts(384, 4, 12, 9216, 9216**2, 9216 * 144)
    assert "64x fewer" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="N is still None"):
        check_token_counts(384, 4, 12, None, None, None)
    with pytest.raises(ExerciseError, match="scores = 9216 is not right"):
        check_token_counts(384, 4, 12, 9216, 9216, 9216 * 144)
    with pytest.raises(ExerciseError, match="windowed"):
        check_token_counts(384, 4, 12, 9216, 9216**2, 9216 * 12)
