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

def _draw_plane(ax, level: int, cells: int, window_cells: int, color, label: str) -> None:
    """One feature map drawn as a tilted square of ``cells x cells`` tokens with windows in red."""
    from matplotlib.patches import Polygon

    def at(u: float, v: float) -> tuple[float, float]:  # unit square -> tilted plane at height `level`
        return u + 0.55 * v, 0.32 * v + 0.62 * level

    ax.add_patch(Polygon([at(0, 0), at(1, 0), at(1, 1), at(0, 1)], closed=True, facecolor=color,
                         edgecolor="0.2", lw=1.0, alpha=0.95, zorder=2 * level))
    for i in range(1, cells):
        t = i / cells
        for a, b in ((at(t, 0), at(t, 1)), (at(0, t), at(1, t))):
            ax.plot([a[0], b[0]], [a[1], b[1]], color="0.35", lw=0.5, zorder=2 * level + 1)
    for i in range(0, cells + 1, window_cells):
        t = i / cells
        for a, b in ((at(t, 0), at(t, 1)), (at(0, t), at(1, t))):
            ax.plot([a[0], b[0]], [a[1], b[1]], color="#d62728", lw=2.0, zorder=2 * level + 1)
    x, y = at(1, 0.5)
    ax.text(x + 0.12, y, label, va="center", fontsize=9)


def roadmap_figure() -> Figure:
    """Where the course goes: ViT's single-scale tokens beside Swin's hierarchy of stages.

    ViT-B/16 keeps 14x14 tokens (16x downsampling) in every layer and attends globally (one red
    window covers the map); Swin-T starts at 56x56 tokens (4x), attends inside local windows (red)
    and merges patches between stages: 56 -> 28 -> 14 -> 7 tokens, 96 -> 768 channels.
    Grids are drawn schematically (16, 8, 4, 2 cells across, windows of 2x2 cells: 64, 16, 4, 1
    windows as in Swin-T with M=7); the labels give the real sizes.
    """
    fig, (ax_vit, ax_swin) = new_figure(1, 2, size=(5.2, 4.6))
    vit_color, swin_colors = "#c6dbef", ["#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d"]
    for level in range(4):
        label = "14×14 tokens, C=768" if level < 3 else "14×14 tokens, C=768\n(every layer: 16×)"
        _draw_plane(ax_vit, level, cells=4, window_cells=4, color=vit_color, label=label)
    stages = [(56, 96, 4), (28, 192, 8), (14, 384, 16), (7, 768, 32)]
    for level, (side, channels, down) in enumerate(stages):
        cells = 16 >> level
        _draw_plane(ax_swin, level, cells=cells, window_cells=2, color=swin_colors[level],
                    label=f"stage {level + 1}: {side}×{side} tokens\nC={channels} ({down}×)")
    ax_vit.set_title("ViT: one scale, global attention\n(cost quadratic in tokens)", fontsize=11)
    ax_swin.set_title("Swin: a hierarchy, attention in local windows\n(cost linear in tokens)", fontsize=11)
    for ax in (ax_vit, ax_swin):
        ax.set_xlim(-0.1, 2.75)
        ax.set_ylim(-0.15, 0.62 * 3 + 0.5)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.annotate("", xy=(-0.05, 0.62 * 3 + 0.15), xytext=(-0.05, 0.1),
                    arrowprops={"arrowstyle": "->", "color": "0.4"})
    ax_swin.text(-0.08, 0.62 * 1.5 + 0.15, "patch merging", rotation=90, ha="right", va="center",
                 fontsize=9, color="0.3")
    ax_vit.text(-0.08, 0.62 * 1.5 + 0.15, "layers", rotation=90, ha="right", va="center",
                fontsize=9, color="0.3")
    return fig


def attention_cost(img_size: int = 224, patch_sizes: tuple[int, ...] = (16, 4)) -> tuple[Figure, dict]:
    """Global self-attention's cost as the image grows: tokens ``N = (img/P)^2``, matrix ``N x N``.

    Draws the attention matrix size (entries, log-log) against the image side for each patch size,
    marks ``img_size``; ``state`` holds the token counts and matrix entries at ``img_size`` by ``P``.
    """
    sides = np.arange(32, 1025, 16)
    fig, ax = new_figure(size=(6.0, 4.0))
    tokens, entries = {}, {}
    for p in patch_sizes:
        n = (sides // p) ** 2
        line, = ax.loglog(sides, n.astype(float) ** 2, label=f"patch P={p}")
        tokens[p] = (img_size // p) ** 2
        entries[p] = tokens[p] ** 2
        ax.plot([img_size], [entries[p]], "o", color=line.get_color())
        ax.annotate(f"{tokens[p]:,} tokens\n{entries[p]:,} entries", (img_size, entries[p]),
                    textcoords="offset points", xytext=(8, -4), fontsize=8, va="top")
    ax.axvline(img_size, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("image side (pixels)")
    ax.set_ylabel("attention matrix entries N² (per head, per layer)")
    ax.set_title(f"Global attention at {img_size}×{img_size}: N = (side/P)², cost ∝ N²")
    ax.legend(loc="upper left")
    return fig, {"img_size": img_size, "tokens": tokens, "attention_entries": entries}


# ---- lesson 01: patches ----------------------------------------------------------------------

def explode_patches(image: np.ndarray, patch_size: int, gap: int = 1) -> np.ndarray:
    """The image with a white gap of ``gap`` pixels between its patches, so each patch reads as a tile.

    ``(H, W, 3) -> (H/P*(P+gap) - gap, W/P*(P+gap) - gap, 3)``.
    """
    from einops import rearrange

    tiles = rearrange(image, "(h p1) (w p2) c -> h w p1 p2 c", p1=patch_size, p2=patch_size)
    tiles = np.pad(tiles, ((0, 0), (0, 0), (0, gap), (0, gap), (0, 0)), constant_values=1.0)
    out = rearrange(tiles, "h w p1 p2 c -> (h p1) (w p2) c")
    return out[: out.shape[0] - gap, : out.shape[1] - gap] if gap else out


def draw_patches(image: np.ndarray, patch_size: int) -> tuple[Figure, dict]:
    """The photo with its patch grid (left) and cut into ``H/P x W/P`` separate patches (right).

    ``image``: ``(H, W, 3)`` floats in [0, 1]; H and W divisible by ``patch_size``.
    ``state``: patch size, token grid ``(H/P, W/P)``, number of tokens, values per token ``P*P*3``.
    """
    from ._utils import check_divisible, pair

    P = pair(patch_size, "patch_size")[0]
    H, W, C = image.shape
    check_divisible("H", H, P, "patch", "P")
    check_divisible("W", W, P, "patch", "P")
    h, w = H // P, W // P
    fig, (ax_img, ax_tiles) = new_figure(1, 2, size=(3.0, 3.2))
    ax_img.imshow(image, extent=(0, W, H, 0))
    lw = 0.4 if max(h, w) > 32 else 0.8
    for k in range(1, h):
        ax_img.axhline(k * P, color="white", lw=lw)
    for k in range(1, w):
        ax_img.axvline(k * P, color="white", lw=lw)
    ax_img.set_title(f"{H}×{W} image\npatch P={P}", fontsize=10)
    gap = max(1, P // 8)
    ax_tiles.imshow(explode_patches(image, P, gap))
    ax_tiles.set_title(f"{h}×{w} = {h * w} tokens\neach P·P·{C} = {P * P * C} values", fontsize=10)
    for ax in (ax_img, ax_tiles):
        ax.set_xticks([])
        ax.set_yticks([])
    state = {"patch_size": P, "grid": (h, w), "num_tokens": h * w, "token_dim": P * P * C}
    return fig, state


# ---- lesson 02: local windows ----------------------------------------------------------------

def window_ids(H: int, W: int, window_size: int | tuple[int, int]) -> np.ndarray:
    """For every token of an ``H x W`` grid, the index of its window: ``(H, W)`` ints.

    Windows are numbered row-major, as :func:`swinlab.windows.window_partition` stacks them
    (window ``i`` of an image is row ``i`` of its windows in the batch).
    """
    from ._utils import pair
    from .windows import num_windows

    num_windows(H, W, window_size)  # raises a ValueError naming the sizes and the fix
    mh, mw = pair(window_size, "window_size")
    rows, cols = np.arange(H)[:, None] // mh, np.arange(W)[None, :] // mw
    return rows * (W // mw) + cols


def draw_windows(H: int, W: int, window_size: int | tuple[int, int],
                 image: np.ndarray | None = None) -> tuple[Figure, dict]:
    """The ``H x W`` token grid cut into windows, one colour per window (left), and which token pairs
    attend to each other (right: the ``(HW, HW)`` attention pattern, tokens in the order
    :func:`swinlab.windows.window_partition` stacks them, so each window is one diagonal block).

    ``image`` (optional, ``(H', W', 3)``) is drawn under the grid. ``state``: grid, window size,
    number of windows ``nW``, tokens per window ``Mh*Mw``, attention pairs computed by windows
    ``nW*(Mh*Mw)^2`` and by global attention ``(HW)^2``.
    """
    from ._utils import pair

    ids = window_ids(H, W, window_size)
    mh, mw = pair(window_size, "window_size")
    n_windows = int(ids.max()) + 1
    colors = token_colors(n_windows)
    fig, (ax_grid, ax_pairs) = new_figure(1, 2, size=(3.6, 3.9))

    if image is not None:
        ax_grid.imshow(image, extent=(0, W, H, 0))
    ax_grid.imshow(colors[ids][..., :3], extent=(0, W, H, 0), alpha=0.45 if image is not None else 0.9)
    if max(H, W) <= 64:
        for k in range(1, H):
            ax_grid.axhline(k, color="white", lw=0.3)
        for k in range(1, W):
            ax_grid.axvline(k, color="white", lw=0.3)
    for k in range(0, H + 1, mh):
        ax_grid.axhline(k, color="black", lw=1.5 if mh > 1 else 0.5)
    for k in range(0, W + 1, mw):
        ax_grid.axvline(k, color="black", lw=1.5 if mw > 1 else 0.5)
    for i in range(H // mh):
        for j in range(W // mw):
            if n_windows <= 64:
                ax_grid.text(j * mw + mw / 2, i * mh + mh / 2, str(i * (W // mw) + j), ha="center",
                             va="center", fontsize=8 if n_windows > 16 else 11, color="black",
                             bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0})
    ax_grid.set_xlim(0, W)
    ax_grid.set_ylim(H, 0)
    ax_grid.set_title(f"{H}×{W} tokens, window M={mh if mh == mw else (mh, mw)}: {n_windows} windows")

    order = np.sort(ids.reshape(-1), kind="stable")         # window of each token, in window order
    same = order[:, None] == order[None, :]                 # (HW, HW): do tokens i and j share a window?
    rgb = (colors[:, :3] * 255).astype(np.uint8)
    pattern = np.where(same[..., None], rgb[order][:, None, :], np.uint8(255))
    ax_pairs.imshow(pattern, interpolation="nearest")
    computed, total = n_windows * (mh * mw) ** 2, (H * W) ** 2
    ax_pairs.set_title(f"pairs attended: nW·(M²)² = {computed:,}\nof (hw)² = {total:,} ({100 * computed / total:.1f}%)")
    ax_pairs.set_xlabel("key token (window by window)")
    ax_pairs.set_ylabel("query token (window by window)")
    ax_grid.set_xticks([])
    ax_grid.set_yticks([])
    state = {"grid": (H, W), "window_size": (mh, mw), "num_windows": n_windows,
             "tokens_per_window": mh * mw, "pairs_computed": computed, "pairs_global": total}
    return fig, state


# ---- lesson 03: complexity -------------------------------------------------------------------


def msa_wmsa_costs(h: int, w: int, C: int, M: int) -> tuple[Figure, dict]:
    """Both costs of the paper's Eq. 1 and 2 for an ``h x w`` map of ``C`` channels and ``M x M`` windows.

    Left: MSA and W-MSA as stacked bars (projections 4hwC², then QKᵀ + AV), in multiply-accumulates.
    Right: both costs against the number of tokens ``hw`` (log-log), the current map marked.
    Returns ``(fig, state)``; ``state`` holds the sizes, both totals, their terms and the ratio.
    """
    from .complexity import msa_terms, wmsa_terms

    ms, ws = msa_terms(h, w, C), wmsa_terms(h, w, C, M)
    msa, wmsa = sum(ms.values()), sum(ws.values())
    n = h * w
    fig, (ax0, ax1) = new_figure(1, 2, size=(4.6, 3.6))
    proj = np.array([ms["qkv"] + ms["proj"], ws["qkv"] + ws["proj"]]) / 1e6
    attn = np.array([ms["qk"] + ms["av"], ws["qk"] + ws["av"]]) / 1e6
    labels = ["MSA\n(global)", f"W-MSA\n(M={M})"]
    ax0.bar(labels, proj, color="#8da0cb", label="4hwC²  (q, k, v + projection)")
    ax0.bar(labels, attn, bottom=proj, color="#fc8d62", label="QKᵀ + AV  (2(hw)²C or 2M²hwC)")
    for i, total in enumerate((msa, wmsa)):
        ax0.annotate(f"{total / 1e6:,.1f}M", (i, total / 1e6), ha="center", va="bottom", fontsize=9)
    ax0.set_ylabel("multiply-accumulates (millions)")
    ax0.set_ylim(0, 1.18 * max(msa, wmsa) / 1e6)
    ax0.legend(fontsize=7, loc="upper right")
    ratio = msa / wmsa
    ax0.set_title(f"h={h}, w={w}, C={C}, M={M}: MSA / W-MSA = {ratio:.2f}×", fontsize=9)
    tokens = np.unique(np.geomspace(1, max(16 * n, 4096), 200).astype(np.int64))
    ax1.loglog(tokens, [sum(msa_terms(int(t), 1, C).values()) for t in tokens], color="#d95f02",
               label="MSA: 4nC² + 2n²C")
    ax1.loglog(tokens, [sum(wmsa_terms(int(t), 1, C, M).values()) for t in tokens], color="#1b9e77",
               label="W-MSA: 4nC² + 2M²nC")
    ax1.plot([n, n], [wmsa, msa], "o", color="k", ms=4)
    ax1.axvline(n, color="0.6", lw=0.8, ls=":")
    ax1.set_xlabel("tokens n = hw")
    ax1.set_ylabel("multiply-accumulates")
    ax1.set_title(f"cost against tokens (C={C}, M={M})", fontsize=9)
    ax1.legend(fontsize=7)
    note = " (M is larger than the map: one window is the whole map)" if M > min(h, w) else ""
    if note:
        fig.suptitle(note.strip(" ()"), fontsize=8, color="#b2182b")
    state = {"h": h, "w": w, "C": C, "M": M, "tokens": n, "msa": msa, "wmsa": wmsa, "ratio": ratio,
             "msa_terms": ms, "wmsa_terms": ws, "window_larger_than_map": bool(note)}
    return fig, state


def msa_wmsa_timing(tokens, seconds: dict, fit_from: int | None = None, slopes: dict | None = None) -> Figure:
    """Measured seconds per call against the number of tokens, on log-log axes.

    ``tokens (n,)``; ``seconds``: name -> ``(n,)`` times; ``fit_from``: the smallest token count used in
    the fits (shaded region excluded); ``slopes``: name -> fitted exponent, drawn as a line through the
    fitted points and written in the legend. Returns the Figure.
    """
    tokens = np.asarray(tokens, dtype=float)
    fig, ax = new_figure(1, 1, size=(5.5, 4.0))
    colors = ["#d95f02", "#1b9e77", "#7570b3", "#e7298a"]
    for (name, ts), color in zip(seconds.items(), colors, strict=False):
        ts = np.asarray(ts, dtype=float)
        label = name
        if slopes and name in slopes:
            label += f"  (slope {slopes[name]:.2f})"
            keep = tokens >= (fit_from or 0)
            if keep.sum() >= 2:
                p, c = np.polyfit(np.log(tokens[keep]), np.log(ts[keep]), 1)
                ax.loglog(tokens[keep], np.exp(c) * tokens[keep] ** p, color=color, lw=1, ls="--")
        ax.loglog(tokens, ts, "o-", color=color, label=label, ms=4, lw=1.5)
    if fit_from:
        ax.axvspan(tokens.min() / 1.2, fit_from / 1.1, color="0.92", zorder=0)
        ax.text(tokens.min(), ax.get_ylim()[1], " not fitted", va="top", fontsize=8, color="0.4")
    ax.set_xlabel("tokens n = hw")
    ax.set_ylabel("seconds per call (fastest run)")
    ax.set_title("measured time: global attention vs windows", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", color="0.9", lw=0.5)
    return fig


# ---- lesson 04: relative position ------------------------------------------------------------


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
        ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white")


def relative_index_steps(window_size: int | tuple[int, int] = 3) -> Figure:
    """The relative position index built step by step for one window, as six ``(M², M²)`` heatmaps.

    Top row: row offsets ``dy``, shifted by ``Mh-1``, multiplied by ``2Mw-1``. Bottom row: column
    offsets ``dx``, shifted by ``Mw-1``, and the index = the two shifted axes summed. Returns the Figure.
    """
    from ._utils import pair
    from .relative_position import relative_coordinates, relative_position_index

    mh, mw = pair(window_size, "window_size")
    dy, dx = relative_coordinates((mh, mw))
    sy, sx = dy + (mh - 1), dx + (mw - 1)
    fig, axes = new_figure(2, 3, size=(3.4, 3.4))
    _matrix_panel(axes[0, 0], dy, "dy = row(i) − row(j)")
    _matrix_panel(axes[0, 1], sy, f"dy + (Mh−1) = dy + {mh - 1}", cmap="viridis")
    _matrix_panel(axes[0, 2], sy * (2 * mw - 1), f"(dy + {mh - 1}) · {2 * mw - 1}   [2Mw−1 = {2 * mw - 1}]",
                  cmap="viridis")
    _matrix_panel(axes[1, 0], dx, "dx = col(i) − col(j)")
    _matrix_panel(axes[1, 1], sx, f"dx + (Mw−1) = dx + {mw - 1}", cmap="viridis")
    _matrix_panel(axes[1, 2], relative_position_index((mh, mw)), "index = top right + middle", cmap="viridis")
    fig.suptitle(f"relative position index, window {mh}×{mw}: {(2 * mh - 1) * (2 * mw - 1)} different values",
                 fontsize=10)
    return fig


def demo_bias_table(window_size: int | tuple[int, int] = 3) -> np.ndarray:
    """A readable stand-in for a learned table: ``((2Mh-1)*(2Mw-1), 3)`` float, one column per head.

    Entry ``t`` holds offset ``(dy, dx)`` = query minus key (the index's order). Head 0 favours near
    keys (minus the distance), head 1 keys to the right of the query, head 2 keys below it.
    """
    from ._utils import pair

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
    from ._utils import pair

    mh, mw = pair(window_size, "window_size")
    t = table.detach().cpu().numpy() if hasattr(table, "detach") else np.asarray(table)
    if t.ndim != 2 or t.shape[0] != (2 * mh - 1) * (2 * mw - 1):
        raise ValueError(f"table must be ((2Mh-1)*(2Mw-1), heads) = ({(2 * mh - 1) * (2 * mw - 1)}, heads) for "
                         f"window {mh}x{mw}, got shape {t.shape}")
    heads = t.shape[1]
    fig, axes = new_figure(1, heads, size=(3.0, 3.2))
    axes = np.atleast_1d(axes)
    for k, ax in enumerate(axes):
        img = _table_image(t, mh, mw, k)
        im = ax.imshow(img, cmap="magma", extent=(-(mw - 1) - .5, mw - 1 + .5, mh - 1 + .5, -(mh - 1) - .5))
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

    from ._utils import pair
    from .relative_position import relative_position_bias, relative_position_index

    mh, mw = pair(window_size, "window_size")
    t = torch.as_tensor(np.asarray(table.detach().cpu() if hasattr(table, "detach") else table), dtype=torch.float32)
    if t.dim() != 2 or t.shape[0] != (2 * mh - 1) * (2 * mw - 1):
        raise ValueError(f"table must be ((2Mh-1)*(2Mw-1), heads) = ({(2 * mh - 1) * (2 * mw - 1)}, heads) for "
                         f"window {mh}x{mw}, got shape {tuple(t.shape)}")
    bias = relative_position_bias(t, relative_position_index((mh, mw))).numpy()      # heads, N, N
    fig, axes = new_figure(1, bias.shape[0], size=(3.2, 3.3))
    for k, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(bias[k], cmap="magma")
        for edge in range(mw, mh * mw, mw):
            ax.axhline(edge - .5, color="white", lw=0.4)
            ax.axvline(edge - .5, color="white", lw=0.4)
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

    from .relative_position import relative_position_bias, relative_position_index

    if isinstance(M, bool) or not isinstance(M, int) or M < 1:
        raise ValueError(f"M must be a positive int, got {M!r}")
    t = demo_bias_table(M) if table is None else np.asarray(table.detach().cpu() if hasattr(table, "detach")
                                                            else table)
    query = int(min(max(query, 0), M * M - 1))
    head = int(min(max(head, 0), t.shape[1] - 1))
    qr, qc = divmod(query, M)
    index = relative_position_index(M)
    bias = relative_position_bias(torch.as_tensor(t, dtype=torch.float32), index)        # heads, M², M²
    row = bias[head, query].reshape(M, M).numpy()
    index_row = index[query].reshape(M, M).numpy()
    img = _table_image(t, M, M, head)
    top, left = M - 1 - qr, M - 1 - qc                      # where this query's keys land in the drawn table
    lo, hi = float(t[:, head].min()), float(t[:, head].max())

    fig, (ax0, ax1, ax2) = new_figure(1, 3, size=(3.5, 3.6))
    grid = np.zeros((M, M))
    grid[qr, qc] = 1
    ax0.imshow(grid, cmap="Blues", vmin=0, vmax=1.6)
    for (r, c), _ in np.ndenumerate(grid):
        ax0.text(c, r, str(r * M + c), ha="center", va="center", fontsize=8 if M <= 6 else 6)
    ax0.set_title(f"window {M}×{M}: query {query} = (row {qr}, col {qc})", fontsize=9)
    ax1.imshow(img, cmap="magma", vmin=lo, vmax=hi)
    ax1.add_patch(Rectangle((left - .5, top - .5), M, M, fill=False, ec="cyan", lw=2.5))
    ax1.plot(M - 1, M - 1, "+", color="cyan", ms=10, mew=2)
    ax1.set_title(f"head {head} table {2 * M - 1}×{2 * M - 1}: block read by query {query}", fontsize=9)
    ax2.imshow(row, cmap="magma", vmin=lo, vmax=hi)
    ax2.add_patch(Rectangle((qc - .5, qr - .5), 1, 1, fill=False, ec="cyan", lw=2))
    if M <= 5:
        _annotate_cells(ax2, row, "magma", [f"#{v}" for v in index_row.ravel()], fontsize=8, vmin=lo, vmax=hi)
    ax2.set_title(f"bias row {query} on the window (table entries #)", fontsize=9)
    for ax in (ax0, ax1, ax2):
        ax.set_xticks([])
        ax.set_yticks([])
    state = {"M": M, "query": query, "head": head, "query_rc": (qr, qc), "index_row": index_row.tolist(),
             "bias_row": row.tolist(), "table_block": (top, left)}
    return fig, state


# ---- lesson 05: shifted windows --------------------------------------------------------------


def _grid_lines(ax, n_rows: int, n_cols: int, step: float = 1.0, every: int = 1, **style) -> None:
    """Lines between cells of an ``n_rows x n_cols`` grid drawn with ``imshow`` (cell ``step`` pixels)."""
    for r in range(0, n_rows + 1, every):
        ax.axhline(r * step - 0.5, **style)
    for c in range(0, n_cols + 1, every):
        ax.axvline(c * step - 0.5, **style)


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def draw_cyclic_shift(H: int = 4, W: int = 4, window_size: int = 2, shift: int = 1) -> Figure:
    """A small labelled ``H x W`` grid before and after ``torch.roll(x, (-s, -s), (1, 2))``.

    Tokens are numbered ``row * W + col`` before the shift and coloured by the region (0..8) they
    fall into after it; the thick lines are the ``M x M`` windows the rolled grid is cut into.
    """
    import torch

    from .shift import cyclic_shift, shift_regions

    ids = torch.arange(H * W).reshape(1, H, W, 1)
    rolled = cyclic_shift(ids, shift)[0, :, :, 0]
    regions = shift_regions(H, W, window_size, shift)
    # the region of each token in its original place: roll the label map back
    regions_before = torch.roll(regions, shifts=(shift, shift), dims=(0, 1))
    colors = token_colors(9, "Pastel1")
    fig, axes = new_figure(1, 2, size=(3.2, 3.4))
    for ax, grid, reg, title in ((axes[0], ids[0, :, :, 0], regions_before, "before the shift"),
                                 (axes[1], rolled, regions, f"after torch.roll by -{shift} (rows and cols)")):
        ax.imshow(colors[reg.numpy()])
        for r in range(H):
            for c in range(W):
                ax.text(c, r, f"{int(grid[r, c])}", ha="center", va="center", fontsize=10)
        _grid_lines(ax, H, W, color="white", lw=1)
        ax.set_title(title, fontsize=9)
        _bare(ax)
    _grid_lines(axes[1], H, W, every=window_size, color="black", lw=2.5)
    fig.suptitle(f"cyclic shift: {H}x{W} tokens, window M={window_size}, shift s={shift} "
                 "(colour = region after the shift)", fontsize=9)
    return fig


def draw_shifted_windows(shift: int = 2, window: int = 3, grid: int = 8, window_size: int = 4,
                         patch_px: int = 16) -> tuple[Figure, dict]:
    """The lesson photo as a ``grid x grid`` token map: shifted windows, regions and one window's mask.

    Left: the photo with the shifted window grid (thick, uneven pieces) over the tokens (thin).
    Middle: the photo rolled by ``shift`` tokens, cut into regular ``M x M`` windows, each token labelled
    with its region; the selected ``window`` outlined in red. Right: that window's ``(M², M²)`` mask
    (white 0, black -100). Returns ``(fig, state)``.
    """
    import torch

    from .shift import MASK_VALUE, cyclic_shift, shift_mask, shift_regions, shifted_window_bounds
    from .windows import window_partition

    M, s = window_size, shift
    n_windows = (grid // M) ** 2
    if not 0 <= window < n_windows:
        raise ValueError(f"window={window} is out of range: a {grid}x{grid} grid has {n_windows} windows of "
                         f"{M}x{M} (0..{n_windows - 1})")
    px = grid * patch_px
    photo = torch.from_numpy(sample_photo(px))                       # px, px, 3
    rolled = cyclic_shift(photo[None], s * patch_px)[0]              # rolled by s tokens
    regions = shift_regions(grid, grid, M, s) if s else torch.zeros(grid, grid, dtype=torch.long)
    mask = shift_mask(grid, grid, M, s)
    window_mask = mask[window] if mask is not None else torch.zeros(M * M, M * M)
    window_regions = window_partition(regions[None, :, :, None], M).reshape(-1, M * M)[window]
    bounds = shifted_window_bounds(grid, M, s)
    colors = token_colors(9, "tab10")

    fig, axes = new_figure(1, 3, size=(3.0, 3.2))
    ax = axes[0]
    ax.imshow(photo.numpy(), interpolation="nearest")
    _grid_lines(ax, grid, grid, step=patch_px, color="white", lw=0.5, alpha=0.6)
    for start, _ in bounds[1:]:
        ax.axhline(start * patch_px - 0.5, color="yellow", lw=2.5)
        ax.axvline(start * patch_px - 0.5, color="yellow", lw=2.5)
    ax.set_title(f"shifted windows on the image:\n{len(bounds)}x{len(bounds)} = {len(bounds) ** 2} pieces "
                 "of uneven size", fontsize=9)
    _bare(ax)

    ax = axes[1]
    ax.imshow(rolled.numpy(), interpolation="nearest")
    overlay = np.kron(colors[regions.numpy()][:, :, :3], np.ones((patch_px, patch_px, 1)))
    ax.imshow(np.concatenate([overlay, np.full((px, px, 1), 0.35)], axis=-1), interpolation="nearest")
    for r in range(grid):
        for c in range(grid):
            ax.text((c + 0.5) * patch_px, (r + 0.5) * patch_px, str(int(regions[r, c])), ha="center",
                    va="center", fontsize=7, color="white", fontweight="bold")
    _grid_lines(ax, grid, grid, step=patch_px, every=M, color="black", lw=2)
    wr, wc = divmod(window, grid // M)
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((wc * M * patch_px - 0.5, wr * M * patch_px - 0.5), M * patch_px, M * patch_px,
                           fill=False, edgecolor="red", lw=4, zorder=5))
    ax.set_title(f"rolled by s={s}: {n_windows} regular windows,\nnumbers = regions (window {window} in red)",
                 fontsize=9)
    _bare(ax)

    ax = axes[2]
    ax.imshow(window_mask.numpy(), cmap="gray", vmin=MASK_VALUE, vmax=0)
    ticks = list(range(M * M))
    labels = [str(int(r)) for r in window_regions]
    ax.set_xticks(ticks, labels, fontsize=6)
    ax.set_yticks(ticks, labels, fontsize=6)
    ax.set_xlabel("key token (its region)", fontsize=8)
    ax.set_ylabel("query token (its region)", fontsize=8)
    masked = int((window_mask == MASK_VALUE).sum())
    ax.set_title(f"mask of window {window}: {M * M}x{M * M}\n{masked} of {M ** 4} pairs set to {MASK_VALUE:g}",
                 fontsize=9)
    state = {"shift": s, "window": window, "window_size": M, "grid": grid, "num_windows": n_windows,
             "pieces": len(bounds) ** 2, "regions_in_window": sorted({int(r) for r in window_regions}),
             "masked_pairs": masked, "mask": window_mask.clone()}
    return fig, state


def draw_padded_vs_cyclic(H: int = 8, W: int = 8, window_size: int = 4, shift: int = 2) -> Figure:
    """The two ways to attend over shifted windows, side by side.

    Left: the naive partition of the map into ``(H/M+1) x (W/M+1)`` uneven windows, one colour each.
    Right: the map rolled by ``shift`` and cut into ``(H/M) x (W/M)`` regular windows; a token keeps
    its colour, so a regular window at the border holds pieces of several naive windows (the mask
    keeps them apart).
    """
    import torch

    from .shift import cyclic_shift, shifted_window_bounds

    rows, cols = shifted_window_bounds(H, window_size, shift), shifted_window_bounds(W, window_size, shift)
    piece = torch.zeros(H, W, dtype=torch.long)
    for i, (top, bottom) in enumerate(rows):
        for j, (left, right) in enumerate(cols):
            piece[top:bottom, left:right] = i * len(cols) + j
    rolled = cyclic_shift(piece[None, :, :, None], shift)[0, :, :, 0]
    colors = token_colors(len(rows) * len(cols), "tab20")
    fig, axes = new_figure(1, 2, size=(3.4, 3.6))
    for ax, grid, title in (
            (axes[0], piece, f"naive: {len(rows)}x{len(cols)} = {len(rows) * len(cols)} windows of uneven size"),
            (axes[1], rolled, f"cyclic shift: {H // window_size}x{W // window_size} = "
                              f"{(H // window_size) * (W // window_size)} windows of {window_size}x{window_size}")):
        ax.imshow(colors[grid.numpy()])
        for r in range(H):
            for c in range(W):
                ax.text(c, r, str(int(grid[r, c])), ha="center", va="center", fontsize=7)
        _grid_lines(ax, H, W, color="white", lw=0.8)
        ax.set_title(title, fontsize=9)
        _bare(ax)
    for start, _ in rows[1:]:
        axes[0].axhline(start - 0.5, color="black", lw=2.5)
    for start, _ in cols[1:]:
        axes[0].axvline(start - 0.5, color="black", lw=2.5)
    for r in range(0, H + 1, window_size):
        axes[1].axhline(r - 0.5, color="black", lw=2.5)
    for c in range(0, W + 1, window_size):
        axes[1].axvline(c - 0.5, color="black", lw=2.5)
    fig.suptitle(f"{H}x{W} tokens, M={window_size}, s={shift}: numbers = naive window of each token", fontsize=9)
    return fig


# ---- lesson 06: patch merging ----------------------------------------------------------------

#: colours of the four channel groups x0..x3 of patch merging
MERGE_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52")


def _merge_group(r: int, c: int) -> int:
    """The channel group of pixel (r, c): x0 even/even, x1 odd row/even col, x2 even row/odd col, x3 odd/odd."""
    return (r % 2) + 2 * (c % 2)


def draw_patch_merging(H: int = 4, W: int = 4, C: int = 3) -> Figure:
    """Where every token of an ``H x W`` grid goes in patch merging.

    Left: the grid, each token coloured by its channel group (x0..x3) and named by its (row, col).
    Middle: the ``H/2 x W/2`` merged grid, each token listing the four tokens it holds, in channel order.
    Right: one merged token's ``4C`` channels (x0|x1|x2|x3), LayerNorm(4C), then Linear(4C -> 2C).
    """
    from matplotlib.patches import FancyArrowPatch, Rectangle

    fig, axes = new_figure(1, 3, size=(3.4, 3.4))
    ax = axes[0]
    for r in range(H):
        for c in range(W):
            g = _merge_group(r, c)
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor=MERGE_COLORS[g], edgecolor="white", lw=1))
            ax.text(c + 0.5, r + 0.5, f"({r},{c})\nx{g}", ha="center", va="center", fontsize=8, color="white")
    for r in range(0, H + 1, 2):
        ax.plot([0, W], [r, r], color="black", lw=2.5)
    for c in range(0, W + 1, 2):
        ax.plot([c, c], [0, H], color="black", lw=2.5)
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)
    ax.set_aspect("equal")
    ax.set_title(f"{H}x{W} tokens, C={C} channels each\n(thick: the 2x2 groups that merge)", fontsize=9)
    _bare(ax)

    ax = axes[1]
    for r in range(H // 2):
        for c in range(W // 2):
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor="#eeeeee", edgecolor="black", lw=2))
            src = [(2 * r, 2 * c), (2 * r + 1, 2 * c), (2 * r, 2 * c + 1), (2 * r + 1, 2 * c + 1)]
            for g, (sr, sc) in enumerate(src):
                ax.text(c + 0.5, r + 0.2 + 0.2 * g, f"x{g}: ({sr},{sc})", ha="center", va="center",
                        fontsize=7.5, color=MERGE_COLORS[g], fontweight="bold")
    ax.set_xlim(0, W // 2)
    ax.set_ylim(H // 2, 0)
    ax.set_aspect("equal")
    ax.set_title(f"merged: {H // 2}x{W // 2} tokens, 4C={4 * C} channels\n(concatenated x0, x1, x2, x3)",
                 fontsize=9)
    _bare(ax)

    ax = axes[2]
    ax.set_xlim(0, 10)
    ax.set_ylim(4 * C + 1, -1)
    for g in range(4):
        ax.add_patch(Rectangle((0.5, g * C), 2, C, facecolor=MERGE_COLORS[g], edgecolor="white"))
        ax.text(1.5, g * C + C / 2, f"x{g}\n{C} ch", ha="center", va="center", fontsize=8, color="white")
    ax.add_patch(Rectangle((3.8, 0), 2, 4 * C, facecolor="#bbbbbb", edgecolor="black"))
    ax.text(4.8, 2 * C, f"Layer\nNorm\n({4 * C})", ha="center", va="center", fontsize=8)
    ax.add_patch(Rectangle((7.2, C), 2, 2 * C, facecolor="#8172B3", edgecolor="black"))
    ax.text(8.2, 2 * C, f"2C\n= {2 * C} ch", ha="center", va="center", fontsize=8, color="white")
    for x0, x1 in ((2.6, 3.7), (5.9, 7.1)):
        ax.add_patch(FancyArrowPatch((x0, 2 * C), (x1, 2 * C), arrowstyle="->", mutation_scale=14))
    ax.text(6.5, 2 * C - 0.6, "Linear\n4C→2C\nno bias", ha="center", va="bottom", fontsize=7)
    ax.set_title("one merged token: norm, then reduction", fontsize=9)
    ax.axis("off")
    return fig


def swin_stage_shapes(img_size: int = 224, patch_size: int = 4, embed_dim: int = 96,
                      num_stages: int = 4) -> list[dict]:
    """Grid, channels and pixels per token of every stage: ``[{"stage", "grid", "channels", "tokens", "px"}]``.

    Stage 1 is the patch embedding's grid ``img/P``; each later stage halves the grid (patch merging)
    and doubles the channels. ``px`` is the side of the image square one token stands for: ``P * 2**(i-1)``.
    """
    rows = []
    for i in range(num_stages):
        grid = img_size // patch_size // 2 ** i
        rows.append({"stage": i + 1, "grid": grid, "channels": embed_dim * 2 ** i, "tokens": grid * grid,
                     "px": patch_size * 2 ** i})
    return rows


def draw_swin_stages(img_size: int = 224, patch_size: int = 4, embed_dim: int = 96) -> Figure:
    """The hierarchy of Swin-T: the image, then the token grid of each of the four stages.

    Every grid covers the same image; the red square is one token of that stage.
    """
    from matplotlib.patches import Rectangle

    stages = swin_stage_shapes(img_size, patch_size, embed_dim)
    fig, axes = new_figure(1, 5, size=(2.4, 2.8))
    axes[0].imshow(sample_photo(img_size))
    axes[0].set_title(f"image {img_size}x{img_size}x3", fontsize=9)
    _bare(axes[0])
    colors = token_colors(4, "tab10")
    for ax, st in zip(axes[1:], stages, strict=True):
        g = st["grid"]
        ax.add_patch(Rectangle((0, 0), g, g, facecolor=colors[st["stage"] - 1], alpha=0.25))
        for k in range(g + 1):
            ax.plot([0, g], [k, k], color="black", lw=0.3)
            ax.plot([k, k], [0, g], color="black", lw=0.3)
        ax.add_patch(Rectangle((0, 0), 1, 1, facecolor="red"))
        ax.set_xlim(0, g)
        ax.set_ylim(g, 0)
        ax.set_aspect("equal")
        merge = "patch embed" if st["stage"] == 1 else "after merging"
        ax.set_title(f"stage {st['stage']} ({merge})\n{g}x{g}x{st['channels']}\n"
                     f"{st['tokens']} tokens, 1 token = {st['px']} px", fontsize=8)
        _bare(ax)
    return fig


def draw_receptive_field(stage: int = 1, img_size: int = 224, patch_size: int = 4,
                         point: tuple[float, float] = (0.33, 0.45)) -> tuple[Figure, dict]:
    """What one token of ``stage`` stands for in the input image. Returns ``(fig, state)``.

    Left: the photo with the stage's token grid and, in red, the token that holds the pixel at
    ``point`` (fractions of height and width). Right: that token's square of pixels, enlarged.
    """
    from matplotlib.patches import Rectangle

    stages = swin_stage_shapes(img_size, patch_size)
    if not 1 <= stage <= len(stages):
        raise ValueError(f"stage={stage} is out of range: Swin has stages 1..{len(stages)}")
    st = stages[stage - 1]
    px, grid = st["px"], st["grid"]
    photo = sample_photo(img_size)
    row, col = int(point[0] * img_size) // px, int(point[1] * img_size) // px
    fig, axes = new_figure(1, 2, size=(3.2, 3.4))
    ax = axes[0]
    ax.imshow(photo, interpolation="nearest")
    _grid_lines(ax, grid, grid, step=px, color="white", lw=0.3 if grid > 28 else 0.6, alpha=0.7)
    ax.add_patch(Rectangle((col * px - 0.5, row * px - 0.5), px, px, fill=False, edgecolor="red", lw=2))
    ax.set_title(f"stage {stage}: {grid}x{grid} tokens, {st['channels']} channels", fontsize=9)
    _bare(ax)
    ax = axes[1]
    ax.imshow(photo[row * px:(row + 1) * px, col * px:(col + 1) * px], interpolation="nearest")
    ax.set_title(f"token ({row}, {col}) stands for {px}x{px} = {px * px} px\n"
                 f"({4 ** (stage - 1)} patches of {patch_size}x{patch_size})", fontsize=9)
    _bare(ax)
    state = {"stage": stage, "grid": grid, "channels": st["channels"], "px": px, "token": (row, col),
             "pixels": px * px}
    return fig, state


# ---- lesson 07: the Swin Transformer ---------------------------------------------------------


def token_dependencies(blocks: int, shift: bool = True, grid: int = 16, window_size: int = 4,
                    token: tuple[int, int] = (5, 5), dim: int = 8, num_heads: int = 2, seed: int = 0):
    """Which input tokens one output token depends on after ``blocks`` Swin blocks: ``(grid, grid)`` bool.

    Stacks ``blocks`` :class:`swinlab.model.SwinBlock` (random weights, float64) on a ``grid x grid`` map,
    alternating W-MSA and SW-MSA (``shift=True``) or W-MSA only (``shift=False``), back-propagates
    from output ``token = (row, col)`` and marks the inputs with a non-zero gradient. Masked pairs
    leak ``exp(-100)``, far below the ``1e-12`` relative threshold used here.
    """
    import torch

    from .model import SwinBlock

    if blocks < 1:
        raise ValueError(f"blocks must be at least 1, got {blocks}")
    torch.manual_seed(seed)
    stack = torch.nn.Sequential(*[
        SwinBlock(dim, (grid, grid), num_heads, window_size, window_size // 2 if shift and i % 2 else 0, fused=False)
        for i in range(blocks)]).double().eval()
    x = torch.randn(1, grid, grid, dim, dtype=torch.float64, requires_grad=True)
    stack(x)[0, token[0], token[1]].sum().backward()
    influence = x.grad[0].abs().sum(-1)                                  # grid, grid
    return influence > 1e-12 * influence.max()


def draw_token_dependencies(blocks: int = 2, shift: bool = True, grid: int = 16, window_size: int = 4,
                         token: tuple[int, int] = (5, 5), ax=None):
    """Heatmap of :func:`token_dependencies`, windows drawn as lines, the output token as a star.

    Returns ``(fig, state)`` with ``state = {"blocks", "shift", "reached", "grid"}`` (``reached``: how many
    of the ``grid²`` input tokens the output token depends on).
    """
    reached = token_dependencies(blocks, shift, grid, window_size, token).numpy()
    if ax is None:
        fig, ax = new_figure(size=(3.6, 3.6))
    else:
        fig = ax.figure
    ax.imshow(reached, cmap="Blues", vmin=0, vmax=1.4)
    _grid_lines(ax, grid // window_size, grid // window_size, step=window_size, color="0.4", lw=0.8)
    ax.plot(token[1], token[0], marker="*", color="#C44E52", markersize=12)
    ax.set_title(f"{blocks} block{'s' if blocks > 1 else ''}, {'W-MSA/SW-MSA' if shift else 'W-MSA only'}\n"
                 f"{int(reached.sum())} of {grid * grid} tokens", fontsize=9)
    _bare(ax)
    return fig, {"blocks": blocks, "shift": shift, "reached": int(reached.sum()), "grid": grid}


def draw_information_flow(max_blocks: int = 4, grid: int = 16, window_size: int = 4,
                                token: tuple[int, int] = (5, 5)) -> Figure:
    """Two rows of :func:`draw_token_dependencies`: with the shift (top) and without (bottom), 1..max_blocks blocks."""
    fig, axes = new_figure(2, max_blocks, size=(2.6, 2.8))
    for row, shift in enumerate((True, False)):
        for b in range(1, max_blocks + 1):
            draw_token_dependencies(b, shift, grid, window_size, token, ax=axes[row, b - 1])
    fig.suptitle("Input tokens one output token (star) depends on; thin lines: the M x M windows", fontsize=10)
    return fig

# ---- lesson 08: training ---------------------------------------------------------------------

def plot_history(history, reference=None, title: str | None = None, label: str = "this run",
                 reference_label: str = "reference run", x: str = "epoch", others=None):
    """Learning curves of a training run (``swinlab.train`` history: a list of per-epoch dicts), optionally
    beside a reference run (and ``others``: more runs, ``{label: history}``): loss (train dashed, test solid),
    accuracy, and learning rate.

    ``x``: ``"epoch"`` or ``"minutes"`` (the run's clock, ``elapsed_s``: compares runs of different speed).
    Returns the Figure.
    """
    if x not in ("epoch", "minutes"):
        raise ValueError(f"x must be 'epoch' or 'minutes', got {x!r}")
    fig, axes = new_figure(1, 3, size=(4.2, 3.2))
    runs = [(history, label, "tab:blue")]
    if reference:
        runs.append((reference, reference_label, "tab:orange"))
    for (name, hist), color in zip((others or {}).items(), ("tab:green", "tab:red", "tab:purple"), strict=False):
        runs.append((hist, name, color))
    for hist, name, color in runs:
        if not hist:
            continue
        xs = [h["epoch"] if x == "epoch" else h.get("elapsed_s", float("nan")) / 60 for h in hist]
        axes[0].plot(xs, [h["train_loss"] for h in hist], "--", color=color, label=f"{name}: train")
        axes[0].plot(xs, [h["test_loss"] for h in hist], "-", color=color, label=f"{name}: test")
        axes[1].plot(xs, [100 * h["train_acc"] for h in hist], "--", color=color, label=f"{name}: train")
        axes[1].plot(xs, [100 * h["test_acc"] for h in hist], "-", marker="." if len(hist) < 40 else None,
                     color=color, label=f"{name}: test (best {100 * max(h['test_acc'] for h in hist):.1f}%)")
        axes[2].plot(xs, [h["lr"] for h in hist], color=color, label=name)
    for ax, ylabel in zip(axes, ("loss", "accuracy (%)", "learning rate (end of epoch)"), strict=True):
        ax.set_xlabel("epoch" if x == "epoch" else "minutes")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    axes[1].axhline(10, color="gray", lw=0.8, ls=":")
    axes[1].text(axes[1].get_xlim()[0], 10.5, "chance", fontsize=7, color="gray")
    if title:
        fig.suptitle(title)
    return fig


def augmentation_figure(before, after, captions_before=None, captions_after=None, title: str | None = None):
    """A batch before and after augmentation: ``before``, ``after`` ``(B, H, W, 3)`` (uint8, or float in
    [0, 1]), drawn in two rows with optional captions. Returns the Figure."""
    before, after = np.asarray(before), np.asarray(after)
    n = len(before)
    fig, axes = new_figure(2, n, size=(1.3, 1.5))
    axes = np.asarray(axes).reshape(2, n)
    for row, (imgs, caps, name) in enumerate(((before, captions_before, "stored (uint8)"),
                                              (after, captions_after, "what the model sees"))):
        for i in range(n):
            ax = axes[row, i]
            ax.imshow(imgs[i], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if caps is not None:
                ax.set_title(caps[i], fontsize=7)
        axes[row, 0].set_ylabel(name, fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def draw_augmentation(images, padding: int = 4, mix: str = "none", alpha: float = 1.0, erase: float = 0.0,
                      seed: int = 0, classes=None, labels=None):
    """Augment a small uint8 batch ``(B, 32, 32, 3)`` with ``swinlab.train``'s batched ops and draw it
    before/after: ``(fig, state)``; ``state`` holds the settings, ``lam`` (the mixing weight used) and
    ``changed`` (the fraction of pixels that differ from the un-augmented image)."""
    import torch

    from .train import TrainConfig, augment_batch, denormalize, normalize

    x = torch.as_tensor(np.asarray(images))
    y = torch.as_tensor(np.asarray(labels) if labels is not None else np.zeros(len(x), dtype=np.int64))
    cfg = TrainConfig(crop_padding=int(padding), flip=True, mixup_alpha=alpha if mix == "mixup" else 0.0,
                      cutmix_alpha=alpha if mix == "cutmix" else 0.0, erase_prob=float(erase), label_smoothing=0.0)
    gen = torch.Generator().manual_seed(int(seed))
    rng = np.random.default_rng(int(seed))
    out, targets, _ = augment_batch(x, y, cfg, gen, rng, num_classes=10)
    after = denormalize(out).numpy()
    top = targets.max(-1)
    lam = float(top.values[0]) if mix != "none" else 1.0
    names = (lambda k: classes[k] if classes is not None else str(k))
    caps_before = [names(int(k)) for k in y] if labels is not None else None
    caps_after = None
    if labels is not None:
        caps_after = ["\n".join(f"{names(int(k))} {float(t[k]):.2f}" for k in torch.nonzero(t > 0.005).flatten())
                      for t in targets]
    fig = augmentation_figure(x.numpy(), after, caps_before, caps_after)
    same = np.abs(after - denormalize(normalize(x)).numpy()).max(-1) < 1e-6
    state = {"padding": int(padding), "mix": mix, "alpha": float(alpha), "erase": float(erase), "seed": int(seed),
             "lam": lam, "changed": float(1.0 - same.mean())}
    return fig, state


def lr_schedule_figure(cfg, steps_per_epoch: int, title: str | None = None):
    """The learning rate of every step of a ``TrainConfig`` (warmup, then cosine). Returns the Figure."""
    from .train import lr_at

    total = cfg.epochs * steps_per_epoch
    warmup = round(min(cfg.warmup_epochs, cfg.epochs / 5) * steps_per_epoch)
    steps = np.arange(total)
    lrs = [lr_at(int(s), total, warmup, cfg.lr, cfg.min_lr) for s in steps]
    fig, ax = new_figure(1, 1, size=(5.0, 2.8))
    ax.plot(steps / steps_per_epoch, lrs)
    ax.axvline(warmup / steps_per_epoch, color="gray", ls=":", lw=0.8)
    ax.text(warmup / steps_per_epoch, cfg.lr * 0.5, " end of warmup", fontsize=8, color="gray")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.grid(alpha=0.3)
    ax.set_title(title or f"warmup {cfg.warmup_epochs:g} epochs, cosine to {cfg.min_lr:g} at epoch {cfg.epochs}")
    return fig


def confusion_figure(matrix, classes, title: str | None = None):
    """A confusion matrix ``(K, K)`` (rows: true class, columns: predicted), each row in % of that class."""
    m = np.asarray(matrix, dtype=float)
    pct = 100 * m / np.maximum(m.sum(1, keepdims=True), 1)
    fig, ax = new_figure(1, 1, size=(5.2, 4.6))
    im = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    k = len(classes)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{pct[i, j]:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if pct[i, j] > 60 else "black")
    ax.set_xticks(range(k), classes, rotation=60, fontsize=7)
    ax.set_yticks(range(k), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, shrink=0.8, label="% of the true class")
    ax.set_title(title or f"accuracy {100 * np.trace(m) / max(m.sum(), 1):.1f}%")
    return fig


def mistakes_figure(images, true, pred, confidence, classes, title: str | None = None):
    """Test images the model got wrong: ``images (n, 32, 32, 3)`` uint8, true and predicted class ids, the
    softmax confidence of the wrong prediction. Returns the Figure (one row, or two for n > 8)."""
    n = len(images)
    cols = min(n, 8)
    rows = max(1, -(-n // cols))
    fig, axes = new_figure(rows, cols, size=(1.5, 1.8))
    axes = np.asarray(axes).reshape(-1)
    for ax in axes:
        ax.axis("off")
    for i in range(n):
        axes[i].imshow(images[i], interpolation="nearest")
        axes[i].set_title(f"{classes[int(pred[i])]} {100 * float(confidence[i]):.0f}%\n(is {classes[int(true[i])]})",
                          fontsize=7, color="tab:red")
    fig.suptitle(title or "the most confident mistakes: predicted (confidence), true class")
    return fig


def attention_figure(images, maps, titles=None, title: str | None = None, head_labels=None):
    """Attention maps over images: ``images (n, H, W, 3)`` uint8 or [0, 1], ``maps (n, h, w)`` (one per image)
    or ``(n, heads, h, w)`` (one row per head plus the image). Maps are upsampled (nearest) and overlaid."""
    images, maps = np.asarray(images), np.asarray(maps, dtype=float)
    if maps.ndim == 3:
        maps = maps[:, None]
    n, heads = maps.shape[:2]
    fig, axes = new_figure(heads + 1, n, size=(1.5, 1.5))
    axes = np.asarray(axes).reshape(heads + 1, n)
    H, W = images.shape[1:3]
    for i in range(n):
        axes[0, i].imshow(images[i], interpolation="nearest")
        if titles is not None:
            axes[0, i].set_title(titles[i], fontsize=7)
        for h in range(heads):
            m = maps[i, h]
            up = np.kron(m, np.ones((H // m.shape[0], W // m.shape[1])))
            axes[h + 1, i].imshow(images[i], interpolation="nearest")
            axes[h + 1, i].imshow(up, cmap="inferno", alpha=0.6, interpolation="nearest")
    for ax in axes.reshape(-1):
        ax.set_xticks([])
        ax.set_yticks([])
    for h in range(heads):
        axes[h + 1, 0].set_ylabel(head_labels[h] if head_labels is not None else f"head {h}", fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def draw_attention(images, maps, index: int = 0, head: int = -1, classes=None, labels=None, preds=None):
    """One test image and the attention its tokens receive (``maps (n, heads, h, w)``; ``head=-1``: the mean
    over heads): ``(fig, state)`` with ``state = {"index", "head", "peak": (row, col) of the map's maximum}``."""
    maps = np.asarray(maps, dtype=float)
    index = int(index) % len(maps)
    m = maps[index].mean(0) if head < 0 else maps[index, int(head)]
    fig, axes = new_figure(1, 2, size=(2.6, 2.8))
    img = np.asarray(images[index])
    axes[0].imshow(img, interpolation="nearest")
    caption = ""
    if labels is not None and classes is not None:
        caption = f"true {classes[int(labels[index])]}"
        if preds is not None:
            caption += f"\npredicted {classes[int(preds[index])]}"
    axes[0].set_title(caption, fontsize=8)
    up = np.kron(m, np.ones((img.shape[0] // m.shape[0], img.shape[1] // m.shape[1])))
    axes[1].imshow(img, interpolation="nearest")
    axes[1].imshow(up, cmap="inferno", alpha=0.6, interpolation="nearest")
    axes[1].set_title("mean over heads" if head < 0 else f"head {int(head)}", fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    peak = tuple(int(v) for v in np.unravel_index(np.argmax(m), m.shape))
    return fig, {"index": index, "head": int(head), "peak": peak}


def bias_tables_figure(tables, title: str | None = None, block_labels=None):
    """Learned relative position bias tables: a list of ``(heads, 2M-1, 2M-1)`` arrays (one per block), one
    row per block, one panel per head; the centre cell is offset (0, 0). Returns the Figure."""
    tables = [np.asarray(t, dtype=float) for t in tables]
    rows, cols = len(tables), max(t.shape[0] for t in tables)
    fig, axes = new_figure(rows, cols, size=(1.6, 1.6))
    axes = np.asarray(axes).reshape(rows, cols)
    for r, t in enumerate(tables):
        M = (t.shape[-1] + 1) // 2
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= t.shape[0]:
                ax.axis("off")
                continue
            lim = np.abs(t[c]).max() or 1.0
            ax.imshow(t[c], cmap="RdBu_r", vmin=-lim, vmax=lim, extent=(-M + 0.5, M - 0.5, M - 0.5, -M + 0.5))
            ax.set_title(f"head {c}", fontsize=7)
        axes[r, 0].set_ylabel(block_labels[r] if block_labels is not None else f"block {r}", fontsize=7)
    fig.suptitle(title or "learned relative position bias B̂ per head (red: attend more, blue: less); x: dx, y: dy")
    return fig


# ---- lesson 09: Swin vs ViT ------------------------------------------------------------------


def _by_model(rows) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    for name in ("ViT", "Swin"):
        rs = sorted((r for r in rows if r["model"] == name), key=lambda r: r["img_size"])
        out[name] = {k: np.array([r[k] for r in rs], dtype=float)
                     for k in ("img_size", "tokens", "macs", "seconds", "images_per_s")}
    return out


def swin_vs_vit_figure(rows, slopes: dict | None = None, title: str | None = None) -> Figure:
    """Rows of ``swinlab.vit.compare_inference`` drawn in three panels: images/s against image size,
    GMACs against tokens and seconds against tokens (both log-log, so a power law is a straight line;
    ``slopes``: ``{"ViT": {"macs": p, "seconds": q}, "Swin": {...}}`` is written in the legends).
    The size from which Swin stays faster is marked. Returns the Figure.
    """
    from .vit import crossover

    data = _by_model(rows)
    colors = {"ViT": "#d95f02", "Swin": "#1b9e77"}
    fig, axes = new_figure(1, 3, size=(4.4, 3.6))
    for name, d in data.items():
        c = colors[name]
        axes[0].semilogy(d["img_size"], d["images_per_s"], "o-", color=c, label=name, ms=4)
        for ax, key in ((axes[1], "macs"), (axes[2], "seconds")):
            label = name
            if slopes and name in slopes and key in slopes[name]:
                label += f"  (slope {slopes[name][key]:.2f})"
            ax.loglog(d["tokens"], d[key] / (1e9 if key == "macs" else 1), "o-", color=c, label=label, ms=4)
    where = crossover(rows)
    if where is not None:
        axes[0].axvline(where, color="0.5", ls=":", lw=1)
        axes[0].text(where, axes[0].get_ylim()[0], f" Swin faster from {where} px", fontsize=7, color="0.3",
                     va="bottom", rotation=90)
    axes[0].set_xlabel("image side (pixels)")
    axes[0].set_ylabel("images / s (batch 1, higher is better)")
    axes[1].set_ylabel("GMACs per image")
    axes[2].set_ylabel("seconds per image (fastest run)")
    for ax in axes[1:]:
        ax.set_xlabel("patch tokens (image side / 2)²")
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for ax in axes:
        ax.grid(True, which="both", color="0.9", lw=0.5)
        ax.legend(fontsize=8)
        for axis in (ax.xaxis, ax.yaxis) if ax is not axes[0] else (ax.yaxis,):
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
    axes[1].set_title("cost (formula = FLOP counter)", fontsize=9)
    axes[2].set_title("measured time", fontsize=9)
    axes[0].set_title("throughput", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def model_cost_curves(vit_dim: int = 256, vit_depth: int = 13, mlp_ratio: float = 2.0, window: int = 4,
                      patch_size: int = 2, max_size: int = 512) -> tuple[Figure, dict]:
    """Whole-model cost (formula, GMACs per image) against image side, 32 px to ``max_size``: a ViT of width
    ``vit_dim`` and ``vit_depth`` blocks against ``swin_cifar``'s layout (C=96, depths 2-6-4) with window
    ``window``, both with patch ``patch_size`` and MLP ratio ``mlp_ratio``.

    Returns ``(fig, state)``; ``state``: the settings, ``crossover_px`` (the smallest size from which Swin
    costs less, None if never on the grid), both costs at 32 px and ``n_star``, the token count from which
    a ViT block's quadratic term 2n²C reaches its linear terms.
    """
    from .complexity import swin_macs, vit_macs

    sizes = np.arange(32, max_size + 1, 32)
    depths, C = (2, 6, 4), 96

    def swin(size: int) -> int:
        res = [size // patch_size // 2 ** i for i in range(len(depths))]
        return swin_macs(size, patch_size, 3, C, depths, [min(window, r) for r in res], mlp_ratio, 10)["total"]

    vit = np.array([vit_macs(int(s), patch_size, 3, vit_dim, vit_depth, mlp_ratio, 10)["total"] for s in sizes])
    sw = np.array([swin(int(s)) for s in sizes])
    cheaper = sw < vit
    crossover_px = next((int(s) for i, s in enumerate(sizes) if cheaper[i:].all()), None)
    n_star = 2 * vit_dim + int(vit_dim * mlp_ratio)
    fig, (ax0, ax1) = new_figure(1, 2, size=(4.6, 3.6))
    ax0.loglog(sizes, vit / 1e9, "-", color="#d95f02", label=f"ViT  C={vit_dim}, depth {vit_depth}")
    ax0.loglog(sizes, sw / 1e9, "-", color="#1b9e77", label=f"Swin  C=96, depths 2-6-4, M={window}")
    if crossover_px is not None:
        ax0.axvline(crossover_px, color="0.5", ls=":", lw=1)
        ax0.text(crossover_px, ax0.get_ylim()[1], f" Swin cheaper\n from {crossover_px} px", fontsize=7, va="top")
    ticks = [t for t in (32, 64, 128, 256, 512, 1024) if t <= max_size]
    ax0.set_xticks(ticks, [str(t) for t in ticks])
    ax0.minorticks_off()
    ax0.set_xlabel("image side (pixels)")
    ax0.set_ylabel("GMACs per image")
    ax0.set_title(f"patch {patch_size}, MLP ratio {mlp_ratio:g}", fontsize=9)
    ax0.legend(fontsize=7, loc="lower right")
    ax0.grid(True, which="both", color="0.9", lw=0.5)
    n = (sizes // patch_size) ** 2 + 1
    quad = 2 * n.astype(float) ** 2 * vit_dim
    lin = (4 * n * vit_dim ** 2 + 2 * n * vit_dim * int(vit_dim * mlp_ratio)).astype(float)
    ax1.plot(sizes, quad / (quad + lin), color="#d95f02")
    side = patch_size * np.sqrt(n_star)
    ax1.axvline(side, color="0.5", ls=":", lw=1)
    ax1.axhline(0.5, color="0.8", lw=0.8)
    ax1.text(side, 0.05, f" n* = {n_star} tokens\n (~{side:.0f} px)", fontsize=7)
    ax1.set_ylim(0, 1)
    ax1.set_xlabel("image side (pixels)")
    ax1.set_ylabel("share of a ViT block's MACs in QKᵀ and AV")
    ax1.set_title("when the quadratic term takes over", fontsize=9)
    ax1.grid(True, color="0.9", lw=0.5)
    state = {"vit_dim": vit_dim, "vit_depth": vit_depth, "mlp_ratio": mlp_ratio, "window": window,
             "patch_size": patch_size, "crossover_px": crossover_px, "vit_macs_32": int(vit[0]),
             "swin_macs_32": int(sw[0]), "n_star": n_star}
    return fig, state


def budget_race_figure(histories: dict, title: str | None = None) -> Figure:
    """Test accuracy against training minutes for runs of ``swinlab.train`` given the same budget
    (``histories``: name -> history, a list of per-epoch dicts with ``elapsed_s`` and ``test_acc``), and
    the images each run trained on per second. Returns the Figure."""
    fig, (ax0, ax1) = new_figure(1, 2, size=(4.4, 3.4))
    colors = ["#d95f02", "#1b9e77", "#7570b3", "#e7298a"]
    names = list(histories)
    for (name, hist), c in zip(histories.items(), colors, strict=False):
        xs = [0.0] + [h["elapsed_s"] / 60 for h in hist]
        ys = [10.0] + [100 * h["test_acc"] for h in hist]
        best = max(ys[1:]) if hist else float("nan")
        ax0.plot(xs, ys, "o-", color=c, ms=3, label=f"{name}: best {best:.1f}% ({len(hist)} epochs)")
    speeds = [float(np.mean([h["images_per_s"] for h in histories[n]])) if histories[n] else 0.0 for n in names]
    ax1.bar(names, speeds, color=colors[:len(names)])
    for i, s in enumerate(speeds):
        ax1.annotate(f"{s:,.0f}", (i, s), ha="center", va="bottom", fontsize=8)
    ax0.axhline(10, color="gray", lw=0.8, ls=":")
    ax0.set_xlabel("training minutes")
    ax0.set_ylabel("test accuracy (%)")
    ax0.legend(fontsize=7)
    ax0.grid(alpha=0.3)
    ax1.set_ylabel("training images / s")
    ax1.set_title("speed while training", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig

