"""Lesson 09, Swin vs ViT: figures, explorers and exercise checkers.

The course file behind ``notebooks/09_swin_vs_vit.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .checks import ExerciseError, call, checker, compare_number, passed, refuse_answer_key
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


SWIN_COLOR, VIT_COLOR, PAPER_COLOR, GPU_COLOR = "#1b9e77", "#d95f02", "0.55", "#7570b3"


def _plain_log_ticks(ax) -> None:
    """Log axes labelled with plain numbers (``300``, not ``3x10^2``) and no minor-tick labels."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())


def _family_color(name: str) -> str:
    return SWIN_COLOR if name.lower().startswith("swin") else VIT_COLOR


def paper_throughput_figure(rows, gpu_rows=None, device: str = "this machine", title: str | None = None) -> Figure:
    """The paper's Table 1 measured here: rows of ``swinlab.vit.paper_throughput`` (and ``gpu_rows``, the same
    from a GPU run, when there is one). Left: for each pair of :data:`swinlab.vit.PAPER_PAIRS` present, the
    ratio of images/s (Swin over ViT/DeiT; above 1: Swin is faster) in the paper (V100), here and on the GPU.
    Right: images/s against GMACs per image, measured here (filled) and in the paper (hollow), log-log.
    Returns the Figure."""
    from ..vit import throughput_ratios

    fig, (ax0, ax1) = new_figure(1, 2, size=(4.8, 3.6))
    ratios = throughput_ratios(rows)
    gpu = {(r["a"], r["b"]): r["ratio"] for r in throughput_ratios(gpu_rows)} if gpu_rows else {}
    labels = [f"{r['a']}\n/ {r['b']}" for r in ratios]
    x = np.arange(len(ratios))
    series = [("paper, V100", [r["paper_ratio"] for r in ratios], PAPER_COLOR)]
    series.append((device, [r["ratio"] for r in ratios], SWIN_COLOR))
    if gpu:
        series.append(("GPU run", [gpu.get((r["a"], r["b"]), np.nan) for r in ratios], GPU_COLOR))
    width = 0.8 / len(series)
    for i, (name, values, color) in enumerate(series):
        pos = x - 0.4 + width * (i + 0.5)
        ax0.bar(pos, values, width, color=color, label=name)
        for p, v in zip(pos, values, strict=True):
            if np.isfinite(v):
                ax0.annotate(f"{v:.2f}", (p, v), ha="center", va="bottom", fontsize=7)
    ax0.axhline(1.0, color="0.3", lw=0.8, ls=":")
    ax0.set_xticks(x, labels, fontsize=7)
    ax0.set_ylabel("images/s ratio (above 1: Swin faster)")
    ax0.set_title("throughput ratios at about equal cost", fontsize=9)
    ax0.legend(fontsize=7)
    for r in rows:
        c = _family_color(r["model"])
        ax1.loglog(r["gmacs"], r["images_per_s"], "o", color=c, ms=5)
        ax1.annotate(r["model"], (r["gmacs"], r["images_per_s"]), fontsize=6, xytext=(3, 2), textcoords="offset points")
        ax1.loglog(r["paper_gflops"], r["paper_images_per_s"], "o", mfc="none", color=c, ms=5)
    ax1.plot([], [], "o", color="0.3", label=f"measured, {device}")
    ax1.plot([], [], "o", mfc="none", color="0.3", label="paper, V100 (Table 1)")
    ax1.set_xlabel("GMACs per image (the paper's 'FLOPs')")
    ax1.set_ylabel("images / s")
    ax1.set_title("speed against cost", fontsize=9)
    ax1.legend(fontsize=7)
    ax1.grid(True, which="both", color="0.9", lw=0.5)
    _plain_log_ticks(ax1)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def throughput_rows_from_json(record: dict, precision: str = "float32") -> list[dict]:
    """The rows of a throughput JSON in the form of ``swinlab.vit.paper_throughput``: from
    ``python -m swinlab.vit throughput`` (rows with ``images_per_s``) or from the GPU reference run's
    ``paper_throughput_gpu.json`` (rows with ``images_per_s_<precision>`` and a ``status``). Rows that failed or
    were skipped are left out; the paper's figures come from ``swinlab.vit.PAPER_TABLE1``."""
    from ..vit import PAPER_TABLE1

    rows = []
    for r in record.get("rows", []):
        if r.get("status", "ok") != "ok" or r.get("model") not in PAPER_TABLE1:
            continue
        speed = r.get("images_per_s", r.get(f"images_per_s_{precision}"))
        if speed is None:
            continue
        _, size, params, gflops, paper_speed, top1 = PAPER_TABLE1[r["model"]]
        rows.append(
            {
                "model": r["model"],
                "img_size": r.get("img_size", size),
                "gmacs": r.get("gmacs", gflops),
                "images_per_s": speed,
                "paper_params_m": params,
                "paper_gflops": gflops,
                "paper_images_per_s": paper_speed,
                "paper_top1": top1,
            }
        )
    return rows


def op_breakdown_figure(breakdowns: dict, title: str | None = None) -> Figure:
    """Where a forward pass spends its time, per model: ``breakdowns`` maps a model's name to the shares of
    ``swinlab.vit.op_time_breakdown`` (matrix multiplies, copies/rolls/gathers, elementwise), drawn as
    stacked horizontal bars with the milliseconds per forward pass. Returns the Figure."""
    from ..vit import OP_KINDS

    kinds = [*OP_KINDS, "elementwise and other (not counted)"]
    colors = ["#4c72b0", "#dd8452", "#c4c4c4"]
    names = list(breakdowns)
    fig, ax = new_figure(1, 1, size=(8.0, 0.55 * len(names) + 1.4))
    left = np.zeros(len(names))
    for kind, color in zip(kinds, colors, strict=True):
        values = np.array([breakdowns[n][kind] for n in names])
        ax.barh(names, values, left=left, color=color, label=kind)
        for i, v in enumerate(values):
            if v > 0.06:
                ax.text(left[i] + v / 2, i, f"{100 * v:.0f}%", ha="center", va="center", fontsize=8)
        left += values
    for i, n in enumerate(names):
        ax.text(1.01, i, f"{breakdowns[n]['ms_per_forward']:.1f} ms", va="center", fontsize=8)
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("share of the forward pass's time (PyTorch profiler, self time)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3)
    ax.invert_yaxis()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def memory_figure(rows, title: str | None = None) -> Figure:
    """Activation memory of one training step against the number of tokens (rows of
    ``swinlab.vit.memory_vs_resolution``): measured (autograd's saved tensors, markers) and the formula
    (lines), log-log; GPU peaks (``cuda_peak_bytes``) as crosses when present. Returns the Figure."""
    styles = {"ViT (explicit attention)": (VIT_COLOR, "-"), "ViT (fused attention)": (VIT_COLOR, "--")}
    fig, ax = new_figure(1, 1, size=(6.0, 4.0))
    for name in dict.fromkeys(r["model"] for r in rows):
        rs = sorted((r for r in rows if r["model"] == name), key=lambda r: r["tokens"])
        color, ls = styles.get(name, (SWIN_COLOR, "-"))
        t = [r["tokens"] for r in rs]
        ax.loglog(t, [r["formula_bytes"] / 2**20 for r in rs], ls, color=color, lw=1.2, label=f"{name}: formula")
        ax.loglog(
            t,
            [r["measured_bytes"] / 2**20 for r in rs],
            "o",
            color=color,
            ms=5,
            mfc="white" if "fused" in name else color,
        )
        cuda = [(r["tokens"], r["cuda_peak_bytes"] / 2**20) for r in rs if r.get("cuda_peak_bytes")]
        if cuda:
            ax.loglog(*zip(*cuda, strict=True), "x", color=color, ms=6)
    ax.plot([], [], "o", color="0.3", label="measured: bytes autograd saves")
    ax.set_xlabel("patch tokens (image side / 2)²")
    ax.set_ylabel(f"MiB of activations, batch {rows[0]['batch_size']}" if rows else "MiB")
    ax.grid(True, which="both", color="0.9", lw=0.5)
    ax.legend(fontsize=7)
    _plain_log_ticks(ax)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def race_figure(race: dict, title: str | None = None) -> Figure:
    """The equal-time race of ``swinlab.race.run_race`` (its JSON record): left, the test accuracy of every run
    (dots, one per seed) with each contender's mean +- std; middle, validation accuracy against the training
    time the steps so far take at the measured speed, one line per run; right, the epochs each contender's
    share of the budget bought and its measured training speed. Returns the Figure."""
    arms = list(race["arms"])
    colors = {a: (SWIN_COLOR if a.startswith("swin") else (VIT_COLOR if a == "vit_micro" else GPU_COLOR)) for a in arms}
    fig, (ax0, ax1, ax2) = new_figure(1, 3, size=(3.7, 3.3))
    for i, arm in enumerate(arms):
        accs = [100 * r["test"]["acc"] for r in race["runs"] if r["arm"] == arm]
        if not accs:
            continue
        ax0.plot([i] * len(accs), accs, "o", color=colors[arm], alpha=0.6, ms=5)
        mean, std = float(np.mean(accs)), float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0
        ax0.errorbar(i + 0.18, mean, yerr=std, fmt="s", color="0.2", capsize=4, ms=4)
        ax0.annotate(f"{mean:.1f} ± {std:.1f}", (i + 0.3, mean), fontsize=7, va="center")
    ax0.set_xticks(range(len(arms)), arms, fontsize=7)
    ax0.set_xlim(-0.5, len(arms) - 0.1)
    ax0.set_ylabel(f"test accuracy (%), {race['data']['test_images']:,} images")
    ax0.set_title("one dot per seed; mean ± std", fontsize=9)
    ax0.grid(axis="y", color="0.9")
    speed = {a: race["throughput"][a]["images_per_s"] for a in arms}
    per_epoch = race["plan"]["steps_per_epoch"] * race["batch_size"]
    for r in race["runs"]:
        xs = [0.0] + [h["epoch"] * per_epoch / speed[r["arm"]] / 60 for h in r["history"]]
        ys = [10.0] + [100 * h["val_acc"] for h in r["history"]]
        ax1.plot(xs, ys, "-", color=colors[r["arm"]], lw=1, alpha=0.8)
    for a in arms:
        ax1.plot([], [], "-", color=colors[a], label=a)
    ax1.set_xlabel("training minutes at the measured speed")
    ax1.set_ylabel(f"validation accuracy (%), {race['data']['val_size']:,} images")
    ax1.set_title(f"same budget: {race['budget_s'] / 60:.1f} minutes each", fontsize=9)
    ax1.legend(fontsize=7)
    ax1.grid(color="0.9")
    epochs = [race["plan"]["epochs"][a] for a in arms]
    bars = ax2.bar(arms, epochs, color=[colors[a] for a in arms])
    for b, a in zip(bars, arms, strict=True):
        ax2.annotate(
            f"{speed[a]:.0f} img/s",
            (b.get_x() + b.get_width() / 2, b.get_height()),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax2.set_ylabel(f"epochs over the same {race['plan']['train_subset']:,} images")
    ax2.set_title("what the budget buys", fontsize=9)
    ax2.tick_params(axis="x", labelsize=7)
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


def _integer_answer(name: str, got) -> int:
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        if isinstance(got, float) and got.is_integer():
            return int(got)
        raise ExerciseError(f"{name} = {got!r}: a number of tokens is a whole number; return an int.")
    return int(got)


def _known(got: int, expected: int, mistakes: list[tuple[int, str]]) -> str | None:
    """What a wrong answer most likely forgot: every mistake whose value it equals (None when right or unknown)."""
    if got == expected:
        return None
    found = list(dict.fromkeys(message for value, message in mistakes if value == got and value != expected))
    return " Or: ".join(found) if found else None


@checker
def check_quadratic_takeover(fn) -> bool:
    """Exercise 1: the student's ``fn(C, mlp_ratio) -> n``, the smallest number of tokens at which a ViT block
    spends at least as many MACs in QK^T and AV as in its projections and MLP. Refuses the answer key
    (:func:`quadratic_takeover_tokens`); names the typical mistakes, never the formula."""
    refuse_answer_key(fn, quadratic_takeover_tokens, name="quadratic_takeover_tokens")
    hint = "Write the three terms per block, set the quadratic one equal to the linear ones, divide by what they share."
    for C, r in [(256, 2.0), (96, 4.0), (192, 1.5), (8, 3.0), (1, 1.0)]:
        got = _integer_answer(f"takeover({C}, {r})", call(fn, C, r, name="takeover"))
        expected = quadratic_takeover_tokens(C, r)
        mistakes = [
            (int(C * r), "the projections (q, k, v and the output: 4nC²) are missing."),
            (2 * C, "the MLP's two layers (2nC · rC) are missing."),
            (4 * C + 2 * int(C * r), "QKᵀ and AV are two products of n²C each: the quadratic term is 2n²C, not n²C."),
            (expected - 1, "off by one: at that n the quadratic term is still below the linear ones."),
        ]
        why = _known(got, expected, mistakes)
        compare_number(f"takeover({C}, {r})", got, expected, why or hint, show_expected=why is None and C != 256)
    return passed(
        "the quadratic term takes over at n = 2C + rC tokens: 1024 for vit_cifar (C=256, r=2), a 32x32 patch grid, "
        "64x64 images with patch 2."
    )


def memory_takeover_tokens(C: int, mlp_ratio: float, heads: int) -> int:
    """The smallest token count ``n`` at which the attention weights a ViT block keeps for the backward pass when
    attention is computed explicitly (``heads * n^2`` floats) are at least everything else it keeps
    (``8nC + 2n * int(C * mlp_ratio) + 4n``): ``n >= (8C + 2 int(rC) + 4) / heads``, searched in integers."""
    hidden = int(C * mlp_ratio)
    n = 1
    while heads * n * n < 8 * n * C + 2 * n * hidden + 4 * n:
        n += 1
    return n


@checker
def check_memory_takeover(fn) -> bool:
    """Exercise 2 (transfer): the student's ``fn(C, mlp_ratio, heads) -> n``, from which number of tokens the
    explicit attention weights take more activation memory than the rest of a ViT block. Refuses the answer key
    (:func:`memory_takeover_tokens`); names the typical mistakes, never the formula."""
    refuse_answer_key(fn, memory_takeover_tokens, name="memory_takeover_tokens")
    hint = "Per block: heads·n² floats of attention weights against 8nC + 2n·rC + 4n; divide by what they share."
    for C, r, h in [(128, 2.0, 4), (384, 4.0, 6), (96, 2.0, 3), (8, 3.0, 2), (1, 1.0, 1)]:
        got = _integer_answer(f"memory_takeover({C}, {r}, {h})", call(fn, C, r, h, name="memory_takeover"))
        expected = memory_takeover_tokens(C, r, h)
        hidden = int(C * r)
        mistakes = [
            (quadratic_takeover_tokens(C, r), "that is the MAC crossover of exercise 1: memory has other terms."),
            (
                -(-(8 * C + 2 * hidden) // h),
                "the LayerNorms' statistics (4n: a mean and 1/std per token, twice) are missing.",
            ),
            (8 * C + 2 * hidden + 4, "the attention weights are kept per head: heads·n², not n²."),
            (expected - 1, "off by one: at that n the attention weights are still smaller than the rest."),
        ]
        why = _known(got, expected, mistakes)
        compare_number(
            f"memory_takeover({C}, {r}, {h})", got, expected, why or hint, show_expected=why is None and C != 128
        )
    return passed(
        "explicit attention weights outweigh the rest of a block's activations from n = (8C + 2rC + 4) / heads tokens: "
        "385 for vit_cifar_lite (C=128, r=2, 4 heads), about 40x40 pixels with patch 2."
    )
