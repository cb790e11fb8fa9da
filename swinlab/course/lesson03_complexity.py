"""Lesson 03, complexity: figures, explorers and exercise checkers.

The course file behind ``notebooks/03_complexity.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from .checks import ExerciseError, call, checker, compare_number, passed, refuse_answer_key, require
from .draw import new_figure
from .explorer import Explorer

# ---- figures -------------------------------------------------------------------------------------


def window_used(h: int, w: int, M: int) -> dict:
    """The windows W-MSA really works with on an ``h x w`` map and a requested window ``M``.

    As the model does, a map no larger than the window gets one window the size of the map: ``M`` is clamped to
    ``min(h, w)``. When that window does not divide both sides, swinlab's model refuses the map (it needs
    ``M | h`` and ``M | w``); Swin's detection code pads the map on the bottom and right to multiples of
    ``M`` instead, and computes every padded window. Returns the window ``M``, the padded map ``(hp, wp)``,
    the number of windows ``ceil(h/M) * ceil(w/M)`` and a one-line ``note`` ("" when nothing changed).
    """
    from ..complexity import _check_positive

    _check_positive(h=h, w=w, M=M)
    m = min(M, h, w)
    hp, wp = -(-h // m) * m, -(-w // m) * m
    notes = []
    if m != M:
        notes.append(f"M={M} is larger than the {h}×{w} map: the window shrinks to M={m}, as in the model")
    if (hp, wp) != (h, w):
        notes.append(
            f"M={m} does not divide {h}×{w}: swinlab's model refuses it; counted here as Swin's detection code "
            f"does it, padded to {hp}×{wp}"
        )
    return {"M": m, "padded": (hp, wp), "windows": (hp // m) * (wp // m), "note": "; ".join(notes)}


def msa_wmsa_costs(h: int, w: int, C: int, M: int) -> tuple[Figure, dict]:
    """Both costs of the paper's Eq. 1 and 2 for an ``h x w`` map of ``C`` channels and ``M x M`` windows.

    Left: MSA and W-MSA as stacked bars (projections 4hwC², then QKᵀ + AV), in multiply-accumulates, the legend
    under the axes. Right: both costs against the number of tokens ``n`` (log-log); W-MSA drawn only from
    ``n = M²`` on (below it one window holds the whole map and W-MSA is MSA), the current map marked.
    The window is the one the model would use (:func:`window_used`: clamped to the map; a window that does not
    divide the map is counted on the padded map, and the figure says so).
    Returns ``(fig, state)``; ``state`` holds the sizes, the window used, both totals, their terms and the ratio.
    """
    from ..complexity import msa_terms, wmsa_terms

    used = window_used(h, w, M)
    m, (hp, wp) = used["M"], used["padded"]
    ms, ws = msa_terms(h, w, C), wmsa_terms(hp, wp, C, m)
    msa, wmsa = sum(ms.values()), sum(ws.values())
    n = h * w
    fig, (ax0, ax1) = new_figure(1, 2, size=(4.6, 3.8))
    proj = np.array([ms["qkv"] + ms["proj"], ws["qkv"] + ws["proj"]]) / 1e6
    attn = np.array([ms["qk"] + ms["av"], ws["qk"] + ws["av"]]) / 1e6
    labels = ["MSA\n(global)", f"W-MSA\n(M={m})"]
    ax0.bar(labels, proj, color="#8da0cb", label="4hwC²  (q, k, v + projection)")
    ax0.bar(labels, attn, bottom=proj, color="#fc8d62", label="QKᵀ + AV  (2(hw)²C or 2M²hwC)")
    for i, total in enumerate((msa, wmsa)):
        label = f"{total / 1e6:,.1f}M" if total >= 1e7 else f"{total / 1e6:.3g}M"
        ax0.annotate(label, (i, total / 1e6), ha="center", va="bottom", fontsize=9)
    ax0.set_ylabel("multiply-accumulates (millions)")
    ax0.set_ylim(0, 1.15 * max(msa, wmsa) / 1e6)
    ax0.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    ratio = msa / wmsa
    ax0.set_title(f"h={h}, w={w}, C={C}, M={m}: MSA / W-MSA = {ratio:.2f}×", fontsize=9)
    tokens = np.unique(np.geomspace(1, max(16 * n, 4096), 200).astype(np.int64))
    ax1.loglog(
        tokens, [sum(msa_terms(int(t), 1, C).values()) for t in tokens], color="#d95f02", label="MSA: 4nC² + 2n²C"
    )
    windowed = tokens[tokens >= m * m]
    ax1.loglog(
        windowed,
        [sum(wmsa_terms(int(t), 1, C, m).values()) for t in windowed],
        color="#1b9e77",
        label="W-MSA: 4nC² + 2M²nC (n ≥ M²)",
    )
    if m > 1:
        ax1.axvspan(tokens[0], m * m, color="0.93", zorder=0)
        ax1.text(1.2, ax1.get_ylim()[1] / 3, "n < M²:\none window\n= the map", fontsize=7, color="0.35", va="top")
    ax1.plot([n, n], [wmsa, msa], "o", color="k", ms=4)
    ax1.axvline(n, color="0.6", lw=0.8, ls=":")
    ax1.set_xlabel("tokens n = hw")
    ax1.set_ylabel("multiply-accumulates")
    ax1.set_title(f"cost against tokens (C={C}, M={m})", fontsize=9)
    ax1.legend(fontsize=7, loc="lower right")
    if used["note"]:
        fig.suptitle(used["note"], fontsize=8, color="#b2182b")
    state = {
        "h": h,
        "w": w,
        "C": C,
        "M": M,
        "window": m,
        "padded": (hp, wp),
        "windows": used["windows"],
        "tokens": n,
        "msa": msa,
        "wmsa": wmsa,
        "ratio": ratio,
        "msa_terms": ms,
        "wmsa_terms": ws,
        "window_larger_than_map": m != M,
        "note": used["note"],
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


def _known_mistake(got: int, known: list[tuple[int, str]]) -> str | None:
    """What a wrong value means, when it is the value of exactly one typical mistake (else ``None``)."""
    meanings = {meaning for value, meaning in known if got == value}
    if len(meanings) != 1:
        return None
    meaning = meanings.pop()
    return meaning[0].upper() + meaning[1:]


@checker
def check_attention_flops(msa_fn, wmsa_fn) -> bool:
    """Exercise 1: the student's ``msa_fn(h, w, C)`` and ``wmsa_fn(h, w, C, M)`` against the paper's Eq. 1 and 2
    on five sizes. Refuses swinlab's ``msa_flops``, ``wmsa_flops``, ``msa_terms``, ``wmsa_terms`` (the answer
    key). A wrong value names the sizes, both values and, for the typical mistakes, which term is off."""
    from ..complexity import msa_flops, msa_terms, wmsa_flops, wmsa_terms

    keys = (msa_flops, wmsa_flops, msa_terms, wmsa_terms)
    refuse_answer_key(msa_fn, *keys, name="msa_flops")
    refuse_answer_key(wmsa_fn, *keys, name="wmsa_flops")
    for h, w, C, M in [(56, 56, 96, 7), (4, 6, 8, 2), (28, 28, 192, 7), (8, 16, 32, 4), (2, 3, 5, 1)]:
        n = h * w
        lin, tok = 4 * n * C * C, 2 * n * n * C
        got = call(msa_fn, h, w, C, name="my_msa_flops")
        why = _known_mistake(
            got,
            [
                (
                    2 * (lin + tok),
                    "that is the FLOP counter's number: the paper counts multiply-accumulates, half of it.",
                ),
                (tok, "the linear layers (q, k, v and the output projection) are missing."),
                (lin, "the two products between tokens, QKᵀ and AV, are missing."),
                (lin + tok // 2, "only one of the two products between tokens is counted: QKᵀ and AV each cost one."),
                (lin - n * C * C + tok, "one projection is missing: q, k and v are three, plus the output projection."),
                (2 * n * C * C + tok, "q, k and v are three projections, plus the output projection: four in all."),
                (lin + 2 * n * C, "QKᵀ compares every query with every key: it grows with (hw)², not hw."),
            ],
        )
        compare_number(f"my_msa_flops({h}, {w}, {C})", got, lin + tok, why or "", show_expected=why is None)
        lin_w, tok_w = lin, 2 * M * M * n * C
        got = call(wmsa_fn, h, w, C, M, name="my_wmsa_flops")
        why = _known_mistake(
            got,
            [
                (
                    2 * (lin_w + tok_w),
                    "that is the FLOP counter's number: the paper counts multiply-accumulates, half of it.",
                ),
                (lin + tok, "that is global attention: inside windows each query meets only the keys of its window."),
                (lin_w + 2 * M * n * C, "a window holds M x M tokens: each query meets M² keys, not M."),
                (lin_w + 2 * M**4 * n * C, "each query meets the M² keys of its window: M² per query, not M⁴."),
                (
                    tok_w,
                    "the linear layers (q, k, v and the output projection) are missing; windows do not change them.",
                ),
                (
                    lin_w + tok_w // 2,
                    "only one of the two products between tokens is counted: QKᵀ and AV each cost one.",
                ),
            ],
        )
        compare_number(f"my_wmsa_flops({h}, {w}, {C}, {M})", got, lin_w + tok_w, why or "", show_expected=why is None)
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


@checker
def check_tokens_for_ratio(n, C: int = 96, M: int = 7, ratio: float = 10) -> bool:
    """Exercise 2: the smallest ``n = hw`` where global attention costs ``ratio`` times W-MSA. A wrong answer is
    told the ratio at that ``n`` and which way it is off, never the answer."""
    from ..complexity import msa_flops, wmsa_flops

    require(n_tokens=n)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ExerciseError(f"n_tokens should be a positive int (a number of tokens), got {n!r}.")
    n = int(n)
    expected = tokens_for_ratio(C, M, ratio)
    if n != expected:
        r = msa_flops(n, 1, C) / wmsa_flops(n, 1, C, M)
        side = "too small: the ratio there is only" if n < expected else "not the smallest: the ratio is already"
        raise ExerciseError(f"n_tokens = {n} is {side} {r:.4f} (target {ratio}). Divide Eq. (1) by Eq. (2) first.")
    side = int(round(expected**0.5))
    return passed(
        f"from n = {expected} tokens (about {side}x{side}) global attention costs {ratio}x W-MSA at C={C}, M={M}."
    )


class CountedSwinBlock(nn.Module):
    """One Swin block without its shift, for counting: ``z' = W-MSA(LN(z)) + z``, ``out = MLP(LN(z')) + z'``,
    MLP = ``Linear(C, rC)`` -> GELU -> ``Linear(rC, C)``. ``(B, h, w, C) -> (B, h, w, C)``; ``M`` divides h and w.

    Exercise 3 asks for the number :class:`torch.utils.flop_counter.FlopCounterMode` reports on it."""

    def __init__(self, C: int, heads: int, M: int, r: int) -> None:
        super().__init__()
        self.heads, self.M = heads, M
        self.norm1, self.qkv, self.proj = nn.LayerNorm(C), nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.norm2, self.fc1, self.act, self.fc2 = nn.LayerNorm(C), nn.Linear(C, r * C), nn.GELU(), nn.Linear(r * C, C)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        from einops import rearrange

        from ..windows import window_partition, window_reverse

        B, h, w, C = z.shape
        t = rearrange(window_partition(self.norm1(z), self.M), "b m1 m2 c -> b (m1 m2) c")  # B*nW, M*M, C
        q, k, v = rearrange(self.qkv(t), "b n (three heads d) -> three b heads n d", three=3, heads=self.heads)
        attn = ((q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)  # B*nW, heads, M*M, M*M
        out = self.proj(rearrange(attn @ v, "b heads n d -> b n (heads d)"))  # B*nW, M*M, C
        z = z + window_reverse(rearrange(out, "b (m1 m2) c -> b m1 m2 c", m1=self.M), self.M, h, w)
        return z + self.fc2(self.act(self.fc1(self.norm2(z))))


def counted_block_flops(h: int, w: int, C: int, M: int, r: int, heads: int = 2) -> int:
    """What PyTorch's FLOP counter reports for one :class:`CountedSwinBlock` on a ``(1, h, w, C)`` map."""
    from ..complexity import count_flops

    torch.manual_seed(0)
    return count_flops(CountedSwinBlock(C, heads, M, r), torch.randn(1, h, w, C))


@checker
def check_block_flops(fn) -> bool:
    """Exercise 3: the student's ``fn(h, w, C, M, r)`` predicts, without running anything, the number PyTorch's
    FLOP counter reports for one Swin block (W-MSA and an MLP of hidden width ``r*C``, each behind a LayerNorm
    and a residual) on a ``(1, h, w, C)`` map. The checker counts a real block (:class:`CountedSwinBlock`).
    Refuses the counter itself. Names, for the typical mistakes, what is missing or counted twice."""
    from ..complexity import count_flops, swin_macs, vit_macs, wmsa_flops

    refuse_answer_key(
        fn, count_flops, counted_block_flops, CountedSwinBlock, swin_macs, vit_macs, name="the FLOP counter"
    )
    for h, w, C, M, r in [(6, 9, 24, 3, 3), (8, 8, 16, 4, 4), (14, 14, 32, 7, 4), (4, 4, 8, 4, 3)]:
        n = h * w
        expected = counted_block_flops(h, w, C, M, r)
        attention, mlp = wmsa_flops(h, w, C, M), 2 * r * n * C * C
        got = call(fn, h, w, C, M, r, name="block_flops")
        why = _known_mistake(
            got,
            [
                (attention + mlp, "that is the multiply-accumulates; the counter counts each as two operations."),
                (2 * attention, "that is the attention alone: the block also runs its MLP."),
                (
                    attention,
                    "that is the attention alone, in multiply-accumulates: the block also runs its MLP, and the "
                    "counter counts two operations per multiply-accumulate.",
                ),
                (2 * (attention + mlp // 2), "the MLP has two linear layers, C -> rC and rC -> C."),
                (2 * (attention + 2 * n * C * C), "the MLP's hidden layer is r*C wide, not C."),
                (2 * mlp, "the attention is missing: the block runs W-MSA before its MLP."),
            ],
        )
        compare_number(
            f"block_flops({h}, {w}, {C}, {M}, {r})",
            got,
            expected,
            why or "What does the counter count, and what does it leave out?",
            show_expected=why is None,
        )
    return passed("your prediction matches PyTorch's FLOP counter on a real block, for every size tried.")
