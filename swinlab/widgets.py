"""ipywidgets explorers for every lesson: sliders over a drawing function of ``swinlab.viz``.

Every explorer is an :class:`Explorer`: its sliders live in ``.controls``, the figure it shows in
``.figure`` and what that figure draws in ``.state``. Moving a slider (by hand, or from Python with
``explorer.controls["M"].value = 4``) calls the drawing function again. Each explorer draws with the
same function that makes the lesson's static figure, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
from IPython.display import display

from . import viz  # noqa: F401  (the explorers below draw with it)

__all__ = ["Explorer"]


class Explorer:
    """Sliders plus a figure redrawn on every change.

    ``draw(**values) -> (figure, state)`` is called with the current value of every control.
    """

    def __init__(self, draw: Callable, **controls: widgets.ValueWidget) -> None:
        self.draw, self.controls = draw, controls
        self.output = widgets.Output()
        self.figure, self.state = None, {}
        for control in controls.values():
            control.continuous_update = False
            control.observe(self._redraw, names="value")
        self.widget = widgets.VBox([widgets.HBox(list(controls.values())), self.output])
        self._redraw()

    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _redraw(self, change=None) -> None:
        self.figure, self.state = self.draw(**self.values())
        with self.output:
            self.output.clear_output(wait=True)
            display(self.figure)

    def _ipython_display_(self) -> None:
        display(self.widget)




# ---- lesson 01: patches ----------------------------------------------------------------------

# ---- lesson 02: local windows ----------------------------------------------------------------

# ---- lesson 03: complexity -------------------------------------------------------------------

# ---- lesson 04: relative position ------------------------------------------------------------

# ---- lesson 05: shifted windows --------------------------------------------------------------

# ---- lesson 06: patch merging ----------------------------------------------------------------

# ---- lesson 07: the Swin Transformer ---------------------------------------------------------

# ---- lesson 08: training ---------------------------------------------------------------------

# ---- lesson 09: Swin vs ViT ------------------------------------------------------------------
