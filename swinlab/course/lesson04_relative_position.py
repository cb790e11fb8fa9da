"""Lesson 04, relative position: figures, explorers and exercise checkers.

The course file behind ``notebooks/04_relative_position.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from .checks import ExerciseError, call, checker, compare, passed, refuse_answer_key
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
    _matrix_panel(axes[1, 2], relative_position_index((mh, mw)), "index = top right + bottom middle", cmap="viridis")
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
    if M <= 4:  # the entry numbers: drawn "key minus query", they run right to left and bottom to top
        entries = np.arange((2 * M - 1) ** 2).reshape(2 * M - 1, 2 * M - 1)[::-1, ::-1]
        _annotate_cells(ax1, img, "magma", [f"#{v}" for v in entries.ravel()], fontsize=6, vmin=lo, vmax=hi)
    ax1.set_title(f"head {head} table {2 * M - 1}×{2 * M - 1}: block read by query {query}", fontsize=9)
    ax2.imshow(row, cmap="magma", vmin=lo, vmax=hi)
    ax2.add_patch(Rectangle((qc - 0.5, qr - 0.5), 1, 1, fill=False, ec="cyan", lw=2))
    if M <= 5:
        _annotate_cells(ax2, row, "magma", [f"#{v}" for v in index_row.ravel()], fontsize=8, vmin=lo, vmax=hi)
    ax2.set_title(f"bias row {query} on the window (table entries #)", fontsize=9)
    for ax in (ax0, ax2):
        ax.set_xticks([])
        ax.set_yticks([])
    # The table's axes are offsets: drawn cell (r, c) holds key - query = (r - (M-1), c - (M-1)).
    step = 1 if M <= 5 else 2
    ticks = list(range(0, 2 * M - 1, step))
    ax1.set_xticks(ticks, [str(t - (M - 1)) for t in ticks], fontsize=7)
    ax1.set_yticks(ticks, [str(t - (M - 1)) for t in ticks], fontsize=7)
    ax1.set_xlabel("Δc = key col − query col", fontsize=8)
    ax1.set_ylabel("Δr = key row − query row", fontsize=8)
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


def _check_index_values(name: str, got, expected, table_size: int, window: str, hint: str) -> None:
    # What an index must be before its values are compared: a tensor of the right shape, integers,
    # 0 .. table_size-1, every entry used.
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        compare(name, got, expected, hint)  # names the type or the shape
    if got.dtype.is_floating_point:
        raise ExerciseError(
            f"{name} has dtype {got.dtype}: an index selects rows of the table, so it must be an integer tensor "
            "(torch.long). Build it from integer tensors (torch.arange gives int64)."
        )
    lo, hi = int(got.min()), int(got.max())
    if lo < 0:
        raise ExerciseError(
            f"{name} holds {lo} at position {tuple(int(i) for i in (got == lo).nonzero()[0])}: an index must start "
            f"at 0, since it numbers rows of the table. {hint}"
        )
    if hi >= table_size:
        raise ExerciseError(
            f"{name} holds {hi}, but the table of a {window} window has {table_size} rows (0 .. {table_size - 1}). "
            f"{hint}"
        )
    distinct = got.unique().numel()
    if distinct < expected.unique().numel():
        raise ExerciseError(
            f"{name} uses {distinct} different entries, but a {window} window has {table_size} different offsets: "
            f"two different offsets share one table entry. {hint}"
        )


def _named_mistakes(name: str, got, expected, digits_swapped) -> None:
    # Two slips that keep every value and only move them: each gets its own message.
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape or torch.equal(got, expected):
        return
    if torch.equal(got, expected.T):
        raise ExerciseError(
            f"{name} is the transpose of the expected index: you took key - query. The index uses "
            "query - key: dy[i, j] = row(i) - row(j), where i (the row of the index) is the query."
        )
    if digits_swapped is not None and torch.equal(got, digits_swapped):
        raise ExerciseError(
            f"{name} has the right values in the wrong places: you made the column offset the high digit. The table "
            "lists offsets row by row, so the row offset is the one that is multiplied."
        )


@checker
def check_relative_position_index(fn) -> bool:
    """Lesson 04, exercise 1: ``fn(M) -> (M², M²)`` int64, the relative position index of a square ``M x M``
    window, checked for M = 1 … 7 against :func:`swinlab.relative_position.relative_position_index`.

    Refuses swinlab's own function; names a float dtype, a missing shift (negative entries), a wrong factor
    (entries out of range or shared by two offsets), key − query instead of query − key, and swapped digits.
    """
    from ..relative_position import RelativePositionBias, relative_coordinates, relative_position_index

    refuse_answer_key(
        fn, relative_position_index, relative_coordinates, RelativePositionBias, name="relative_position_index"
    )
    hint = (
        "Redo steps 1-4 of section 2 with M in place of 2: offsets on each axis, shifted to start at 0, "
        "combined into one number per pair."
    )
    for M in range(1, 8):
        name = f"my_index({M})"
        got = call(fn, M, name="my_index")
        expected = relative_position_index(M)
        _check_index_values(name, got, expected, (2 * M - 1) ** 2, f"{M}x{M}", hint)
        dy, dx = relative_coordinates(M)
        _named_mistakes(name, got, expected, (dx + M - 1) * (2 * M - 1) + dy + M - 1)
        compare(name, got, expected, hint)
    return passed("my_index(M) equals swinlab's index for M = 1 … 7: every token pair finds its table entry.")


@checker
def check_rectangular_index(fn) -> bool:
    """Lesson 04, exercise 2: ``fn(Mh, Mw) -> (Mh*Mw, Mh*Mw)`` int64, the index of an ``Mh x Mw`` window into a
    ``(2Mh-1)(2Mw-1)``-row table listed row by row (row offset outer, column offset inner).

    Checked on tall, wide, one-row and square windows against
    :func:`swinlab.relative_position.relative_position_index`; refuses swinlab's own function.
    """
    from ..relative_position import RelativePositionBias, relative_coordinates, relative_position_index

    refuse_answer_key(
        fn, relative_position_index, relative_coordinates, RelativePositionBias, name="relative_position_index"
    )
    hint = (
        "Each axis has its own range of offsets: count the different row offsets and the different column "
        "offsets of an Mh x Mw window, and ask which of the two counts the row part must be multiplied by."
    )
    for mh, mw in ((2, 3), (3, 2), (1, 4), (4, 1), (3, 5), (7, 4), (4, 4)):
        name = f"my_rect_index({mh}, {mw})"
        got = call(fn, mh, mw, name="my_rect_index")
        expected = relative_position_index((mh, mw))
        _check_index_values(name, got, expected, (2 * mh - 1) * (2 * mw - 1), f"{mh}x{mw}", hint)
        _named_mistakes(name, got, expected, None)
        compare(name, got, expected, hint)
    return passed(
        "my_rect_index equals swinlab's index for 2x3, 3x2, 1x4, 4x1, 3x5, 7x4 and 4x4 windows: "
        "every token pair of a rectangular window finds its entry of the (2Mh-1)(2Mw-1) table."
    )
