"""Lesson 07 (part 1): window attention with the relative position bias and the shift mask.

Attention(Q, K, V) = SoftMax(QK^T / sqrt(d) + B) V, computed for every window at once
(windows folded into the batch), with the mask of lesson 05 added for shifted windows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .relative_position import RelativePositionBias

__all__ = ["qkv_heads", "softmax_weights", "window_attention", "WindowAttention"]


def qkv_heads(
    x: torch.Tensor, qkv_weight: torch.Tensor, qkv_bias: torch.Tensor | None, num_heads: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Project tokens to queries, keys and values, split into heads: ``(B*nW, N, C)`` -> three
    ``(B*nW, heads, N, C/heads)``."""
    C = x.shape[-1]
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
        divisors = [h for h in range(1, C + 1) if C % h == 0]
        raise ValueError(
            f"num_heads must be a positive int, got {num_heads!r}: the C={C} channels are split into heads "
            f"of C/heads channels each, so pick heads in {divisors}"
        )
    if C % num_heads:
        raise ValueError(f"C={C} channels cannot be split into {num_heads} heads: pick heads dividing {C}")
    qkv = F.linear(x, qkv_weight, qkv_bias)  # B*nW, N, 3C
    q, k, v = rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=num_heads)
    return q, k, v


def softmax_weights(
    q: torch.Tensor, k: torch.Tensor, bias: torch.Tensor | None = None, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``SoftMax(QK^T / sqrt(d) + B)``, plus the shift mask: ``q, k (B*nW, heads, N, d)``,
    ``bias (heads, N, N)`` or ``None``, ``mask (nW, N, N)`` or ``None`` -> ``(B*nW, heads, N, N)``;
    rows sum to 1. Without bias and mask it is plain (global) attention, as lesson 09's ViT uses it.

    The steps and their order are the official implementation's: scale q, QK^T, add B, add the mask.
    """
    Bw, num_heads, N, head_dim = q.shape
    q = q * head_dim**-0.5
    attn = q @ k.transpose(-2, -1)  # B*nW, heads, N, N
    if bias is not None:
        attn = attn + bias.unsqueeze(0)
    if mask is not None:
        nW = mask.shape[0]
        if Bw % nW:
            raise ValueError(f"{Bw} windows in the batch is not a multiple of the mask's {nW} windows")
        attn = attn.view(Bw // nW, nW, num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, num_heads, N, N)
    return attn.softmax(dim=-1)


def window_attention(
    x: torch.Tensor,
    qkv_weight: torch.Tensor,
    qkv_bias: torch.Tensor | None,
    proj_weight: torch.Tensor,
    proj_bias: torch.Tensor | None,
    num_heads: int,
    bias: torch.Tensor,
    mask: torch.Tensor | None = None,
    fused: bool = False,
    attn_drop: float = 0.0,
) -> torch.Tensor:
    """Multi-head self-attention inside each window.

    ``x (B*nW, N, C)`` with ``N = M*M`` tokens per window; ``bias (heads, N, N)`` the relative
    position bias; ``mask (nW, N, N)`` or ``None``. Returns ``(B*nW, N, C)``.
    ``fused=False`` computes every step explicitly, in the official implementation's order;
    ``fused=True`` calls ``F.scaled_dot_product_attention`` with bias and mask folded into its float
    mask: the same function, rounded differently.
    """
    q, k, v = qkv_heads(x, qkv_weight, qkv_bias, num_heads)  # B*nW, heads, N, d
    Bw, _, N, head_dim = q.shape
    if fused:
        attn_mask = bias.unsqueeze(0).to(q.dtype)  # 1, heads, N, N
        if mask is not None:
            nW = mask.shape[0]
            if Bw % nW:
                raise ValueError(f"{Bw} windows in the batch is not a multiple of the mask's {nW} windows")
            attn_mask = (attn_mask.unsqueeze(0) + mask[None, :, None].to(q.dtype)).view(1, nW, num_heads, N, N)
            attn_mask = attn_mask.expand(Bw // nW, -1, -1, -1, -1).reshape(Bw, num_heads, N, N)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=attn_drop, scale=head_dim**-0.5)
    else:
        attn = softmax_weights(q, k, bias, mask)  # B*nW, heads, N, N
        if attn_drop:
            attn = F.dropout(attn, attn_drop)
        out = attn @ v  # B*nW, heads, N, d
    out = rearrange(out, "b h n d -> b n (h d)")  # B*nW, N, C
    return F.linear(out, proj_weight, proj_bias)


class WindowAttention(RelativePositionBias):
    """Window multi-head self-attention: ``(B*nW, M*M, C) -> (B*nW, M*M, C)``.

    Holds the parameters only: ``qkv`` Linear(C, 3C), ``proj`` Linear(C, C), and (from lesson 04's
    :class:`RelativePositionBias`) ``relative_position_bias_table`` and ``relative_position_index``,
    all under the official checkpoints' names. ``fused=None`` uses ``scaled_dot_product_attention``
    on GPUs, where it is faster, and the explicit path elsewhere.
    """

    def __init__(
        self,
        dim: int,
        window_size: int | tuple[int, int],
        num_heads: int,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        fused: bool | None = None,
    ) -> None:
        super().__init__(window_size, num_heads)
        if dim % num_heads:
            raise ValueError(f"dim={dim} is not divisible by num_heads={num_heads}")
        self.dim, self.fused, self.attn_drop = dim, fused, attn_drop
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        fused = x.is_cuda if self.fused is None else self.fused
        out = window_attention(
            x,
            self.qkv.weight,
            self.qkv.bias,
            self.proj.weight,
            self.proj.bias,
            self.num_heads,
            self.relative_bias(),
            mask,
            fused=fused,
            attn_drop=self.attn_drop if self.training else 0.0,
        )
        return self.proj_drop(out)
