"""Lesson 06: patch merging, the order of the 2x2 neighbours, PatchMerging, and the stage shapes."""

from __future__ import annotations

import pytest
import torch
from einops import rearrange

from swinlab.course.lesson06_patch_merging import swin_stage_shapes
from swinlab.merging import PatchMerging, merge_neighbours


def test_merge_neighbours_order_against_a_hand_built_tensor():
    x = torch.tensor([[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23], [30, 31, 32, 33]]).reshape(
        1, 4, 4, 1
    )  # value = 10 * row + col
    expected = torch.tensor(
        [
            [[0, 10, 1, 11], [2, 12, 3, 13]],  # x0 (even, even), x1 (odd row, even col),
            [[20, 30, 21, 31], [22, 32, 23, 33]],
        ]
    )  # x2 (even row, odd col), x3 (odd, odd)
    assert torch.equal(merge_neighbours(x), expected[None])


def test_merge_neighbours_keeps_each_pixels_channels_together():
    x = torch.arange(2 * 2 * 2).reshape(1, 2, 2, 2)  # pixel (r, c) holds [2*(2r+c), 2*(2r+c)+1]
    assert merge_neighbours(x).flatten().tolist() == [0, 1, 4, 5, 2, 3, 6, 7]


def test_merge_neighbours_equals_the_einops_pattern():
    x = torch.randn(2, 6, 10, 3)
    expected = rearrange(x, "b (h ph) (w pw) c -> b h w (pw ph c)", ph=2, pw=2)
    assert torch.equal(merge_neighbours(x), expected)


def test_patch_merging_shapes_and_official_parameter_names():
    merge = PatchMerging(96)
    assert merge(torch.randn(2, 56, 56, 96)).shape == (2, 28, 28, 192)
    shapes = {name: tuple(p.shape) for name, p in merge.named_parameters()}
    assert shapes == {"norm.weight": (384,), "norm.bias": (384,), "reduction.weight": (192, 384)}
    assert merge.reduction.bias is None


def test_patch_merging_is_norm_then_reduction():
    torch.manual_seed(0)
    merge = PatchMerging(3)
    with torch.no_grad():
        merge.norm.weight.uniform_(0.5, 1.5)
        merge.norm.bias.uniform_(-1, 1)
    x = torch.randn(2, 4, 6, 3)
    cat = merge_neighbours(x)
    normed = (cat - cat.mean(-1, keepdim=True)) / torch.sqrt(cat.var(-1, unbiased=False, keepdim=True) + 1e-5)
    expected = (normed * merge.norm.weight + merge.norm.bias) @ merge.reduction.weight.T
    torch.testing.assert_close(merge(x), expected)


def test_four_stages_of_swin_t_halve_the_grid_and_double_the_channels():
    x = torch.randn(1, 56, 56, 96)
    shapes = [tuple(x.shape)]
    for dim in (96, 192, 384):
        x = PatchMerging(dim)(x)
        shapes.append(tuple(x.shape))
    assert shapes == [(1, 56, 56, 96), (1, 28, 28, 192), (1, 14, 14, 384), (1, 7, 7, 768)]
    rows = swin_stage_shapes(224, 4, 96)
    assert [(r["grid"], r["channels"], r["px"]) for r in rows] == [
        (56, 96, 4),
        (28, 192, 8),
        (14, 384, 16),
        (7, 768, 32),
    ]


@pytest.mark.parametrize("H,W", [(7, 8), (8, 7), (7, 7)])
def test_odd_height_or_width_is_rejected(H, W):
    with pytest.raises(ValueError, match=rf"even grid, got H={H}, W={W}: pad to {H + H % 2}x{W + W % 2}"):
        PatchMerging(4)(torch.randn(1, H, W, 4))


def test_wrong_channels_or_rank_is_rejected():
    with pytest.raises(ValueError, match=r"PatchMerging\(dim=4\) got 3 channels"):
        PatchMerging(4)(torch.randn(1, 4, 4, 3))
    with pytest.raises(ValueError, match=r"4-D tensor \(B, H, W, C\)"):
        merge_neighbours(torch.randn(4, 4, 3))
