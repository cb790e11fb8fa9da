"""Lesson 06: the figures, the slider explorers (moved from Python) and the exercise checkers."""

from __future__ import annotations

from matplotlib.figure import Figure

from swinlab.course.lesson06_patch_merging import (
    patch_merging_explorer,
)


def test_patch_merging_explorer_follows_the_stage_slider():
    ex = patch_merging_explorer()
    assert ex.state["stage"] == 1 and ex.state["grid"] == 56 and ex.state["px"] == 4
    seen = []
    for stage in (2, 3, 4):
        ex.controls["stage"].value = stage
        seen.append((ex.state["grid"], ex.state["channels"], ex.state["px"], ex.state["pixels"]))
    assert seen == [(28, 192, 8, 64), (14, 384, 16, 256), (7, 768, 32, 1024)]
    assert isinstance(ex.figure, Figure)
