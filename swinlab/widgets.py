"""ipywidgets explorers for every lesson: sliders over a drawing function of ``swinlab.viz``.

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
        # Replace the shown figure by setting the Output widget's contents in one step, rather than
        # capturing a display() call with ``with self.output:``: the capture routes messages through
        # the running cell, which made headless notebook runs (nbclient) stall now and then.
        data, metadata = InteractiveShell.instance().display_formatter.format(self.figure)
        self.output.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)

    def _ipython_display_(self) -> None:
        display(self.widget)




# ---- lesson 01: patches ----------------------------------------------------------------------

def patch_explorer(image=None, patch_sizes: tuple[int, ...] = (4, 7, 8, 14, 16, 28, 32, 56)) -> Explorer:
    """A slider over the patch size ``P`` cutting the lesson photo ``(224, 224, 3)`` into ``224/P x 224/P``
    patches (draws :func:`swinlab.viz.draw_patches`; control ``"P"``)."""
    image = viz.sample_photo(224) if image is None else image
    H, W = image.shape[:2]
    options = [p for p in patch_sizes if H % p == 0 and W % p == 0]
    if not options:
        raise ValueError(f"none of the patch sizes {patch_sizes} divides the {H}x{W} image: pick one that does")
    slider = widgets.SelectionSlider(options=options, value=16 if 16 in options else options[0],
                                     description="patch P")
    return Explorer(lambda P: viz.draw_patches(image, P), P=slider)


# ---- lesson 02: local windows ----------------------------------------------------------------

def window_explorer(grid: int = 56, image=None) -> Explorer:
    """A slider over the window size ``M`` (every divisor of ``grid``) on a ``grid x grid`` token map
    drawn over the lesson photo (draws :func:`swinlab.viz.draw_windows`; control ``"M"``)."""
    from ._utils import pair

    grid = pair(grid, "grid")[0]
    image = viz.sample_photo(224) if image is None else image
    options = [1] + [m for m in range(2, grid + 1) if grid % m == 0]
    slider = widgets.SelectionSlider(options=options, value=7 if 7 in options else options[len(options) // 2],
                                     description="window M")
    return Explorer(lambda M: viz.draw_windows(grid, grid, M, image=image), M=slider)


# ---- lesson 03: complexity -------------------------------------------------------------------


def complexity_explorer(h: int = 56, w: int = 56, C: int = 96, M: int = 7) -> Explorer:
    """Sliders ``h``, ``w`` (tokens per side), ``C`` (channels) and ``M`` (window) over
    :func:`swinlab.viz.msa_wmsa_costs`: both costs of Eq. 1 and 2, term by term, and their ratio."""
    return Explorer(
        viz.msa_wmsa_costs,
        h=widgets.IntSlider(value=h, min=1, max=256, description="h"),
        w=widgets.IntSlider(value=w, min=1, max=256, description="w"),
        C=widgets.IntSlider(value=C, min=8, max=1024, step=8, description="C"),
        M=widgets.IntSlider(value=M, min=1, max=32, description="M"),
    )


# ---- lesson 04: relative position ------------------------------------------------------------


def relative_bias_explorer(M: int = 3, query: int = 4, head: int = 0) -> Explorer:
    """Sliders ``M`` (window), ``query`` (a token of the window, 0 … M²−1) and ``head`` over
    :func:`swinlab.viz.bias_row`: the block of the ``(2M−1)²`` table one query reads, and its bias row
    laid out on the window. The ``query`` slider's range follows ``M``."""
    query_slider = widgets.IntSlider(value=min(query, M * M - 1), min=0, max=M * M - 1, description="query")
    explorer = Explorer(
        viz.bias_row,
        M=widgets.IntSlider(value=M, min=1, max=9, description="M"),
        query=query_slider,
        head=widgets.IntSlider(value=head, min=0, max=2, description="head"),
    )

    def follow_M(change) -> None:
        # A smaller window has fewer tokens: the slider's range shrinks (and its value is clamped).
        query_slider.max = change["new"] ** 2 - 1

    explorer.controls["M"].observe(follow_M, names="value")
    return explorer


# ---- lesson 05: shifted windows --------------------------------------------------------------


def shifted_windows_explorer(grid: int = 8, window_size: int = 4) -> Explorer:
    """Sliders for the shift (0..M-1) and the window index over the lesson photo's ``grid x grid`` tokens.

    Draws :func:`swinlab.viz.draw_shifted_windows`: the rolled grid with its windows and region labels,
    and the selected window's ``(M², M²)`` mask.
    """
    n_windows = (grid // window_size) ** 2
    return Explorer(
        lambda shift, window: viz.draw_shifted_windows(shift, window, grid=grid, window_size=window_size),
        shift=widgets.IntSlider(value=window_size // 2, min=0, max=window_size - 1, description="shift s"),
        window=widgets.IntSlider(value=n_windows - 1, min=0, max=n_windows - 1, description="window"),
    )


# ---- lesson 06: patch merging ----------------------------------------------------------------


def patch_merging_explorer(img_size: int = 224, patch_size: int = 4) -> Explorer:
    """A slider over the stage (1..4): what one token of that stage stands for in the lesson photo.

    Draws :func:`swinlab.viz.draw_receptive_field`.
    """
    return Explorer(
        lambda stage: viz.draw_receptive_field(stage, img_size=img_size, patch_size=patch_size),
        stage=widgets.IntSlider(value=1, min=1, max=4, description="stage"),
    )


# ---- lesson 07: the Swin Transformer ---------------------------------------------------------


def information_flow_explorer(grid: int = 16, window_size: int = 4, token: tuple[int, int] = (5, 5)) -> Explorer:
    """A slider over the number of Swin blocks (1..6) and a shift on/off switch: which input tokens one
    output token depends on (draws :func:`swinlab.viz.draw_token_dependencies`; controls ``"blocks"``,
    ``"shift"``)."""
    return Explorer(
        lambda blocks, shift: viz.draw_token_dependencies(blocks, shift, grid=grid, window_size=window_size,
                                                          token=token),
        blocks=widgets.IntSlider(value=2, min=1, max=6, description="blocks"),
        shift=widgets.Checkbox(value=True, description="shift every 2nd block"),
    )

# ---- lesson 08: training ---------------------------------------------------------------------

def augmentation_explorer(images, labels=None, classes=None) -> Explorer:
    """Sliders over the training augmentation of a small uint8 batch ``(B, 32, 32, 3)``: crop padding, mixing
    (none / mixup / cutmix) and its Beta alpha, random-erasing probability and the seed (draws
    :func:`swinlab.viz.draw_augmentation`; controls ``"padding"``, ``"mix"``, ``"alpha"``, ``"erase"``, ``"seed"``)."""
    return Explorer(
        lambda padding, mix, alpha, erase, seed: viz.draw_augmentation(images, padding, mix, alpha, erase, seed,
                                                                       classes=classes, labels=labels),
        padding=widgets.IntSlider(value=4, min=0, max=8, description="padding"),
        mix=widgets.Dropdown(options=["none", "mixup", "cutmix"], value="none", description="mix"),
        alpha=widgets.FloatSlider(value=1.0, min=0.1, max=2.0, step=0.1, description="alpha"),
        erase=widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="erase p"),
        seed=widgets.IntSlider(value=0, min=0, max=50, description="seed"))


def attention_explorer(images, maps, classes=None, labels=None, preds=None) -> Explorer:
    """Sliders over test images and heads of a trained Swin's attention maps ``(n, heads, h, w)`` (from
    ``swinlab.train.attention_received``; head -1 is the mean over heads; draws
    :func:`swinlab.viz.draw_attention`; controls ``"index"``, ``"head"``)."""
    import numpy as np

    n, heads = np.asarray(maps).shape[:2]
    return Explorer(
        lambda index, head: viz.draw_attention(images, maps, index, head, classes=classes, labels=labels, preds=preds),
        index=widgets.IntSlider(value=0, min=0, max=n - 1, description="image"),
        head=widgets.IntSlider(value=-1, min=-1, max=heads - 1, description="head"))


# ---- lesson 09: Swin vs ViT ------------------------------------------------------------------


def model_cost_explorer(vit_dim: int = 256, vit_depth: int = 13, mlp_ratio: float = 2.0, window: int = 4,
                        patch_size: int = 2) -> Explorer:
    """Sliders ``vit_dim``, ``vit_depth``, ``mlp_ratio``, ``window`` and ``patch_size`` over
    :func:`swinlab.viz.model_cost_curves`: whole-model GMACs of ViT and Swin against image size, where
    Swin becomes cheaper, and where a ViT block's quadratic term takes over."""
    return Explorer(
        viz.model_cost_curves,
        vit_dim=widgets.IntSlider(value=vit_dim, min=32, max=768, step=32, description="ViT C"),
        vit_depth=widgets.IntSlider(value=vit_depth, min=1, max=24, description="ViT depth"),
        mlp_ratio=widgets.FloatSlider(value=mlp_ratio, min=1.0, max=4.0, step=0.5, description="MLP ratio"),
        window=widgets.IntSlider(value=window, min=2, max=16, description="Swin M"),
        patch_size=widgets.Dropdown(value=patch_size, options=[1, 2, 4, 8], description="patch"),
    )
