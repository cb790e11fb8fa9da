"""Lesson 01: the figures, the slider explorer and the two exercise checkers (each accepts the correct answer
kept in tests/solutions, refuses swinlab's own answer and names every typical mistake without the solution)."""

import re

import numpy as np
import pytest
import torch
from einops import rearrange
from solutions import lesson01_patches as solution
from torch import nn

import swinlab.patches
from swinlab.course.checks import ExerciseError
from swinlab.course.draw import sample_photo
from swinlab.course.lesson01_patches import (
    check_linear_to_conv,
    check_patches_to_image,
    draw_patch_to_token,
    draw_patches,
    explode_patches,
    patch_explorer,
    zoom_region,
)


@pytest.fixture(scope="module")
def photo():
    return sample_photo(224)


def test_explode_patches_puts_white_gaps_between_patches():
    image = np.zeros((8, 8, 3), dtype=np.float32)
    out = explode_patches(image, 4, gap=1)
    assert out.shape == (9, 9, 3)
    assert (out[4] == 1).all() and (out[:, 4] == 1).all() and (out[:4, :4] == 0).all()


def test_cut_apart_panel_shows_every_patch_of_a_small_grid_and_a_central_block_of_a_large_one(photo):
    assert zoom_region(14, 14) == (0, 0, 14, 14)
    assert zoom_region(56, 56) == (22, 22, 12, 12)
    _, state = draw_patches(photo, 16)
    assert state["shown"] == (14, 14)
    fig, state = draw_patches(photo, 4)
    assert state["shown"] == (12, 12) and state["grid"] == (56, 56)
    assert "the marked 12×12 patches, cut apart" in fig.axes[1].get_title()
    tiles = fig.axes[1].images[0].get_array()
    assert tiles.shape[0] > 12 * 4 * 2  # enlarged: each 4-pixel patch drawn at least 8 pixels tall


def test_patch_to_token_figure_follows_one_patch_to_one_token(photo):
    torch.manual_seed(0)
    fig, state = draw_patch_to_token(photo, nn.Linear(48, 96), patch_size=4, at=(24, 20))
    assert state == {"at": (24, 20), "vector": 48, "weight": (96, 48), "token": 96}
    assert len(fig.axes) == 4
    with pytest.raises(ValueError, match="use nn.Linear\\(48, C\\)"):
        draw_patch_to_token(photo, nn.Linear(12, 96), patch_size=4)
    with pytest.raises(ValueError, match="outside the 56x56 patch grid"):
        draw_patch_to_token(photo, nn.Linear(48, 96), patch_size=4, at=(56, 0))


def test_patch_explorer_opens_at_the_static_figures_patch_size_and_redraws(photo):
    explorer = patch_explorer(photo)
    assert explorer.state["patch_size"] == 4 and explorer.state["grid"] == (56, 56)
    first = explorer.figure
    explorer.controls["P"].value = 16
    assert explorer.state == {
        "patch_size": 16,
        "grid": (14, 14),
        "num_tokens": 196,
        "token_dim": 768,
        "shown": (14, 14),
    }
    assert explorer.figure is not first
    explorer.controls["P"].value = 32
    assert explorer.state["grid"] == (7, 7)
    assert all(224 % p == 0 for p in explorer.controls["P"].options)


def test_patch_explorer_offers_only_sizes_that_divide_the_image():
    explorer = patch_explorer(np.zeros((24, 24, 3), dtype=np.float32))
    assert list(explorer.controls["P"].options) == [4, 8]
    with pytest.raises(ValueError, match="divides the 10x10 image"):
        patch_explorer(np.zeros((10, 10, 3), dtype=np.float32), patch_sizes=(4, 8))


# ---- exercise 1: patches back to the image -------------------------------------------------------


def test_patches_to_image_checker_accepts_the_solution(capsys):
    assert check_patches_to_image(solution.my_patches_to_image) is True
    assert "Correct" in capsys.readouterr().out


def test_patches_to_image_checker_refuses_swinlabs_answer_key():
    for key in (swinlab.patches.patches_to_image, lambda p, P: swinlab.patches.patches_to_image(p, P)):
        with pytest.raises(ExerciseError, match=re.escape("swinlab's answer key (patches_to_image)")):
            check_patches_to_image(key)


def test_patches_to_image_left_unfinished_prints_what_is_missing(capsys):
    def my_patches_to_image(patches, P): ...

    assert check_patches_to_image(my_patches_to_image) is False
    assert "Not finished yet: my_patches_to_image returns None" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mistake, message",
    [
        (
            lambda p, P: rearrange(p, "b h w (c p1 p2) -> b (h p1) (w p2) c", p1=P, p2=P),
            "Every expected value is there, in another order",
        ),
        (
            lambda p, P: rearrange(p, "b h w (p2 p1 c) -> b (h p1) (w p2) c", p1=P, p2=P),
            "the first at position (0, 0, 1, 0): got 4, expected 1",
        ),
        (
            lambda p, P: rearrange(p, "b h w (p1 p2 c) -> b (w p2) (h p1) c", p1=P, p2=P),
            "(the 4 found at (0, 0, 1, 0) belongs at (0, 1, 0, 0))",
        ),
        (lambda p, P: p.reshape(p.shape[0], p.shape[1] * P, p.shape[2] * P, -1), "values differ"),
        (lambda p, P: p.numpy(), "expected a torch.Tensor, got ndarray"),
    ],
)
def test_patches_to_image_checker_names_each_typical_mistake(mistake, message):
    with pytest.raises(ExerciseError, match=re.escape(message)) as err:
        check_patches_to_image(mistake)
    assert "rearrange" not in str(err.value) and "p1 p2 c)" not in str(err.value).replace("(p1 p2 c).", "")


# ---- exercise 2: from a linear layer back to the convolution -------------------------------------


def test_linear_to_conv_checker_accepts_the_solution(capsys):
    assert check_linear_to_conv(solution.linear_to_conv) is True
    assert "Correct" in capsys.readouterr().out


def test_linear_to_conv_left_unfinished_prints_what_is_missing(capsys):
    def linear_to_conv(linear, P): ...

    assert check_linear_to_conv(linear_to_conv) is False
    assert "Not finished yet: linear_to_conv returns None" in capsys.readouterr().out


def _conv(linear, P, weight=None, bias=True, **kwargs):
    C_in = linear.in_features // (P * P)
    conv = nn.Conv2d(C_in, linear.out_features, **{"kernel_size": P, "stride": P, "bias": bias, **kwargs})
    with torch.no_grad():
        conv.weight.copy_(weight if weight is not None else solution.linear_to_conv(linear, P).weight)
        if bias:
            conv.bias.copy_(linear.bias)
    return conv


@pytest.mark.parametrize(
    "mistake, message",
    [
        (lambda lin, P: lin, "linear_to_conv returned a Linear; return an nn.Conv2d"),
        (
            lambda lin, P: nn.Conv2d(lin.in_features, lin.out_features, P, P),
            "the conv maps 4 -> 2 channels, expected 1 -> 2",
        ),
        (
            lambda lin, P: nn.Conv2d(lin.in_features // (P * P), lin.out_features, P, stride=1),
            "kernel_size=(2, 2), stride=(1, 1)",
        ),
        (lambda lin, P: _conv(lin, P, padding=1), "padding=(1, 1)"),
        (lambda lin, P: _conv(lin, P, bias=False), "the conv has no bias"),
        (
            lambda lin, P: _conv(lin, P, weight=lin.weight.reshape(lin.out_features, -1, P, P)),
            "the conv's weight (C_out, C_in, P, P): right shape (8, 3, 4, 4)",
        ),
        (
            lambda lin, P: nn.Conv2d(lin.in_features // (P * P), lin.out_features, P, P),
            "the conv's weight (C_out, C_in, P, P): right shape (2, 1, 2, 2), but 8 of 8 values differ",
        ),
    ],
)
def test_linear_to_conv_checker_names_each_typical_mistake(mistake, message):
    with pytest.raises(ExerciseError, match=re.escape(message)) as err:
        check_linear_to_conv(mistake)
    assert "rearrange" not in str(err.value) and "o c p1 p2" not in str(err.value)


def test_a_plain_reshape_of_the_weight_is_described_as_the_right_values_in_another_order():
    plain = lambda lin, P: _conv(lin, P, weight=lin.weight.reshape(lin.out_features, -1, P, P))
    for_one_channel = plain(nn.Linear(4, 2), 2)  # with one channel the plain reshape is right
    assert isinstance(for_one_channel, nn.Conv2d)
    with pytest.raises(ExerciseError, match="Every expected value is there, in another order"):
        check_linear_to_conv(plain)
