"""Lesson 08: train a Swin Transformer on CIFAR-10, fast on a GPU and in a quick mode on a CPU.

The pipeline, in the order a batch meets it:

1. **The whole dataset lives on the device**, as uint8 and channels last: ``(N, 32, 32, 3)``,
   150 MB for all 50,000 training images, uploaded once. No DataLoader, no worker processes.
2. **Sampling**: one random permutation per epoch (drawn by a ``torch.Generator`` on the device);
   a batch is a slice of it, gathered with one indexing op.
3. **Augmentation, batched on the device** (no per-image Python): random crop with 4-pixel zero
   padding (pad once, then gather every image's window at its own random offset in one go),
   horizontal flip, normalisation with the CIFAR-10 mean/std, optional random erasing, then mixup or
   cutmix (one mixing weight per batch, partner = the batch reversed) with label smoothing folded
   into the soft targets.
4. **The step**: bf16 autocast on CUDA, soft-target cross-entropy, backward, gradient clipping,
   AdamW (no weight decay on biases, norms and the relative position bias tables), and a learning
   rate set per step: linear warmup, then cosine decay.

A run directory (``out``) holds ``history.json`` (one record per epoch), ``curves.png`` and
``checkpoint.pt``: model, optimizer, schedule, every random state and the history, written
atomically after every epoch so that ``resume=True`` continues exactly where it stopped (on a CPU
the resumed run equals the uninterrupted one, weight for weight). A non-finite loss stops the run
with :class:`NonFiniteLossError`, leaving the last good checkpoint in place; Ctrl-C (KeyboardInterrupt)
inside :func:`train` returns the model and history so far with ``interrupted=True``.

Command line: ``python -m swinlab.train --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .data import CIFAR10_MEAN, CIFAR10_STD

__all__ = [
    "TrainConfig",
    "TrainResult",
    "NonFiniteLossError",
    "train",
    "evaluate",
    "build_model",
    "MODELS",
    "WarmupCosine",
    "lr_at",
    "normalize",
    "denormalize",
    "random_crop",
    "random_flip",
    "random_erase",
    "mix_batch",
    "soft_targets",
    "soft_cross_entropy",
    "augment_batch",
    "confusion_matrix",
    "attention_weights",
    "attention_received",
    "relative_bias_tables",
    "load_checkpoint",
    "load_history",
    "main",
]

#: Model names for :func:`build_model`: ``"module:function"``, imported only when asked for (ViT is lesson 09).
MODELS = {
    "swin_cifar": "swinlab.model:swin_cifar",
    "swin_micro": "swinlab.model:swin_micro",
    "vit_cifar": "swinlab.vit:vit_cifar",
    "vit_micro": "swinlab.vit:vit_micro",
}


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message says when, and which checkpoint is kept."""


# ---------------------------------------------------------------------------------------------
# The recipe
# ---------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """Every knob of a training run; all plain Python values, so the config is JSON and checkpoint safe.

    Presets: ``TrainConfig.preset("gpu")`` (swin_cifar on all of CIFAR-10) and ``("cpu_quick")``
    (swin_micro on a subset within a short time budget), each with overrides:
    ``TrainConfig.preset("gpu", epochs=100)``.
    """

    epochs: int = 30  # the schedule's length (an upper bound when max_minutes is set)
    batch_size: int = 512
    lr: float = 2e-3  # peak learning rate, reached after the warmup
    min_lr: float = 1e-5  # where the cosine ends
    weight_decay: float = 0.05  # AdamW's decoupled decay (not on biases, norms, bias tables)
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_epochs: float = 5.0  # linear warmup, then cosine; capped at a fifth of the run
    grad_clip: float | None = 1.0  # max global gradient norm (None: no clipping)
    label_smoothing: float = 0.1
    crop_padding: int = 4  # random crop after zero-padding by this many pixels (0: off)
    flip: bool = True  # random horizontal flip
    mixup_alpha: float = 0.8  # Beta(alpha, alpha) mixing weight (0: off)
    cutmix_alpha: float = 1.0  # Beta(alpha, alpha) for the box area (0: off)
    mix_prob: float = 1.0  # probability that a batch is mixed at all
    switch_prob: float = 0.5  # if both are on: probability of cutmix rather than mixup
    erase_prob: float = 0.0  # random erasing, per image
    drop_path: float | None = 0.1  # stochastic depth, a model argument (used by build_model / the CLI)
    model: str = "swin_cifar"  # the model name (see MODELS), recorded with the run
    amp: bool | None = None  # bf16 autocast; None: on for CUDA
    compile: bool | None = None  # torch.compile; None: on for CUDA (where it helps), off elsewhere
    channels_last: bool = True  # feed (B, 3, H, W) images in channels-last memory
    eval_batch_size: int = 1024
    max_minutes: float | None = None  # time budget: the schedule is sized to it after epoch 1, hard stop
    train_subset: int | None = None  # use the first n training images
    test_subset: int | None = None  # evaluate on the first n test images
    log_every: int = 10  # steps between progress updates (and NaN checks)
    seed: int = 0

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TrainConfig:
        """A named recipe with optional overrides.

        ``"gpu"``: swin_cifar on all 50,000 images, for the targets ">= 94.5% test accuracy within 10
        minutes on one H100" and ">= 90% within 2 minutes". The recipe follows the published from-scratch
        recipes for small vision transformers on CIFAR-10 (AdamW, lr ~1e-3 per 512 images scaled up,
        weight decay 0.05, warmup, cosine, label smoothing 0.1, mixup 0.8 / cutmix 1.0, random erasing
        0.25, drop path 0.1), with augmentations that run batched on the GPU instead of RandAugment.
        It is UNMEASURED until a GPU run records it (``assets/cifar10_gpu_history.json``).

        ``"cpu_quick"``: swin_micro on 10,000 training / 1,000 test images, lighter augmentation (crop
        and flip only: mixup pays off only over long runs), a 90-second budget.
        """
        presets = {
            "gpu": dict(
                epochs=200,
                batch_size=512,
                lr=2e-3,
                min_lr=1e-5,
                weight_decay=0.05,
                warmup_epochs=10,
                grad_clip=1.0,
                label_smoothing=0.1,
                mixup_alpha=0.8,
                cutmix_alpha=1.0,
                mix_prob=1.0,
                erase_prob=0.25,
                drop_path=0.1,
                model="swin_cifar",
                max_minutes=9.5,
                eval_batch_size=2000,
                log_every=25,
            ),
            "cpu_quick": dict(
                epochs=30,
                batch_size=128,
                lr=2e-3,
                min_lr=1e-5,
                weight_decay=0.05,
                warmup_epochs=1,
                grad_clip=1.0,
                label_smoothing=0.1,
                mixup_alpha=0.0,
                cutmix_alpha=0.0,
                erase_prob=0.0,
                drop_path=0.0,
                model="swin_micro",
                max_minutes=1.5,
                train_subset=10_000,
                test_subset=1_000,
                eval_batch_size=500,
                log_every=5,
            ),
        }
        if name not in presets:
            raise ValueError(f"unknown preset {name!r}: choose one of {sorted(presets)}")
        return cls(**{**presets[name], **overrides})

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)
        for name in ("epochs", "batch_size", "eval_batch_size", "log_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if self.lr <= 0 or self.min_lr < 0 or self.min_lr > self.lr:
            raise ValueError(f"need 0 <= min_lr <= lr and lr > 0, got lr={self.lr}, min_lr={self.min_lr}")
        for name in ("mix_prob", "switch_prob", "erase_prob", "label_smoothing"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.crop_padding < 0 or self.mixup_alpha < 0 or self.cutmix_alpha < 0 or self.warmup_epochs < 0:
            raise ValueError("crop_padding, mixup_alpha, cutmix_alpha and warmup_epochs must be >= 0")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be positive or None, got {self.max_minutes}")

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-compatible plain types (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are a ``ValueError`` naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {unknown}; known: {sorted(names)}")
        return cls(**d)


@dataclass
class TrainResult:
    """What :func:`train` returns. ``history``: one dict per epoch with epoch, train_loss, train_acc,
    test_loss, test_acc, lr, seconds, images_per_s (and elapsed_s, the run's clock at its end)."""

    model: nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    best_acc: float = 0.0
    interrupted: bool = False


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """A model by name (see ``MODELS``), e.g. ``build_model("swin_micro", embed_dim=16, depths=(1, 1))``.

    The module is imported only now, so ``swinlab.train`` does not depend on later lessons. Every model
    maps images ``(B, 3, 32, 32) -> logits (B, 10)``.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(MODELS)}")
    module_name, fn_name = MODELS[name].split(":")
    return getattr(importlib.import_module(module_name), fn_name)(**kwargs)


# ---------------------------------------------------------------------------------------------
# Learning-rate schedule
# ---------------------------------------------------------------------------------------------


def lr_at(step: int, total_steps: int, warmup_steps: int, peak: float, min_lr: float = 0.0) -> float:
    """The learning rate of step ``step`` (0-based): linear warmup to ``peak`` over ``warmup_steps``
    (step 0 already gets ``peak / warmup_steps``), then a cosine from ``peak`` down to ``min_lr`` at
    ``total_steps``: ``min_lr + (peak - min_lr) * (1 + cos(pi * t)) / 2`` with ``t`` the fraction of the
    decay done."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    t = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr + (peak - min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))


class WarmupCosine:
    """The per-step schedule of :func:`lr_at`, applied to an optimizer; ``state_dict`` for checkpoints."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int, peak: float, min_lr: float = 0.0
    ) -> None:
        self.optimizer, self.peak, self.min_lr = optimizer, peak, min_lr
        self.total_steps, self.warmup_steps, self.step_count = total_steps, warmup_steps, 0

    def lr(self) -> float:
        """The learning rate the next step uses."""
        return lr_at(self.step_count, self.total_steps, self.warmup_steps, self.peak, self.min_lr)

    def apply(self) -> float:
        """Set the next step's learning rate on every parameter group; returns it."""
        lr = self.lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def advance(self) -> None:
        self.step_count += 1

    def resize(self, total_steps: int) -> None:
        """Change the run's length (the time budget's estimate); the warmup shrinks to at most a fifth of it."""
        self.total_steps = max(total_steps, self.step_count + 1)
        self.warmup_steps = min(self.warmup_steps, self.total_steps // 5)

    def state_dict(self) -> dict[str, float]:
        return {
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "step_count": self.step_count,
            "peak": self.peak,
            "min_lr": self.min_lr,
        }

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.total_steps, self.warmup_steps = int(state["total_steps"]), int(state["warmup_steps"])
        self.step_count, self.peak, self.min_lr = int(state["step_count"]), state["peak"], state["min_lr"]


# ---------------------------------------------------------------------------------------------
# Augmentation: batched tensor ops on the device
# ---------------------------------------------------------------------------------------------


def _stats(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(CIFAR10_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD, device=device).view(1, 3, 1, 1)
    return mean, std


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, H, W, 3)`` -> float ``(B, 3, H, W)``, scaled to 0..1 and standardised with the CIFAR-10
    mean and std. The result is a permuted view, i.e. already in channels-last memory."""
    if images.dim() != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (B, H, W, 3), got shape {tuple(images.shape)}")
    mean, std = _stats(images.device)
    x = rearrange(images, "b h w c -> b c h w").float().div_(255.0)
    return (x - mean) / std


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize` for drawing: float ``(B, 3, H, W)`` -> ``(B, H, W, 3)`` in [0, 1]."""
    mean, std = _stats(x.device)
    return rearrange((x.float() * std + mean).clamp(0, 1), "b c h w -> b h w c")


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crop after zero padding: ``(B, H, W, C) -> (B, H, W, C)``, any dtype.

    Pad every image by ``padding`` pixels on each side, draw one offset ``(oy, ox)`` in ``0..2*padding``
    per image, and gather all crops with one indexing op: ``out[b, i, j] = padded[b, oy_b + i, ox_b + j]``.
    """
    if padding == 0:
        return images
    B, H, W, _ = images.shape
    padded = F.pad(images, (0, 0, padding, padding, padding, padding))  # B, H+2p, W+2p, C
    offsets = torch.randint(0, 2 * padding + 1, (2, B), device=images.device, generator=generator)
    rows = offsets[0, :, None] + torch.arange(H, device=images.device)  # B, H
    cols = offsets[1, :, None] + torch.arange(W, device=images.device)  # B, W
    batch = torch.arange(B, device=images.device)[:, None, None]
    return padded[batch, rows[:, :, None], cols[:, None, :]]  # B, H, W, C


def random_flip(images: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``: ``(B, H, W, C) -> (B, H, W, C)``."""
    flip = torch.rand(images.shape[0], device=images.device, generator=generator) < p
    return torch.where(flip[:, None, None, None], images.flip(2), images)


def random_erase(
    x: torch.Tensor,
    p: float,
    generator: torch.Generator | None = None,
    area: tuple[float, float] = (0.02, 1 / 3),
    ratio: tuple[float, float] = (0.3, 3.3),
) -> torch.Tensor:
    """Random erasing on normalised images ``(B, C, H, W) -> (B, C, H, W)``: with probability ``p`` per image,
    a rectangle of ``area`` (fraction of the image) and aspect ``ratio`` (log-uniform) is set to 0, the mean."""
    if p == 0:
        return x
    B, _, H, W = x.shape
    u = torch.rand(5, B, device=x.device, generator=generator)
    s = (area[0] + (area[1] - area[0]) * u[0]) * H * W
    r = torch.exp(math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * u[1])
    h = torch.sqrt(s * r).round().clamp(1, H)
    w = torch.sqrt(s / r).round().clamp(1, W)
    top = ((H - h + 1) * u[2]).floor()
    left = ((W - w + 1) * u[3]).floor()
    ys = torch.arange(H, device=x.device)[None, :]
    xs = torch.arange(W, device=x.device)[None, :]
    inside = ((ys >= top[:, None]) & (ys < (top + h)[:, None]))[:, :, None] & (
        (xs >= left[:, None]) & (xs < (left + w)[:, None])
    )[:, None, :]  # B, H, W
    erase = inside & (u[4] < p)[:, None, None]
    return x.masked_fill(erase[:, None], 0.0)


def soft_targets(labels: torch.Tensor, num_classes: int, smoothing: float = 0.0) -> torch.Tensor:
    """Labels ``(B,)`` -> smoothed one-hot targets ``(B, K)``: ``1 - smoothing + smoothing/K`` on the
    label, ``smoothing/K`` elsewhere (the convention of ``F.cross_entropy(label_smoothing=...)``)."""
    off = smoothing / num_classes
    return torch.full((labels.shape[0], num_classes), off, device=labels.device).scatter_(
        1, labels[:, None], 1.0 - smoothing + off
    )


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-sum_k targets[k] * log_softmax(logits)[k]``: ``(B, K), (B, K) -> ()``."""
    return -(targets * F.log_softmax(logits.float(), dim=-1)).sum(-1).mean()


def mix_batch(
    x: torch.Tensor, targets: torch.Tensor, lam: float, mode: str
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mixup or cutmix of a batch with itself reversed: ``(B, C, H, W), (B, K) -> same shapes, lam``.

    ``"mixup"``: ``x = lam * x + (1 - lam) * x.flip(0)``. ``"cutmix"``: a box of area ``(1 - lam) * H * W``
    (clipped at the border, lam recomputed from the area that is really pasted) is copied from the partner.
    Targets are mixed with the same weight. Returns the mixed batch, targets and the lam used.
    """
    partner, partner_targets = x.flip(0), targets.flip(0)
    if mode == "mixup":
        x = x * lam + partner * (1.0 - lam)
    elif mode == "cutmix":
        _, _, H, W = x.shape
        cut = math.sqrt(1.0 - lam)
        ch, cw = int(H * cut), int(W * cut)
        # the centre comes from lam's fractional bits: deterministic given lam, no extra random state
        cy, cx = int((lam * 9973) % 1.0 * H), int((lam * 7919) % 1.0 * W)
        y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, H)
        x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, W)
        x = x.clone()
        x[:, :, y0:y1, x0:x1] = partner[:, :, y0:y1, x0:x1]
        lam = 1.0 - (y1 - y0) * (x1 - x0) / (H * W)
    elif mode != "none":
        raise ValueError(f"mode must be 'mixup', 'cutmix' or 'none', got {mode!r}")
    return x, targets * lam + partner_targets * (1.0 - lam), lam


def augment_batch(
    images: torch.Tensor,
    labels: torch.Tensor,
    cfg: TrainConfig,
    generator: torch.Generator | None,
    rng: np.random.Generator,
    num_classes: int = 10,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The whole training augmentation: uint8 ``(B, H, W, 3)``, labels ``(B,)`` -> float ``(B, 3, H, W)``,
    soft targets ``(B, K)`` and the "main" label of each image ``(B,)`` (for the training accuracy).

    Per image (``generator``, on the device): crop, flip, erasing. Per batch (``rng``, numpy): whether
    to mix, mixup or cutmix, and the Beta-distributed weight lam.
    """
    images = random_crop(images, cfg.crop_padding, generator)
    if cfg.flip:
        images = random_flip(images, generator)
    x = random_erase(normalize(images), cfg.erase_prob, generator)
    targets = soft_targets(labels, num_classes, cfg.label_smoothing)
    modes = [m for m, a in (("mixup", cfg.mixup_alpha), ("cutmix", cfg.cutmix_alpha)) if a > 0]
    main = labels
    if modes and rng.random() < cfg.mix_prob:
        mode = modes[0] if len(modes) == 1 else ("cutmix" if rng.random() < cfg.switch_prob else "mixup")
        alpha = cfg.mixup_alpha if mode == "mixup" else cfg.cutmix_alpha
        x, targets, lam = mix_batch(x, targets, float(rng.beta(alpha, alpha)), mode)
        main = labels if lam >= 0.5 else labels.flip(0)
    return x, targets, main


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def _default_device(device: str | torch.device | None) -> torch.device:
    return torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))


@torch.no_grad()
def evaluate(
    model: nn.Module,
    images: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray,
    batch_size: int = 1024,
    device: str | torch.device | None = None,
    return_logits: bool = False,
    amp: bool | None = None,
) -> dict[str, Any]:
    """Loss and accuracy on uint8 images ``(N, H, W, 3)`` with labels ``(N,)``.

    -> ``{"loss": float, "acc": float}`` (plus ``"logits": (N, K)`` float32 on the CPU if ``return_logits``).
    The model is put in eval mode and back into the mode it was in.
    """
    device = _default_device(device)
    images = torch.as_tensor(images).to(device)
    labels = torch.as_tensor(labels).to(device, torch.int64)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    amp = device.type == "cuda" if amp is None else amp
    was_training = model.training
    model.eval()
    loss_sum, correct, all_logits = torch.zeros((), device=device), torch.zeros((), device=device), []
    try:
        for i in range(0, images.shape[0], batch_size):
            x, y = normalize(images[i : i + batch_size]), labels[i : i + batch_size]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(x).float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum")
            correct += (logits.argmax(-1) == y).sum()
            if return_logits:
                all_logits.append(logits.cpu())
    finally:
        model.train(was_training)
    n = max(1, images.shape[0])
    out = {"loss": loss_sum.item() / n, "acc": correct.item() / n}
    if return_logits:
        out["logits"] = torch.cat(all_logits) if all_logits else torch.empty(0)
    return out


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """``(N,), (N,) -> (K, K)`` int64 counts: row = true class, column = predicted class."""
    predictions, labels = torch.as_tensor(predictions).long().cpu(), torch.as_tensor(labels).long().cpu()
    return torch.bincount(labels * num_classes + predictions, minlength=num_classes**2).view(num_classes, num_classes)


# ---------------------------------------------------------------------------------------------
# Looking inside a trained Swin
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def attention_weights(model: nn.Module, images: torch.Tensor, block: int = -1) -> torch.Tensor:
    """The softmax attention of one Swin block: images ``(B, 3, H, W)`` -> ``(B*nW, heads, M*M, M*M)``.

    A forward pre-hook on the block's ``WindowAttention`` catches its input windows and shift mask;
    the weights are then recomputed step by step, as in the paper's
    ``SoftMax(QK^T / sqrt(d) + B)`` (+ the mask for shifted windows). ``block`` counts all blocks of all
    stages (-1: the last one). Row ``q`` of a window's matrix says how query token ``q`` spreads its
    attention over the window's tokens (each row sums to 1).
    """
    from .attention import WindowAttention, qkv_heads, softmax_weights

    modules = [m for m in model.modules() if isinstance(m, WindowAttention)]
    if not modules:
        raise ValueError("the model has no WindowAttention module: attention_weights needs a Swin model")
    attn = modules[block]
    caught: dict[str, torch.Tensor | None] = {}

    def hook(module, args):
        caught["x"], caught["mask"] = args[0], args[1] if len(args) > 1 else None

    handle = attn.register_forward_pre_hook(hook)
    was_training = model.training
    model.eval()
    try:
        model(images)
    finally:
        handle.remove()
        model.train(was_training)
    x, mask = caught["x"].float(), caught["mask"]
    q, k, _ = qkv_heads(x, attn.qkv.weight, attn.qkv.bias, attn.num_heads)  # B*nW, heads, N, d
    return softmax_weights(q, k, attn.relative_bias(), None if mask is None else mask.float())


@torch.no_grad()
def attention_received(model: nn.Module, images: torch.Tensor, block: int = -1) -> torch.Tensor:
    """How much attention each token receives in one Swin block, as a map: images ``(B, 3, H, W)`` ->
    ``(B, heads, h, w)`` on the block's token grid ``h x w``.

    The weights of :func:`attention_weights` ``(B*nW, heads, N, N)`` averaged over the queries (rows) give
    one number per key token and head; the windows are put back in place (``window_reverse``, then the
    cyclic shift undone for a shifted block). Each window's values average to ``1 / N``.
    """
    from .model import SwinBlock
    from .shift import reverse_cyclic_shift
    from .windows import window_reverse

    blocks = [m for m in model.modules() if isinstance(m, SwinBlock)]
    if not blocks:
        raise ValueError("the model has no SwinBlock: attention_received needs a Swin model")
    blk = blocks[block]
    weights = attention_weights(model, images, block)  # B*nW, heads, N, N
    M, (H, W) = blk.window_size, blk.input_resolution
    received = rearrange(weights.mean(2), "b h (i j) -> b i j h", i=M)  # B*nW, M, M, heads
    grid = window_reverse(received, M, H, W)  # B, H, W, heads
    if blk.shift_size:
        grid = reverse_cyclic_shift(grid, blk.shift_size)
    return rearrange(grid, "b h w n -> b n h w")


def relative_bias_tables(model: nn.Module) -> list[torch.Tensor]:
    """Every block's learned relative position bias table, reshaped for drawing: a list (one entry per block,
    first to last) of ``(heads, 2M-1, 2M-1)`` tensors; entry ``[h, dy + M-1, dx + M-1]`` is the bias head ``h``
    adds to a query-key pair whose key lies ``dy`` rows and ``dx`` columns away."""
    from .attention import WindowAttention

    tables = []
    for m in model.modules():
        if isinstance(m, WindowAttention):
            mh, mw = m.window_size
            tables.append(
                rearrange(
                    m.relative_position_bias_table.detach().float().cpu(),
                    "(i j) h -> h i j",
                    i=2 * mh - 1,
                    j=2 * mw - 1,
                )
            )
    return tables


# ---------------------------------------------------------------------------------------------
# Files: atomic writes, checkpoints, history
# ---------------------------------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Write via a temporary file in the same folder, then ``os.replace``: a reader sees the old file or
    the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _write_json(path: Path, obj: Any) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")

    _atomic_write(path, write)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`train`, with ``torch.load(weights_only=True)``: tensors and plain
    Python values only, nothing that could run code. Keys: model, optimizer, schedule, rng, config,
    history, epoch, planned_epochs, elapsed_s, best_acc, model_name, model_kwargs, device."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}: train with out=... first, or drop resume")
    return torch.load(path, map_location=map_location, weights_only=True)


def load_history(path: str | os.PathLike) -> dict[str, Any]:
    """Read a ``history.json``: ``{"config": {...}, "device": str, "data": str, "history": [per-epoch dicts]}``."""
    with open(path) as f:
        return json.load(f)


def _rng_state(generator: torch.Generator, rng: np.random.Generator) -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "sampler": generator.get_state(),
        "numpy": json.dumps(rng.bit_generator.state),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any], generator: torch.Generator, rng: np.random.Generator) -> None:
    torch.set_rng_state(state["torch"].cpu())
    generator.set_state(state["sampler"].cpu())
    rng.bit_generator.state = json.loads(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on weight matrices only: not on biases, norms (1-D) or the relative position bias tables."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or "relative_position_bias_table" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


# ---------------------------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------------------------


def _device_data(data: Any, cfg: TrainConfig, device: torch.device) -> dict[str, torch.Tensor]:
    """Upload the (subset of the) arrays to the device once, as uint8 / int64."""
    n_train = len(data.train_labels) if cfg.train_subset is None else min(cfg.train_subset, len(data.train_labels))
    n_test = len(data.test_labels) if cfg.test_subset is None else min(cfg.test_subset, len(data.test_labels))
    out = {
        "train_images": torch.as_tensor(np.ascontiguousarray(data.train_images[:n_train])).to(device),
        "train_labels": torch.as_tensor(np.asarray(data.train_labels[:n_train])).to(device, torch.int64),
        "test_images": torch.as_tensor(np.ascontiguousarray(data.test_images[:n_test])).to(device),
        "test_labels": torch.as_tensor(np.asarray(data.test_labels[:n_test])).to(device, torch.int64),
    }
    if out["train_images"].dtype != torch.uint8 or out["train_images"].shape[1:] != (32, 32, 3):
        raise ValueError(
            f"expected uint8 training images (N, 32, 32, 3), got {out['train_images'].dtype} "
            f"{tuple(out['train_images'].shape)}: pass swinlab.data.CIFAR10Arrays"
        )
    if n_train < 1 or n_test < 1:
        raise ValueError(f"need at least one training and one test image, got {n_train} and {n_test}")
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(
    model: nn.Module,
    data: Any,
    cfg: TrainConfig | None = None,
    device: str | torch.device | None = None,
    out: str | os.PathLike | None = None,
    progress: bool = True,
    resume: bool = False,
    until_epoch: int | None = None,
    callback: Callable[[dict[str, float]], None] | None = None,
    model_name: str | None = None,
    model_kwargs: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``model`` (images ``(B, 3, 32, 32)`` -> logits ``(B, K)``) on ``data`` (``CIFAR10Arrays``:
    uint8 ``(N, 32, 32, 3)`` images, int64 ``(N,)`` labels) with the recipe ``cfg``.

    ``out``: a run directory for ``history.json``, ``curves.png`` and ``checkpoint.pt`` (all written
    atomically after every epoch), or None. ``resume=True`` continues from ``out/checkpoint.pt`` exactly
    (model, optimizer, schedule, random states, history; the checkpoint's config replaces ``cfg``).
    ``until_epoch``: stop after that epoch although the schedule runs to ``cfg.epochs`` (a run split
    into sessions; continue it with ``resume=True``). ``callback(record)`` is called after every epoch.
    ``model_name`` / ``model_kwargs`` are recorded in the checkpoint so the CLI can rebuild the model.

    Raises :class:`NonFiniteLossError` if the loss stops being finite (the last good checkpoint stays).
    KeyboardInterrupt returns the model and history so far with ``interrupted=True``.
    """
    device = _default_device(device)
    cfg = TrainConfig() if cfg is None else cfg
    out = Path(out) if out is not None else None
    ckpt_path = out / "checkpoint.pt" if out is not None else None
    checkpoint = None
    if resume:
        if ckpt_path is None:
            raise ValueError("resume=True needs out=... (the run directory that holds checkpoint.pt)")
        checkpoint = load_checkpoint(ckpt_path, map_location="cpu")
        cfg = TrainConfig.from_dict(checkpoint["config"])
        model_name = model_name or checkpoint.get("model_name")
        model_kwargs = model_kwargs if model_kwargs is not None else checkpoint.get("model_kwargs")

    amp = device.type == "cuda" if cfg.amp is None else cfg.amp
    use_compile = device.type == "cuda" if cfg.compile is None else cfg.compile
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    tensors = _device_data(data, cfg, device)
    n_train = tensors["train_labels"].shape[0]
    num_classes = int(getattr(model, "num_classes", 10) or 10)
    batch_size = min(cfg.batch_size, n_train)
    steps_per_epoch = n_train // batch_size

    model.to(device).train()
    optimizer = torch.optim.AdamW(
        _param_groups(model, cfg.weight_decay),
        lr=cfg.lr,
        betas=cfg.betas,
        **({"fused": True} if device.type == "cuda" else {}),
    )
    warmup_steps = round(min(cfg.warmup_epochs, cfg.epochs / 5) * steps_per_epoch)
    schedule = WarmupCosine(optimizer, cfg.epochs * steps_per_epoch, warmup_steps, cfg.lr, cfg.min_lr)
    generator = torch.Generator(device=device)
    generator.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    history: list[dict[str, float]] = []
    start_epoch, planned_epochs, elapsed_before, best_acc = 0, cfg.epochs, 0.0, 0.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        schedule.load_state_dict(checkpoint["schedule"])
        _set_rng_state(checkpoint["rng"], generator, rng)
        history = list(checkpoint["history"])
        start_epoch, planned_epochs = int(checkpoint["epoch"]), int(checkpoint["planned_epochs"])
        elapsed_before, best_acc = float(checkpoint["elapsed_s"]), float(checkpoint["best_acc"])
    else:
        torch.manual_seed(cfg.seed)  # drop path and dropout draw from the global generator
    step_model = torch.compile(model) if use_compile else model
    last_epoch = planned_epochs if until_epoch is None else min(until_epoch, planned_epochs)
    budget_s = None if cfg.max_minutes is None else cfg.max_minutes * 60.0
    run_meta = {
        "device": _device_name(device),
        "data": "synthetic stand-in" if getattr(data, "synthetic", False) else "CIFAR-10",
        "n_train": n_train,
        "n_test": int(tensors["test_labels"].shape[0]),
        "model": model_name or cfg.model,
    }

    def save(epoch: int) -> None:
        if out is None:
            return
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            "rng": _rng_state(generator, rng),
            "config": cfg.to_dict(),
            "history": history,
            "epoch": epoch,
            "planned_epochs": planned_epochs,
            "elapsed_s": elapsed,
            "best_acc": best_acc,
            "model_name": model_name or cfg.model,
            "model_kwargs": model_kwargs or {},
            "device": run_meta["device"],
        }
        _atomic_write(ckpt_path, lambda tmp: torch.save(state, tmp))
        _write_json(out / "history.json", {"config": cfg.to_dict(), **run_meta, "history": history})

    from tqdm.auto import tqdm

    def bar_total() -> int:
        return min(schedule.total_steps, last_epoch * steps_per_epoch) - start_epoch * steps_per_epoch

    bar = tqdm(total=bar_total(), disable=not progress, unit="step", desc=f"{run_meta['model']}", dynamic_ncols=True)
    sized = budget_s is None or checkpoint is not None

    def size_schedule(per_step: float, eval_s: float) -> None:
        """Fit the schedule to the time budget: as many steps as the remaining time allows at the measured
        seconds per step (evaluation included), at most cfg.epochs epochs."""
        nonlocal planned_epochs, last_epoch, sized
        remaining = budget_s - (time.perf_counter() - t_run)
        steps_left = int(remaining / (per_step * steps_per_epoch + eval_s) * steps_per_epoch)
        schedule.resize(min(cfg.epochs * steps_per_epoch, schedule.step_count + steps_left))
        planned_epochs = math.ceil(schedule.total_steps / steps_per_epoch)
        last_epoch = planned_epochs if until_epoch is None else min(until_epoch, planned_epochs)
        bar.total = bar_total()
        bar.refresh()
        sized = True

    elapsed, epoch, interrupted = elapsed_before, start_epoch, False
    t_run = time.perf_counter() - elapsed_before
    try:
        while epoch < last_epoch:
            t0 = time.perf_counter()
            perm = torch.randperm(n_train, device=device, generator=generator)
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device)
            seen, t_steady, steady_steps = 0, None, 0
            for i in range(steps_per_epoch):
                idx = perm[i * batch_size : (i + 1) * batch_size]
                x, targets, main = augment_batch(
                    tensors["train_images"][idx], tensors["train_labels"][idx], cfg, generator, rng, num_classes
                )
                lr = schedule.apply()
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    logits = step_model(
                        x.contiguous(memory_format=torch.channels_last) if cfg.channels_last else x.contiguous()
                    )
                loss = soft_cross_entropy(logits, targets)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                schedule.advance()
                loss_sum += loss.detach() * idx.shape[0]
                correct += (logits.detach().argmax(-1) == main).sum()
                seen += idx.shape[0]
                if i == min(2, steps_per_epoch - 1) and epoch == start_epoch:
                    _sync(device)  # the first steps compile and warm up: leave them out of the estimate
                    t_steady, steady_steps = time.perf_counter(), 0
                elif t_steady is not None:
                    steady_steps += 1
                    if not sized and steady_steps == 10:  # enough steps to know the speed
                        _sync(device)
                        per_step = (time.perf_counter() - t_steady) / steady_steps
                        # evaluation: about a third of a training step's time per image (forward only)
                        size_schedule(per_step, tensors["test_labels"].shape[0] / batch_size * per_step / 3)
                if (i + 1) % cfg.log_every == 0 or i + 1 == steps_per_epoch:
                    step_loss = loss.item()  # one sync per log_every steps
                    if not math.isfinite(step_loss):
                        raise NonFiniteLossError(
                            f"the training loss became {step_loss} at epoch {epoch + 1}, step {i + 1} (lr={lr:.3g}). "
                            + (
                                f"The last good checkpoint ({ckpt_path}, after epoch {epoch}) is kept. "
                                if out is not None and epoch > 0
                                else ""
                            )
                            + "Lower the learning rate, keep gradient clipping on, or check the data."
                        )
                    bar.update(min(cfg.log_every, (i % cfg.log_every) + 1))
                    now = time.perf_counter()
                    bar.set_postfix(
                        epoch=epoch + 1,
                        loss=f"{loss_sum.item() / seen:.3f}",
                        acc=f"{correct.item() / seen:.3f}",
                        img_s=f"{seen / (now - t0):.0f}",
                        lr=f"{lr:.2e}",
                    )
                    if budget_s is not None and now - t_run > budget_s:
                        break
                if schedule.step_count >= schedule.total_steps:
                    break  # the (time-sized) schedule ends mid-epoch
            _sync(device)
            t_train = time.perf_counter() - t0
            if not math.isfinite(loss_sum.item()):
                raise NonFiniteLossError(
                    f"the training loss became non-finite during epoch {epoch + 1}. "
                    + (f"The last good checkpoint ({ckpt_path}) is kept. " if out else "")
                    + "Lower the learning rate or keep gradient clipping on."
                )
            test = evaluate(model, tensors["test_images"], tensors["test_labels"], cfg.eval_batch_size, device, amp=amp)
            epoch += 1
            elapsed = time.perf_counter() - t_run
            best_acc = max(best_acc, test["acc"])
            record = {
                "epoch": epoch,
                "train_loss": loss_sum.item() / seen,
                "train_acc": correct.item() / seen,
                "test_loss": test["loss"],
                "test_acc": test["acc"],
                "lr": lr,
                "seconds": time.perf_counter() - t0,
                "images_per_s": seen / t_train,
                "elapsed_s": elapsed,
            }
            history.append(record)
            if not sized:  # a short first epoch: size the schedule now
                per_step = (t0 + t_train - t_steady) / steady_steps if steady_steps else t_train / (i + 1)
                size_schedule(per_step, record["seconds"] - t_train)
            elif budget_s is not None and epoch < last_epoch:
                # the machine's speed can change (shared CPUs): re-fit the rest of the schedule to the time left,
                # at this epoch's speed, so the cosine still ends inside the budget
                size_schedule(t_train / (i + 1), record["seconds"] - t_train)
            if progress:
                bar.write(
                    f"epoch {epoch:3d}/{last_epoch}: train loss {record['train_loss']:.3f} acc "
                    f"{record['train_acc']:.3f} | test loss {record['test_loss']:.3f} acc "
                    f"{record['test_acc']:.3f} | lr {lr:.2e} | {record['images_per_s']:.0f} img/s | "
                    f"{elapsed:.0f} s"
                )
            save(epoch)
            if callback is not None:
                callback(record)
            if (budget_s is not None and elapsed > budget_s) or schedule.step_count >= schedule.total_steps:
                break
    except KeyboardInterrupt:
        interrupted = True
        if progress:
            bar.write(
                f"interrupted after {len(history)} epoch(s); the model and history so far are returned"
                + (f", the last checkpoint is {ckpt_path}" if out is not None and history else "")
            )
    finally:
        bar.close()
    model.eval()
    return TrainResult(model, history, best_acc, interrupted)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({torch.get_num_threads()} threads)"


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m swinlab.train",
        description="Train a Swin Transformer on CIFAR-10 (GPU preset on CUDA, quick preset with --quick).",
        epilog="Example: python -m swinlab.train --model swin_cifar --out runs/swin_cifar   |   "
        "python -m swinlab.train --quick --out runs/quick   |   ... --out runs/NAME --resume",
    )
    p.add_argument(
        "--model",
        choices=sorted(MODELS),
        default=None,
        help="model name (default: the preset's: swin_cifar, or swin_micro with --quick)",
    )
    p.add_argument("--out", required=True, help="run directory: history.json, curves.png, checkpoint.pt")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--quick", action="store_true", help="the cpu_quick preset: swin_micro on a subset within 90 s")
    p.add_argument("--synthetic", action="store_true", help="train on the synthetic stand-in (no download)")
    p.add_argument("--data-dir", default=None, help="CIFAR-10 folder (default: $SWINLAB_DATA or ~/.cache/swinlab)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading CIFAR-10")
    p.add_argument("--device", default=None, help="cuda, cpu, ... (default: cuda if available)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--drop-path", type=float)
    p.add_argument("--max-minutes", type=float, help="time budget; 0 for none")
    p.add_argument("--train-subset", type=int)
    p.add_argument("--test-subset", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--compile", dest="compile", action="store_true", default=None, help="force torch.compile on")
    p.add_argument("--no-compile", dest="compile", action="store_false", help="force torch.compile off")
    p.add_argument("--stop-after", type=int, default=None, help="stop after this epoch (continue with --resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (``python -m swinlab.train --help``); returns the exit status."""
    args = _parser().parse_args(argv)
    device = _default_device(args.device)
    model_kwargs: dict[str, Any] = {}
    if args.resume:
        ckpt = load_checkpoint(Path(args.out) / "checkpoint.pt")
        cfg = TrainConfig.from_dict(ckpt["config"])
        model_name, model_kwargs = ckpt["model_name"], dict(ckpt["model_kwargs"])
    else:
        cfg = TrainConfig.preset("cpu_quick" if args.quick else "gpu")
        overrides = {
            k: getattr(args, a)
            for k, a in [
                ("epochs", "epochs"),
                ("batch_size", "batch_size"),
                ("lr", "lr"),
                ("weight_decay", "weight_decay"),
                ("warmup_epochs", "warmup_epochs"),
                ("drop_path", "drop_path"),
                ("train_subset", "train_subset"),
                ("test_subset", "test_subset"),
                ("seed", "seed"),
                ("compile", "compile"),
            ]
            if getattr(args, a) is not None
        }
        if args.max_minutes is not None:
            overrides["max_minutes"] = args.max_minutes or None
        model_name = args.model or cfg.model
        cfg = dataclasses.replace(cfg, model=model_name, **overrides)
        if cfg.drop_path is not None:
            model_kwargs["drop_path_rate"] = cfg.drop_path
    if args.synthetic:
        from .data import synthetic_cifar10

        data, message = synthetic_cifar10(), "Training on the SYNTHETIC stand-in (coloured shapes, not CIFAR-10)."
    else:
        from .data import load_cifar10

        data = load_cifar10(args.data_dir, download=not args.no_download)
        message = f"CIFAR-10: {len(data.train_labels):,} train / {len(data.test_labels):,} test images."
    print(message)
    model = build_model(model_name, **model_kwargs)
    print(
        f"{model_name}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters on {device}; "
        f"config {json.dumps(cfg.to_dict())}"
    )
    curves_drawn = [0.0]

    def draw_curves(record: dict[str, Any] | None = None) -> None:
        """curves.png beside history.json: at most every 30 s (drawing costs ~0.3 s), and once at the end."""
        if record is not None and time.perf_counter() - curves_drawn[0] < 30:
            return
        try:
            from .course.draw import plot_history  # the figure code is the course layer's, used by the CLI only

            history = load_history(Path(args.out) / "history.json")
            fig = plot_history(history["history"], title=f"{history['model']} on {history['data']}")
            _atomic_write(Path(args.out) / "curves.png", lambda tmp: fig.savefig(tmp, format="png", dpi=100))
            curves_drawn[0] = time.perf_counter()
        except Exception as e:  # a figure must never stop a training run
            print(f"(curves.png not written: {e})", file=sys.stderr)

    try:
        result = train(
            model,
            data,
            cfg,
            device=device,
            out=args.out,
            progress=not args.no_progress,
            resume=args.resume,
            until_epoch=args.stop_after,
            model_name=model_name,
            model_kwargs=model_kwargs,
            callback=draw_curves,
        )
    except NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    last = result.history[-1] if result.history else None
    if last is not None:
        draw_curves()
        print(
            f"done: {len(result.history)} epochs, last test accuracy {last['test_acc']:.4f}, best "
            f"{result.best_acc:.4f}, {last['elapsed_s']:.0f} s; files in {args.out}"
        )
    return 130 if result.interrupted else 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
