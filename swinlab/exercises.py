"""Checkers for the lessons' exercises: each runs the student's answer against swinlab and says
what is wrong, in words, or confirms it is right.

A checker raises ``ExerciseError`` (an ``AssertionError``) with a hint when the answer is wrong and
returns ``True`` after printing a confirmation when it is right.
"""

from __future__ import annotations

import torch

__all__ = ["ExerciseError", "passed", "compare"]


class ExerciseError(AssertionError):
    """The answer is not right yet; the message says what differs and what to look at."""


def passed(message: str) -> bool:
    print(f"Correct: {message}")
    return True


def compare(name: str, got, expected: torch.Tensor, hint: str) -> None:
    """Raise ``ExerciseError`` unless ``got`` is a tensor equal (in shape and values) to ``expected``."""
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(f"{name}: expected a torch.Tensor, got {type(got).__name__}. {hint}")
    if tuple(got.shape) != tuple(expected.shape):
        raise ExerciseError(f"{name}: shape {tuple(got.shape)}, expected {tuple(expected.shape)}. {hint}")
    if not torch.allclose(got.to(expected.dtype), expected, atol=1e-5, rtol=1e-4):
        bad = (got.to(expected.dtype) - expected).abs() > 1e-5 + 1e-4 * expected.abs()
        first = tuple(int(i) for i in bad.nonzero()[0])
        raise ExerciseError(f"{name}: right shape, but {int(bad.sum())} of {bad.numel()} values differ "
                            f"(first at index {first}: got {got[first].item():.4g}, expected "
                            f"{expected[first].item():.4g}). {hint}")


# ---- lesson 00: welcome ----------------------------------------------------------------------


def check_token_counts(side: int, P: int, M: int, N, scores, windowed) -> bool:
    """Lesson 00: tokens of a ``side x side`` image cut into ``P x P`` patches, the attention scores of
    global attention over them (per head and layer), and of attention in ``M x M`` windows."""
    expected_n = (side // P) ** 2
    for name, got, want, hint in (
            ("N", N, expected_n, f"an image of {side}x{side} pixels holds ({side}/{P})^2 patches of {P}x{P}"),
            ("scores", scores, expected_n ** 2, "global attention compares every token with every token: N * N"),
            ("windowed", windowed, expected_n * M * M, f"in a window each token meets only the M*M = {M * M} "
                                                       "tokens of its window: N * M * M")):
        if got is None:
            raise ExerciseError(f"{name} is still None: fill it in. Hint: {hint}.")
        if got != want:
            raise ExerciseError(f"{name} = {got} is not right. Hint: {hint}.")
    return passed(f"{N:,} tokens, {scores:,} global scores, {windowed:,} windowed: {scores // windowed}x fewer")


# ---- lesson 01: patches ----------------------------------------------------------------------

def check_patches_to_image(fn) -> bool:
    """Check a student's ``fn(patches, P)``: ``(B, H/P, W/P, P*P*C) -> (B, H, W, C)``, the inverse of
    :func:`swinlab.patches.image_to_patches`, on several shapes (including ``P = 1`` and one channel)."""
    from .patches import image_to_patches

    hint = ("Undo image_to_patches: rearrange(patches, 'b h w (p1 p2 c) -> b (h p1) (w p2) c', p1=P, p2=P). "
            "Inside a patch the values are ordered rows, then columns, channels fastest.")
    g = torch.Generator().manual_seed(0)
    for B, H, W, C, P in [(1, 4, 4, 1, 2), (2, 8, 12, 3, 4), (1, 6, 9, 5, 3), (2, 3, 5, 2, 1)]:
        images = torch.randn(B, H, W, C, generator=g)
        compare(f"patches_to_image on {(B, H, W, C)} with P={P}", fn(image_to_patches(images, P), P), images, hint)
    return passed("patches_to_image(image_to_patches(x, P), P) gives x back on every shape tried.")


def check_token_grid(fn) -> bool:
    """Check a student's ``fn(H, W, P, C)`` returning the token grid shape ``(H/P, W/P, C)`` of
    :class:`swinlab.patches.PatchEmbed` with patch ``P`` and ``embed_dim = C``."""
    from .patches import PatchEmbed

    for H, W, P, C in [(224, 224, 4, 96), (224, 224, 16, 768), (32, 32, 2, 96), (384, 256, 4, 128)]:
        expected = tuple(PatchEmbed(P, 3, C)(torch.zeros(1, 3, H, W)).shape[1:])
        got = fn(H, W, P, C)
        if got is None or tuple(int(v) for v in got) != expected:
            raise ExerciseError(f"for a {H}x{W} image, P={P}, C={C}: got {got}, expected a grid of {expected}. "
                                "Each axis shrinks by P; the channels are the embedding size C.")
    return passed("the token grid is (H/P, W/P, C) for every size tried.")


# ---- lesson 02: local windows ----------------------------------------------------------------

def check_window_reverse(fn) -> bool:
    """Check a student's ``fn(windows, M, H, W)``: ``(B*nW, M, M, C) -> (B, H, W, C)``, the inverse of
    :func:`swinlab.windows.window_partition`, on several shapes (B = 1 and 2, one and many windows)."""
    from .windows import window_partition

    hint = ("Windows are stacked batch-major, then row-major: "
            "rearrange(windows, '(b nh nw) mh mw c -> b (nh mh) (nw mw) c', nh=H // M, nw=W // M).")
    g = torch.Generator().manual_seed(0)
    cases = [(1, 4, 4, 1, 2), (2, 4, 4, 1, 2), (2, 6, 9, 4, 3), (1, 7, 7, 3, 7), (3, 8, 4, 2, 2)]
    for B, H, W, C, M in cases:
        x = torch.arange(B * H * W * C, dtype=torch.float32).reshape(B, H, W, C) if C == 1 else \
            torch.randn(B, H, W, C, generator=g)
        compare(f"window_reverse on {(B, H, W, C)} with M={M}", fn(window_partition(x, M), M, H, W), x, hint)
    return passed("window_reverse(window_partition(x, M), M, H, W) gives x back on every shape tried.")


# ---- lesson 03: complexity -------------------------------------------------------------------


def check_attention_flops(msa_fn, wmsa_fn) -> bool:
    """Check the student's ``msa_fn(h, w, C)`` and ``wmsa_fn(h, w, C, M)`` against the paper's Eq. 1 and 2
    (:func:`swinlab.complexity.msa_flops`, :func:`swinlab.complexity.wmsa_flops`) on several sizes."""
    from .complexity import msa_flops, wmsa_flops

    hint_msa = ("Omega(MSA) = 4hwC^2 + 2(hw)^2 C: 3hwC^2 for q, k, v, hwC^2 for the output projection, "
                "(hw)^2 C for QK^T and (hw)^2 C for AV.")
    hint_wmsa = ("Omega(W-MSA) = 4hwC^2 + 2M^2 hwC: the same projections, but each of the hw queries meets "
                 "only the M^2 keys of its window, in QK^T and in AV.")
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
            raise ExerciseError(f"wmsa_fn({h}, {w}, {C}, {M}) = {got}, expected {wmsa_flops(h, w, C, M)}. "
                                + hint_wmsa)
    return passed("both formulas match the paper's Eq. 1 and 2 on five sizes.")


def tokens_for_ratio(C: int, M: int, ratio: float) -> int:
    """The smallest number of tokens ``n = hw`` at which Omega(MSA) >= ``ratio`` * Omega(W-MSA).

    The ratio is (4C + 2n) / (4C + 2M^2), so n >= (ratio (4C + 2M^2) - 4C) / 2; searched exactly in integers.
    """
    from .complexity import msa_flops, wmsa_flops

    n = max(1, int(((4 * C + 2 * M * M) * ratio - 4 * C) // 2) - 2)
    while msa_flops(n, 1, C) < ratio * wmsa_flops(n, 1, C, M):
        n += 1
    while n > 1 and msa_flops(n - 1, 1, C) >= ratio * wmsa_flops(n - 1, 1, C, M):
        n -= 1
    return n


def check_tokens_for_ratio(n, C: int = 96, M: int = 7, ratio: float = 10) -> bool:
    """Check the student's answer: the smallest ``n = hw`` where global attention costs ``ratio`` times W-MSA."""
    from .complexity import msa_flops, wmsa_flops

    if n is None:
        raise ExerciseError("the answer is None: compute n and assign it.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ExerciseError(f"expected a positive int number of tokens, got {n!r}")
    expected = tokens_for_ratio(C, M, ratio)
    if n != expected:
        r = msa_flops(n, 1, C) / wmsa_flops(n, 1, C, M)
        side = ("too small: the ratio there is only" if n < expected else "not the smallest: the ratio is already")
        raise ExerciseError(f"n={n} is {side} {r:.3f} (target {ratio}). The ratio is (4C + 2n) / (4C + 2M^2): "
                            "the 4hwC^2 terms and the factor hw cancel; solve for n and round up.")
    side = int(round(expected ** 0.5))
    return passed(f"from n = {expected} tokens (about {side}x{side}) global attention costs {ratio}x W-MSA "
                  f"at C={C}, M={M}.")


# ---- lesson 04: relative position ------------------------------------------------------------


def check_relative_position_index(fn) -> bool:
    """Check the student's ``fn(M) -> (M², M²)`` index against :func:`swinlab.relative_position.relative_position_index`
    for square windows M = 1 … 7."""
    from .relative_position import relative_position_index

    hint = ("Number the tokens row by row; for query i and key j take dy = row(i) - row(j) and "
            "dx = col(i) - col(j), shift both by M-1 (so they start at 0), multiply the row part by 2M-1, add.")
    for M in range(1, 8):
        got = fn(M)
        if got is None:
            raise ExerciseError(f"fn({M}) returned None: fill in the function. {hint}")
        compare(f"fn({M})", got, relative_position_index(M), hint)
        if got.dtype.is_floating_point:
            raise ExerciseError(f"fn({M}) has dtype {got.dtype}: an index must be an integer tensor "
                                "(torch.long) to select rows of the table.")
    return passed("your index equals swinlab's for M = 1 … 7: every token pair finds its (2M-1)^2 table entry.")


# ---- lesson 05: shifted windows --------------------------------------------------------------


def check_shift_mask(fn) -> bool:
    """Lesson 05 exercise: ``fn(H, W, M, s) -> (nW, M*M, M*M)``, the shifted-window mask built from the
    tokens' original coordinates (without ``shift_regions``): 0.0 where two tokens of a rolled window
    come from the same piece of the displaced window grid, -100.0 where they don't.

    Checked against :func:`swinlab.shift.shift_mask` on several grids, square and not.
    """
    from .shift import shift_mask

    for H, W, M, s in ((4, 4, 2, 1), (8, 8, 4, 2), (6, 9, 3, 1), (8, 12, 4, 3), (14, 14, 7, 3)):
        got = fn(H, W, M, s)
        if got is None:
            raise ExerciseError("your function returned None: build the (nW, M*M, M*M) mask and return it.")
        compare(f"the mask of an {H}x{W} grid with M={M}, s={s}", got, shift_mask(H, W, M, s),
                "The token at rolled position (i, j) came from ((i + s) % H, (j + s) % W). The displaced "
                "windows cut each axis at s, s+M, s+2M, ...: rows r < s form one piece, then piece (r - s) // M. "
                "Give each token the id of its piece, cut the id map into windows with window_partition, and "
                "compare ids pairwise: equal -> 0.0, different -> -100.0.")
    return passed("your mask equals shift_mask on five grids: two tokens may attend exactly when they were "
                  "neighbours in one shifted window before the roll.")


# ---- lesson 06: patch merging ----------------------------------------------------------------


def check_merge_neighbours(fn) -> bool:
    """Lesson 06 exercise: ``fn(x)`` merges 2x2 neighbours, ``(B, H, W, C) -> (B, H/2, W/2, 4C)``, in the
    official channel order x0 (even row, even col), x1 (odd, even), x2 (even, odd), x3 (odd, odd).

    Checked against :func:`swinlab.merging.merge_neighbours`; a swapped x1/x2 gets its own hint.
    """
    from .merging import merge_neighbours

    g = torch.Generator().manual_seed(0)
    for shape in ((1, 4, 4, 1), (2, 6, 8, 3)):
        x = torch.randn(*shape, generator=g)
        got = fn(x.clone())
        if got is None:
            raise ExerciseError("your function returned None: return the merged (B, H/2, W/2, 4C) tensor.")
        expected = merge_neighbours(x)
        C = shape[-1]
        if isinstance(got, torch.Tensor) and got.shape == expected.shape:
            swapped = torch.cat([expected[..., :C], expected[..., 2 * C:3 * C], expected[..., C:2 * C],
                                 expected[..., 3 * C:]], dim=-1)
            if torch.equal(got, swapped) and not torch.equal(got, expected):
                raise ExerciseError("x1 and x2 are swapped: the official order takes the odd ROW first "
                                    "(x1 = x[:, 1::2, 0::2]), then the odd COLUMN (x2 = x[:, 0::2, 1::2]). "
                                    "With einops, put the column offset outside the row offset: '(pw ph c)'.")
        compare(f"merging a tensor of shape {shape}", got, expected,
                "Concatenate x0 = x[:, 0::2, 0::2], x1 = x[:, 1::2, 0::2], x2 = x[:, 0::2, 1::2], "
                "x3 = x[:, 1::2, 1::2] along the channels.")
    return passed("your merge puts every pixel where the official PatchMerging does (x0, x1, x2, x3).")


# ---- lesson 07: the Swin Transformer ---------------------------------------------------------


def check_block_forward(fn) -> bool:
    """Lesson 07 exercise: ``fn(block, x)`` is the forward pass of ``block`` (a :class:`swinlab.model.SwinBlock`),
    ``(B, H, W, C) -> (B, H, W, C)``, written from its parts (``norm1``, ``attn``, ``norm2``, ``mlp``,
    ``attention_mask``) and the earlier lessons' functions.

    Checked against ``block(x)`` for a W-MSA block and an SW-MSA block; the hint says which one is wrong.
    """
    from .model import SwinBlock

    torch.manual_seed(0)
    for shift in (0, 2):
        kind = "W-MSA block (shift 0)" if shift == 0 else "SW-MSA block (shift 2)"
        block = SwinBlock(dim=8, input_resolution=(8, 8), num_heads=2, window_size=4, shift_size=shift,
                          fused=False).eval()
        with torch.no_grad():
            for p in block.parameters():      # move every weight off its initial value so nothing hides
                p.add_(0.1 * torch.randn_like(p))
            x = torch.randn(2, 8, 8, 8)
            got = fn(block, x.clone())
            expected = block(x)
        if got is None:
            raise ExerciseError(f"{kind}: your function returned None: return the (B, H, W, C) output.")
        hint = ("Check the order: shortcut = x; LN; roll by -s; window_partition; attn(windows, mask); "
                "window_reverse; roll by +s; x = shortcut + that; then x + mlp(norm2(x)).")
        if shift:
            hint = ("The W-MSA block is right, so look at the shift: roll by -s on both H and W before "
                    "partitioning, pass block.attention_mask(H, W, x.device) to attn, and roll back by +s "
                    "after window_reverse.")
        compare(f"the output of the {kind}", got, expected, hint)
    return passed("your forward pass equals SwinBlock for both W-MSA and SW-MSA blocks.")

# ---- lesson 08: training ---------------------------------------------------------------------

def check_lr_schedule(fn) -> bool:
    """Exercise: ``fn(step, total_steps, warmup_steps, peak, min_lr) -> float``, linear warmup (step 0 gets
    ``peak / warmup_steps``) then a cosine from ``peak`` to ``min_lr`` (checked against ``swinlab.train.lr_at``)."""
    import math

    from .train import lr_at

    cases = [(0, 100, 10, 1e-3, 1e-5), (4, 100, 10, 1e-3, 1e-5), (9, 100, 10, 1e-3, 1e-5), (10, 100, 10, 1e-3, 1e-5),
             (55, 100, 10, 1e-3, 1e-5), (99, 100, 10, 1e-3, 1e-5), (100, 100, 10, 1e-3, 1e-5), (0, 50, 0, 2e-3, 0.0),
             (25, 50, 0, 2e-3, 0.0)]
    for step, total, warmup, peak, min_lr in cases:
        got, expected = fn(step, total, warmup, peak, min_lr), lr_at(step, total, warmup, peak, min_lr)
        if got is None or not isinstance(got, (int, float)) or not math.isfinite(got):
            raise ExerciseError(f"fn({step}, {total}, {warmup}, {peak}, {min_lr}) returned {got!r}: return a float")
        if not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-12):
            phase = "warmup" if step < warmup else "cosine"
            hint = ("During warmup the rate grows linearly: step 0 already gets peak / warmup_steps and the last "
                    "warmup step gets the full peak." if phase == "warmup" else
                    "After warmup, t = (step - warmup_steps) / (total_steps - warmup_steps) runs from 0 to 1 and "
                    "lr = min_lr + (peak - min_lr) * (1 + cos(pi * t)) / 2.")
            raise ExerciseError(f"step {step} of {total} (warmup {warmup}, {phase}): got {got:.6g}, expected "
                                f"{expected:.6g}. {hint}")
    return passed("warmup then cosine, equal to swinlab.train.lr_at at every step tested.")


def check_soft_targets(fn) -> bool:
    """Exercise: ``fn(labels (B,), num_classes, smoothing) -> (B, K)`` smoothed one-hot targets, such that the
    soft-target cross-entropy equals ``F.cross_entropy(..., label_smoothing=smoothing)``."""
    import torch.nn.functional as F

    from .train import soft_cross_entropy, soft_targets

    labels = torch.tensor([3, 0, 9, 3])
    for smoothing in (0.0, 0.1, 0.3):
        got = fn(labels, 10, smoothing)
        compare(f"targets with smoothing={smoothing}", got, soft_targets(labels, 10, smoothing),
                "Each row sums to 1: smoothing/K on every class, plus 1 - smoothing on the true label.")
    logits = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    ours = soft_cross_entropy(logits, fn(labels, 10, 0.1))
    ref = F.cross_entropy(logits, labels, label_smoothing=0.1)
    return passed(f"smoothed targets; their cross-entropy {ours.item():.4f} equals F.cross_entropy(label_smoothing=0.1)"
                  f" {ref.item():.4f}.")


# ---- lesson 09: Swin vs ViT ------------------------------------------------------------------


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
    hint = ("Per block: projections 4nC^2, MLP 2 * n * C * (C * mlp_ratio), attention 2n^2 C. Set the quadratic "
            "term equal to the linear ones and divide by 2nC.")
    for C, r in [(256, 2.0), (96, 4.0), (192, 1.5), (8, 3.0), (1, 1.0)]:
        got = fn(C, r)
        if got is None:
            raise ExerciseError("fn returned None: fill in the formula. " + hint)
        expected = quadratic_takeover_tokens(C, r)
        if got != expected:
            raise ExerciseError(f"fn({C}, {r}) = {got!r}, expected {expected}. " + hint)
    return passed("the quadratic term takes over at n = 2C + C * mlp_ratio tokens: 1024 for vit_cifar "
                  "(C=256, ratio 2), a 32x32 patch grid, i.e. 64x64 images with patch 2.")
