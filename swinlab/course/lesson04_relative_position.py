"""Lesson 04, relative position: figures, explorers and exercise checkers.

The course file behind ``notebooks/04_relative_position.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .checks import ExerciseError, compare, passed
from .draw import new_figure
from .explorer import Explorer

# ---- figures -------------------------------------------------------------------------------------


def _matrix_panel(ax, m, title: str, cmap: str = "coolwarm", annotate: bool = True) -> None:
    m = np.asarray(m)
    ax.imshow(m, cmap=cmap)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("key token j", fontsize=8)
    ax.set_ylabel("query token i", fontsize=8)
    n = m.shape[0]
    ticks = range(n) if n <= 16 else range(0, n, max(1, n // 8))
    ax.set_xticks(list(ticks))
    ax.set_yticks(list(ticks))
    ax.tick_params(labelsize=7)
    if annotate and m.size <= 256:
        _annotate_cells(ax, m, cmap, [str(int(v)) for v in m.ravel()], fontsize=7 if n <= 9 else 5)


def _annotate_cells(ax, m, cmap: str, texts, fontsize: float = 7, vmin=None, vmax=None) -> None:
    # Write one text per cell, white on dark colours and black on light ones.
    import matplotlib

    m = np.asarray(m, dtype=float)
    lo = m.min() if vmin is None else vmin
    hi = m.max() if vmax is None else vmax
    colors = matplotlib.colormaps[cmap]((m - lo) / (hi - lo) if hi > lo else np.zeros_like(m))
    for (i, j), text in zip(np.ndindex(m.shape), texts, strict=True):
        r, g, b = colors[i, j, :3]
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white",
        )


def relative_index_steps(window_size: int | tuple[int, int] = 3) -> Figure:
    """The relative position index built step by step for one window, as six ``(M², M²)`` heatmaps.

    Top row: row offsets ``dy``, shifted by ``Mh-1``, multiplied by ``2Mw-1``. Bottom row: column
    offsets ``dx``, shifted by ``Mw-1``, and the index = the two shifted axes summed. Returns the Figure.
    """
    from .._utils import pair
    from ..relative_position import relative_coordinates, relative_position_index

    mh, mw = pair(window_size, "window_size")
    dy, dx = relative_coordinates((mh, mw))
    sy, sx = dy + (mh - 1), dx + (mw - 1)
    fig, axes = new_figure(2, 3, size=(3.4, 3.4))
    _matrix_panel(axes[0, 0], dy, "dy = row(i) − row(j)")
    _matrix_panel(axes[0, 1], sy, f"dy + (Mh−1) = dy + {mh - 1}", cmap="viridis")
    _matrix_panel(
        axes[0, 2], sy * (2 * mw - 1), f"(dy + {mh - 1}) · {2 * mw - 1}   [2Mw−1 = {2 * mw - 1}]", cmap="viridis"
    )
    _matrix_panel(axes[1, 0], dx, "dx = col(i) − col(j)")
    _matrix_panel(axes[1, 1], sx, f"dx + (Mw−1) = dx + {mw - 1}", cmap="viridis")
    _matrix_panel(axes[1, 2], relative_position_index((mh, mw)), "index = top right + middle", cmap="viridis")
    fig.suptitle(
        f"relative position index, window {mh}×{mw}: {(2 * mh - 1) * (2 * mw - 1)} different values", fontsize=10
    )
    return fig


def demo_bias_table(window_size: int | tuple[int, int] = 3) -> np.ndarray:
    """A readable stand-in for a learned table: ``((2Mh-1)*(2Mw-1), 3)`` float, one column per head.

    Entry ``t`` holds offset ``(dy, dx)`` = query minus key (the index's order). Head 0 favours near
    keys (minus the distance), head 1 keys to the right of the query, head 2 keys below it.
    """
    from .._utils import pair

    mh, mw = pair(window_size, "window_size")
    dy, dx = np.meshgrid(np.arange(-(mh - 1), mh), np.arange(-(mw - 1), mw), indexing="ij")
    dy, dx = dy.ravel().astype(float), dx.ravel().astype(float)
    return np.stack([-np.hypot(dy, dx), -dx / max(mw - 1, 1), -dy / max(mh - 1, 1)], axis=1)


def _table_image(table, mh: int, mw: int, head: int) -> np.ndarray:
    # The table column of one head as a (2Mh-1, 2Mw-1) grid drawn as "key minus query": the centre is
    # the query itself. Entry t = (dy+Mh-1)(2Mw-1) + (dx+Mw-1) with dy = query - key, hence the flips.
    return np.asarray(table)[:, head].reshape(2 * mh - 1, 2 * mw - 1)[::-1, ::-1]


def bias_table_grid(table, window_size: int | tuple[int, int]) -> Figure:
    """Each head's column of a relative position bias table drawn as a ``(2Mh-1) x (2Mw-1)`` grid.

    ``table ((2Mh-1)*(2Mw-1), heads)`` (tensor or array). Cell ``(Δr, Δc)`` is the bias a query adds
    for a key Δr rows below and Δc columns right of it; the centre (Δ = 0) is the query itself.
    """
    from .._utils import pair

    mh, mw = pair(window_size, "window_size")
    t = table.detach().cpu().numpy() if hasattr(table, "detach") else np.asarray(table)
    if t.ndim != 2 or t.shape[0] != (2 * mh - 1) * (2 * mw - 1):
        raise ValueError(
            f"table must be ((2Mh-1)*(2Mw-1), heads) = ({(2 * mh - 1) * (2 * mw - 1)}, heads) for "
            f"window {mh}x{mw}, got shape {t.shape}"
        )
    heads = t.shape[1]
    fig, axes = new_figure(1, heads, size=(3.0, 3.2))
    axes = np.atleast_1d(axes)
    for k, ax in enumerate(axes):
        img = _table_image(t, mh, mw, k)
        im = ax.imshow(img, cmap="magma", extent=(-(mw - 1) - 0.5, mw - 1 + 0.5, mh - 1 + 0.5, -(mh - 1) - 0.5))
        ax.plot(0, 0, "+", color="cyan", ms=10, mew=2)
        ax.set_title(f"head {k}", fontsize=9)
        ax.set_xlabel("Δc = key col − query col", fontsize=8)
        ax.set_ylabel("Δr = key row − query row", fontsize=8)
        ax.tick_params(labelsize=7)
        fig.colorbar(im, ax=ax, shrink=0.7)
    fig.suptitle(f"bias table: (2M−1)² = {t.shape[0]} entries per head, window {mh}×{mw}", fontsize=10)
    return fig


def gathered_bias(table, window_size: int | tuple[int, int]) -> Figure:
    """The bias ``B`` each head adds to its ``(M², M²)`` attention logits, gathered from the table.

    ``table ((2Mh-1)*(2Mw-1), heads) -> heads`` heatmaps of ``(Mh*Mw, Mh*Mw)``; thin lines separate the
    window rows, so the repeated ``Mw x Mw`` blocks (same row offset, same block) are visible.
    """
    import torch

    from .._utils import pair
    from ..relative_position import relative_position_bias, relative_position_index

    mh, mw = pair(window_size, "window_size")
    t = torch.as_tensor(np.asarray(table.detach().cpu() if hasattr(table, "detach") else table), dtype=torch.float32)
    if t.dim() != 2 or t.shape[0] != (2 * mh - 1) * (2 * mw - 1):
        raise ValueError(
            f"table must be ((2Mh-1)*(2Mw-1), heads) = ({(2 * mh - 1) * (2 * mw - 1)}, heads) for "
            f"window {mh}x{mw}, got shape {tuple(t.shape)}"
        )
    bias = relative_position_bias(t, relative_position_index((mh, mw))).numpy()  # heads, N, N
    fig, axes = new_figure(1, bias.shape[0], size=(3.2, 3.3))
    for k, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(bias[k], cmap="magma")
        for edge in range(mw, mh * mw, mw):
            ax.axhline(edge - 0.5, color="white", lw=0.4)
            ax.axvline(edge - 0.5, color="white", lw=0.4)
        ax.set_title(f"head {k}: B ({mh * mw}×{mh * mw})", fontsize=9)
        ax.set_xlabel("key token j", fontsize=8)
        ax.set_ylabel("query token i", fontsize=8)
        ax.tick_params(labelsize=7)
    return fig


def bias_row(M: int = 3, query: int = 4, head: int = 0, table=None) -> tuple[Figure, dict]:
    """What one query token adds to its attention logits, laid out on the window.

    Left: the ``M x M`` window, query marked. Middle: the head's ``(2M-1) x (2M-1)`` table (drawn
    "key minus query", centre = the query), with the ``M x M`` block this query reads outlined.
    Right: the query's row of the ``(M², M²)`` bias, reshaped to ``M x M`` (one value per key).
    ``table``: ``((2M-1)², heads)``, default :func:`demo_bias_table`. Returns ``(fig, state)``.
    """
    import torch
    from matplotlib.patches import Rectangle

    from ..relative_position import relative_position_bias, relative_position_index

    if isinstance(M, bool) or not isinstance(M, int) or M < 1:
        raise ValueError(f"M must be a positive int, got {M!r}")
    t = demo_bias_table(M) if table is None else np.asarray(table.detach().cpu() if hasattr(table, "detach") else table)
    query = int(min(max(query, 0), M * M - 1))
    head = int(min(max(head, 0), t.shape[1] - 1))
    qr, qc = divmod(query, M)
    index = relative_position_index(M)
    bias = relative_position_bias(torch.as_tensor(t, dtype=torch.float32), index)  # heads, M², M²
    row = bias[head, query].reshape(M, M).numpy()
    index_row = index[query].reshape(M, M).numpy()
    img = _table_image(t, M, M, head)
    top, left = M - 1 - qr, M - 1 - qc  # where this query's keys land in the drawn table
    lo, hi = float(t[:, head].min()), float(t[:, head].max())

    fig, (ax0, ax1, ax2) = new_figure(1, 3, size=(3.5, 3.6))
    grid = np.zeros((M, M))
    grid[qr, qc] = 1
    ax0.imshow(grid, cmap="Blues", vmin=0, vmax=1.6)
    for (r, c), _ in np.ndenumerate(grid):
        ax0.text(c, r, str(r * M + c), ha="center", va="center", fontsize=8 if M <= 6 else 6)
    ax0.set_title(f"window {M}×{M}: query {query} = (row {qr}, col {qc})", fontsize=9)
    ax1.imshow(img, cmap="magma", vmin=lo, vmax=hi)
    ax1.add_patch(Rectangle((left - 0.5, top - 0.5), M, M, fill=False, ec="cyan", lw=2.5))
    ax1.plot(M - 1, M - 1, "+", color="cyan", ms=10, mew=2)
    ax1.set_title(f"head {head} table {2 * M - 1}×{2 * M - 1}: block read by query {query}", fontsize=9)
    ax2.imshow(row, cmap="magma", vmin=lo, vmax=hi)
    ax2.add_patch(Rectangle((qc - 0.5, qr - 0.5), 1, 1, fill=False, ec="cyan", lw=2))
    if M <= 5:
        _annotate_cells(ax2, row, "magma", [f"#{v}" for v in index_row.ravel()], fontsize=8, vmin=lo, vmax=hi)
    ax2.set_title(f"bias row {query} on the window (table entries #)", fontsize=9)
    for ax in (ax0, ax1, ax2):
        ax.set_xticks([])
        ax.set_yticks([])
    state = {
        "M": M,
        "query": query,
        "head": head,
        "query_rc": (qr, qc),
        "index_row": index_row.tolist(),
        "bias_row": row.tolist(),
        "table_block": (top, left),
    }
    return fig, state


# ---- explorers -----------------------------------------------------------------------------------


def relative_bias_explorer(M: int = 3, query: int = 4, head: int = 0) -> Explorer:
    """Sliders ``M`` (window), ``query`` (a token of the window, 0 … M²−1) and ``head`` over
    :func:`swinlab.bias_row`: the block of the ``(2M−1)²`` table one query reads, and its bias row
    laid out on the window. The ``query`` slider's range follows ``M``."""
    query_slider = widgets.IntSlider(value=min(query, M * M - 1), min=0, max=M * M - 1, description="query")
    explorer = Explorer(
        bias_row,
        M=widgets.IntSlider(value=M, min=1, max=9, description="M"),
        query=query_slider,
        head=widgets.IntSlider(value=head, min=0, max=2, description="head"),
    )

    def follow_M(change) -> None:
        # A smaller window has fewer tokens: the slider's range shrinks (and its value is clamped).
        query_slider.max = change["new"] ** 2 - 1

    explorer.controls["M"].observe(follow_M, names="value")
    return explorer


# ---- exercise checkers ---------------------------------------------------------------------------


def check_relative_position_index(fn) -> bool:
    """Check the student's ``fn(M) -> (M², M²)`` index against :func:`swinlab.relative_position.relative_position_index`
    for square windows M = 1 … 7."""
    from ..relative_position import relative_position_index

    hint = (
        "Number the tokens row by row; for query i and key j take dy = row(i) - row(j) and "
        "dx = col(i) - col(j), shift both by M-1 (so they start at 0), multiply the row part by 2M-1, add."
    )
    for M in range(1, 8):
        got = fn(M)
        if got is None:
            raise ExerciseError(f"fn({M}) returned None: fill in the function. {hint}")
        compare(f"fn({M})", got, relative_position_index(M), hint)
        if got.dtype.is_floating_point:
            raise ExerciseError(
                f"fn({M}) has dtype {got.dtype}: an index must be an integer tensor "
                "(torch.long) to select rows of the table."
            )
    return passed("your index equals swinlab's for M = 1 … 7: every token pair finds its (2M-1)^2 table entry.")
