"""Lesson 02: window partition and its inverse."""

import pytest
import torch

from swinlab.windows import num_windows, window_partition, window_partition_loop, window_reverse


@pytest.mark.parametrize(
    "B,H,W,C,M",
    [
        (1, 4, 4, 1, 2),
        (2, 8, 8, 3, 4),
        (3, 14, 21, 5, 7),
        (2, 6, 8, 2, (3, 4)),
        (1, 12, 6, 4, (4, 2)),
        (2, 5, 5, 1, 5),
        (1, 3, 2, 2, 1),
    ],
)
def test_window_reverse_undoes_window_partition(B, H, W, C, M):
    x = torch.randn(B, H, W, C, generator=torch.Generator().manual_seed(0))
    windows = window_partition(x, M)
    mh, mw = (M, M) if isinstance(M, int) else M
    assert windows.shape == (B * (H // mh) * (W // mw), mh, mw, C)
    assert torch.equal(window_reverse(windows, M, H, W), x)


def test_window_order_matches_hand_written_layout():
    # 4x4 grid holding 0..15, M=2: windows row-major over the grid of windows
    x = torch.arange(16.0).view(1, 4, 4, 1)
    expected = torch.tensor([[[0, 1], [4, 5]], [[2, 3], [6, 7]], [[8, 9], [12, 13]], [[10, 11], [14, 15]]])
    assert torch.equal(window_partition(x, 2)[..., 0], expected.float())


def test_window_order_is_batch_major():
    # B=2: the four windows of image 0 come first, then those of image 1 (image 1 holds 16..31)
    x = torch.arange(32.0).view(2, 4, 4, 1)
    windows = window_partition(x, 2)[..., 0]
    assert windows.shape == (8, 2, 2)
    assert windows[3].tolist() == [[10, 11], [14, 15]]
    assert windows[4].tolist() == [[16, 17], [20, 21]]
    assert windows[7].tolist() == [[26, 27], [30, 31]]


def test_rectangular_windows_order_matches_hand_written_layout():
    # 4x6 grid holding 0..23, windows of 2 rows x 3 columns
    x = torch.arange(24.0).view(1, 4, 6, 1)
    windows = window_partition(x, (2, 3))[..., 0]
    assert windows.tolist() == [
        [[0, 1, 2], [6, 7, 8]],
        [[3, 4, 5], [9, 10, 11]],
        [[12, 13, 14], [18, 19, 20]],
        [[15, 16, 17], [21, 22, 23]],
    ]


@pytest.mark.parametrize("B,H,W,M", [(1, 4, 4, 2), (2, 6, 9, 3), (3, 8, 12, (4, 3)), (1, 7, 7, 7)])
def test_loop_partition_equals_einops_partition(B, H, W, M):
    x = torch.randn(B, H, W, 3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(window_partition_loop(x, M), window_partition(x, M))


def test_windows_in_the_batch_give_the_same_attention_as_a_loop_over_windows():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 8, 16)
    attend = lambda t: torch.softmax(t @ t.transpose(-2, -1) / 4, dim=-1) @ t  # (..., N, C) -> (..., N, C)
    batched = attend(window_partition(x, 4).flatten(1, 2))
    looped = torch.stack([attend(w.flatten(0, 1)) for w in window_partition_loop(x, 4)])
    torch.testing.assert_close(batched, looped)


def test_num_windows_counts_the_grid_of_windows():
    assert num_windows(56, 56, 7) == 64
    assert num_windows(6, 8, (3, 4)) == 4
    assert num_windows(7, 7, 7) == 1


@pytest.mark.parametrize(
    "H,W,M,words",
    [
        (30, 28, 7, ["H=30", "window M=7", "pad to 35", "{2, 3, 5, 6, 10, 15, 30}"]),
        (28, 30, 7, ["W=30", "window M=7", "pad to 35"]),
        (6, 8, (4, 4), ["H=6", "M=4", "pad to 8"]),
        (4, 8, 8, ["M=8", "larger than H=4", "pick M <= 4"]),
        (8, 4, (2, 6), ["M=6", "larger than W=4", "pick M <= 4"]),
    ],
)
def test_partition_rejects_non_divisible_or_too_large_windows_naming_sizes_and_fix(H, W, M, words):
    with pytest.raises(ValueError) as err:
        window_partition(torch.zeros(1, H, W, 1), M)
    for word in words:
        assert word in str(err.value)
    with pytest.raises(ValueError):
        num_windows(H, W, M)


@pytest.mark.parametrize("M", [0, -1, 2.5, True, "7", (2, 2, 2), (0, 2)])
def test_bad_window_sizes_are_rejected(M):
    with pytest.raises(ValueError, match="window_size"):
        window_partition(torch.zeros(1, 4, 4, 1), M)


def test_wrong_rank_is_rejected():
    with pytest.raises(ValueError, match=r"4-D tensor \(B, H, W, C\), got shape \(4, 4, 1\)"):
        window_partition(torch.zeros(4, 4, 1), 2)
    with pytest.raises(ValueError, match="4-D"):
        window_partition_loop(torch.zeros(4, 4), 2)
    with pytest.raises(ValueError, match="4-D"):
        window_reverse(torch.zeros(4, 2, 2), 2, 4, 4)


def test_window_reverse_rejects_inconsistent_sizes():
    windows = window_partition(torch.zeros(2, 4, 6, 1), 2)  # 2 images x 6 windows
    with pytest.raises(ValueError, match="window_size is"):
        window_reverse(windows, 3, 6, 6)
    with pytest.raises(ValueError, match="12 windows cannot come from an H=4 x W=8 grid"):
        window_reverse(windows, 2, 4, 8)
    with pytest.raises(ValueError, match="W=5 is not divisible by window M=2"):
        window_reverse(windows, 2, 4, 5)


@pytest.mark.parametrize("H,W", [(0, 4), (4, -4), (4.0, 4)])
def test_window_reverse_rejects_non_positive_or_non_int_grid(H, W):
    with pytest.raises(ValueError, match=r"grid size \(H, W\)"):
        window_reverse(torch.zeros(4, 2, 2, 1), 2, H, W)
