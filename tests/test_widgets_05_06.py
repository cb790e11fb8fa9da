"""Lessons 05-06: the explorers build, their sliders redraw, and the static figures draw."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from swinlab import viz
from swinlab.shift import shift_mask
from swinlab.widgets import patch_merging_explorer, shifted_windows_explorer


def test_shifted_windows_explorer_follows_its_sliders():
    ex = shifted_windows_explorer(grid=8, window_size=4)
    assert set(ex.controls) == {"shift", "window"}
    assert (ex.controls["shift"].min, ex.controls["shift"].max) == (0, 3)
    assert (ex.controls["window"].min, ex.controls["window"].max) == (0, 3)
    assert isinstance(ex.figure, Figure)
    assert ex.state["shift"] == 2 and ex.state["window"] == 3
    assert ex.state["regions_in_window"] == [4, 5, 7, 8]
    torch.testing.assert_close(ex.state["mask"], shift_mask(8, 8, 4, 2)[3])

    ex.controls["window"].value = 0                 # an interior window: one region, nothing masked
    assert ex.state["window"] == 0
    assert ex.state["regions_in_window"] == [0] and ex.state["masked_pairs"] == 0

    ex.controls["window"].value = 1
    ex.controls["shift"].value = 1                  # window 1 holds regions 1 and 2 (3 + 1 columns)
    assert ex.state["regions_in_window"] == [1, 2]
    assert ex.state["masked_pairs"] == 2 * (12 * 4)
    assert ex.state["pieces"] == 9

    ex.controls["shift"].value = 0                  # no shift: no mask, regular windows only
    assert ex.state["masked_pairs"] == 0 and ex.state["pieces"] == 4


def test_patch_merging_explorer_follows_the_stage_slider():
    ex = patch_merging_explorer()
    assert ex.state["stage"] == 1 and ex.state["grid"] == 56 and ex.state["px"] == 4
    seen = []
    for stage in (2, 3, 4):
        ex.controls["stage"].value = stage
        seen.append((ex.state["grid"], ex.state["channels"], ex.state["px"], ex.state["pixels"]))
    assert seen == [(28, 192, 8, 64), (14, 384, 16, 256), (7, 768, 32, 1024)]
    assert isinstance(ex.figure, Figure)


def test_static_figures_of_lessons_05_and_06_draw():
    for fig in (viz.draw_cyclic_shift(), viz.draw_padded_vs_cyclic(8, 12, 4, 2), viz.draw_patch_merging(),
                viz.draw_swin_stages()):
        assert isinstance(fig, Figure) and fig.axes


def test_drawing_functions_reject_out_of_range_sliders():
    with pytest.raises(ValueError, match="window=4 is out of range"):
        viz.draw_shifted_windows(2, 4)
    with pytest.raises(ValueError, match="stage=5 is out of range"):
        viz.draw_receptive_field(5)
