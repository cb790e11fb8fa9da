"""Lesson 01: patches and patch embedding."""

import pytest
import torch
from einops import rearrange

from swinlab.patches import PatchEmbed, image_to_patches, patches_to_image


@pytest.mark.parametrize(
    "shape,patch",
    [((1, 4, 4, 1), 2), ((2, 8, 12, 3), 4), ((3, 6, 10, 5), (3, 2)), ((1, 7, 7, 2), 7), ((2, 5, 3, 4), 1)],
)
def test_patches_round_trip_gives_the_image_back(shape, patch):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    assert torch.equal(patches_to_image(image_to_patches(x, patch), patch), x)


def test_image_to_patches_shape_and_order_within_a_patch():
    # a 4x4 one-channel image holding 0..15, P=2: the first patch is the top-left 2x2 block, row by row
    x = torch.arange(16.0).view(1, 4, 4, 1)
    patches = image_to_patches(x, 2)
    assert patches.shape == (1, 2, 2, 4)
    assert patches[0, 0, 0].tolist() == [0, 1, 4, 5]
    assert patches[0, 0, 1].tolist() == [2, 3, 6, 7]
    assert patches[0, 1, 0].tolist() == [8, 9, 12, 13]
    assert patches[0, 1, 1].tolist() == [10, 11, 14, 15]


def test_channels_are_fastest_inside_a_flattened_patch():
    # pixel (0, 0) has channels (0, 1, 2), pixel (0, 1) has (3, 4, 5), ...: (p1 p2 c) order
    x = torch.arange(2 * 2 * 3.0).view(1, 2, 2, 3)
    assert image_to_patches(x, 2)[0, 0, 0].tolist() == list(range(12))


def test_patch_embed_conv_equals_linear_layer_on_flattened_patches():
    torch.manual_seed(0)
    embed = PatchEmbed(patch_size=4, in_chans=3, embed_dim=8, norm=False)
    images = torch.randn(2, 3, 16, 12)
    linear = torch.nn.Linear(4 * 4 * 3, 8)
    with torch.no_grad():
        # conv weight (C_out, C_in, P, P) -> linear weight (C_out, P*P*C_in) in the patches' (p1 p2 c) order
        linear.weight.copy_(rearrange(embed.proj.weight, "o c p1 p2 -> o (p1 p2 c)"))
        linear.bias.copy_(embed.proj.bias)
    by_hand = linear(image_to_patches(rearrange(images, "b c h w -> b h w c"), 4))
    torch.testing.assert_close(embed(images), by_hand)


def test_patch_embed_shapes_for_swin_t_and_rectangular_patches():
    assert PatchEmbed(4, 3, 96)(torch.zeros(1, 3, 224, 224)).shape == (1, 56, 56, 96)
    assert PatchEmbed((2, 4), 3, 16)(torch.zeros(2, 3, 8, 8)).shape == (2, 4, 2, 16)


def test_patch_embed_norm_normalises_each_token():
    torch.manual_seed(0)
    out = PatchEmbed(4, 3, 32, norm=True)(torch.randn(1, 3, 16, 16))
    torch.testing.assert_close(out.mean(-1), torch.zeros(1, 4, 4), atol=1e-5, rtol=0)
    assert PatchEmbed(4, 3, 32, norm=False).norm is None


@pytest.mark.parametrize(
    "shape,patch,words",
    [
        ((1, 10, 12, 3), 4, ["H=10", "P=4", "pad to 12"]),
        ((1, 12, 10, 3), 4, ["W=10", "P=4", "pad to 12"]),
        ((1, 4, 4, 3), 8, ["P=8", "H=4", "pick P <= 4"]),
    ],
)
def test_image_to_patches_rejects_sizes_not_divisible_naming_sizes_and_fix(shape, patch, words):
    with pytest.raises(ValueError) as err:
        image_to_patches(torch.zeros(shape), patch)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("patch", [0, -2, 2.0, True, "4", (2, 2, 2)])
def test_bad_patch_sizes_are_rejected(patch):
    with pytest.raises(ValueError, match="patch_size"):
        image_to_patches(torch.zeros(1, 4, 4, 3), patch)
    with pytest.raises(ValueError, match="patch_size"):
        PatchEmbed(patch)


def test_wrong_rank_is_rejected_with_the_expected_layout():
    with pytest.raises(ValueError, match=r"4-D.*\(B, H, W, C\).*\(8, 8, 3\)"):
        image_to_patches(torch.zeros(8, 8, 3), 2)
    with pytest.raises(ValueError, match=r"4-D.*\(B, C, H, W\)"):
        PatchEmbed(4)(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="4-D"):
        patches_to_image(torch.zeros(2, 2, 12), 2)


def test_patch_embed_rejects_wrong_channel_count_and_names_the_fix():
    with pytest.raises(ValueError, match=r"4 channels.*in_chans=3.*\(B, 3, H, W\)"):
        PatchEmbed(4, in_chans=3)(torch.zeros(1, 4, 8, 8))


def test_patch_embed_rejects_image_not_divisible_by_patch():
    with pytest.raises(ValueError, match=r"W=30 is not divisible by patch P=4: pad to 32"):
        PatchEmbed(4)(torch.zeros(1, 3, 32, 30))


def test_patches_to_image_rejects_token_size_not_a_multiple_of_patch_area():
    with pytest.raises(ValueError, match="multiple of 4"):
        patches_to_image(torch.zeros(1, 2, 2, 10), 2)
