"""Lesson 09: the baseline Swin is measured against, the Vision Transformer (ViT), and the measurement.

ViT (Dosovitskiy et al., Eq. 1-4): the image is cut into patches, each patch is linearly embedded,
a learnable [CLS] token is prepended and a learned position embedding added,
    z_0 = [x_class; x_p^1 E; ... ; x_p^N E] + E_pos
then ``depth`` pre-norm blocks of *global* multi-head self-attention and an MLP,
    z'_l = MSA(LN(z_{l-1})) + z_{l-1}        z_l = MLP(LN(z'_l)) + z'_l
and the class is read from the [CLS] token: y = LN(z_L^0). Every block sees all ``N`` tokens, so
attention costs ``2 N^2 C`` multiply-accumulates per block (Swin's Eq. 1), quadratic in the image area.

The benchmark (:func:`compare_inference`) builds both models afresh for each resolution (the
simplest way to give ViT a position embedding of the right length) and times them with batch 1;
``complexity.loglog_slope`` turns the rows into the exponent of the power law.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .attention import qkv_heads, softmax_weights
from .complexity import vit_macs
from .model import DropPath, Mlp, _init_weights, swin_cifar, swin_micro
from .patches import PatchEmbed

__all__ = [
    "global_attention",
    "Attention",
    "ViTBlock",
    "ViT",
    "vit_cifar",
    "vit_micro",
    "vit_cifar_lite",
    "count_parameters",
    "time_forward",
    "compare_inference",
    "crossover",
    "MODEL_PAIRS",
]


def global_attention(
    x: torch.Tensor,
    qkv_weight: torch.Tensor,
    qkv_bias: torch.Tensor | None,
    proj_weight: torch.Tensor,
    proj_bias: torch.Tensor | None,
    num_heads: int,
    fused: bool = True,
    attn_drop: float = 0.0,
) -> torch.Tensor:
    """Multi-head self-attention over *all* tokens: ``(B, N, C) -> (B, N, C)``.

    Attention(Q, K, V) = SoftMax(QK^T / sqrt(d)) V, with no bias, no mask and no windows.
    ``fused=True`` calls ``F.scaled_dot_product_attention`` (never stores the ``(B, heads, N, N)``
    matrix on CPU or GPU: the only way to reach 16k tokens); ``fused=False`` computes each step
    explicitly (the matrices PyTorch's FLOP counter sees on every device): the same function,
    rounded differently.
    """
    q, k, v = qkv_heads(x, qkv_weight, qkv_bias, num_heads)  # B, heads, N, d
    if fused:
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=attn_drop, scale=q.shape[-1] ** -0.5)
    else:
        attn = softmax_weights(q, k)  # B, heads, N, N
        if attn_drop:
            attn = F.dropout(attn, attn_drop)
        out = attn @ v  # B, heads, N, d
    out = rearrange(out, "b h n d -> b n (h d)")  # B, N, C
    return F.linear(out, proj_weight, proj_bias)


class Attention(nn.Module):
    """Global multi-head self-attention holding its weights: ``(B, N, C) -> (B, N, C)``.

    ``qkv`` Linear(C, 3C), ``proj`` Linear(C, C) (the names timm's ViT uses). ``fused`` as in
    :func:`global_attention`.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        fused: bool = True,
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim={dim} is not divisible by num_heads={num_heads}: pick heads dividing {dim}")
        self.dim, self.num_heads, self.fused, self.attn_drop = dim, num_heads, fused, attn_drop
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = global_attention(
            x,
            self.qkv.weight,
            self.qkv.bias,
            self.proj.weight,
            self.proj.bias,
            self.num_heads,
            self.fused,
            self.attn_drop if self.training else 0.0,
        )
        return self.proj_drop(out)


class ViTBlock(nn.Module):
    """One pre-norm Transformer block: ``(B, N, C) -> (B, N, C)``.

    z' = MSA(LN(z)) + z;  z = MLP(LN(z')) + z'  (the same residual form as a Swin block, global attention).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        fused: bool = True,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, qkv_bias, attn_drop, drop, fused)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))  # z' = MSA(LN(z)) + z
        return x + self.drop_path(self.mlp(self.norm2(x)))  # z = MLP(LN(z')) + z'


class ViT(nn.Module):
    """The Vision Transformer for classification: images ``(B, in_chans, H, W) -> logits (B, num_classes)``.

    Patch embedding (a stride-P convolution, no norm), a [CLS] token, a learned position embedding of
    ``1 + (H/P)(W/P)`` rows, ``depth`` pre-norm blocks of global attention, a final LayerNorm and a
    linear head on the [CLS] token. The position embedding fixes the resolution at build time:
    build a new model for another ``img_size``.
    """

    def __init__(
        self,
        img_size: int = 32,
        patch_size: int = 2,
        in_chans: int = 3,
        num_classes: int = 10,
        embed_dim: int = 256,
        depth: int = 13,
        num_heads: int = 8,
        mlp_ratio: float = 2.0,
        qkv_bias: bool = True,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        attn_drop_rate: float = 0.0,
        fused: bool = True,
    ) -> None:
        super().__init__()
        if img_size % patch_size:
            raise ValueError(
                f"img_size={img_size} is not divisible by patch_size={patch_size}: use img_size "
                f"{-(-img_size // patch_size) * patch_size} or a patch size dividing {img_size}"
            )
        self.config = dict(
            img_size=img_size,
            patch_size=patch_size,
            in_chans=in_chans,
            num_classes=num_classes,
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
        )
        self.num_classes, self.num_features = num_classes, embed_dim
        self.grid = (img_size // patch_size, img_size // patch_size)
        self.num_patches = self.grid[0] * self.grid[1]
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, norm=False)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))  # x_class
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.num_patches, embed_dim))  # E_pos
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()  # stochastic depth grows with depth
        self.blocks = nn.ModuleList(
            [
                ViTBlock(embed_dim, num_heads, mlp_ratio, qkv_bias, drop_rate, attn_drop_rate, dpr[i], fused)
                for i in range(depth)
            ]
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.apply(_init_weights)  # the same init as Swin

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, in_chans, H, W) -> (B, 1 + (H/P)(W/P), embed_dim)``, [CLS] first, after the final norm."""
        x = self.patch_embed(images)  # B, H/P, W/P, C
        if tuple(x.shape[1:3]) != self.grid:
            H, W = images.shape[-2:]
            raise ValueError(
                f"images of {H}x{W} give a {x.shape[1]}x{x.shape[2]} patch grid, but the position "
                f"embedding was built for {self.grid[0]}x{self.grid[1]}: pass "
                f"{self.config['img_size']}x{self.config['img_size']} images or build "
                f"ViT(img_size={H}, ...)"
            )
        x = rearrange(x, "b h w c -> b (h w) c")  # B, N, C
        cls = self.cls_token.expand(x.shape[0], -1, -1)  # B, 1, C
        x = torch.cat([cls, x], dim=1) + self.pos_embed  # B, 1+N, C
        x = self.pos_drop(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(images)[:, 0])  # B, num_classes (from [CLS])

    def macs(self, img_size: int | None = None) -> dict[str, int]:
        """Multiply-accumulates of one forward pass, per part and ``total`` (see ``complexity.vit_macs``).

        PyTorch's FLOP counter reports exactly ``2 * total`` for a model built with ``fused=False``;
        with ``fused=True`` on the CPU (torch 2.x) it does not see the fused attention kernel at all.
        """
        c = self.config
        return vit_macs(
            img_size or c["img_size"],
            c["patch_size"],
            c["in_chans"],
            c["embed_dim"],
            c["depth"],
            c["mlp_ratio"],
            c["num_classes"],
            cls_token=True,
        )


def vit_cifar(**kwargs) -> ViT:
    """A ViT for CIFAR-10 with about ``swin_cifar``'s parameters: 32x32, patch 2 (as ``swin_cifar``), C=256,
    depth 13, 8 heads, MLP ratio 2 (as ``swin_cifar``), 10 classes (6.92M parameters vs Swin's 7.05M)."""
    return ViT(
        **{
            "img_size": 32,
            "patch_size": 2,
            "num_classes": 10,
            "embed_dim": 256,
            "depth": 13,
            "num_heads": 8,
            "mlp_ratio": 2.0,
            "drop_path_rate": 0.1,
            **kwargs,
        }
    )


def vit_micro(**kwargs) -> ViT:
    """A small ViT with about ``swin_micro``'s parameters, for the CPU: 32x32, patch 2, C=96, depth 5,
    4 heads, MLP ratio 2, 10 classes (0.40M parameters vs Swin's 0.39M)."""
    return ViT(
        **{
            "img_size": 32,
            "patch_size": 2,
            "num_classes": 10,
            "embed_dim": 96,
            "depth": 5,
            "num_heads": 4,
            "mlp_ratio": 2.0,
            "drop_path_rate": 0.0,
            **kwargs,
        }
    )


def vit_cifar_lite(**kwargs) -> ViT:
    """A ViT with about ``swin_cifar``'s cost at 32x32 instead of its parameters: patch 2, C=128, depth 5,
    4 heads, MLP ratio 2, 10 classes (0.253 GMACs vs Swin's 0.241 GMACs per image; 0.70M parameters)."""
    return ViT(
        **{
            "img_size": 32,
            "patch_size": 2,
            "num_classes": 10,
            "embed_dim": 128,
            "depth": 5,
            "num_heads": 4,
            "mlp_ratio": 2.0,
            "drop_path_rate": 0.0,
            **kwargs,
        }
    )


#: The pairs compared in the lesson: name -> (ViT builder, Swin builder), each taking ``img_size=``.
#: ``cifar`` and ``micro`` match parameters; ``equal_macs`` matches the cost at 32x32.
MODEL_PAIRS: dict[str, tuple[Callable[..., nn.Module], Callable[..., nn.Module]]] = {
    "cifar": (vit_cifar, swin_cifar),
    "micro": (vit_micro, swin_micro),
    "equal_macs": (vit_cifar_lite, swin_cifar),
}


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.inference_mode()
def time_forward(
    model: nn.Module,
    images: torch.Tensor,
    repeats: int = 3,
    warmup: int = 1,
    max_seconds: float = 20.0,
    min_seconds: float = 1.0,
) -> float:
    """The fastest wall-clock seconds of ``model(images)`` in inference mode, ``images (B, C, H, W)``.

    As ``complexity.measure_seconds`` (the minimum: other processes can only slow a call down), with a
    time limit for sizes where one call takes a minute.

    ``warmup`` untimed calls first (but when one call already takes over ``max_seconds / 4``, that
    call is timed instead and counts as a repeat: at that size warm-up costs are negligible), then up
    to ``repeats`` timed calls, stopping early once ``max_seconds`` have been spent timing. Fast calls are
    repeated beyond ``repeats`` until ``min_seconds`` have been spent: more chances to catch a quiet moment
    on a busy machine.
    On a GPU the device is synchronised around every call.
    """
    if repeats < 1:
        raise ValueError(f"repeats={repeats} must be at least 1")
    sync = torch.cuda.synchronize if images.is_cuda else (lambda: None)
    times: list[float] = []
    i = 0
    while len(times) < repeats or sum(times) < min(min_seconds, max_seconds):
        sync()
        start = time.perf_counter()
        model(images)
        sync()
        elapsed = time.perf_counter() - start
        if i >= warmup or elapsed > max_seconds / 4:
            times.append(elapsed)
        i += 1
        if sum(times) > max_seconds:
            break
    return min(times)


def compare_inference(
    sizes: Sequence[int],
    pair: str = "cifar",
    batch_size: int = 1,
    repeats: int = 3,
    device: str | torch.device = "cpu",
    max_seconds: float = 20.0,
    min_seconds: float = 1.0,
    seed: int = 0,
    progress: bool = False,
) -> list[dict]:
    """Inference speed and cost of ViT and Swin as the input grows, one fresh model per size.

    ``sizes``: image sides in pixels (each must suit both models: multiples of 32 for the CIFAR
    pair, whose Swin has 3 stages and window 4). ``pair``: a key of :data:`MODEL_PAIRS`. Random
    images ``(batch_size, 3, S, S)``. Returns one dict per (size, model), ViT first:
    ``model, img_size, tokens`` (patch tokens entering the first block), ``params``, ``macs`` (of one
    image, from the model's ``macs()``), ``flops`` (= 2 * macs), ``seconds`` (fastest per batch),
    ``images_per_s``, ``batch_size``.
    """
    if pair not in MODEL_PAIRS:
        raise ValueError(f"pair={pair!r} is not one of {sorted(MODEL_PAIRS)}")
    device = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    results = []
    for size in sizes:
        images = torch.randn(batch_size, 3, size, size, generator=generator).to(device)
        for name, build in zip(("ViT", "Swin"), MODEL_PAIRS[pair], strict=True):
            torch.manual_seed(seed)
            model = build(img_size=size).to(device).eval()
            seconds = time_forward(model, images, repeats=repeats, max_seconds=max_seconds, min_seconds=min_seconds)
            macs = model.macs()["total"]
            patch = model.config["patch_size"]
            results.append(
                {
                    "model": name,
                    "img_size": size,
                    "tokens": (size // patch) ** 2,
                    "params": count_parameters(model),
                    "macs": macs,
                    "flops": 2 * macs,
                    "seconds": seconds,
                    "images_per_s": batch_size / seconds,
                    "batch_size": batch_size,
                }
            )
            if progress:
                print(
                    f"{name:>4} {size:4d}px  {results[-1]['tokens']:6d} tokens  {macs / 1e9:8.2f} GMACs  "
                    f"{seconds * 1e3:9.1f} ms/batch  {results[-1]['images_per_s']:8.1f} images/s",
                    flush=True,
                )
            del model
    return results


def crossover(results: Sequence[dict], key: str = "images_per_s") -> int | None:
    """The smallest image size from which Swin stays ahead of ViT on ``key`` (higher is better for
    ``images_per_s``, lower for ``seconds``, ``macs`` and ``flops``); ``None`` if it never does.

    ``results``: rows of :func:`compare_inference`. If Swin is ahead at every size, the smallest size is returned.
    """
    lower_is_better = key in {"seconds", "macs", "flops"}
    table = {(r["model"], r["img_size"]): r[key] for r in results}
    sizes = sorted({r["img_size"] for r in results})
    ahead = []
    for s in sizes:
        if ("ViT", s) not in table or ("Swin", s) not in table:
            raise ValueError(f"size {s} lacks a ViT or a Swin row: pass rows of compare_inference")
        v, w = table[("ViT", s)], table[("Swin", s)]
        ahead.append(w < v if lower_is_better else w > v)
    for i, s in enumerate(sizes):
        if all(ahead[i:]):
            return s
    return None
