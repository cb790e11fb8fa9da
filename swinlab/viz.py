"""Figures for every lesson (matplotlib). Each function returns a ``matplotlib.figure.Figure``.

Figures are built with ``matplotlib.figure.Figure`` (not pyplot), so nothing is shown twice and
nothing leaks: a notebook shows one by leaving it as a cell's last value, a widget redraws it.
A drawing function used by a widget returns ``(figure, state)``, where ``state`` is a small dict of
what was drawn (tests read it).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

__all__ = ["new_figure", "token_colors", "sample_photo"]


def new_figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (4.0, 4.0), **kwargs):
    """A figure and its axes, without pyplot: ``(fig, axes)``."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **kwargs)
    return fig, axes


def token_colors(n: int, cmap: str = "tab20") -> np.ndarray:
    """``n`` distinct RGBA colours (cycling through a qualitative colormap): ``(n, 4)``."""
    import matplotlib

    colors = matplotlib.colormaps[cmap]
    return np.array([colors(i % colors.N) for i in range(n)])


def sample_photo(size: int = 224) -> np.ndarray:
    """The lesson photo, shipped with matplotlib (no download): ``(size, size, 3)`` float in [0, 1]."""
    import matplotlib.cbook as cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = Image.open(f).convert("RGB")
    side = min(img.size)
    left, top = (img.size[0] - side) // 2, (img.size[1] - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 255.0


# ---- lesson 00: welcome ----------------------------------------------------------------------

# ---- lesson 01: patches ----------------------------------------------------------------------

# ---- lesson 02: local windows ----------------------------------------------------------------

# ---- lesson 03: complexity -------------------------------------------------------------------

# ---- lesson 04: relative position ------------------------------------------------------------

# ---- lesson 05: shifted windows --------------------------------------------------------------

# ---- lesson 06: patch merging ----------------------------------------------------------------

# ---- lesson 07: the Swin Transformer ---------------------------------------------------------

# ---- lesson 08: training ---------------------------------------------------------------------

# ---- lesson 09: Swin vs ViT ------------------------------------------------------------------
