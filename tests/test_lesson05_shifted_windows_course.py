"""Lesson 05: the figures, the slider explorers (moved from Python) and the exercise checkers."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from swinlab.course.lesson05_shifted_windows import (
    draw_cyclic_shift,
    draw_padded_vs_cyclic,
    draw_shifted_windows,
    shifted_windows_explorer,
)
from swinlab.course.lesson06_patch_merging import (
    draw_patch_merging,
    draw_receptive_field,
    draw_swin_stages,
)
from swinlab.shift import shift_mask


def test_shifted_windows_explorer_follows_its_sliders():
    ex = shifted_windows_explorer(grid=8, window_size=4)
    assert set(ex.controls) == {"shift", "window"}
    assert (ex.controls["shift"].min, ex.controls["shift"].max) == (0, 3)
    assert (ex.controls["window"].min, ex.controls["window"].max) == (0, 3)
    assert isinstance(ex.figure, Figure)
    assert ex.state["shift"] == 2 and ex.state["window"] == 3
    assert ex.state["regions_in_window"] == [4, 5, 7, 8]
    torch.testing.assert_close(ex.state["mask"], shift_mask(8, 8, 4, 2)[3])

    ex.controls["window"].value = 0  # an interior window: one region, nothing masked
    assert ex.state["window"] == 0
    assert ex.state["regions_in_window"] == [0] and ex.state["masked_pairs"] == 0

    ex.controls["window"].value = 1
    ex.controls["shift"].value = 1  # window 1 holds regions 1 and 2 (3 + 1 columns)
    assert ex.state["regions_in_window"] == [1, 2]
    assert ex.state["masked_pairs"] == 2 * (12 * 4)
    assert ex.state["pieces"] == 9

    ex.controls["shift"].value = 0  # no shift: no mask, regular windows only
    assert ex.state["masked_pairs"] == 0 and ex.state["pieces"] == 4


def test_static_figures_of_lessons_05_and_06_draw():
    for fig in (draw_cyclic_shift(), draw_padded_vs_cyclic(8, 12, 4, 2), draw_patch_merging(), draw_swin_stages()):
        assert isinstance(fig, Figure) and fig.axes


def test_drawing_functions_reject_out_of_range_sliders():
    with pytest.raises(ValueError, match="window=4 is out of range"):
        draw_shifted_windows(2, 4)
    with pytest.raises(ValueError, match="stage=5 is out of range"):
        draw_receptive_field(5)


def test_window_mask_is_drawn_sorted_by_region_so_each_region_is_one_block_on_the_diagonal():
    fig, state = draw_shifted_windows(shift=2, window=3, grid=8, window_size=4)
    drawn = torch.as_tensor(fig.axes[2].images[0].get_array())
    regions = torch.tensor([4, 4, 5, 5, 4, 4, 5, 5, 7, 7, 8, 8, 7, 7, 8, 8])  # window 3, row-major
    order = torch.tensor(state["order"])
    assert regions[order].tolist() == sorted(regions.tolist())
    same = regions[order][:, None] == regions[order][None, :]
    assert torch.equal(drawn == 0, same)  # four 4x4 blocks of zeros on the diagonal
    # the stored mask keeps the window's own order, where the regions interleave
    torch.testing.assert_close(state["mask"], shift_mask(8, 8, 4, 2)[3])
    assert not torch.equal(state["mask"] == 0, same)
