"""Lesson 01: the figures, the slider explorers (moved from Python) and the exercise checkers."""

import numpy as np
import pytest
from einops import rearrange

from swinlab.course.checks import ExerciseError
from swinlab.course.draw import sample_photo
from swinlab.course.lesson01_patches import check_patches_to_image, check_token_grid, explode_patches, patch_explorer


@pytest.fixture(scope="module")
def photo():
    return sample_photo(224)


def test_explode_patches_puts_white_gaps_between_patches():
    image = np.zeros((8, 8, 3), dtype=np.float32)
    out = explode_patches(image, 4, gap=1)
    assert out.shape == (9, 9, 3)
    assert (out[4] == 1).all() and (out[:, 4] == 1).all() and (out[:4, :4] == 0).all()


def test_patch_explorer_redraws_when_the_patch_slider_moves(photo):
    explorer = patch_explorer(photo)
    assert explorer.state == {"patch_size": 16, "grid": (14, 14), "num_tokens": 196, "token_dim": 768}
    first = explorer.figure
    explorer.controls["P"].value = 4
    assert explorer.state == {"patch_size": 4, "grid": (56, 56), "num_tokens": 3136, "token_dim": 48}
    assert explorer.figure is not first
    explorer.controls["P"].value = 32
    assert explorer.state["grid"] == (7, 7)
    assert all(224 % p == 0 for p in explorer.controls["P"].options)


def test_patch_explorer_offers_only_sizes_that_divide_the_image():
    explorer = patch_explorer(np.zeros((24, 24, 3), dtype=np.float32))
    assert list(explorer.controls["P"].options) == [4, 8]


def test_patches_to_image_checker_accepts_the_inverse_and_rejects_a_wrong_order(capsys):
    right = lambda p, P: rearrange(p, "b h w (p1 p2 c) -> b (h p1) (w p2) c", p1=P, p2=P)
    wrong = lambda p, P: rearrange(p, "b h w (c p1 p2) -> b (h p1) (w p2) c", p1=P, p2=P)
    assert check_patches_to_image(right)
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="values differ"):
        check_patches_to_image(wrong)
    with pytest.raises(ExerciseError, match="expected a torch.Tensor, got NoneType"):
        check_patches_to_image(lambda p, P: None)


def test_token_grid_checker():
    assert check_token_grid(lambda H, W, P, C: (H // P, W // P, C))
    with pytest.raises(ExerciseError, match="expected a grid of"):
        check_token_grid(lambda H, W, P, C: (H // P, W // P, P * P * 3))
    with pytest.raises(ExerciseError):
        check_token_grid(lambda H, W, P, C: None)
