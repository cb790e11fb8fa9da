"""Lesson 10, what each idea buys: figures, tables and exercise checkers.

The course file behind ``notebooks/10_ablations.ipynb``. It reads the summary that ``python -m swinlab.ablate``
writes (``assets/ablations_summary.json``) and draws each experiment beside the paper's Table 4.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..ablate import PAPER_TABLE4, difference, seeds_needed
from .checks import ExerciseError, call, checker, compare_number, passed, refuse_answer_key
from .draw import new_figure

__all__ = [
    "load_summary",
    "runs_in",
    "ablation_figure",
    "data_size_figure",
    "verdict_table",
    "check_difference",
    "check_seeds_needed",
]

TITLES = {
    "shift": "1 · shifted windows",
    "position": "2 · position information",
    "window": "3 · window size M",
    "data_size": "4 · training-set size",
}


def load_summary(path: str | os.PathLike) -> dict[str, Any]:
    """The summary JSON of ``swinlab.ablate``."""
    with open(Path(path)) as f:
        return json.load(f)


def runs_in(summary: dict[str, Any]) -> str:
    """One line per experiment: how many seeds each variant has, and which runs are still missing."""
    lines = []
    for experiment, rows in summary["experiments"].items():
        seeds = ", ".join(f"{r['label']}: {len(r['test_acc'])}" for r in rows)
        lines.append(f"{experiment:10s} seeds per variant -> {seeds}")
    missing = summary.get("missing", [])
    lines.append("complete: every run of the grid is in" if not missing else f"missing {len(missing)} runs: {missing}")
    return "\n".join(lines)


def _bars(ax, rows: list[dict[str, Any]], color: str = "#1b9e77") -> None:
    x = np.arange(len(rows))
    means = [100 * r["test_mean"] if r["test_mean"] is not None else np.nan for r in rows]
    stds = [100 * r["test_std"] if r["test_std"] is not None else 0.0 for r in rows]
    colors = [color if i == 0 else "#7570b3" for i in range(len(rows))]
    ax.bar(x, means, yerr=stds, color=colors, alpha=0.75, capsize=4, width=0.6, error_kw={"lw": 1})
    for i, r in enumerate(rows):
        accs = [100 * a for a in r["test_acc"]]
        ax.plot([i] * len(accs), accs, "k.", ms=4, zorder=3)
        if r["test_mean"] is not None:
            ax.text(i, means[i] + stds[i], f"{means[i]:.1f}\n", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [r["label"] for r in rows], fontsize=8)
    finite = [m for m in means if not np.isnan(m)]
    if finite:
        lo = (
            min(min(100 * a for r in rows for a in r["test_acc"]), min(finite))
            if any(r["test_acc"] for r in rows)
            else 0
        )
        hi = max(m + s for m, s in zip(means, stds, strict=True) if not np.isnan(m))
        pad = max(2.0, 0.5 * (hi - lo))
        ax.set_ylim(max(0.0, lo - pad), min(100.0, hi + pad))


def ablation_figure(summary: dict[str, Any], experiment: str, title: str | None = None) -> Figure:
    """One experiment as bars: the CIFAR-10 test accuracy (mean over seeds, error bar = std, a dot per seed),
    the default variant first (green); beside it, for ``shift`` and ``position``, the paper's ImageNet-1K
    top-1 of Swin-T (Table 4). Returns the Figure."""
    rows = summary["experiments"][experiment]
    paper = PAPER_TABLE4.get(experiment)
    data = ", ".join(summary.get("data", [])) or "no runs yet"
    if paper:
        fig, (ax, ax_paper) = new_figure(1, 2, size=(3.8, 3.2))
    else:
        fig, ax = new_figure(1, 1, size=(4.6, 3.2))
    _bars(ax, rows)
    n = sorted({len(r["test_acc"]) for r in rows})
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(
        f"here: {summary['settings']['model']} on {data}\n(mean ± std over {'/'.join(map(str, n))} seeds)", fontsize=8
    )
    if paper:
        labels = [r["label"] for r in rows]
        values = [paper.get(label, np.nan) for label in labels]
        ax_paper.bar(np.arange(len(labels)), values, color="0.6", width=0.6)
        for i, v in enumerate(values):
            ax_paper.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
        ax_paper.set_xticks(np.arange(len(labels)), labels, fontsize=8)
        ax_paper.set_ylim(78, 82)
        ax_paper.set_ylabel("ImageNet-1K top-1 (%)")
        ax_paper.set_title("the paper: Swin-T, Table 4\n(one run each, 300 epochs)", fontsize=8)
    fig.suptitle(title or TITLES.get(experiment, experiment), fontsize=10)
    return fig


def data_size_figure(summary: dict[str, Any], title: str | None = None) -> Figure:
    """Experiment 4: test accuracy against the number of training images (log scale), Swin and the ViT of
    about its size, mean ± std over the seeds. Returns the Figure."""
    rows = summary["experiments"]["data_size"]
    fig, ax = new_figure(1, 1, size=(5.0, 3.4))
    models = list(dict.fromkeys(r["model"] for r in rows))  # Swin first, then its ViT
    for model, color in zip(models, ("#1b9e77", "#d95f02"), strict=False):
        rs = [r for r in rows if r["model"] == model and r["test_mean"] is not None]
        if not rs:
            continue
        n = np.array([r["train_images"] for r in rs])
        m = np.array([100 * r["test_mean"] for r in rs])
        s = np.array([100 * (r["test_std"] or 0.0) for r in rs])
        ax.errorbar(n, m, yerr=s, fmt="o-", color=color, capsize=4, label=rs[0]["model"])
        for r in rs:
            ax.plot([r["train_images"]] * len(r["test_acc"]), [100 * a for a in r["test_acc"]], ".", color=color, ms=3)
    ax.set_xscale("log")
    sizes = sorted({r["train_images"] for r in rows})
    ax.set_xticks(sizes, [f"{k:,}" for k in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training images (the same number of steps for every size)")
    ax.set_ylabel("test accuracy (%)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no run of this experiment yet", transform=ax.transAxes, ha="center", color="0.4")
    test = {r["test_images"][0] for r in rows if r["test_images"]}
    on = f"first {min(test):,} test images" if test and min(test) < 10_000 else "full test set"
    ax.set_title(title or f"{TITLES['data_size']} ({on}; mean ± std over the seeds)", fontsize=9)
    return fig


def verdict_table(summary: dict[str, Any]) -> str:
    """A text table: every variant's test accuracy (mean ± std, seeds), its difference to the experiment's
    default ± the standard error of the difference, and the verdict: a difference smaller than two standard
    errors is noise."""
    lines = [f"{'experiment':10s} {'variant':14s} {'test acc %':>16s} {'difference':>18s}  verdict"]
    swin = summary["settings"]["model"]
    for experiment, rows in summary["experiments"].items():
        same_size = {r["train_images"]: r for r in rows if r["model"] == swin}
        for r in rows:
            if r["test_mean"] is None:
                lines.append(f"{experiment:10s} {r['label']:14s} {'(not run yet)':>16s}")
                continue
            std = f" ± {100 * r['test_std']:.2f}" if r["test_std"] is not None else ""
            acc = f"{100 * r['test_mean']:.2f}{std} ({len(r['test_acc'])})"
            # Experiments 1-3: each variant against the default (the first row). Experiment 4: each ViT size
            # against the Swin of the same size.
            if experiment == "data_size":
                other = same_size.get(r["train_images"]) if r["model"] != swin else None
            else:
                other = rows[0] if r is not rows[0] else None
            if other is None:
                lines.append(f"{experiment:10s} {r['label']:14s} {acc:>16s} {'(reference)':>18s}")
                continue
            if len(r["test_acc"]) < 2 or len(other["test_acc"]) < 2:
                lines.append(f"{experiment:10s} {r['label']:14s} {acc:>16s} {'(needs 2 seeds)':>18s}")
                continue
            diff, se = difference(other["test_acc"], r["test_acc"])
            verdict = "noise (< 2 SE)" if abs(diff) < 2 * se else ("better" if diff > 0 else "worse") + " (>= 2 SE)"
            lines.append(
                f"{experiment:10s} {r['label']:14s} {acc:>16s} {f'{100 * diff:+.2f} ± {100 * se:.2f}':>18s}  "
                f"{verdict} vs {other['label']}"
            )
    return "\n".join(lines)


# ---- exercises ---------------------------------------------------------------------------------

_CASES = [
    ([0.61, 0.63, 0.62], [0.60, 0.64, 0.59]),
    ([0.50, 0.52], [0.55, 0.56, 0.58, 0.57]),
    ([0.701, 0.712, 0.694, 0.705, 0.699], [0.689, 0.690, 0.702]),
]


def _population_se(a, b) -> float:
    return math.hypot(np.std(a) / math.sqrt(len(a)), np.std(b) / math.sqrt(len(b)))


@checker
def check_difference(fn) -> bool:
    """``fn(reference, variant) -> (diff, se)``: the variant's mean minus the reference's, and the standard
    error of that difference (sample standard deviations, ddof=1)."""
    refuse_answer_key(fn, difference, name="difference")
    for a, b in _CASES:
        got = call(fn, a, b, name="my_difference")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseError(
                f"my_difference({a}, {b}) returned {got!r}: return a pair (diff, se), e.g. `return diff, se`."
            )
        diff, se = got
        expected_diff, expected_se = difference(a, b)
        if isinstance(diff, (int, float)) and abs(diff + expected_diff) < 1e-9 and expected_diff:
            raise ExerciseError(
                f"my_difference({a}, {b}): diff has the wrong sign. It is the variant minus the reference."
            )
        compare_number(f"my_difference({a}, {b}): diff", diff, expected_diff, rel=1e-9, show_expected=True)
        if isinstance(se, (int, float)):
            if abs(se - _population_se(a, b)) < 1e-12:
                raise ExerciseError(
                    f"my_difference({a}, {b}): se uses the population standard deviation (ddof=0). "
                    "With 3 seeds that underestimates the spread: use the sample one (ddof=1)."
                )
            sa, sb = np.std(a, ddof=1), np.std(b, ddof=1)
            if abs(se - (sa / math.sqrt(len(a)) + sb / math.sqrt(len(b)))) < 1e-12:
                raise ExerciseError(
                    f"my_difference({a}, {b}): se adds the two standard errors. Independent errors add in "
                    "quadrature: variances add, not standard deviations."
                )
            if abs(se - expected_se**2) < 1e-12:
                raise ExerciseError(f"my_difference({a}, {b}): se is a variance; take its square root.")
        compare_number(f"my_difference({a}, {b}): se", se, expected_se, rel=1e-9)
    return passed("diff and se match on three pairs of runs, with unequal seed counts.")


@checker
def check_seeds_needed(fn) -> bool:
    """``fn(std, diff) -> int``: seeds per variant so that ``diff`` is at least two standard errors of the
    difference of two means whose runs vary by ``std``."""
    refuse_answer_key(fn, seeds_needed, name="seeds_needed")
    cases = [(0.01, 0.01), (0.005, 0.011), (0.008, 0.002), (0.02, 0.05), (0.003, -0.004), (0.002, 0.01)]
    for std, diff in cases:
        got = call(fn, std, diff, name="my_seeds_needed")
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if isinstance(got, bool) or not isinstance(got, int):
            raise ExerciseError(
                f"my_seeds_needed({std}, {diff}) returned {got!r}: a number of seeds is a whole number "
                "(round up: fewer seeds would not be enough)."
            )
        expected = seeds_needed(std, diff)
        if got != expected:
            one_mean = max(2, math.ceil(4 * std * std / (diff * diff) - 1e-12))
            if got == one_mean:
                raise ExerciseError(
                    f"my_seeds_needed({std}, {diff}) = {got}: that is the standard error of ONE mean. "
                    "The difference of two means has two sources of spread."
                )
            if diff < 0 and got < 2:
                raise ExerciseError(f"my_seeds_needed({std}, {diff}): a negative difference counts by its size.")
        compare_number(
            f"my_seeds_needed({std}, {diff})",
            got,
            expected,
            hint="" if got >= 2 else "A standard deviation needs at least 2 seeds.",
        )
    return passed("the seed counts match on six (std, diff) pairs.")
