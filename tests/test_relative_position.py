"""Lesson 04: relative coordinates, the relative position index and the bias gathered from its table."""

from __future__ import annotations

import itertools

import pytest
import torch

from swinlab.relative_position import (
    RelativePositionBias,
    relative_coordinates,
    relative_position_bias,
    relative_position_index,
    resize_bias_table,
)


def index_by_loops(mh: int, mw: int) -> torch.Tensor:
    """An independent construction: list every offset (dy, dx) in table order, give each its position in
    that list, then look up the offset of every (query, key) pair with explicit loops."""
    offsets = list(itertools.product(range(-(mh - 1), mh), range(-(mw - 1), mw)))  # table order
    entry = {offset: t for t, offset in enumerate(offsets)}
    tokens = [(r, c) for r in range(mh) for c in range(mw)]  # row by row
    out = torch.empty(len(tokens), len(tokens), dtype=torch.int64)
    for i, (ri, ci) in enumerate(tokens):
        for j, (rj, cj) in enumerate(tokens):
            out[i, j] = entry[(ri - rj, ci - cj)]
    return out


def test_index_for_M2_is_the_lesson_matrix():
    expected = torch.tensor([[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]])
    assert torch.equal(relative_position_index(2), expected)


@pytest.mark.parametrize("M", range(1, 13))
def test_index_equals_loop_construction_for_square_windows(M):
    index = relative_position_index(M)
    assert index.dtype == torch.int64 and index.shape == (M * M, M * M)
    assert torch.equal(index, index_by_loops(M, M))


@pytest.mark.parametrize("mh, mw", [(1, 4), (4, 1), (2, 3), (3, 2), (3, 7), (5, 4)])
def test_index_equals_loop_construction_for_rectangular_windows(mh, mw):
    assert torch.equal(relative_position_index((mh, mw)), index_by_loops(mh, mw))


@pytest.mark.parametrize("M", [1, 2, 5, 7])
def test_index_uses_every_table_entry_and_the_diagonal_is_the_centre(M):
    index = relative_position_index(M)
    assert torch.equal(index.unique(), torch.arange((2 * M - 1) ** 2))
    centre = (2 * M - 1) * (M - 1) + (M - 1)  # offset (0, 0)
    assert torch.equal(index.diagonal(), torch.full((M * M,), centre))
    assert torch.equal(index + index.T, torch.full_like(index, 2 * centre))  # (dy, dx) vs (-dy, -dx)


def test_relative_coordinates_are_row_and_column_offsets():
    dy, dx = relative_coordinates((2, 3))
    assert dy.shape == dx.shape == (6, 6) and dy.dtype == dx.dtype == torch.int64
    # token 5 = (row 1, col 2), token 0 = (row 0, col 0)
    assert (dy[5, 0].item(), dx[5, 0].item()) == (1, 2)
    assert (dy[0, 5].item(), dx[0, 5].item()) == (-1, -2)
    assert dy.min() == -1 and dy.max() == 1 and dx.min() == -2 and dx.max() == 2


def test_relative_position_bias_gathers_table_rows_per_head():
    torch.manual_seed(0)
    table = torch.randn(9, 3)
    index = relative_position_index(2)
    bias = relative_position_bias(table, index)
    assert bias.shape == (3, 4, 4)
    for h, i, j in itertools.product(range(3), range(4), range(4)):
        assert bias[h, i, j] == table[index[i, j], h]


def test_relative_position_bias_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="table must be 2-D"):
        relative_position_bias(torch.zeros(9), relative_position_index(2))
    with pytest.raises(ValueError, match="index must be square"):
        relative_position_bias(torch.zeros(9, 2), torch.zeros(4, 3, dtype=torch.long))


@pytest.mark.parametrize("window, heads", [(7, 3), ((3, 5), 2), (1, 1)])
def test_module_shapes_and_official_names(window, heads):
    module = RelativePositionBias(window, heads)
    mh, mw = (window, window) if isinstance(window, int) else window
    assert set(module.state_dict()) == {"relative_position_bias_table", "relative_position_index"}
    assert module.relative_position_bias_table.shape == ((2 * mh - 1) * (2 * mw - 1), heads)
    assert module().shape == (heads, mh * mw, mh * mw)
    assert torch.equal(module.relative_position_index, relative_position_index((mh, mw)))


def test_module_bias_is_learnable_through_the_gather():
    module = RelativePositionBias(3, 2)
    module().sum().backward()
    # each table entry is used once per token pair with that offset: the gradient counts those pairs
    counts = torch.bincount(relative_position_index(3).flatten(), minlength=25).float()
    torch.testing.assert_close(module.relative_position_bias_table.grad, counts[:, None].expand(25, 2))


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "3", (3,), (2, 0), (2, 2.0)])
def test_bad_window_sizes_raise_a_clear_error(bad):
    with pytest.raises(ValueError, match="window_size"):
        relative_position_index(bad)
    with pytest.raises(ValueError, match="window_size"):
        relative_coordinates(bad)
    with pytest.raises(ValueError, match="window_size"):
        RelativePositionBias(bad, 2)


@pytest.mark.parametrize("bad", [0, -1, 1.5, False])
def test_bad_head_counts_raise_a_clear_error(bad):
    with pytest.raises(ValueError, match="num_heads"):
        RelativePositionBias(3, bad)


@pytest.mark.parametrize("rows", [170, 200, 168, 9])
def test_relative_position_bias_refuses_a_table_of_the_wrong_size(rows):
    # A larger table used to be gathered silently (its extra rows never read); a smaller one failed with an
    # IndexError that named neither window.
    with pytest.raises(ValueError, match=rf"M=7 \(49 tokens\).*needs 169 rows.*\({rows}, 3\).*resize_bias_table"):
        relative_position_bias(torch.zeros(rows, 3), relative_position_index(7))


def test_relative_position_bias_refuses_a_float_or_negative_index():
    with pytest.raises(ValueError, match="integer tensor"):
        relative_position_bias(torch.zeros(9, 2), relative_position_index(2).float())
    with pytest.raises(ValueError, match="negative entry"):
        relative_position_bias(torch.zeros(9, 2), relative_position_index(2) - 1)


def test_resize_bias_table_keeps_the_table_for_the_same_window_and_a_constant_head():
    torch.manual_seed(0)
    table = torch.randn(169, 3)
    torch.testing.assert_close(resize_bias_table(table, 7, 7), table)
    constant = torch.full((169, 2), 0.25)
    resized = resize_bias_table(constant, 7, 12)  # 13x13 offsets -> 23x23, as for Swin-B at 384 pixels
    assert resized.shape == (23 * 23, 2)
    torch.testing.assert_close(resized, torch.full((529, 2), 0.25))


def test_resize_bias_table_equals_bicubic_interpolation_of_each_heads_offset_image():
    torch.manual_seed(0)
    table = torch.randn(9 * 5, 2)  # window (5, 3): 9 x 5 offsets
    resized = resize_bias_table(table, (5, 3), (6, 4))
    for head in range(2):
        image = table[:, head].reshape(1, 1, 9, 5)
        expected = torch.nn.functional.interpolate(image, size=(11, 7), mode="bicubic", align_corners=False)
        torch.testing.assert_close(resized[:, head], expected.flatten())
    # the centre (offset 0) of the old table lands on the centre of the new one
    big = resize_bias_table(torch.eye(9 * 9)[:, 40:41], 5, 9)  # one-hot at the centre of a 9x9 offset image
    assert int(big.argmax()) == (2 * 9 - 1) ** 2 // 2


def test_resize_bias_table_refuses_a_table_of_another_window():
    with pytest.raises(ValueError, match=r"window 7x7 has shape .* = \(169, heads\), got \(170, 3\)"):
        resize_bias_table(torch.zeros(170, 3), 7, 12)
