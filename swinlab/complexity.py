"""Lesson 03: what attention costs, by formula and by measurement.

The paper (Eq. 1, 2): Omega(MSA) = 4hwC^2 + 2(hw)^2 C and Omega(W-MSA) = 4hwC^2 + 2M^2 hwC,
counting multiply-accumulates (MACs) and ignoring the softmax. PyTorch's FLOP counter counts a
multiply-add as two floating point operations, so ``count_flops == 2 * MACs`` for the same module.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

__all__ = [
    "msa_flops",
    "wmsa_flops",
    "msa_terms",
    "wmsa_terms",
    "count_flops",
    "swin_macs",
    "vit_macs",
    "measure_seconds",
    "loglog_slope",
]


def _check_positive(**sizes: int) -> None:
    for name, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")


def msa_terms(h: int, w: int, C: int) -> dict[str, int]:
    """Global multi-head self-attention over ``h*w`` tokens of ``C`` channels, term by term (MACs).

    ``qkv``: 3hwC^2 (three projections), ``proj``: hwC^2, ``qk``: (hw)^2 C for QK^T, ``av``: (hw)^2 C.
    """
    _check_positive(h=h, w=w, C=C)
    n = h * w
    return {"qkv": 3 * n * C * C, "proj": n * C * C, "qk": n * n * C, "av": n * n * C}


def wmsa_terms(h: int, w: int, C: int, M: int) -> dict[str, int]:
    """Window attention (M x M windows) over ``h*w`` tokens, term by term (MACs).

    Projections as in MSA; each token attends to the M^2 tokens of its window: ``qk`` = ``av`` = M^2 hwC.
    """
    _check_positive(h=h, w=w, C=C, M=M)
    n = h * w
    return {"qkv": 3 * n * C * C, "proj": n * C * C, "qk": M * M * n * C, "av": M * M * n * C}


def msa_flops(h: int, w: int, C: int) -> int:
    """Omega(MSA) = 4hwC^2 + 2(hw)^2 C multiply-accumulates (the paper's Eq. 1)."""
    return sum(msa_terms(h, w, C).values())


def wmsa_flops(h: int, w: int, C: int, M: int) -> int:
    """Omega(W-MSA) = 4hwC^2 + 2M^2 hwC multiply-accumulates (the paper's Eq. 2)."""
    return sum(wmsa_terms(h, w, C, M).values())


def count_flops(module: torch.nn.Module | Callable, *inputs, **kwargs) -> int:
    """Run ``module(*inputs, **kwargs)`` under PyTorch's FLOP counter and return the total.

    The counter reports 2 FLOPs per multiply-add of matrix multiplies, convolutions and attention;
    element-wise work (softmax, LayerNorm, GELU, additions) is not counted.
    """
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(*inputs, **kwargs)
    return int(counter.get_total_flops())


def measure_seconds(fn: Callable, *inputs, repeats: int = 5, warmup: int = 1, min_seconds: float = 0.0) -> float:
    """Wall-clock seconds of one call ``fn(*inputs)``: the fastest of the timed runs, under ``torch.no_grad()``.

    ``warmup`` untimed calls first (allocations, caches), then at least ``repeats`` timed ones, and more
    until the timed runs add up to ``min_seconds`` (so a fast call is sampled over a longer stretch of
    time). The fastest run is the one least disturbed by other work on the machine (as ``timeit``
    advises), so it is the most repeatable. On a GPU the device is synchronised before the clock is read.
    """
    _check_positive(repeats=repeats)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}")
    if not min_seconds >= 0:
        raise ValueError(f"min_seconds must be >= 0, got {min_seconds!r}")
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    times: list[float] = []
    with torch.no_grad():
        for _ in range(warmup):
            fn(*inputs)
        while len(times) < repeats or sum(times) < min_seconds:
            sync()
            start = time.perf_counter()
            fn(*inputs)
            sync()
            times.append(time.perf_counter() - start)
    return min(times)


def loglog_slope(sizes: Sequence[float], values: Sequence[float]) -> float:
    """The exponent ``p`` of a power law ``value ~ size**p``: the slope of a least-squares line
    through ``(log size, log value)`` (``numpy.polyfit``, degree 1).

    ``sizes``, ``values``: ``(n,)`` positive numbers, ``n >= 2``. A cost quadratic in the number of
    tokens gives ``p ~ 2``, a linear one ``p ~ 1``.
    """
    x, y = np.asarray(sizes, dtype=float), np.asarray(values, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"need two 1-D sequences of the same length >= 2, got shapes {x.shape} and {y.shape}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("sizes and values must all be positive to take their logarithm")
    if len(np.unique(x)) < 2:
        raise ValueError(f"need at least two different sizes to fit a slope, got {x.tolist()}")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def swin_macs(
    img_size: int | tuple[int, int],
    patch_size: int,
    in_chans: int,
    embed_dim: int,
    depths: Sequence[int],
    windows: Sequence[int],
    mlp_ratio: float,
    num_classes: int,
) -> dict[str, int]:
    """Multiply-accumulates of a whole Swin Transformer: every matrix multiply and convolution.

    ``windows[i]`` is the window stage ``i`` really uses (see ``swinlab.shift.window_and_shift``).
    Returns the MACs per part (``patch_embed``, ``attention``, ``mlp``, ``merging``, ``head``) and
    ``total``. Norms, softmax, GELU and additions are not counted; they add well under 1%.
    """
    H, W = (img_size, img_size) if isinstance(img_size, int) else img_size
    h, w, C = H // patch_size, W // patch_size, embed_dim
    macs = {
        "patch_embed": h * w * patch_size * patch_size * in_chans * C,
        "attention": 0,
        "mlp": 0,
        "merging": 0,
        "head": 0,
    }
    hidden = lambda c: int(c * mlp_ratio)
    for i, (depth, M) in enumerate(zip(depths, windows, strict=True)):
        macs["attention"] += depth * wmsa_flops(h, w, C, M)
        macs["mlp"] += depth * 2 * h * w * C * hidden(C)
        if i < len(depths) - 1:
            h, w = h // 2, w // 2
            macs["merging"] += h * w * 4 * C * 2 * C
            C *= 2
    macs["head"] = C * num_classes
    macs["total"] = sum(macs.values())
    return macs


def vit_macs(
    img_size: int | tuple[int, int],
    patch_size: int,
    in_chans: int,
    embed_dim: int,
    depth: int,
    mlp_ratio: float,
    num_classes: int,
    cls_token: bool = True,
) -> dict[str, int]:
    """Multiply-accumulates of a ViT: patch embedding, ``depth`` blocks of global MSA + MLP, head.

    Attention is global over ``n`` tokens (the patches, plus the [CLS] token when present):
    ``4nC^2 + 2n^2 C`` per block, Eq. 1 of the Swin paper with ``hw`` replaced by ``n``.
    """
    H, W = (img_size, img_size) if isinstance(img_size, int) else img_size
    patches = (H // patch_size) * (W // patch_size)
    n, C = patches + int(cls_token), embed_dim
    macs = {
        "patch_embed": patches * patch_size * patch_size * in_chans * C,
        "attention": depth * (4 * n * C * C + 2 * n * n * C),
        "mlp": depth * 2 * n * C * int(C * mlp_ratio),
        "head": C * num_classes,
    }
    macs["total"] = sum(macs.values())
    return macs
