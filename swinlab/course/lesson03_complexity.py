"""Lesson 03, complexity: figures, explorers and exercise checkers.

The course file behind ``notebooks/03_complexity.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .checks import ExerciseError, passed
from .draw import new_figure
from .explorer import Explorer

# ---- figures -------------------------------------------------------------------------------------


def msa_wmsa_costs(h: int, w: int, C: int, M: int) -> tuple[Figure, dict]:
    """Both costs of the paper's Eq. 1 and 2 for an ``h x w`` map of ``C`` channels and ``M x M`` windows.

    Left: MSA and W-MSA as stacked bars (projections 4hwC², then QKᵀ + AV), in multiply-accumulates.
    Right: both costs against the number of tokens ``hw`` (log-log), the current map marked.
    Returns ``(fig, state)``; ``state`` holds the sizes, both totals, their terms and the ratio.
    """
    from ..complexity import msa_terms, wmsa_terms

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
    ax1.loglog(
        tokens, [sum(msa_terms(int(t), 1, C).values()) for t in tokens], color="#d95f02", label="MSA: 4nC² + 2n²C"
    )
    ax1.loglog(
        tokens,
        [sum(wmsa_terms(int(t), 1, C, M).values()) for t in tokens],
        color="#1b9e77",
        label="W-MSA: 4nC² + 2M²nC",
    )
    ax1.plot([n, n], [wmsa, msa], "o", color="k", ms=4)
    ax1.axvline(n, color="0.6", lw=0.8, ls=":")
    ax1.set_xlabel("tokens n = hw")
    ax1.set_ylabel("multiply-accumulates")
    ax1.set_title(f"cost against tokens (C={C}, M={M})", fontsize=9)
    ax1.legend(fontsize=7)
    note = " (M is larger than the map: one window is the whole map)" if M > min(h, w) else ""
    if note:
        fig.suptitle(note.strip(" ()"), fontsize=8, color="#b2182b")
    state = {
        "h": h,
        "w": w,
        "C": C,
        "M": M,
        "tokens": n,
        "msa": msa,
        "wmsa": wmsa,
        "ratio": ratio,
        "msa_terms": ms,
        "wmsa_terms": ws,
        "window_larger_than_map": bool(note),
    }
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


# ---- explorers -----------------------------------------------------------------------------------


def complexity_explorer(h: int = 56, w: int = 56, C: int = 96, M: int = 7) -> Explorer:
    """Sliders ``h``, ``w`` (tokens per side), ``C`` (channels) and ``M`` (window) over
    :func:`swinlab.msa_wmsa_costs`: both costs of Eq. 1 and 2, term by term, and their ratio."""
    return Explorer(
        msa_wmsa_costs,
        h=widgets.IntSlider(value=h, min=1, max=256, description="h"),
        w=widgets.IntSlider(value=w, min=1, max=256, description="w"),
        C=widgets.IntSlider(value=C, min=8, max=1024, step=8, description="C"),
        M=widgets.IntSlider(value=M, min=1, max=32, description="M"),
    )


# ---- exercise checkers ---------------------------------------------------------------------------


def check_attention_flops(msa_fn, wmsa_fn) -> bool:
    """Check the student's ``msa_fn(h, w, C)`` and ``wmsa_fn(h, w, C, M)`` against the paper's Eq. 1 and 2
    (:func:`swinlab.complexity.msa_flops`, :func:`swinlab.complexity.wmsa_flops`) on several sizes."""
    from ..complexity import msa_flops, wmsa_flops

    hint_msa = (
        "Omega(MSA) = 4hwC^2 + 2(hw)^2 C: 3hwC^2 for q, k, v, hwC^2 for the output projection, "
        "(hw)^2 C for QK^T and (hw)^2 C for AV."
    )
    hint_wmsa = (
        "Omega(W-MSA) = 4hwC^2 + 2M^2 hwC: the same projections, but each of the hw queries meets "
        "only the M^2 keys of its window, in QK^T and in AV."
    )
    for h, w, C, M in [(56, 56, 96, 7), (4, 6, 8, 2), (28, 28, 192, 7), (8, 16, 32, 4), (1, 1, 1, 1)]:
        got = msa_fn(h, w, C)
        if got is None:
            raise ExerciseError("msa_fn returned None: fill in the formula. " + hint_msa)
        if got != msa_flops(h, w, C):
            raise ExerciseError(f"msa_fn({h}, {w}, {C}) = {got}, expected {msa_flops(h, w, C)}. " + hint_msa)
        got = wmsa_fn(h, w, C, M)
        if got is None:
            raise ExerciseError("wmsa_fn returned None: fill in the formula. " + hint_wmsa)
        if got != wmsa_flops(h, w, C, M):
            raise ExerciseError(f"wmsa_fn({h}, {w}, {C}, {M}) = {got}, expected {wmsa_flops(h, w, C, M)}. " + hint_wmsa)
    return passed("both formulas match the paper's Eq. 1 and 2 on five sizes.")


def tokens_for_ratio(C: int, M: int, ratio: float) -> int:
    """The smallest number of tokens ``n = hw`` at which Omega(MSA) >= ``ratio`` * Omega(W-MSA).

    The ratio is (4C + 2n) / (4C + 2M^2), so n >= (ratio (4C + 2M^2) - 4C) / 2; searched exactly in integers.
    """
    from ..complexity import msa_flops, wmsa_flops

    n = max(1, int(((4 * C + 2 * M * M) * ratio - 4 * C) // 2) - 2)
    while msa_flops(n, 1, C) < ratio * wmsa_flops(n, 1, C, M):
        n += 1
    while n > 1 and msa_flops(n - 1, 1, C) >= ratio * wmsa_flops(n - 1, 1, C, M):
        n -= 1
    return n


def check_tokens_for_ratio(n, C: int = 96, M: int = 7, ratio: float = 10) -> bool:
    """Check the student's answer: the smallest ``n = hw`` where global attention costs ``ratio`` times W-MSA."""
    from ..complexity import msa_flops, wmsa_flops

    if n is None:
        raise ExerciseError("the answer is None: compute n and assign it.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ExerciseError(f"expected a positive int number of tokens, got {n!r}")
    expected = tokens_for_ratio(C, M, ratio)
    if n != expected:
        r = msa_flops(n, 1, C) / wmsa_flops(n, 1, C, M)
        side = "too small: the ratio there is only" if n < expected else "not the smallest: the ratio is already"
        raise ExerciseError(
            f"n={n} is {side} {r:.3f} (target {ratio}). The ratio is (4C + 2n) / (4C + 2M^2): "
            "the 4hwC^2 terms and the factor hw cancel; solve for n and round up."
        )
    side = int(round(expected**0.5))
    return passed(
        f"from n = {expected} tokens (about {side}x{side}) global attention costs {ratio}x W-MSA at C={C}, M={M}."
    )
