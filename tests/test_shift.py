"""Lesson 05: cyclic shift, region labels, the attention mask, and the padded-windows proof."""

from __future__ import annotations

import itertools

import pytest
import torch

from swinlab.shift import (
    MASK_VALUE,
    cyclic_shift,
    padded_window_attention,
    reverse_cyclic_shift,
    shift_mask,
    shift_regions,
    shifted_window_bounds,
    window_and_shift,
)
from swinlab.windows import num_windows, window_partition, window_reverse

N = MASK_VALUE  # -100


# ---- the cyclic shift ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,shift", [((2, 8, 8, 3), 2), ((1, 6, 9, 4), 1), ((3, 12, 4, 2), (3, 1)), ((1, 7, 7, 1), 3), ((2, 4, 4, 5), 0)]
)
def test_reverse_cyclic_shift_undoes_cyclic_shift(shape, shift):
    x = torch.randn(shape)
    torch.testing.assert_close(reverse_cyclic_shift(cyclic_shift(x, shift), shift), x, rtol=0, atol=0)


def test_cyclic_shift_rolls_up_and_left():
    x = torch.arange(16).reshape(1, 4, 4, 1)
    expected = torch.tensor([[5, 6, 7, 4], [9, 10, 11, 8], [13, 14, 15, 12], [1, 2, 3, 0]])
    assert torch.equal(cyclic_shift(x, 1)[0, :, :, 0], expected)


# ---- region labels and the mask, by hand for 4x4 tokens, M=2, s=1 ---------------------------------


def test_shift_regions_4x4_window_2_shift_1_by_hand():
    expected = torch.tensor([[0, 0, 1, 2], [0, 0, 1, 2], [3, 3, 4, 5], [6, 6, 7, 8]])
    assert torch.equal(shift_regions(4, 4, 2, 1), expected)


def test_shift_mask_4x4_window_2_shift_1_by_hand():
    expected = torch.tensor(
        [
            [
                [0, 0, 0, 0],  # window 0: labels 0 0 / 0 0, one region
                [0, 0, 0, 0],
                [0, 0, 0, 0],
                [0, 0, 0, 0],
            ],
            [
                [0, N, 0, N],  # window 1: labels 1 2 / 1 2
                [N, 0, N, 0],
                [0, N, 0, N],
                [N, 0, N, 0],
            ],
            [
                [0, 0, N, N],  # window 2: labels 3 3 / 6 6
                [0, 0, N, N],
                [N, N, 0, 0],
                [N, N, 0, 0],
            ],
            [
                [0, N, N, N],  # window 3: labels 4 5 / 7 8, four regions
                [N, 0, N, N],
                [N, N, 0, N],
                [N, N, N, 0],
            ],
        ],
        dtype=torch.float32,
    )
    mask = shift_mask(4, 4, 2, 1)
    assert mask.dtype == torch.float32
    assert torch.equal(mask, expected)


def test_shift_zero_gives_no_mask():
    assert shift_mask(8, 8, 4, 0) is None
    assert shift_mask(8, 8, (4, 4), (0, 0)) is None


# ---- against an independent construction over many sizes ------------------------------------------


def _regions_by_loops(H, W, mh, mw, sh, sw):
    """Each rolled position's label from the token's ORIGINAL coordinates (before the roll)."""

    def band(orig, length, m, s):
        if orig < s:  # wrapped around from the top/left: the last band
            return 2
        if orig >= length - m + s:  # the last (partial) window of the original map: the middle band
            return 1
        return 0

    out = torch.empty(H, W, dtype=torch.long)
    for i in range(H):
        for j in range(W):
            out[i, j] = 3 * band((i + sh) % H, H, mh, sh) + band((j + sw) % W, W, mw, sw)
    return out


def _mask_by_loops(H, W, mh, mw, sh, sw):
    """Two tokens of a rolled window may attend iff their original positions lie in the same piece of the
    displaced window grid (the windows cut at s, s+M, s+2M, ... of the unshifted map)."""

    def piece(orig, s, m):
        return (orig - s) // m if orig >= s else -1

    masks = []
    for top in range(0, H, mh):
        for left in range(0, W, mw):
            tokens = [((top + a + sh) % H, (left + b + sw) % W) for a in range(mh) for b in range(mw)]
            ids = [(piece(r, sh, mh), piece(c, sw, mw)) for r, c in tokens]
            masks.append([[0.0 if p == q else N for q in ids] for p in ids])
    return torch.tensor(masks)


CASES = [
    (H, W, M, s)
    for M in range(2, 6)
    for s in range(1, M)
    for H, W in ((M, M), (2 * M, 2 * M), (2 * M, 3 * M), (3 * M, M))
]
RECT_CASES = [(8, 12, (4, 6), (2, 3)), (6, 8, (3, 4), (1, 0)), (9, 10, (3, 5), (0, 2)), (12, 12, (6, 4), (5, 1))]


@pytest.mark.parametrize("H,W,M,s", CASES + RECT_CASES)
def test_shift_regions_and_mask_match_an_independent_construction(H, W, M, s):
    mh, mw = (M, M) if isinstance(M, int) else M
    sh, sw = (s, s) if isinstance(s, int) else s
    assert torch.equal(shift_regions(H, W, M, s), _regions_by_loops(H, W, mh, mw, sh, sw))
    assert torch.equal(shift_mask(H, W, M, s), _mask_by_loops(H, W, mh, mw, sh, sw))


def test_shift_mask_shape_and_values():
    mask = shift_mask(56, 56, 7, 3)
    assert mask.shape == (64, 49, 49)
    assert set(mask.unique().tolist()) == {0.0, N}
    assert torch.equal(mask, mask.transpose(1, 2))  # "same region" is symmetric
    assert (mask[:, range(49), range(49)] == 0).all()  # a token always sees itself


def test_only_windows_on_the_last_row_or_column_are_masked():
    mask = shift_mask(28, 28, 7, 3)  # 4x4 windows
    masked = (mask == N).flatten(1).any(dim=1).reshape(4, 4)
    expected = torch.zeros(4, 4, dtype=torch.bool)
    expected[-1, :] = True
    expected[:, -1] = True
    assert torch.equal(masked, expected)


# ---- the proof: cyclic shift + mask == the naive uneven windows --------------------------------------


def _shifted_window_attention(q, k, v, M, s):
    """The efficient path, from plain tensor ops: roll, partition, masked softmax, reverse, roll back."""
    B, H, W, d = q.shape
    parts = [window_partition(cyclic_shift(t, s), M).flatten(1, 2) for t in (q, k, v)]  # B*nW, M*M, d
    attn = parts[0] @ parts[1].transpose(-2, -1) * d**-0.5  # B*nW, M*M, M*M
    mask = shift_mask(H, W, M, s)
    if mask is not None:
        attn = (attn.unflatten(0, (B, -1)) + mask).flatten(0, 1)
    out = attn.softmax(dim=-1) @ parts[2]
    return reverse_cyclic_shift(window_reverse(out.unflatten(1, (M, M)), M, H, W), s)


@pytest.mark.parametrize(
    "B,H,W,M,s",
    [
        (2, 8, 8, 4, 2),
        (1, 8, 12, 4, 2),
        (2, 12, 8, 4, 1),
        (1, 6, 9, 3, 1),
        (1, 14, 21, 7, 3),
        (1, 12, 12, 4, 3),
        (2, 10, 10, 5, 0),
    ],
)
def test_cyclic_shift_with_mask_equals_padded_windows(B, H, W, M, s):
    g = torch.Generator().manual_seed(H * 100 + W * 10 + M)
    x = torch.randn(B, H, W, 6, generator=g, dtype=torch.float64)
    qkv = torch.nn.Linear(6, 3 * 4, dtype=torch.float64)
    q, k, v = qkv(x).chunk(3, dim=-1)
    with torch.no_grad():
        torch.testing.assert_close(_shifted_window_attention(q, k, v, M, s), padded_window_attention(q, k, v, M, s))


def test_without_the_mask_the_cyclic_shift_mixes_distant_tokens():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 1, 8, 8, 4, dtype=torch.float64).unbind(0)
    parts = [window_partition(cyclic_shift(t, 2), 4).flatten(1, 2) for t in (q, k, v)]
    out = (parts[0] @ parts[1].transpose(-2, -1) * 0.5).softmax(-1) @ parts[2]  # no mask
    unmasked = reverse_cyclic_shift(window_reverse(out.unflatten(1, (4, 4)), 4, 8, 8), 2)
    assert not torch.allclose(unmasked, padded_window_attention(q, k, v, 4, 2))


def test_shifted_window_bounds_cut_at_s_plus_multiples_of_M():
    assert shifted_window_bounds(12, 4, 2) == [(0, 2), (2, 6), (6, 10), (10, 12)]
    assert shifted_window_bounds(8, 4, 0) == [(0, 4), (4, 8)]
    assert shifted_window_bounds(7, 7, 3) == [(0, 3), (3, 7)]


def test_window_counts_naive_81_vs_cyclic_64_for_swin_t_stage_1():
    naive = len(shifted_window_bounds(56, 7, 3)) ** 2
    assert (naive, num_windows(56, 56, 7)) == (81, 64)


# ---- edge cases and bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "resolution,M,s,expected",
    [
        ((56, 56), 7, 3, (7, 3)),
        ((7, 7), 7, 3, (7, 0)),
        ((4, 6), 7, 3, (4, 0)),
        ((8, 8), 7, 3, (7, 3)),
        ((14, 14), 7, 0, (7, 0)),
    ],
)
def test_window_and_shift_shrinks_the_window_and_drops_the_shift_on_small_maps(resolution, M, s, expected):
    assert window_and_shift(resolution, M, s) == expected


@pytest.mark.parametrize("fn", [shift_mask, shift_regions])
def test_shift_of_M_or_more_is_rejected(fn):
    with pytest.raises(ValueError, match=r"shift=4 must be smaller than the window M=4.*M // 2 = 2"):
        fn(8, 8, 4, 4)
    with pytest.raises(ValueError, match="smaller than the window"):
        fn(8, 8, 4, 7)


def test_bad_shifts_and_small_maps_are_rejected():
    with pytest.raises(ValueError, match="non-negative int"):
        shift_mask(8, 8, 4, -1)
    with pytest.raises(ValueError, match="non-negative int"):
        shift_regions(8, 8, 4, 1.5)
    with pytest.raises(ValueError, match=r"H=2 x W=8 is smaller than the window.*window_and_shift"):
        shift_regions(2, 8, 4, 1)
    with pytest.raises(ValueError, match="not divisible by window M=4"):
        shift_mask(10, 8, 4, 2)
    with pytest.raises(ValueError, match="not divisible by window M=4"):
        padded_window_attention(*torch.randn(3, 1, 10, 8, 2).unbind(0), 4, 2)
    with pytest.raises(ValueError, match="share"):
        padded_window_attention(torch.randn(1, 8, 8, 2), torch.randn(1, 8, 4, 2), torch.randn(1, 8, 8, 2), 4, 2)


def test_masked_softmax_weights_are_about_exp_minus_100_and_inf_gives_nan():
    scores = torch.zeros(4)
    weights = (scores + torch.tensor([0.0, 0.0, N, N])).softmax(-1)
    torch.testing.assert_close(weights[2], torch.exp(torch.tensor(N)) / 2)
    every_key_masked = torch.full((4,), float("-inf")).softmax(-1)
    assert torch.isnan(every_key_masked).all()


def test_region_labels_cover_exactly_the_nine_regions_for_every_combination():
    for M, s in itertools.product(range(2, 6), range(1, 5)):
        if s < M:
            assert shift_regions(3 * M, 3 * M, M, s).unique().tolist() == list(range(9))


# ---- helpers refuse input they would get wrong -----------------------------------------------------


@pytest.mark.parametrize("fn", [cyclic_shift, reverse_cyclic_shift])
def test_cyclic_shift_refuses_a_map_without_its_batch_dimension(fn):
    # On (H, W, C), rolling dims 1 and 2 would roll W and C: the wrong axes, silently.
    with pytest.raises(ValueError, match=r"\(B, H, W, C\) map.*got shape \(8, 8, 3\).*x\[None\]"):
        fn(torch.randn(8, 8, 3), 2)
    with pytest.raises(ValueError, match=r"got shape \(8, 8\).*reshape it to \(B, H, W, C\)"):
        fn(torch.randn(8, 8), 2)


@pytest.mark.parametrize("bad", [-1, 1.5, True, (2, -1)])
def test_cyclic_shift_refuses_a_negative_or_non_integer_shift(bad):
    with pytest.raises(ValueError, match="shift must be a non-negative int"):
        cyclic_shift(torch.randn(1, 8, 8, 3), bad)


@pytest.mark.parametrize("bad", [0, -7, 2.5, True])
def test_window_and_shift_refuses_a_window_that_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match=r"window_size must be a positive int.*M <= 14"):
        window_and_shift((14, 14), bad, 0)


@pytest.mark.parametrize("bad", [-1, 7, 9, 1.0])
def test_window_and_shift_refuses_a_shift_outside_0_to_M_minus_1(bad):
    with pytest.raises(ValueError, match=r"shift must be an int in 0 \.\. M-1 = 6.*M // 2 = 3"):
        window_and_shift((56, 56), 7, bad)


def test_window_and_shift_refuses_an_empty_map():
    with pytest.raises(ValueError, match="resolution must be positive"):
        window_and_shift((0, 56), 7, 3)
