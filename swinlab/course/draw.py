"""Drawing helpers shared by the lessons' figures (matplotlib, never pyplot).

Figures are built with ``matplotlib.figure.Figure`` (not pyplot), so nothing is shown twice and
nothing leaks: a notebook shows one by leaving it as a cell's last value, an explorer redraws it.
A drawing function used by an explorer returns ``(figure, state)``, where ``state`` is a small dict of
what was drawn (tests read it).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

__all__ = ["new_figure", "token_colors", "sample_photo", "grid_lines", "bare", "plot_history"]


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


def grid_lines(ax, n_rows: int, n_cols: int, step: float = 1.0, every: int = 1, **style) -> None:
    """Lines between cells of an ``n_rows x n_cols`` grid drawn with ``imshow`` (cell ``step`` pixels)."""
    for r in range(0, n_rows + 1, every):
        ax.axhline(r * step - 0.5, **style)
    for c in range(0, n_cols + 1, every):
        ax.axvline(c * step - 0.5, **style)


def bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def plot_history(
    history,
    reference=None,
    title: str | None = None,
    label: str = "this run",
    reference_label: str = "reference run",
    x: str = "epoch",
    others=None,
    test=None,
):
    """Learning curves of a training run (``swinlab.train`` history: a list of per-epoch dicts), optionally
    beside a reference run (and ``others``: more runs, ``{label: history}``): loss and accuracy (training
    dashed, validation solid, the test set dotted where a run tracked it) and the learning rate.

    ``test``: the run's final test result (``TrainResult.test`` / history.json's ``"test"``), drawn as a star
    at the epoch it was evaluated on. ``x``: ``"epoch"`` or ``"minutes"`` (the run's clock, ``elapsed_s``:
    compares runs of different speed). Returns the Figure.
    """
    if x not in ("epoch", "minutes"):
        raise ValueError(f"x must be 'epoch' or 'minutes', got {x!r}")
    fig, axes = new_figure(1, 3, size=(4.2, 3.2))
    runs = [(history, label, "tab:blue", test)]
    if reference:
        runs.append((reference, reference_label, "tab:orange", None))
    for (name, hist), color in zip((others or {}).items(), ("tab:green", "tab:red", "tab:purple"), strict=False):
        runs.append((hist, name, color, None))

    def at(h):
        return h["epoch"] if x == "epoch" else h.get("elapsed_s", float("nan")) / 60

    for hist, name, color, final in runs:
        if not hist:
            continue
        xs = [at(h) for h in hist]
        axes[0].plot(xs, [h["train_loss"] for h in hist], "--", color=color, label=f"{name}: train")
        axes[1].plot(xs, [100 * h["train_acc"] for h in hist], "--", color=color, label=f"{name}: train")
        for split, style in (("val", "-"), ("test", ":")):
            if f"{split}_acc" not in hist[0]:
                continue
            word = "validation" if split == "val" else "test"
            accs = [100 * h[f"{split}_acc"] for h in hist]
            axes[0].plot(xs, [h[f"{split}_loss"] for h in hist], style, color=color, label=f"{name}: {word}")
            axes[1].plot(
                xs,
                accs,
                style,
                marker="." if len(hist) < 40 else None,
                color=color,
                label=f"{name}: {word} ({f'best {max(accs):.1f}' if split == 'val' else f'last {accs[-1]:.1f}'}%)",
            )
        if final:
            h = next((h for h in hist if h["epoch"] == final.get("epoch")), hist[-1])
            axes[1].plot(
                [at(h)],
                [100 * final["acc"]],
                "*",
                ms=12,
                color=color,
                mec="black",
                label=f"{name}: test, once ({100 * final['acc']:.1f}% on {final['n']:,})",
            )
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
