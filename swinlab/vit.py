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

The paper's own comparison (its Table 1: DeiT-S/B and ViT-B/16 against Swin-T/S/B, images/s on a V100) is
:func:`paper_models` / :func:`paper_throughput`; where a forward pass spends its time, :func:`op_time_breakdown`;
the activation memory of a training step, counted (:func:`saved_activation_bytes`) and by formula
(:func:`activation_bytes_formula`). Command line: ``python -m swinlab.vit throughput --out FILE.json``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ._utils import write_json_atomic
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
    "deit_s",
    "deit_b",
    "vit_b16",
    "PAPER_TABLE1",
    "PAPER_PAIRS",
    "paper_models",
    "measure_throughput",
    "paper_throughput",
    "throughput_ratios",
    "OP_KINDS",
    "op_time_breakdown",
    "saved_activation_bytes",
    "block_activation_floats",
    "activation_bytes_formula",
    "cuda_peak_training_bytes",
    "memory_vs_resolution",
    "main",
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
    linear head on the [CLS] token. ``pool="mean"`` drops the [CLS] token (and its position row) and reads the
    head from the average of the final tokens, as Swin does. The position embedding fixes the resolution at
    build time: build a new model for another ``img_size``.
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
        pool: str = "cls",
    ) -> None:
        super().__init__()
        if pool not in ("cls", "mean"):
            raise ValueError(f"pool={pool!r}: choose 'cls' (the [CLS] token) or 'mean' (average of all tokens)")
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
            pool=pool,
        )
        self.pool = pool
        self.num_classes, self.num_features = num_classes, embed_dim
        self.grid = (img_size // patch_size, img_size // patch_size)
        self.num_patches = self.grid[0] * self.grid[1]
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, norm=False)
        n_cls = 1 if pool == "cls" else 0
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if n_cls else None  # x_class
        self.pos_embed = nn.Parameter(torch.zeros(1, n_cls + self.num_patches, embed_dim))  # E_pos
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = torch.linspace(0, drop_path_rate, depth, device="cpu").tolist()  # stochastic depth grows with depth
        self.blocks = nn.ModuleList(
            [
                ViTBlock(embed_dim, num_heads, mlp_ratio, qkv_bias, drop_rate, attn_drop_rate, dpr[i], fused)
                for i in range(depth)
            ]
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if self.cls_token is not None:
            nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.apply(_init_weights)  # the same init as Swin

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, in_chans, H, W) -> (B, 1 + (H/P)(W/P), embed_dim)``, [CLS] first, after the final norm
        (``(B, (H/P)(W/P), embed_dim)`` with ``pool="mean"``, which has no [CLS] token)."""
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
        if self.cls_token is not None:
            cls = self.cls_token.expand(x.shape[0], -1, -1)  # B, 1, C
            x = torch.cat([cls, x], dim=1)  # B, 1+N, C
        x = x + self.pos_embed  # + E_pos
        x = self.pos_drop(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        z = self.forward_features(images)
        summary = z[:, 0] if self.pool == "cls" else z.mean(dim=1)  # B, C: the [CLS] token or the token average
        return self.head(summary)  # B, num_classes

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
            cls_token=c["pool"] == "cls",
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


# ---------------------------------------------------------------------------------------------
# The paper's models: DeiT and ViT-B/16 beside Swin-T/S/B (Table 1 of the Swin paper)
# ---------------------------------------------------------------------------------------------


def deit_s(**kwargs) -> ViT:
    """DeiT-S (Touvron et al. 2021): ViT with patch 16, C=384, 12 blocks, 6 heads, MLP ratio 4, 224x224,
    1000 classes (22.05M parameters, 4.6 GMACs). DeiT changes the training recipe, not the network."""
    return ViT(
        **{
            "img_size": 224,
            "patch_size": 16,
            "num_classes": 1000,
            "embed_dim": 384,
            "depth": 12,
            "num_heads": 6,
            "mlp_ratio": 4.0,
            "drop_path_rate": 0.1,
            **kwargs,
        }
    )


def deit_b(**kwargs) -> ViT:
    """DeiT-B: patch 16, C=768, 12 blocks, 12 heads, MLP ratio 4, 224x224, 1000 classes (86.57M parameters,
    17.6 GMACs; at ``img_size=384``: 86.86M, 55.5 GMACs)."""
    return ViT(
        **{
            "img_size": 224,
            "patch_size": 16,
            "num_classes": 1000,
            "embed_dim": 768,
            "depth": 12,
            "num_heads": 12,
            "mlp_ratio": 4.0,
            "drop_path_rate": 0.1,
            **kwargs,
        }
    )


def vit_b16(**kwargs) -> ViT:
    """ViT-B/16 (Dosovitskiy et al. 2021): the same network as DeiT-B (patch 16, C=768, 12 blocks, 12 heads,
    MLP ratio 4), without stochastic depth; the two differ in how they were trained."""
    return deit_b(**{"drop_path_rate": 0.0, **kwargs})


def _swin_b384(**kwargs) -> nn.Module:
    from .model import swin_b

    return swin_b(**{"img_size": 384, "window_size": 12, **kwargs})  # the 384 model uses window 12


def _swin(name: str) -> Callable[..., nn.Module]:
    def build(**kwargs) -> nn.Module:
        from . import model

        return getattr(model, name)(**kwargs)

    build.__name__ = name
    return build


#: Table 1(a) of the Swin paper (Liu et al. 2021, ImageNet-1K, throughput on one V100 GPU): name ->
#: (builder, image side, params (M), FLOPs (G), images/s, top-1 %). The Swin rows agree with the official
#: repository's README (28M/50M/88M, 4.5G/8.7G/15.4G, 755/437/278/85 img/s there, rounded; it gives 47.1G for
#: Swin-B/384 and 81.2% for the released Swin-T weights; Swin-T's parameters are also quoted from the table as 29M,
#: and swinlab counts 28.29M); DeiT's parameters agree with the DeiT README
#: (22M, 86M). The DeiT and ViT throughput and accuracy figures are the paper's table as quoted; they were not
#: checked against a second source here. ViT-B/16/384 and DeiT-B/384 are the same network (one builder,
#: measured once).
PAPER_TABLE1: dict[str, tuple[Callable[..., nn.Module], int, float, float, float, float]] = {
    "DeiT-S": (deit_s, 224, 22, 4.6, 940.4, 79.8),
    "DeiT-B": (deit_b, 224, 86, 17.5, 292.3, 81.8),
    "DeiT-B/384": (lambda **kw: deit_b(img_size=384, **kw), 384, 86, 55.4, 85.9, 83.1),
    "ViT-B/16/384": (lambda **kw: vit_b16(img_size=384, **kw), 384, 86, 55.4, 85.9, 77.9),
    "Swin-T": (_swin("swin_t"), 224, 28, 4.5, 755.2, 81.3),
    "Swin-S": (_swin("swin_s"), 224, 50, 8.7, 436.9, 83.0),
    "Swin-B": (_swin("swin_b"), 224, 88, 15.4, 278.1, 83.5),
    "Swin-B/384": (_swin_b384, 384, 88, 47.0, 84.7, 84.5),
}

#: The comparisons the paper's Table 1 invites, at about equal cost: (Swin, ViT/DeiT).
PAPER_PAIRS: tuple[tuple[str, str], ...] = (
    ("Swin-T", "DeiT-S"),
    ("Swin-B", "DeiT-B"),
    ("Swin-B/384", "DeiT-B/384"),
    ("Swin-B/384", "ViT-B/16/384"),
)

#: Networks that are identical to another entry (same builder up to the training recipe): measured once.
SAME_NETWORK = {"ViT-B/16/384": "DeiT-B/384"}


def paper_models() -> dict[str, dict]:
    """The models of the Swin paper's Table 1 with the paper's figures: name -> ``{"build", "img_size",
    "paper_params_m", "paper_gflops", "paper_images_per_s", "paper_top1"}`` (see :data:`PAPER_TABLE1`).

    ``build(**kwargs)`` returns the network with random weights (e.g. ``build(fused=False)``). The paper's
    "FLOPs" are multiply-accumulates (its 4.5G for Swin-T is our 4.49 GMACs)."""
    return {
        name: {
            "build": build,
            "img_size": size,
            "paper_params_m": params,
            "paper_gflops": gflops,
            "paper_images_per_s": speed,
            "paper_top1": top1,
        }
        for name, (build, size, params, gflops, speed, top1) in PAPER_TABLE1.items()
    }


def measure_throughput(
    model: nn.Module,
    img_size: int,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    steps: int = 5,
    warmup: int = 2,
    amp_dtype: torch.dtype | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Inference images/s of ``model`` on random images ``(batch_size, 3, img_size, img_size)``, as the paper
    measures it (a forward pass in inference mode, batch after batch).

    ``warmup`` untimed batches, then ``steps`` timed ones; on a GPU the device is synchronised around each
    batch. Returns ``{"images_per_s"`` (from the fastest batch: other work on the machine only slows a batch
    down), ``"median_images_per_s"``, ``"seconds_per_batch"``, ``"batch_size"``}``. ``amp_dtype``: autocast to
    this dtype (e.g. ``torch.bfloat16`` on a GPU), None for float32.
    """
    if steps < 1 or batch_size < 1 or warmup < 0:
        raise ValueError(f"steps={steps} and batch_size={batch_size} must be >= 1 and warmup={warmup} >= 0")
    device = torch.device(device)
    model = model.to(device).eval()
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(batch_size, 3, img_size, img_size, generator=generator).to(device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    times = []
    autocast = torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None)
    with torch.inference_mode(), autocast:
        for i in range(warmup + steps):
            sync()
            start = time.perf_counter()
            model(images)
            sync()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    times.sort()
    return {
        "images_per_s": batch_size / times[0],
        "median_images_per_s": batch_size / times[len(times) // 2],
        "seconds_per_batch": times[0],
        "batch_size": batch_size,
    }


def paper_throughput(
    names: Sequence[str] | None = None,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    steps: int = 5,
    warmup: int = 2,
    amp_dtype: torch.dtype | None = None,
    progress: bool = False,
) -> list[dict]:
    """Measure the paper's Table 1 here: one row per model of ``names`` (default: all of
    :func:`paper_models`), built with random weights and timed with :func:`measure_throughput`.

    Row: ``model, img_size, params, params_m, gmacs`` (our count), ``images_per_s, median_images_per_s,
    batch_size``, and the paper's ``paper_params_m, paper_gflops, paper_images_per_s, paper_top1``. A model
    identical to one already measured (:data:`SAME_NETWORK`) reuses its time and says so in ``same_as``.
    """
    table = paper_models()
    names = list(table) if names is None else list(names)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown models {unknown}: choose from {list(table)}")
    rows: list[dict] = []
    measured: dict[str, dict] = {}
    for name in names:
        entry = table[name]
        torch.manual_seed(0)
        model = entry["build"]()
        twin = SAME_NETWORK.get(name)
        if twin in measured:
            speed = dict(measured[twin])
        else:
            speed = measure_throughput(model, entry["img_size"], batch_size, device, steps, warmup, amp_dtype)
        measured[name] = speed
        params = count_parameters(model)
        rows.append(
            {
                "model": name,
                "img_size": entry["img_size"],
                "params": params,
                "params_m": params / 1e6,
                "gmacs": model.macs()["total"] / 1e9,
                **speed,
                **({"same_as": twin} if twin in measured and twin != name and twin in names else {}),
                "paper_params_m": entry["paper_params_m"],
                "paper_gflops": entry["paper_gflops"],
                "paper_images_per_s": entry["paper_images_per_s"],
                "paper_top1": entry["paper_top1"],
            }
        )
        if progress:
            print(
                f"{name:13s} {entry['img_size']}px  {params / 1e6:6.1f}M  {rows[-1]['gmacs']:6.1f} GMACs  "
                f"{speed['images_per_s']:8.1f} images/s   (paper, V100: {entry['paper_images_per_s']} images/s)",
                flush=True,
            )
        del model
    return rows


def throughput_ratios(rows: Sequence[dict], pairs: Sequence[tuple[str, str]] = PAPER_PAIRS) -> list[dict]:
    """For each pair ``(a, b)`` present in ``rows`` (of :func:`paper_throughput`): ``{"a", "b", "ratio"``
    (a's images/s over b's, measured here), ``"paper_ratio"``, ``"top1_gain"`` (a's top-1 minus b's, the
    paper's)``}``. A ratio above 1: ``a`` is faster."""
    by = {r["model"]: r for r in rows}
    out = []
    for a, b in pairs:
        if a in by and b in by:
            ra, rb = by[a], by[b]
            out.append(
                {
                    "a": a,
                    "b": b,
                    "ratio": ra["images_per_s"] / rb["images_per_s"],
                    "paper_ratio": ra["paper_images_per_s"] / rb["paper_images_per_s"],
                    "top1_gain": ra["paper_top1"] - rb["paper_top1"],
                }
            )
    return out


# ---------------------------------------------------------------------------------------------
# Where the time goes: what the FLOP count sees and what it does not
# ---------------------------------------------------------------------------------------------

#: Profiler op names by kind. Matrix multiplies (and the fused attention kernel, the patch convolution) are
#: what the MAC count counts; copies, rolls, gathers and elementwise work are not in it.
OP_KINDS: dict[str, tuple[str, ...]] = {
    "matrix multiplies (counted)": (
        "aten::mm",
        "aten::bmm",
        "aten::addmm",
        "aten::baddbmm",
        "aten::_scaled_dot_product_flash_attention_for_cpu",
        "aten::_scaled_dot_product_flash_attention",
        "aten::_scaled_dot_product_efficient_attention",
        "aten::_scaled_dot_product_cudnn_attention",
        "aten::scaled_dot_product_attention",
        "aten::linear",
        "aten::matmul",
        "aten::mkldnn_convolution",
        "aten::_slow_conv2d_forward",
        "aten::thnn_conv2d",
        "aten::_convolution",
        "aten::convolution",
        "aten::cudnn_convolution",
    ),
    "copies, rolls, gathers (not counted)": (
        "aten::copy_",
        "aten::clone",
        "aten::contiguous",
        "aten::roll",
        "aten::cat",
        "aten::index",
        "aten::index_select",
        "aten::_unsafe_view",
        "aten::reshape",
        "aten::view",
        "aten::permute",
        "aten::transpose",
        "aten::expand",
        "aten::unsqueeze",
        "aten::as_strided",
        "aten::t",
        "aten::slice",
        "aten::select",
        "aten::empty",
        "aten::empty_like",
        "aten::empty_strided",
        "aten::to",
        "aten::_to_copy",
    ),
}


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the process's standard error (file descriptor 2) for a moment: the profiler's native library logs
    its own start and stop there, which is noise in a notebook."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def op_time_breakdown(model: nn.Module, images: torch.Tensor, repeats: int = 3) -> dict[str, float]:
    """Where one forward pass spends its time, from PyTorch's profiler: the share of self time in matrix
    multiplies (what the MAC count sees), in copies/reshapes/rolls/gathers, and in everything else (softmax,
    norms, GELU, additions: elementwise work, also unseen by the MAC count). ``images (B, 3, H, W)``.

    Returns ``{kind: share}`` for the kinds of :data:`OP_KINDS` plus ``"elementwise and other (not counted)"``
    (shares sum to 1) and ``"ms_per_forward"`` (profiled self time, averaged over ``repeats``).
    """
    from torch.profiler import ProfilerActivity, profile

    model = model.eval()
    with torch.inference_mode():
        model(images)  # warm up outside the profile
        with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(repeats):
                model(images)
    kind_of = {op: kind for kind, ops in OP_KINDS.items() for op in ops}
    totals: dict[str, float] = {kind: 0.0 for kind in OP_KINDS}
    other = "elementwise and other (not counted)"
    totals[other] = 0.0
    for event in prof.key_averages():
        if not event.key.startswith("aten::"):
            continue
        totals[kind_of.get(event.key, other)] += event.self_cpu_time_total
    total = sum(totals.values())
    shares = {k: v / total for k, v in totals.items()} if total else dict.fromkeys(totals, 0.0)
    shares["ms_per_forward"] = total / 1e3 / repeats
    return shares


# ---------------------------------------------------------------------------------------------
# Memory: the activations one training step keeps for the backward pass
# ---------------------------------------------------------------------------------------------


def saved_activation_bytes(model: nn.Module, images: torch.Tensor, backward: bool = True) -> dict[str, int]:
    """The bytes autograd keeps for the backward pass of one training step on ``images (B, 3, H, W)``:
    every tensor saved during the forward pass (``torch.autograd.graph.saved_tensors_hooks``), each storage
    counted once (views share it), the model's parameters left out. All of them are alive together when the
    forward pass ends, so this is the activation memory of the step at its peak (what the gradients and the
    optimizer add is not in it). Runs one forward pass (and the backward, when ``backward``).

    Returns ``{"bytes", "tensors"}``.
    """
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in params and ptr not in seen:
            seen[ptr] = storage.nbytes()
        return t

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logits = model(images)  # only the model's forward pass is counted, not the loss
    if backward:
        logits.float().logsumexp(dim=-1).mean().backward()  # any scalar will do
        model.zero_grad(set_to_none=True)
    return {"bytes": int(sum(seen.values())), "tensors": len(seen)}


def block_activation_floats(n: int, dim: int, hidden: int, heads: int, attention: str, window: int = 0) -> int:
    """Floats one pre-norm Transformer block saves for the backward pass, per image (derived from what
    PyTorch's autograd saves; see :func:`activation_bytes_formula`):

    ``8nC`` (the two LayerNorm inputs and outputs, q, k, v, the attention output before its projection)
    ``+ 2n·hidden`` (the MLP's GELU input and output) ``+ 4n`` (each LayerNorm's mean and 1/std) plus the
    attention weights: ``heads·n²`` for global attention computed explicitly (``attention="explicit"``),
    ``heads·n`` for a fused kernel, which keeps only each row's log-sum-exp (``"fused"``), and
    ``heads·n·M²`` inside windows of ``M = window`` (``"window"``).
    """
    linear = 8 * n * dim + 2 * n * hidden + 4 * n
    if attention == "explicit":
        return linear + heads * n * n
    if attention == "fused":
        return linear + heads * n
    if attention == "window":
        if window < 1:
            raise ValueError(f"window={window}: window attention needs the window side M >= 1")
        return linear + heads * n * window * window
    raise ValueError(f"attention={attention!r}: choose 'explicit', 'fused' or 'window'")


def activation_bytes_formula(model: nn.Module, batch_size: int = 1, bytes_per_float: int = 4) -> int:
    """The bytes :func:`saved_activation_bytes` should find for ``model`` (a :class:`ViT` or a Swin
    Transformer) on ``batch_size`` images of the size it was built for, by :func:`block_activation_floats`
    summed over the blocks, plus the rest of the network (per image: the input image; Swin's patch norm
    ``nC + 2n``, each patch merging ``2nC + n/2`` on the map it merges, its final norm ``nC + 2n`` and pooled
    features ``C``; ViT's final norm ``nC + 2n``, whose output the head reads a row of) and, for Swin, each
    block's relative-position index (``M⁴`` int64, shared by the batch).

    It counts float32 activations of the implementation as PyTorch 2.x runs it on a CPU with ``batch_size >= 2``
    (with one image some reshapes are views and a few storages are shared differently).
    """
    c = model.config
    img = c["img_size"]
    per_image = 3 * img * img
    shared_bytes = 0
    if isinstance(model, ViT):
        n = model.num_patches + (1 if c["pool"] == "cls" else 0)
        C, hidden = c["embed_dim"], int(c["embed_dim"] * c["mlp_ratio"])
        kind = "fused" if model.blocks[0].attn.fused else "explicit"
        per_image += c["depth"] * block_activation_floats(n, C, hidden, c["num_heads"], kind)
        per_image += n * C + 2 * n  # final norm: input and statistics
        per_image += n * C if c["pool"] == "cls" else C  # the head reads a row of the norm's output / the mean
    else:
        h = w = img // c["patch_size"]
        C = c["embed_dim"]
        per_image += h * w * C + 2 * h * w  # patch norm
        for i, layer in enumerate(model.layers):
            n, heads = h * w, c["num_heads"][i]
            for block in layer.blocks:
                M = block.window_size  # (on the CPU a fused call with a bias falls back to the explicit steps)
                per_image += block_activation_floats(n, C, int(C * c["mlp_ratio"]), heads, "window", M)
                shared_bytes += (M * M) ** 2 * 8  # the relative-position index, int64
            if layer.downsample is not None:
                per_image += 2 * n * C + n // 2  # merging: LayerNorm(4C) input and output on n/4 positions
                h, w, C = h // 2, w // 2, 2 * C
        per_image += h * w * C + 2 * h * w + C  # final norm and the pooled features
    return batch_size * per_image * bytes_per_float + shared_bytes


def cuda_peak_training_bytes(model: nn.Module, images: torch.Tensor) -> int | None:
    """On a GPU: ``torch.cuda.max_memory_allocated`` during one forward and backward pass, minus what was
    allocated before (the weights, the images): the step's peak memory, activations and gradients together.
    None on a CPU."""
    if not images.is_cuda:
        return None
    device = images.device
    model.train()
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    model(images).float().logsumexp(dim=-1).mean().backward()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - before
    model.zero_grad(set_to_none=True)
    return int(peak)


def memory_vs_resolution(
    sizes: Sequence[int],
    builders: dict[str, Callable[..., nn.Module]] | None = None,
    batch_size: int = 2,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> list[dict]:
    """Activation memory of one training step against image size: for each size and model, the bytes autograd
    saves (:func:`saved_activation_bytes`), the formula's bytes (:func:`activation_bytes_formula`, for
    float32 on the CPU) and, on a GPU, ``cuda_peak_bytes`` (:func:`cuda_peak_training_bytes`; None on a CPU).

    ``builders``: name -> builder taking ``img_size=`` (default: the equal-MACs pair, ``vit_cifar_lite``
    with explicit and with fused attention, and ``swin_cifar``). Rows: ``model, img_size, tokens, macs,
    measured_bytes, formula_bytes, cuda_peak_bytes, batch_size``.
    """
    if builders is None:
        builders = {
            "ViT (explicit attention)": lambda **kw: vit_cifar_lite(fused=False, **kw),
            "ViT (fused attention)": lambda **kw: vit_cifar_lite(fused=True, **kw),
            "Swin": swin_cifar,
        }
    device = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for size in sizes:
        images = torch.randn(batch_size, 3, size, size, generator=generator).to(device)
        for name, build in builders.items():
            torch.manual_seed(seed)
            model = build(img_size=size, drop_path_rate=0.0).to(device)
            measured = saved_activation_bytes(model, images)
            rows.append(
                {
                    "model": name,
                    "img_size": size,
                    "tokens": (size // model.config["patch_size"]) ** 2,
                    "macs": model.macs()["total"],
                    "measured_bytes": measured["bytes"],
                    "formula_bytes": activation_bytes_formula(model, batch_size),
                    "cuda_peak_bytes": cuda_peak_training_bytes(model, images),
                    "batch_size": batch_size,
                }
            )
            del model
    return rows


# ---------------------------------------------------------------------------------------------
# Command line: the paper's throughput table on this machine, as JSON
# ---------------------------------------------------------------------------------------------


def _parser():
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m swinlab.vit",
        description="Measure the Swin paper's Table 1 (inference images/s of DeiT, ViT-B/16 and Swin-T/S/B with "
        "random weights) on this machine; write JSON.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("throughput", help="the paper's throughput table, measured here")
    t.add_argument("--out", required=True, help="the JSON file to write, e.g. assets/paper_throughput_gpu.json")
    t.add_argument("--models", nargs="+", default=None, choices=list(PAPER_TABLE1), help="default: all")
    t.add_argument("--batch-size", type=int, default=64, help="images per batch (the paper: 64)")
    t.add_argument("--steps", type=int, default=10, help="timed batches per model (default 10)")
    t.add_argument("--warmup", type=int, default=3, help="untimed batches first (default 3)")
    t.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    t.add_argument(
        "--amp", choices=["none", "bf16", "fp16"], default="none", help="autocast dtype (default none: float32)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from pathlib import Path

    parser = _parser()
    args = parser.parse_args(argv)
    for flag, value in (("--batch-size", args.batch_size), ("--steps", args.steps)):
        if value < 1:
            parser.error(f"{flag} must be at least 1, got {value}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    out = Path(args.out)
    if out.is_dir():
        parser.error(f"--out {args.out} is a folder: name a .json file")
    amp = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[args.amp]
    device = torch.device(args.device)
    rows = paper_throughput(args.models, args.batch_size, device, args.steps, args.warmup, amp, progress=True)
    record = {
        "what": "inference images/s of the Swin paper's Table 1 models, random weights",
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "batch_size": args.batch_size,
        "amp": args.amp,
        "steps": args.steps,
        "warmup": args.warmup,
        "rows": rows,
        "ratios": throughput_ratios(rows),
    }
    write_json_atomic(out, record)
    for r in record["ratios"]:
        print(f"{r['a']} / {r['b']}: {r['ratio']:.2f} here, {r['paper_ratio']:.2f} in the paper")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
