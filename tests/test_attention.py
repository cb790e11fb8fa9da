"""Window attention: the explicit path is the paper's formula, the fused path computes the same numbers."""

from __future__ import annotations

import pytest
import torch

from swinlab.attention import WindowAttention, qkv_heads, softmax_weights, window_attention
from swinlab.shift import MASK_VALUE, shift_mask


def reference_attention(x, attn: WindowAttention, mask=None):
    """SoftMax(QK^T / sqrt(d) + B + mask) V, one window and one head at a time, with the official qkv layout:
    the 3C outputs of ``qkv`` are [q | k | v], each split into heads of d consecutive channels."""
    Bw, N, C = x.shape
    h, d = attn.num_heads, C // attn.num_heads
    qkv = x @ attn.qkv.weight.T + attn.qkv.bias
    bias = attn.relative_bias()
    out = torch.zeros_like(x)
    for w in range(Bw):
        for head in range(h):
            q = qkv[w, :, head * d : (head + 1) * d]
            k = qkv[w, :, C + head * d : C + (head + 1) * d]
            v = qkv[w, :, 2 * C + head * d : 2 * C + (head + 1) * d]
            logits = q @ k.T / d**0.5 + bias[head]
            if mask is not None:
                logits = logits + mask[w % mask.shape[0]]
            out[w, :, head * d : (head + 1) * d] = logits.softmax(-1) @ v
    return out @ attn.proj.weight.T + attn.proj.bias


@pytest.fixture
def attention_and_mask():
    torch.manual_seed(0)
    attn = WindowAttention(dim=12, window_size=4, num_heads=3, fused=False).double()
    with torch.no_grad():  # a bias table far from zero, so a misplaced bias shows
        attn.relative_position_bias_table.normal_()
    mask = shift_mask(8, 8, 4, 2).double()  # 4 windows of an 8x8 map
    x = torch.randn(2 * 4, 16, 12, dtype=torch.float64)
    return attn, mask, x


def test_explicit_path_equals_per_window_per_head_formula(attention_and_mask):
    attn, mask, x = attention_and_mask
    with torch.no_grad():
        torch.testing.assert_close(attn(x), reference_attention(x, attn), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(attn(x, mask), reference_attention(x, attn, mask), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("with_mask", [False, True])
def test_sdpa_path_equals_explicit_path(attention_and_mask, with_mask):
    attn, mask, x = attention_and_mask
    attn, x = attn.float(), x.float()
    mask = mask.float() if with_mask else None
    args = (
        x,
        attn.qkv.weight,
        attn.qkv.bias,
        attn.proj.weight,
        attn.proj.bias,
        attn.num_heads,
        attn.relative_bias(),
        mask,
    )
    with torch.no_grad():
        explicit = window_attention(*args, fused=False)
        fused = window_attention(*args, fused=True)
    torch.testing.assert_close(fused, explicit, rtol=0, atol=1e-6)


def test_mask_stops_attention_between_regions(attention_and_mask):
    attn, mask, x = attention_and_mask
    # Window 3 of the shifted 8x8 map holds 4 regions; token 0 must not see tokens of other regions.
    other_regions = (mask[3, 0] == MASK_VALUE).nonzero().flatten()
    assert len(other_regions) > 0
    y = x.clone()
    y[3, other_regions] += 10.0
    with torch.no_grad():
        before, after = attn(x, mask), attn(y, mask)
    torch.testing.assert_close(after[3, 0], before[3, 0], rtol=0, atol=1e-30)  # exp(-100) leaks < 1e-40
    assert not torch.allclose(after[3, other_regions], before[3, other_regions])


def test_window_attention_keeps_official_names():
    names = set(WindowAttention(8, 4, 2).state_dict())
    assert names == {
        "qkv.weight",
        "qkv.bias",
        "proj.weight",
        "proj.bias",
        "relative_position_bias_table",
        "relative_position_index",
    }


def test_bad_sizes_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="dim=10 is not divisible by num_heads=3"):
        WindowAttention(10, 4, 3)
    attn = WindowAttention(8, 2, 2)
    with pytest.raises(ValueError, match="not a multiple of the mask's 4 windows"):
        attn(torch.randn(6, 4, 8), shift_mask(4, 4, 2, 1))


def test_softmax_weights_rows_sum_to_one_and_masked_pairs_get_no_weight():
    torch.manual_seed(0)
    attn = WindowAttention(dim=8, window_size=2, num_heads=2)
    x = torch.randn(2 * 4, 4, 8)  # B=2 images, nW=4 windows of a 4x4 map, M=2
    mask = shift_mask(4, 4, 2, 1)
    q, k, _ = qkv_heads(x, attn.qkv.weight, attn.qkv.bias, attn.num_heads)
    weights = softmax_weights(q, k, attn.relative_bias(), mask)
    assert weights.shape == (8, 2, 4, 4)
    torch.testing.assert_close(weights.sum(-1), torch.ones(8, 2, 4))
    masked = (mask != 0).repeat(2, 1, 1)[:, None].expand_as(weights)
    assert masked.any() and weights[masked].max() < 1e-30


@pytest.mark.parametrize("bad", [0, -2, 2.5, True])
def test_qkv_heads_refuses_a_head_count_that_is_not_a_positive_int(bad):
    # num_heads=0 used to end in a ZeroDivisionError from C % 0
    x, weight = torch.randn(4, 16, 12), torch.randn(36, 12)
    with pytest.raises(ValueError, match=r"num_heads must be a positive int.*C=12.*\[1, 2, 3, 4, 6, 12\]"):
        qkv_heads(x, weight, None, bad)


def test_qkv_heads_refuses_heads_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match="C=12 channels cannot be split into 5 heads"):
        qkv_heads(torch.randn(4, 16, 12), torch.randn(36, 12), None, 5)
