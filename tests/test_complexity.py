"""Lesson 03: the paper's cost formulas, PyTorch's FLOP counter on real attention modules, timing helpers."""

from __future__ import annotations

import math

import pytest
import torch
from einops import rearrange
from torch import nn

from swinlab.complexity import (
    count_flops,
    loglog_slope,
    measure_seconds,
    msa_flops,
    msa_terms,
    swin_macs,
    vit_macs,
    wmsa_flops,
    wmsa_terms,
)
from swinlab.windows import window_partition, window_reverse


class TinyMSA(nn.Module):
    """Multi-head self-attention from plain torch ops: qkv Linear, q @ k^T, softmax, @ v, proj Linear.

    ``window=None`` attends over the whole ``(B, h, w, C)`` map; ``window=M`` within each M x M window.
    """

    def __init__(self, C: int, heads: int, window: int | None = None) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)

    def attend(self, t: torch.Tensor) -> torch.Tensor:  # (B', N, C) -> (B', N, C)
        q, k, v = rearrange(self.qkv(t), "b n (three h d) -> three b h n d", three=3, h=self.heads)
        attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
        out = attn.softmax(dim=-1) @ v
        return self.proj(rearrange(out, "b h n d -> b n (h d)"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        if self.window is None:
            return self.attend(x.reshape(B, H * W, C)).reshape(B, H, W, C)
        M = self.window
        windows = window_partition(x, M).reshape(-1, M * M, C)
        return window_reverse(self.attend(windows).reshape(-1, M, M, C), M, H, W)


# ---- the formulas ------------------------------------------------------------------------------


def test_msa_flops_matches_hand_computed_swin_t_stage1():
    # h = w = 56, C = 96: 4*3136*96^2 = 115,605,504 and 2*3136^2*96 = 1,888,223,232.
    assert msa_flops(56, 56, 96) == 115_605_504 + 1_888_223_232 == 2_003_828_736


def test_wmsa_flops_matches_hand_computed_swin_t_stage1():
    # 2 * 7^2 * 3136 * 96 = 29,503,488.
    assert wmsa_flops(56, 56, 96, 7) == 115_605_504 + 29_503_488 == 145_108_992


def test_formulas_on_a_tiny_map_by_hand():
    # h=2, w=3, C=4 -> n=6: projections 4*6*16 = 384, attention 2*36*4 = 288; M=1: 2*1*6*4 = 48.
    assert msa_flops(2, 3, 4) == 384 + 288
    assert wmsa_flops(2, 3, 4, 1) == 384 + 48


def test_terms_are_named_and_sum_to_the_totals():
    ms, ws = msa_terms(4, 8, 16), wmsa_terms(4, 8, 16, 4)
    assert set(ms) == set(ws) == {"qkv", "proj", "qk", "av"}
    assert ms["qkv"] == 3 * ms["proj"] == 3 * 32 * 16 * 16
    assert ms["qk"] == ms["av"] == 32 * 32 * 16
    assert ws["qk"] == ws["av"] == 16 * 32 * 16
    assert sum(ms.values()) == msa_flops(4, 8, 16) and sum(ws.values()) == wmsa_flops(4, 8, 16, 4)


def test_window_as_large_as_the_map_costs_the_same_as_global_attention():
    assert wmsa_flops(8, 8, 32, 8) == msa_flops(8, 8, 32)


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "7", None])
def test_formulas_reject_bad_sizes_with_a_clear_error(bad):
    with pytest.raises(ValueError, match="positive int"):
        wmsa_flops(8, 8, 32, bad)
    with pytest.raises(ValueError, match="positive int"):
        msa_flops(bad, 8, 32)


# ---- the counter against the formulas -----------------------------------------------------------


@pytest.mark.parametrize(
    "h, w, C, M, heads", [(4, 4, 8, 2, 1), (8, 8, 32, 4, 4), (6, 12, 24, 3, 2), (14, 7, 16, 7, 2), (8, 8, 12, 1, 3)]
)
def test_flop_counter_is_twice_the_formula_for_global_and_window_attention(h, w, C, M, heads):
    torch.manual_seed(0)
    x = torch.randn(2, h, w, C)
    assert count_flops(TinyMSA(C, heads), x) == 2 * 2 * msa_flops(h, w, C)  # batch 2, 2 FLOPs per MAC
    assert count_flops(TinyMSA(C, heads, window=M), x) == 2 * 2 * wmsa_flops(h, w, C, M)


def test_window_module_with_window_equal_to_map_equals_global_module():
    torch.manual_seed(0)
    glob, win = TinyMSA(16, 2), TinyMSA(16, 2, window=8)
    win.load_state_dict(glob.state_dict())
    x = torch.randn(1, 8, 8, 16)
    torch.testing.assert_close(win(x), glob(x))


def test_count_flops_of_a_linear_layer_is_two_per_multiply_add():
    assert count_flops(nn.Linear(5, 7), torch.randn(3, 5)) == 2 * 3 * 5 * 7


def test_swin_macs_of_swin_t_equals_half_the_flop_counter_exactly():
    from swinlab.model import swin_t

    model = swin_t().eval()
    flops = count_flops(model, torch.randn(1, 3, 224, 224))
    macs = model.macs()
    assert flops == 2 * macs["total"]
    assert round(macs["total"] / 1e9, 1) == 4.5  # the paper's 4.5G
    assert macs == swin_macs(224, 4, 3, 96, (2, 2, 6, 2), model.stage_windows(), 4.0, 1000)


def test_vit_macs_counts_cls_token_in_global_attention():
    with_cls, without = vit_macs(32, 4, 3, 64, 2, 2.0, 10), vit_macs(32, 4, 3, 64, 2, 2.0, 10, cls_token=False)
    n = 64
    assert without["attention"] == 2 * (4 * n * 64 * 64 + 2 * n * n * 64)
    assert with_cls["attention"] == 2 * (4 * (n + 1) * 64 * 64 + 2 * (n + 1) ** 2 * 64)


# ---- timing helpers -------------------------------------------------------------------------------


def test_loglog_slope_recovers_the_exponent_of_a_power_law():
    n = [64, 256, 1024, 4096]
    assert loglog_slope(n, [3e-6 * v**2 for v in n]) == pytest.approx(2.0)
    assert loglog_slope(n, [5e-4 * v for v in n]) == pytest.approx(1.0)
    assert loglog_slope(n, [v * math.log(v) for v in n]) == pytest.approx(1.2, abs=0.1)


@pytest.mark.parametrize(
    "sizes, values", [([1], [1]), ([1, 2], [1]), ([1, 2], [1, 0]), ([0, 2], [1, 2]), ([4, 4], [1, 2])]
)
def test_loglog_slope_rejects_bad_input(sizes, values):
    with pytest.raises(ValueError):
        loglog_slope(sizes, values)


def test_measure_seconds_runs_warmup_plus_repeats_calls():
    calls = []
    seconds = measure_seconds(lambda a: calls.append(a), 1, repeats=3, warmup=2)
    assert len(calls) == 5 and seconds >= 0


def test_measure_seconds_rejects_bad_counts():
    with pytest.raises(ValueError, match="repeats"):
        measure_seconds(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        measure_seconds(lambda: None, warmup=-1)
    with pytest.raises(ValueError, match="min_seconds"):
        measure_seconds(lambda: None, min_seconds=-1.0)


def test_measure_seconds_keeps_timing_until_min_seconds_have_passed():
    import time

    calls = []

    def sleepy():
        calls.append(1)
        time.sleep(0.01)

    seconds = measure_seconds(sleepy, repeats=1, warmup=0, min_seconds=0.05)
    assert len(calls) >= 5 and 0.009 <= seconds < 0.05
