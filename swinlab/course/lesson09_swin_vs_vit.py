"""Lesson 09, Swin vs ViT: figures, explorers and exercise checkers.

The course file behind ``notebooks/09_swin_vs_vit.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .checks import ExerciseError, passed
from .draw import new_figure
from .explorer import Explorer

# ---- figures -------------------------------------------------------------------------------------


def _by_model(rows) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    for name in ("ViT", "Swin"):
        rs = sorted((r for r in rows if r["model"] == name), key=lambda r: r["img_size"])
        out[name] = {
            k: np.array([r[k] for r in rs], dtype=float)
            for k in ("img_size", "tokens", "macs", "seconds", "images_per_s")
        }
    return out


def swin_vs_vit_figure(rows, slopes: dict | None = None, title: str | None = None) -> Figure:
    """Rows of ``swinlab.vit.compare_inference`` drawn in three panels: images/s against image size,
    GMACs against tokens and seconds against tokens (both log-log, so a power law is a straight line;
    ``slopes``: ``{"ViT": {"macs": p, "seconds": q}, "Swin": {...}}`` is written in the legends).
    The size from which Swin stays faster is marked. Returns the Figure.
    """
    from ..vit import crossover

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
        axes[0].text(
            where,
            axes[0].get_ylim()[0],
            f" Swin faster from {where} px",
            fontsize=7,
            color="0.3",
            va="bottom",
            rotation=90,
        )
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


def model_cost_curves(
    vit_dim: int = 256,
    vit_depth: int = 13,
    mlp_ratio: float = 2.0,
    window: int = 4,
    patch_size: int = 2,
    max_size: int = 512,
) -> tuple[Figure, dict]:
    """Whole-model cost (formula, GMACs per image) against image side, 32 px to ``max_size``: a ViT of width
    ``vit_dim`` and ``vit_depth`` blocks against ``swin_cifar``'s layout (C=96, depths 2-6-4) with window
    ``window``, both with patch ``patch_size`` and MLP ratio ``mlp_ratio``.

    Returns ``(fig, state)``; ``state``: the settings, ``crossover_px`` (the smallest size from which Swin
    costs less, None if never on the grid), both costs at 32 px and ``n_star``, the token count from which
    a ViT block's quadratic term 2n²C reaches its linear terms.
    """
    from ..complexity import swin_macs, vit_macs

    sizes = np.arange(32, max_size + 1, 32)
    depths, C = (2, 6, 4), 96

    def swin(size: int) -> int:
        res = [size // patch_size // 2**i for i in range(len(depths))]
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
    lin = (4 * n * vit_dim**2 + 2 * n * vit_dim * int(vit_dim * mlp_ratio)).astype(float)
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
    state = {
        "vit_dim": vit_dim,
        "vit_depth": vit_depth,
        "mlp_ratio": mlp_ratio,
        "window": window,
        "patch_size": patch_size,
        "crossover_px": crossover_px,
        "vit_macs_32": int(vit[0]),
        "swin_macs_32": int(sw[0]),
        "n_star": n_star,
    }
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
    ax1.bar(names, speeds, color=colors[: len(names)])
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


# ---- explorers -----------------------------------------------------------------------------------


def model_cost_explorer(
    vit_dim: int = 256, vit_depth: int = 13, mlp_ratio: float = 2.0, window: int = 4, patch_size: int = 2
) -> Explorer:
    """Sliders ``vit_dim``, ``vit_depth``, ``mlp_ratio``, ``window`` and ``patch_size`` over
    :func:`swinlab.model_cost_curves`: whole-model GMACs of ViT and Swin against image size, where
    Swin becomes cheaper, and where a ViT block's quadratic term takes over."""
    return Explorer(
        model_cost_curves,
        vit_dim=widgets.IntSlider(value=vit_dim, min=32, max=768, step=32, description="ViT C"),
        vit_depth=widgets.IntSlider(value=vit_depth, min=1, max=24, description="ViT depth"),
        mlp_ratio=widgets.FloatSlider(value=mlp_ratio, min=1.0, max=4.0, step=0.5, description="MLP ratio"),
        window=widgets.IntSlider(value=window, min=2, max=16, description="Swin M"),
        patch_size=widgets.Dropdown(value=patch_size, options=[1, 2, 4, 8], description="patch"),
    )


# ---- exercise checkers ---------------------------------------------------------------------------


def quadratic_takeover_tokens(C: int, mlp_ratio: float) -> int:
    """The smallest token count ``n`` at which a ViT block's quadratic attention term ``2n^2 C`` (QK^T and AV)
    is at least its linear terms ``4nC^2 + 2nC * int(C * mlp_ratio)`` (projections and MLP), in MACs.

    Dividing both sides by ``2nC`` gives ``n >= 2C + int(C * mlp_ratio)``; searched here in integers.
    """
    hidden = int(C * mlp_ratio)
    n = 1
    while 2 * n * n * C < 4 * n * C * C + 2 * n * C * hidden:
        n += 1
    return n


def check_quadratic_takeover(fn) -> bool:
    """Check the student's ``fn(C, mlp_ratio) -> n``: the smallest number of tokens at which a ViT block spends
    at least as many MACs in QK^T and AV as in its projections and MLP (see :func:`quadratic_takeover_tokens`)."""
    hint = (
        "Per block: projections 4nC^2, MLP 2 * n * C * (C * mlp_ratio), attention 2n^2 C. Set the quadratic "
        "term equal to the linear ones and divide by 2nC."
    )
    for C, r in [(256, 2.0), (96, 4.0), (192, 1.5), (8, 3.0), (1, 1.0)]:
        got = fn(C, r)
        if got is None:
            raise ExerciseError("fn returned None: fill in the formula. " + hint)
        expected = quadratic_takeover_tokens(C, r)
        if got != expected:
            raise ExerciseError(f"fn({C}, {r}) = {got!r}, expected {expected}. " + hint)
    return passed(
        "the quadratic term takes over at n = 2C + C * mlp_ratio tokens: 1024 for vit_cifar "
        "(C=256, ratio 2), a 32x32 patch grid, i.e. 64x64 images with patch 2."
    )
