"""The slider explorer every lesson uses: sliders over one of the lesson's drawing functions.

Every explorer is an :class:`Explorer`: its sliders live in ``.controls``, the figure it shows in
``.figure`` and what that figure draws in ``.state``. Moving a slider (by hand, or from Python with
``explorer.controls["M"].value = 4``) calls the drawing function again. Each explorer draws with the
same function that makes the lesson's static figure, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display

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
        # Replace the shown figure by setting the Output widget's contents in one step, rather than
        # capturing a display() call with ``with self.output:``: the capture routes messages through
        # the running cell, which made headless notebook runs (nbclient) stall now and then.
        data, metadata = InteractiveShell.instance().display_formatter.format(self.figure)
        self.output.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)

    def _ipython_display_(self) -> None:
        display(self.widget)
