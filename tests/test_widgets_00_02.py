"""Lessons 00-02: the figures, the slider explorers and the exercise checkers."""

import numpy as np
import pytest
import torch
from einops import rearrange
from matplotlib.figure import Figure

from swinlab import exercises, viz, widgets
from swinlab.exercises import ExerciseError
from swinlab.widgets import Explorer


@pytest.fixture(scope="module")
def photo():
    return viz.sample_photo(224)


def test_roadmap_figure_draws_both_models():
    fig = viz.roadmap_figure()
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("ViT") for t in titles) and any(t.startswith("Swin") for t in titles)


def test_attention_cost_counts_tokens_and_quadratic_entries():
    _, state = viz.attention_cost(224)
    assert state["tokens"] == {16: 196, 4: 3136}
    assert state["attention_entries"] == {16: 196**2, 4: 3136**2}
    explorer = Explorer(viz.attention_cost, img_size=widgets.widgets.IntSlider(value=224, min=64, max=1024, step=32))
    explorer.controls["img_size"].value = 448
    assert explorer.state["tokens"][16] == 784 and explorer.state["attention_entries"][4] == 12544**2


def test_explode_patches_puts_white_gaps_between_patches():
    image = np.zeros((8, 8, 3), dtype=np.float32)
    out = viz.explode_patches(image, 4, gap=1)
    assert out.shape == (9, 9, 3)
    assert (out[4] == 1).all() and (out[:, 4] == 1).all() and (out[:4, :4] == 0).all()


def test_patch_explorer_redraws_when_the_patch_slider_moves(photo):
    explorer = widgets.patch_explorer(photo)
    assert explorer.state == {"patch_size": 16, "grid": (14, 14), "num_tokens": 196, "token_dim": 768}
    first = explorer.figure
    explorer.controls["P"].value = 4
    assert explorer.state == {"patch_size": 4, "grid": (56, 56), "num_tokens": 3136, "token_dim": 48}
    assert explorer.figure is not first
    explorer.controls["P"].value = 32
    assert explorer.state["grid"] == (7, 7)
    assert all(224 % p == 0 for p in explorer.controls["P"].options)


def test_patch_explorer_offers_only_sizes_that_divide_the_image():
    explorer = widgets.patch_explorer(np.zeros((24, 24, 3), dtype=np.float32))
    assert list(explorer.controls["P"].options) == [4, 8]


def test_window_explorer_redraws_when_the_window_slider_moves(photo):
    explorer = widgets.window_explorer(28, photo)
    assert list(explorer.controls["M"].options) == [1, 2, 4, 7, 14, 28]
    assert explorer.state["window_size"] == (7, 7) and explorer.state["num_windows"] == 16
    explorer.controls["M"].value = 4
    assert explorer.state["num_windows"] == 49
    assert explorer.state["pairs_computed"] == 49 * 16**2
    explorer.controls["M"].value = 28
    assert explorer.state["num_windows"] == 1
    assert explorer.state["pairs_computed"] == explorer.state["pairs_global"] == 784**2


def test_draw_windows_numbers_windows_as_window_partition_stacks_them():
    from swinlab.windows import window_partition

    ids = viz.window_ids(6, 8, (3, 4))
    assert ids.tolist()[0] == [0, 0, 0, 0, 1, 1, 1, 1] and ids.tolist()[5] == [2, 2, 2, 2, 3, 3, 3, 3]
    partitioned = window_partition(torch.from_numpy(ids).view(1, 6, 8, 1), (3, 4))
    assert all((partitioned[i] == i).all() for i in range(4))
    _, state = viz.draw_windows(6, 8, (3, 4))
    assert state["num_windows"] == 4 and state["tokens_per_window"] == 12


def test_draw_windows_rejects_a_window_that_does_not_divide_the_grid():
    with pytest.raises(ValueError, match="H=28 is not divisible by window M=5"):
        viz.draw_windows(28, 28, 5)


def test_patches_to_image_checker_accepts_the_inverse_and_rejects_a_wrong_order(capsys):
    right = lambda p, P: rearrange(p, "b h w (p1 p2 c) -> b (h p1) (w p2) c", p1=P, p2=P)
    wrong = lambda p, P: rearrange(p, "b h w (c p1 p2) -> b (h p1) (w p2) c", p1=P, p2=P)
    assert exercises.check_patches_to_image(right)
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="values differ"):
        exercises.check_patches_to_image(wrong)
    with pytest.raises(ExerciseError, match="expected a torch.Tensor, got NoneType"):
        exercises.check_patches_to_image(lambda p, P: None)


def test_token_grid_checker():
    assert exercises.check_token_grid(lambda H, W, P, C: (H // P, W // P, C))
    with pytest.raises(ExerciseError, match="expected a grid of"):
        exercises.check_token_grid(lambda H, W, P, C: (H // P, W // P, P * P * 3))
    with pytest.raises(ExerciseError):
        exercises.check_token_grid(lambda H, W, P, C: None)


def test_window_reverse_checker_accepts_the_inverse_and_rejects_a_transposed_order():
    right = lambda w, M, H, W: rearrange(w, "(b nh nw) mh mw c -> b (nh mh) (nw mw) c", nh=H // M, nw=W // M)
    column_major = lambda w, M, H, W: rearrange(w, "(b nw nh) mh mw c -> b (nh mh) (nw mw) c", nh=H // M, nw=W // M)
    assert exercises.check_window_reverse(right)
    with pytest.raises(ExerciseError, match="batch-major, then row-major"):
        exercises.check_window_reverse(column_major)


def test_token_counts_checker_accepts_the_counts_and_names_what_is_wrong(capsys):
    assert exercises.check_token_counts(384, 4, 12, 9216, 9216 ** 2, 9216 * 144)
    assert "64x fewer" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="N is still None"):
        exercises.check_token_counts(384, 4, 12, None, None, None)
    with pytest.raises(ExerciseError, match="scores = 9216 is not right"):
        exercises.check_token_counts(384, 4, 12, 9216, 9216, 9216 * 144)
    with pytest.raises(ExerciseError, match="windowed"):
        exercises.check_token_counts(384, 4, 12, 9216, 9216 ** 2, 9216 * 12)
