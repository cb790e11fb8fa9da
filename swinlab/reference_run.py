"""The course's reference run on a CUDA GPU: one command, ending within a time budget, that measures

1. **speed against the peers** (about 2 minutes): swinlab's ``swin_cifar`` against torchvision's and timm's
   ``SwinTransformer`` built with the same configuration, and swinlab's ``swin_t`` against
   ``torchvision.models.swin_t`` and timm's ``swin_tiny_patch4_window7_224``: training and inference
   images/s, peak memory and MFU (``swinlab.bench.benchmark``), each model eager, the CIFAR-size models
   also compiled (compilation time recorded) -> ``gpu_bench.json``;
2. **the paper's throughput table** (about 1 minute): the models of ``swinlab.vit.paper_models`` (Swin-T/S/B,
   Swin-B/384, DeiT-S, DeiT-B, DeiT-B/384 = ViT-B/16/384) with random weights, batch 64, inference images/s
   in float32 and bf16 beside the V100 figures of the paper's Table 1(a), and the paper's pairs as ratios
   -> ``paper_throughput_gpu.json`` (lesson 09 reads it);
3. **the reference training** (the rest): ``swin_cifar`` on all 50,000 training images with
   ``TrainConfig.preset("gpu")``, its time budget sized so that the whole command ends in time; the
   validation split makes every choice, the test set is evaluated once at the end (and per epoch for the
   curves only) -> ``cifar10_gpu_history.json``, with the targets (>= 90% test accuracy within 2 minutes,
   >= 94% within the budget) assessed.

Every file names the device, the torch version, the date and the command; each is written as soon as its
part ends, so a run stopped later keeps what came before. A peer that is not installed or fails to build
is recorded as skipped or failed with the reason; a part that fails is recorded and the next one runs.

The reference run, from the repository root (the data: CIFAR-10's official archive with ``--data-dir``,
or the JPEG re-encoding ``cifar10-jpeg.npz`` with ``--jpeg-npz``, decoded here in parallel)::

    mkdir -p .gpu-data && cp ../shared/data/cifar10-jpeg.npz .gpu-data/
    PYTHONUNBUFFERED=1 PYTHONPATH=. python -m swinlab.reference_run \\
        --jpeg-npz .gpu-data/cifar10-jpeg.npz --out assets/ --minutes 8.5

On a machine that hands back only one results folder, give that folder as ``--out`` and copy the three
JSON files into ``assets/`` afterwards. ``--smoke`` rehearses all three parts on the CPU with tiny sizes in
about a minute (synthetic data unless data is given); ``--parts speed,paper`` runs a subset.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import gc
import io
import math
import multiprocessing
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ._utils import number_arg, write_json_atomic
from .data import CIFAR10Arrays

_IMPORTED_AT = time.perf_counter()

__all__ = [
    "JPEG_SOURCE",
    "OUTPUT_FILES",
    "PARTS",
    "JpegCIFAR10Arrays",
    "decode_jpeg_npz",
    "Clock",
    "training_budget_s",
    "speed_against_peers",
    "paper_throughput",
    "reference_training",
    "attention_gradient_check",
    "assess_targets",
    "speed_summary",
    "paper_summary",
    "training_summary",
    "main",
]

#: How histories name the data decoded from ``cifar10-jpeg.npz``.
JPEG_SOURCE = "CIFAR-10 (JPEG re-encoding)"
#: The file each part writes into ``--out``.
OUTPUT_FILES = {"speed": "gpu_bench.json", "paper": "paper_throughput_gpu.json", "train": "cifar10_gpu_history.json"}
#: The parts, in the order they run.
PARTS = ("speed", "paper", "train")

#: ``--smoke`` builds the paper's models this small (same image sizes, windows and patches), to rehearse the
#: code path on a CPU; its numbers say nothing about the paper's models.
_SMOKE_SHRINK = {
    "swin": dict(embed_dim=8, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1)),
    "vit": dict(embed_dim=16, depth=1, num_heads=1),
}

# The time the parts may take on a full run, and what training leaves for the end of the command
# (the last epoch's evaluation, the final test, the files, shutting down the compiler's workers).
SPEED_BUDGET_S = 120.0
PAPER_BUDGET_S = 60.0
FINISH_RESERVE_S = 40.0
MIN_TRAINING_S = 30.0


# ---------------------------------------------------------------------------------------------
# The data: cifar10-jpeg.npz decoded in parallel
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class JpegCIFAR10Arrays(CIFAR10Arrays):
    """:class:`swinlab.data.CIFAR10Arrays` decoded from the JPEG re-encoding; ``source`` names it."""

    source: str = JPEG_SOURCE

    def __repr__(self) -> str:
        return super().__repr__().replace("CIFAR-10", self.source, 1)


_NPZ_KEYS = ("classes", "train_jpeg", "train_offsets", "train_labels", "test_jpeg", "test_offsets", "test_labels")


def _decode_chunk(task: tuple[bytes, np.ndarray, np.ndarray]) -> np.ndarray:
    """JPEG files concatenated in ``blob`` (file ``k`` is ``blob[offsets[k]:offsets[k+1]]``) -> ``(n, 32, 32, 3)``
    uint8 RGB; ``indices`` name the images in errors."""
    from PIL import Image

    blob, offsets, indices = task
    out = np.empty((len(indices), 32, 32, 3), dtype=np.uint8)
    for k, index in enumerate(indices):
        try:
            with Image.open(io.BytesIO(blob[offsets[k] : offsets[k + 1]])) as image:
                if image.size != (32, 32):
                    raise ValueError(f"it is {image.size[0]}x{image.size[1]}, not 32x32")
                out[k] = np.asarray(image.convert("RGB"))
        except Exception as e:
            raise ValueError(f"image {int(index)} could not be decoded ({type(e).__name__}: {e})") from None
    return out


def _check_split(d: dict[str, np.ndarray], split: str, n_classes: int, path: Path) -> None:
    jpeg, off, labels = d[f"{split}_jpeg"], d[f"{split}_offsets"], d[f"{split}_labels"]
    if jpeg.dtype != np.uint8 or jpeg.ndim != 1:
        raise ValueError(f"{path}: {split}_jpeg must be a flat uint8 array, got {jpeg.dtype} {jpeg.shape}")
    if off.ndim != 1 or len(off) < 2 or not np.issubdtype(off.dtype, np.integer):
        raise ValueError(f"{path}: {split}_offsets must be a flat integer array of N+1 offsets")
    if off[0] != 0 or off[-1] != len(jpeg) or np.any(np.diff(off) <= 0):
        raise ValueError(
            f"{path}: {split}_offsets must rise from 0 to len({split}_jpeg) = {len(jpeg)}, got "
            f"{int(off[0])}..{int(off[-1])}{' with an empty or backward step' if np.any(np.diff(off) <= 0) else ''}"
        )
    if labels.ndim != 1 or len(labels) != len(off) - 1:
        raise ValueError(f"{path}: {len(off) - 1} {split} images but {len(labels)} {split}_labels")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"{path}: {split}_labels must lie in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}")


def _workers(workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _chosen(n: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    """All ``n`` indices, or ``limit`` of them drawn at random (sorted): the file is sorted by class, so a
    slice from the front would hold one class."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=limit, replace=False))


def decode_jpeg_npz(
    path: str | os.PathLike,
    n_train: int | None = None,
    n_test: int | None = None,
    workers: int | None = None,
    seed: int = 0,
) -> JpegCIFAR10Arrays:
    """``cifar10-jpeg.npz`` (keys classes, train_jpeg/train_offsets/train_labels, test_*; image ``i`` is
    ``jpeg[off[i]:off[i+1]]``) decoded with Pillow into the arrays ``swinlab.data`` returns:
    train_images ``(N, 32, 32, 3)`` uint8, train_labels ``(N,)`` int64, the same for the test set.

    ``n_train`` / ``n_test``: decode only that many images of each split, drawn at random with ``seed``
    (sorted by index). ``workers``: processes decoding in parallel (default: the cores this process may
    use). The result's ``source`` is :data:`JPEG_SOURCE`. A malformed file is a ``ValueError`` naming the
    key or the image.
    """
    path = Path(path)
    with np.load(path, allow_pickle=False) as npz:
        missing = [k for k in _NPZ_KEYS if k not in npz.files]
        if missing:
            raise ValueError(f"{path} lacks {missing}: a cifar10-jpeg.npz holds {list(_NPZ_KEYS)}")
        d = {k: npz[k] for k in _NPZ_KEYS}
    classes = tuple(str(c) for c in d["classes"])
    if len(classes) != 10:
        raise ValueError(f"{path}: 'classes' should name the 10 CIFAR-10 classes, found {len(classes)}")
    for split in ("train", "test"):
        _check_split(d, split, len(classes), path)
    rng = np.random.default_rng(seed)
    picks = {
        "train": _chosen(len(d["train_labels"]), n_train, rng),
        "test": _chosen(len(d["test_labels"]), n_test, rng),
    }
    n_workers = min(_workers(workers), sum(len(p) for p in picks.values()) // 256 + 1)
    tasks = {}
    for split, idx in picks.items():
        jpeg, off = d[f"{split}_jpeg"], d[f"{split}_offsets"]
        tasks[split] = []
        for chunk in np.array_split(idx, max(1, min(len(idx), 4 * n_workers))):
            starts, ends = off[chunk], off[chunk + 1]
            blob = b"".join(jpeg[s:e].tobytes() for s, e in zip(starts, ends, strict=True))
            tasks[split].append((blob, np.concatenate([[0], np.cumsum(ends - starts)]), chunk))
    if n_workers > 1:
        import PIL.Image  # noqa: F401  (imported before the workers fork, so that they do not import it)

        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork") if "fork" in methods else None
        with concurrent.futures.ProcessPoolExecutor(n_workers, mp_context=context) as pool:
            images = {split: np.concatenate(list(pool.map(_decode_chunk, t))) for split, t in tasks.items()}
    else:
        images = {split: np.concatenate([_decode_chunk(x) for x in t]) for split, t in tasks.items()}
    return JpegCIFAR10Arrays(
        images["train"],
        d["train_labels"][picks["train"]].astype(np.int64),
        images["test"],
        d["test_labels"][picks["test"]].astype(np.int64),
        classes,
    )


# ---------------------------------------------------------------------------------------------
# Time: the whole command ends within --minutes
# ---------------------------------------------------------------------------------------------


def _seconds_since_process_start() -> float:
    """How long this process has run (Linux: from /proc, so the interpreter's start and the imports count);
    elsewhere, since this module was imported."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))  # field 22: start time in ticks
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _IMPORTED_AT


class Clock:
    """The command's clock: seconds since the process started, and seconds left of ``minutes``."""

    def __init__(self, minutes: float, started_s_ago: float | None = None) -> None:
        ago = _seconds_since_process_start() if started_s_ago is None else started_s_ago
        self.start = time.perf_counter() - ago
        self.deadline = self.start + minutes * 60.0
        self.minutes = minutes

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.deadline - time.perf_counter()


def training_budget_s(left_s: float, reserve_s: float, minimum_s: float) -> float | None:
    """The training's time budget: what is left of the command less ``reserve_s`` for the end of the run,
    or None if that is under ``minimum_s`` (too short to be worth starting)."""
    budget = left_s - reserve_s
    return budget if budget >= minimum_s else None


# ---------------------------------------------------------------------------------------------
# What every file records
# ---------------------------------------------------------------------------------------------


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({torch.get_num_threads()} threads)"


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"torch": torch.__version__, "cuda": torch.version.cuda}
    for name in ("torchvision", "timm"):
        module = sys.modules.get(name)
        out[name] = getattr(module, "__version__", None) if module is not None else None
    return out


def run_info(device: torch.device, command: str) -> dict[str, Any]:
    """Device, versions, date and command: the head of every file this run writes."""
    info = {
        "device": _device_name(device),
        **_versions(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "python": sys.version.split()[0],
        "cpu_cores": _workers(None),
    }
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        info["compute_capability"] = f"{major}.{minor}"
    return info


def _error(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:2000]


def _free(device: torch.device, compiled: bool = False) -> None:
    gc.collect()
    if compiled:
        torch._dynamo.reset()  # drop compiled graphs (they hold the model) before the next measurement
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _build_on(device: torch.device, build: Callable[[], nn.Module]) -> nn.Module:
    """Build a model with its weights created on ``device`` (initialising 88M parameters on a CPU takes
    seconds); a builder that cannot do that is built on the CPU and moved."""
    try:
        with torch.device(device):
            return build().to(device)
    except Exception:
        return build().to(device)


# ---------------------------------------------------------------------------------------------
# Part 1: speed against the peers
# ---------------------------------------------------------------------------------------------


def _import_peers() -> dict[str, Any]:
    """``{"torchvision": module or the reason it is missing, "timm": ...}`` (a string is a reason)."""
    peers: dict[str, Any] = {}
    try:
        import torchvision.models
        import torchvision.models.swin_transformer

        peers["torchvision"] = torchvision.models
    except Exception as e:  # missing, or built for another torch
        peers["torchvision"] = f"torchvision cannot be imported ({_error(e)})"
    try:
        import timm
        import timm.models.swin_transformer  # noqa: F401

        peers["timm"] = timm
    except Exception as e:
        peers["timm"] = f"timm cannot be imported ({_error(e)})"
    return peers


def _timm_fused(model: nn.Module) -> nn.Module:
    """timm decides per attention module whether to call scaled_dot_product_attention; switch it on."""
    for module in model.modules():
        if hasattr(module, "fused_attn"):
            module.fused_attn = True
    return model


def _timm_rows(label: str, timm: Any, make: Callable[[], nn.Module]) -> list[tuple[str, str, Any]]:
    """timm's model as it comes and with its fused attention switched on: two ``(label, "timm", builder)``
    rows, or the reason timm cannot be imported in place of each builder."""
    rows: list[tuple[str, str, Any]] = []
    for fused in (False, True):
        name = label + (" (fused attention)" if fused else "")

        def build(fused: bool = fused) -> nn.Module:
            model = make()
            return _timm_fused(model) if fused else model

        rows.append((name, "timm", timm if isinstance(timm, str) else build))
    return rows


def peer_builders(config: dict[str, Any], drop_path: float, peers: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The peers built with swinlab's configuration ``config`` (a ``SwinTransformer.config``): a list of
    ``(label, implementation, builder or the reason there is none)``."""
    c = config
    out: list[tuple[str, str, Any]] = []
    tv = peers.get("torchvision")
    if isinstance(tv, str):
        out.append(("torchvision SwinTransformer", "torchvision", tv))
    else:
        from torchvision.models.swin_transformer import SwinTransformer as TvSwin

        out.append(
            (
                "torchvision SwinTransformer",
                "torchvision",
                lambda: TvSwin(
                    patch_size=[c["patch_size"]] * 2,
                    embed_dim=c["embed_dim"],
                    depths=list(c["depths"]),
                    num_heads=list(c["num_heads"]),
                    window_size=[c["window_size"]] * 2,
                    mlp_ratio=c["mlp_ratio"],
                    stochastic_depth_prob=drop_path,
                    num_classes=c["num_classes"],
                ),
            )
        )

    def timm_swin() -> nn.Module:
        from timm.models.swin_transformer import SwinTransformer as TimmSwin

        return TimmSwin(
            img_size=c["img_size"],
            patch_size=c["patch_size"],
            in_chans=c["in_chans"],
            num_classes=c["num_classes"],
            embed_dim=c["embed_dim"],
            depths=tuple(c["depths"]),
            num_heads=tuple(c["num_heads"]),
            window_size=c["window_size"],
            mlp_ratio=c["mlp_ratio"],
            drop_path_rate=drop_path,
        )

    return out + _timm_rows("timm SwinTransformer", peers.get("timm"), timm_swin)


def peer_swin_t_builders(drop_path: float, peers: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """torchvision's ``swin_t`` and timm's ``swin_tiny_patch4_window7_224`` (random weights); timm's gets
    ``drop_path``, torchvision's has 0.2 built in (swinlab's ``swin_t`` default)."""
    out: list[tuple[str, str, Any]] = []
    tv = peers.get("torchvision")
    out.append(
        (
            "torchvision swin_t",
            "torchvision",
            # torchvision's swin_t fixes its stochastic depth at 0.2, swinlab's swin_t's (no argument changes it)
            tv if isinstance(tv, str) else (lambda: tv.swin_t(weights=None)),
        )
    )
    tm = peers.get("timm")

    def timm_swin_t() -> nn.Module:
        return tm.create_model("swin_tiny_patch4_window7_224", pretrained=False, drop_path_rate=drop_path)

    return out + _timm_rows("timm swin_tiny_patch4_window7_224", tm, timm_swin_t)


def _counted_gmacs(model: nn.Module, img_size: int, device: torch.device) -> float | None:
    """PyTorch's FLOP counter on one image / 2, in G (matrix products, convolutions, attention)."""
    from .complexity import count_flops

    try:
        was_training = model.training
        model.eval()
        flops = count_flops(model, torch.zeros(1, 3, img_size, img_size, device=device))
        model.train(was_training)
        return flops / 2e9
    except Exception:
        return None


def _measure_speed(
    group: str,
    label: str,
    impl: str,
    build: Any,
    *,
    device: torch.device,
    batch_size: int,
    steps: int,
    warmup: int,
    compile: bool,
    amp: bool,
    img_size: int,
    num_classes: int,
    reference_macs: int,
    drop_path: float,
) -> dict[str, Any]:
    """One row: ``swinlab.bench.benchmark`` of one model, or why there is none."""
    from .bench import benchmark

    row: dict[str, Any] = {
        "group": group,
        "model": label,
        "impl": impl,
        "compile": compile,
        "img_size": img_size,
        "batch_size": batch_size,
        "drop_path": drop_path,
    }
    if isinstance(build, str):
        return {**row, "status": "skipped", "reason": build}
    torch.manual_seed(0)
    try:
        model = _build_on(device, build)
    except Exception as e:
        return {**row, "status": "failed", "reason": f"could not build it: {_error(e)}"}
    row["params"] = sum(p.numel() for p in model.parameters())
    row["counted_gmacs"] = _counted_gmacs(model, img_size, device)
    if not hasattr(model, "macs"):
        # MFU from the same analytic count for every implementation of the same architecture
        model.macs = lambda img_size=None: {"total": reference_macs}
        row["macs_source"] = "swinlab's analytic count of the same architecture"
    else:
        row["macs_source"] = "the model's own analytic count"
    t0 = time.perf_counter()
    try:
        result = benchmark(
            model,
            batch_size,
            steps,
            warmup,
            device,
            amp=amp,
            compile=compile,
            img_size=img_size,
            num_classes=num_classes,
        )
    except torch.cuda.OutOfMemoryError as e:
        row.update(
            status="failed", reason=f"out of memory at batch {batch_size}: measure it with a smaller batch ({e})"
        )
        return row
    except Exception as e:
        row.update(status="failed", reason=_error(e), traceback=traceback.format_exc()[-3000:])
        return row
    finally:
        del model
        _free(device, compiled=compile)
    wall = time.perf_counter() - t0
    steady = (steps + warmup) * (batch_size / result["train_images_per_s"] + batch_size / result["infer_images_per_s"])
    row.update(result)
    row.update(
        status="ok",
        wall_s=wall,
        # the time beyond (warmup + steps) steady-state steps: for a compiled model, its compilation
        first_steps_overhead_s=max(0.0, wall - steady),
    )
    if compile:
        row["compile_s"] = row["first_steps_overhead_s"]
    return row


def _comparisons(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per group, swinlab against the fastest peer that was measured (training and inference apart)."""
    out = []
    for group in dict.fromkeys(r["group"] for r in rows):
        ok = [r for r in rows if r["group"] == group and r["status"] == "ok"]
        ours = next((r for r in ok if r["impl"] == "swinlab"), None)
        theirs = [r for r in ok if r["impl"] != "swinlab"]
        entry: dict[str, Any] = {"group": group, "swinlab": ours["model"] if ours else None}
        for key in ("train_images_per_s", "infer_images_per_s"):
            best = max(theirs, key=lambda r: r[key], default=None)
            entry[key] = {
                "swinlab": ours[key] if ours else None,
                "fastest_peer": best["model"] if best else None,
                "fastest_peer_value": best[key] if best else None,
                "swinlab_over_fastest_peer": ours[key] / best[key] if ours and best else None,
            }
        out.append(entry)
    return out


def speed_against_peers(
    device: torch.device, *, smoke: bool, compile: bool, budget_s: float = SPEED_BUDGET_S
) -> dict[str, Any]:
    """Part 1: every model's row (see :func:`_measure_speed`), swinlab against the fastest peer per group,
    and the notes on how the implementations differ. Stops starting measurements once ``budget_s`` is spent
    (each skipped row says so)."""
    from .model import swin_cifar, swin_t

    t_part = time.perf_counter()
    amp = device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8  # bf16 where native
    peers = _import_peers()
    with torch.device("meta"):  # the configurations and analytic counts only: no weights to initialise
        cifar, tiny = swin_cifar(), swin_t()
    cifar_dp, t_dp = 0.1, 0.2  # swin_cifar's and swin_t's stochastic depth, given to every implementation
    if smoke:
        sizes = {"cifar": dict(batch_size=4, steps=1, warmup=1), "224": dict(batch_size=1, steps=1, warmup=0)}
    else:
        sizes = {"cifar": dict(batch_size=512, steps=20, warmup=5), "224": dict(batch_size=128, steps=10, warmup=3)}
    cifar_macs, t_macs = cifar.macs()["total"], tiny.macs()["total"]
    plan = []  # (group, label, impl, builder, compile, img, classes, macs, drop path, sizes); cheap ones first
    eager_cifar = [("swinlab swin_cifar", "swinlab", lambda: swin_cifar(drop_path_rate=cifar_dp))]
    eager_cifar += peer_builders(cifar.config, cifar_dp, peers)
    # swinlab's explicit path too: with 16 tokens per window a fused kernel may not pay (timm's explicit
    # attention was the fastest at 32 px inference on an H200)
    eager_cifar.append(
        ("swinlab swin_cifar (explicit attention)", "swinlab", lambda: swin_cifar(drop_path_rate=cifar_dp, fused=False))
    )
    eager_t = [("swinlab swin_t", "swinlab", lambda: swin_t(drop_path_rate=t_dp))]
    eager_t += peer_swin_t_builders(t_dp, peers)
    for label, impl, build in eager_cifar:
        plan.append(("32 px, eager", label, impl, build, False, 32, 10, cifar_macs, cifar_dp, sizes["cifar"]))
    for label, impl, build in eager_t:
        plan.append(("224 px, eager", label, impl, build, False, 224, 1000, t_macs, t_dp, sizes["224"]))
    for label, impl, build in eager_cifar:
        if "attention)" not in label:  # one compiled row per implementation, its default attention
            plan.append(("32 px, compiled", label, impl, build, True, 32, 10, cifar_macs, cifar_dp, sizes["cifar"]))

    rows, expected = [], {False: 5.0, True: 40.0}  # seconds a measurement is expected to take, updated as measured
    for group, label, impl, build, comp, img, classes, macs, dp, size in plan:
        spent = time.perf_counter() - t_part
        if comp and not compile:
            reason = "torch.compile is off for this run (--no-compile, or a CPU rehearsal)"
            rows.append(
                {"group": group, "model": label, "impl": impl, "compile": True, "status": "skipped", "reason": reason}
            )
            continue
        if not isinstance(build, str) and spent + expected[comp] > budget_s:
            reason = f"the part's {budget_s:.0f} s were spent ({spent:.0f} s used, about {expected[comp]:.0f} s needed)"
            rows.append(
                {"group": group, "model": label, "impl": impl, "compile": comp, "status": "skipped", "reason": reason}
            )
            continue
        row = _measure_speed(
            group, label, impl, build, device=device, compile=comp, amp=amp, img_size=img, num_classes=classes,
            reference_macs=macs, drop_path=dp, **size,
        )  # fmt: skip
        if row["status"] == "ok":
            expected[comp] = max(expected[comp], row["wall_s"])
        rows.append(row)
        _print_speed_row(row)
    by_group: dict[str, dict[str, Any]] = {}
    for r in rows:  # swinlab's default row of each group
        if r["impl"] == "swinlab" and r["status"] == "ok":
            by_group.setdefault(r["group"], r)
    for r in rows:
        ours = by_group.get(r["group"])
        if r.get("params") is not None and ours is not None:
            r["params_minus_swinlab"] = r["params"] - ours["params"]
    return {
        "what": "training and inference speed of swinlab's Swin against torchvision's and timm's, each built with "
        "the same configuration, on the same device, batch and precision (swinlab.bench.benchmark: random "
        "images, AdamW steps, the mean over the timed steps after the warmup)",
        "precision": "bf16 autocast" if amp else "float32",
        "sizes": sizes,
        "budget_s": budget_s,
        "seconds": time.perf_counter() - t_part,
        "configurations": {
            "32 px": {**cifar.config, "drop_path_rate": cifar_dp},
            "224 px": {**tiny.config, "drop_path_rate": t_dp},
        },
        "rows": rows,
        "comparison": _comparisons(rows),
        "notes": [
            "MFU: achieved FLOP/s (2 x the analytic multiply-adds per image, 3x that for a training step) over the "
            "device's peak dense bf16 FLOP/s (swinlab.bench.PEAK_BF16_TFLOPS); every implementation of one "
            "architecture is credited with swinlab's analytic count, so MFU compares their speed. counted_gmacs is "
            "PyTorch's FLOP counter on one image, for a cross-check.",
            "first_steps_overhead_s: the measurement's wall time beyond its (warmup + steps) steady-state steps; for "
            "a compiled model (compile_s) it is the compilation of the training and the inference graphs.",
            "torchvision's SwinTransformer takes no image size: it pads each map to a multiple of the window and "
            "drops the shift where the window covers the whole map, deciding on every forward; at 32x32 with "
            "patch 2 the maps are 16, 8 and 4, so its last stage is one unshifted 4x4 window, as in swinlab and "
            "timm. It builds the shift mask on every forward and computes attention step by step (matrix products "
            "and a softmax).",
            "timm's SwinTransformer merges patches at the start of the next stage rather than at the end of the "
            "previous one (the same parameters). It computes attention step by step unless fused_attn is switched "
            "on, which the '(fused attention)' rows do.",
            "swinlab's WindowAttention calls scaled_dot_product_attention on CUDA, the relative position bias and "
            "the shift mask folded into one float mask; the '(explicit attention)' row computes it step by step "
            "(fused=False). The comparison with the peers uses swinlab's default row.",
        ],
    }


def _print_speed_row(r: dict[str, Any]) -> None:
    if r["status"] != "ok":
        print(f"  {r['group']:<16} {r['model']:<50} {r['status']}: {r['reason'][:120]}", flush=True)
        return
    mem = r.get("train_peak_memory_gb")
    print(
        f"  {r['group']:<16} {r['model']:<50} {r['params'] / 1e6:6.2f}M  train {r['train_images_per_s']:9,.0f} img/s  "
        f"infer {r['infer_images_per_s']:9,.0f} img/s"
        + (f"  MFU {r['train_mfu']:.1%}" if r.get("train_mfu") is not None else "")
        + (f"  {mem:.2f} GB" if mem is not None else "")
        + (f"  compile {r['compile_s']:.0f} s" if r.get("compile_s") is not None else ""),
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# Part 2: the paper's throughput table
# ---------------------------------------------------------------------------------------------


def build_paper_model(name: str, shrink: bool = False) -> nn.Module:
    """One model of ``swinlab.vit.paper_models()`` with random weights; ``shrink``: the ``--smoke`` stand-in
    (the same image size, patch and window, a few channels and one block per stage)."""
    from .vit import paper_models

    kwargs = _SMOKE_SHRINK["swin" if name.startswith("Swin") else "vit"] if shrink else {}
    return paper_models()[name]["build"](**kwargs)


def paper_throughput(device: torch.device, *, smoke: bool, budget_s: float = PAPER_BUDGET_S) -> dict[str, Any]:
    """Part 2: inference images/s of the paper's Table 1(a) models (``swinlab.vit.paper_models``, random
    weights) at batch 64, timed by ``swinlab.vit.measure_throughput`` in float32 (TF32 off, as on the paper's
    V100) and in bf16 autocast (fp16 before Ampere), beside the paper's V100 figures; the paper's pairs
    (``swinlab.vit.PAPER_PAIRS``) as ratios of images/s, for each precision."""
    from .vit import PAPER_PAIRS, SAME_NETWORK, measure_throughput, paper_models, throughput_ratios

    t_part = time.perf_counter()
    batch, steps, warmup = (1, 1, 0) if smoke else (64, 10, 3)
    precisions: dict[str, torch.dtype | None] = {"float32": None, "bf16": torch.bfloat16}
    if device.type == "cuda" and torch.cuda.get_device_capability(device)[0] < 8:
        precisions = {"float32": None, "fp16": torch.float16}
    tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    rows: list[dict[str, Any]] = []
    try:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        for name, entry in paper_models().items():
            paper = {k: v for k, v in entry.items() if k.startswith("paper_")}
            row: dict[str, Any] = {"model": name, "img_size": entry["img_size"], "batch_size": batch, **paper}
            twin = next((r for r in rows if r["model"] == SAME_NETWORK.get(name) and r["status"] == "ok"), None)
            if twin is not None:  # the same network as one measured already
                speeds = {k: v for k, v in twin.items() if "images_per_s_" in k or k in ("params", "gmacs")}
                rows.append({**row, **speeds, "same_as": twin["model"], "status": "ok"})
                continue
            spent = time.perf_counter() - t_part
            if spent > budget_s:
                rows.append({**row, "status": "skipped", "reason": f"the part's {budget_s:.0f} s were spent"})
                continue
            model = None
            try:
                torch.manual_seed(0)
                model = _build_on(device, lambda name=name: build_paper_model(name, shrink=smoke)).eval()
                row["params"] = sum(p.numel() for p in model.parameters())
                row["gmacs"] = model.macs()["total"] / 1e9
                for label, dtype in precisions.items():
                    speed = measure_throughput(model, entry["img_size"], batch, device, steps, warmup, dtype)
                    row[f"images_per_s_{label}"] = speed["images_per_s"]
                    row[f"median_images_per_s_{label}"] = speed["median_images_per_s"]
                row["status"] = "ok"
            except Exception as e:
                row.update(status="failed", reason=_error(e), traceback=traceback.format_exc()[-3000:])
            finally:
                del model
                _free(device)
            rows.append(row)
            if row["status"] == "ok":
                print(
                    f"  {name:<13} {row['params'] / 1e6:6.1f}M {row['gmacs']:6.2f} GMACs  "
                    + "  ".join(f"{label} {row[f'images_per_s_{label}']:8,.1f}" for label in precisions)
                    + f"  img/s   (paper, V100: {row['paper_images_per_s']})",
                    flush=True,
                )
            else:
                print(f"  {name:<13} {row['status']}: {row['reason'][:120]}", flush=True)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    ratios = {(a, b): {"a": a, "b": b} for a, b in PAPER_PAIRS}
    for label in precisions:
        measured = [{**r, "images_per_s": r[f"images_per_s_{label}"]} for r in rows if f"images_per_s_{label}" in r]
        for q in throughput_ratios(measured, PAPER_PAIRS):
            ratios[(q["a"], q["b"])].update(
                paper_ratio=q["paper_ratio"], top1_gain=q["top1_gain"], **{label: q["ratio"]}
            )
    return {
        "what": "inference images/s of the paper's Table 1(a) models with random weights, one batch of random "
        "images at a time, the fastest of the timed batches (swinlab.vit.measure_throughput), beside the "
        "paper's V100 figures (swinlab.vit.PAPER_TABLE1)",
        "smoke_stand_ins": smoke,
        "precisions": {
            k: "float32, TF32 off" if v is None else f"{v} autocast".replace("torch.", "")
            for k, v in precisions.items()
        },
        "batch_size": batch,
        "steps": steps,
        "warmup": warmup,
        "budget_s": budget_s,
        "seconds": time.perf_counter() - t_part,
        "paper_source": "Liu et al. 2021, Swin Transformer (arXiv:2103.14030), Table 1(a): throughput on one V100 GPU",
        "rows": rows,
        "ratios": list(ratios.values()),
    }


# ---------------------------------------------------------------------------------------------
# Part 3: the reference training
# ---------------------------------------------------------------------------------------------


def assess_targets(
    history: Sequence[dict[str, Any]],
    test: dict[str, Any] | None,
    early_s: float = 120.0,
    early_target: float = 0.90,
    final_target: float = 0.94,
    aim: float = 0.945,
) -> dict[str, Any]:
    """The issue's targets: ``early_target`` test accuracy within ``early_s`` seconds of training (read off the
    per-epoch test curve, which chose nothing; elapsed seconds include compilation and evaluation), and
    ``final_target`` on the final test (the model chosen on the validation split). Each says whether it was
    met and, if not, by how many points of accuracy it was missed."""
    curve = [r for r in history if r.get("test_acc") is not None]
    within = [r for r in curve if r["elapsed_s"] <= early_s]
    best = max(within, key=lambda r: r["test_acc"], default=None)
    first = next((r for r in curve if r["test_acc"] >= early_target), None)
    early_met = best is not None and best["test_acc"] >= early_target
    early = {
        "target": early_target,
        "within_s": early_s,
        "met": early_met,
        "best_test_acc_within": best["test_acc"] if best else None,
        "val_acc_of_that_epoch": best["val_acc"] if best else None,
        "epoch": best["epoch"] if best else None,
        "elapsed_s": best["elapsed_s"] if best else None,
        "first_epoch_reaching_target": first["epoch"] if first else None,
        "first_elapsed_s_reaching_target": first["elapsed_s"] if first else None,
        "missed_by": None if early_met or best is None else early_target - best["test_acc"],
        "note": "read off the per-epoch test curve of a run whose schedule was sized to its whole budget, so "
        "its learning rate was still high at this point; no choice was made with the test set",
    }
    if not curve:
        early["note"] = "no per-epoch test curve was recorded (track_test off)"
    acc = test["acc"] if test else None
    final = {
        "target": final_target,
        "met": acc is not None and acc >= final_target,
        "test_acc": acc,
        "ci95": test.get("ci95") if test else None,
        "n": test.get("n") if test else None,
        "epoch": test.get("epoch") if test else None,
        "missed_by": None if acc is None or acc >= final_target else final_target - acc,
        "aim": aim,
        "aim_met": acc is not None and acc >= aim,
    }
    return {"early": early, "final": final}


#: Largest relative gradient error (``|g - g_ref| / |g_ref|`` per tensor, the worst tensor) that the fused
#: attention may show in float32 against the explicit path, and its allowance over the explicit path's own
#: error at the training precision (bf16 rounds both; a kernel that computes a wrong gradient exceeds both).
FUSED_GRAD_TOL_FP32 = 1e-2
FUSED_GRAD_SLACK = 3.0


def attention_gradient_check(device: torch.device, batch_size: int = 64, seed: int = 0) -> dict[str, Any]:
    """Does the fused attention (``scaled_dot_product_attention`` with the relative position bias and the shift
    mask as its float mask) give this device the gradients of the explicit path? The bias tables learn only
    through that mask's gradient, which a fused kernel computes itself.

    One batch of ``swin_cifar`` (no drop path), random images and labels: the gradient of every parameter with
    the explicit path in float32 is the reference; against it, the fused path in float32, and both paths at the
    training precision (``choose_precision``; bf16 on a CPU). Returns, per variant, the worst tensor's relative
    error (and the worst bias table's), and ``fused_ok``: fused float32 within :data:`FUSED_GRAD_TOL_FP32`, and
    fused at the training precision within :data:`FUSED_GRAD_SLACK` times the explicit path's error there (+0.01).
    """
    from .attention import WindowAttention
    from .model import swin_cifar
    from .train import choose_precision

    t0 = time.perf_counter()
    amp = choose_precision(device) or torch.bfloat16
    low = str(amp).split(".")[-1]  # "bfloat16" or "float16"
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = swin_cifar(drop_path_rate=0.0).to(device)
    x = torch.randn(batch_size, 3, 32, 32, generator=gen).to(device)
    y = torch.randint(0, 10, (batch_size,), generator=gen).to(device)
    attention = [m for m in model.modules() if isinstance(m, WindowAttention)]
    tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False  # a float32 reference

    def gradients(fused: bool, dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
        for m in attention:
            m.fused = fused
        model.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            logits = model(x)
        nn.functional.cross_entropy(logits.float(), y).backward()
        return {n: p.grad.detach().float().clone() for n, p in model.named_parameters() if p.grad is not None}

    try:
        reference = gradients(False, None)
        variants = {}
        for name, fused, dtype in (
            ("fused float32", True, None),
            (f"explicit {low}", False, amp),
            (f"fused {low}", True, amp),
        ):
            g = gradients(fused, dtype)
            # a parameter the variant gives no gradient counts as a gradient of zeros: relative error 1
            errors = {
                n: float((g.get(n, torch.zeros_like(r)) - r).norm() / r.norm().clamp_min(1e-30))
                for n, r in reference.items()
            }
            worst = max(errors, key=errors.__getitem__)
            tables = [e for n, e in errors.items() if n.endswith("relative_position_bias_table")]
            variants[name] = {
                "worst_relative_error": errors[worst],
                "worst_tensor": worst,
                "worst_bias_table_error": max(tables) if tables else None,
            }
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
        for m in attention:
            m.fused = None
    fp32_err = variants["fused float32"]["worst_relative_error"]
    fused_err = variants[f"fused {low}"]["worst_relative_error"]
    explicit_err = variants[f"explicit {low}"]["worst_relative_error"]
    fused_ok = fp32_err <= FUSED_GRAD_TOL_FP32 and fused_err <= FUSED_GRAD_SLACK * explicit_err + 0.01
    return {
        "what": "gradients of swin_cifar on one batch, fused attention against the explicit path (float32 reference)",
        "batch_size": batch_size,
        "precision": low,
        "variants": variants,
        "fused_ok": fused_ok,
        "seconds": time.perf_counter() - t0,
    }


def reference_training(
    data: CIFAR10Arrays,
    device: torch.device,
    clock: Clock,
    out_json: Path,
    info: dict[str, Any],
    *,
    smoke: bool,
    compile: bool | None,
    seed: int,
    reserve_s: float,
) -> dict[str, Any]:
    """Part 3: ``swin_cifar`` with ``TrainConfig.preset("gpu")`` (per-epoch test curve on, for plotting),
    its budget what is left of the command less ``reserve_s``; the history written to ``out_json`` after
    every epoch and at the end, as ``swinlab.train``'s ``history.json`` plus the run's record and targets."""
    from .train import TrainConfig, build_model, data_fingerprint, load_history, train

    left = clock.left()
    budget = training_budget_s(left, reserve_s, 5.0 if smoke else MIN_TRAINING_S)
    source = getattr(data, "source", None) or ("synthetic stand-in" if data.synthetic else "CIFAR-10")
    base = {"what": "the reference training of swin_cifar on CIFAR-10", **info, "data": source}
    if budget is None:
        return {**base, "status": "skipped", "reason": f"only {left:.0f} s were left (reserve {reserve_s:.0f} s)"}
    cfg = TrainConfig.preset("gpu", track_test=True, seed=seed, max_minutes=budget / 60.0)
    if compile is not None:
        cfg = dataclasses.replace(cfg, compile=compile)
    if len(data.train_labels) < 5 * cfg.val_size:
        cfg = dataclasses.replace(cfg, val_size=None)  # a tenth of a small set
    if smoke:
        cfg = dataclasses.replace(
            cfg,
            epochs=2,
            batch_size=8,
            eval_batch_size=64,
            train_subset=16,
            test_subset=64,
            log_every=1,
            max_minutes=min(budget, 20.0) / 60.0,
        )
    model_kwargs: dict[str, Any] = {"drop_path_rate": cfg.drop_path}
    try:
        check = attention_gradient_check(device, batch_size=4 if smoke else 64)
    except Exception as e:  # the check informs the choice of kernel; the training runs either way
        check = {"status": "failed", "reason": _error(e), "fused_ok": True}
    if not check["fused_ok"]:  # train with the path whose gradients are right on this device
        model_kwargs["fused"] = False
    print(
        f"  attention gradients, fused against explicit: {'agree' if check['fused_ok'] else 'DISAGREE'}"
        + "".join(f" | {k} {v['worst_relative_error']:.1e}" for k, v in check.get("variants", {}).items())
        + ("" if check["fused_ok"] else " -> training with the explicit path"),
        flush=True,
    )
    model = build_model(cfg.model, seed=cfg.seed, **model_kwargs)
    fingerprint = {**data_fingerprint(data), "source": source}
    record = {
        **base,
        "status": "running",
        "params": sum(p.numel() for p in model.parameters()),
        "budget": {
            "command_minutes": clock.minutes,
            "seconds_before_training": clock.elapsed(),
            "training_max_minutes": cfg.max_minutes,
            "reserve_s": reserve_s,
        },
        "data_fingerprint": fingerprint,
        "config": cfg.to_dict(),
        "attention_gradient_check": check,
        "history": [],
    }
    run_dir = Path(tempfile.mkdtemp(prefix="swinlab-reference-"))  # checkpoints stay out of --out
    t_train = time.perf_counter()
    printed = [-math.inf]

    def on_epoch(r: dict[str, Any]) -> None:
        record["history"].append(r)
        write_json_atomic(out_json, record)
        if r["epoch"] > 3 and r["elapsed_s"] - printed[0] < 15.0:  # a line every 15 s: the curve is in the file
            return
        printed[0] = r["elapsed_s"]
        print(
            f"  epoch {r['epoch']:3d}: train loss {r['train_loss']:.3f} | val acc {r['val_acc']:.4f} | "
            f"test acc {r.get('test_acc', float('nan')):.4f} | lr {r['lr']:.2e} | grad norm "
            f"{r.get('grad_norm', float('nan')):.2f} | {r['images_per_s']:,.0f} img/s "
            f"| {r['elapsed_s']:.0f} s",
            flush=True,
        )

    try:
        result = train(
            model,
            data,
            cfg,
            device=device,
            out=run_dir,
            progress=False,
            callback=on_epoch,
            model_name=cfg.model,
            model_kwargs=model_kwargs,
        )
        saved = load_history(run_dir / "history.json")
    except Exception as e:  # keep the epochs recorded so far
        record.update(status="failed", reason=_error(e), traceback=traceback.format_exc()[-5000:])
        record["budget"]["command_seconds_at_end"] = clock.elapsed()
        write_json_atomic(out_json, record)
        return record
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    saved["data"] = source  # swinlab.train names every non-synthetic set "CIFAR-10"
    record.update(saved)
    record.update(
        status="interrupted" if result.interrupted else "done",
        training_s=time.perf_counter() - t_train,
        best_val_acc=result.best_val_acc,
        targets={"data": source, **assess_targets(result.history, result.test)},
    )
    record["budget"]["command_seconds_at_end"] = clock.elapsed()
    write_json_atomic(out_json, record)
    return record


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def _load_data(args: argparse.Namespace, smoke: bool) -> CIFAR10Arrays:
    if args.jpeg_npz is not None:
        limit = (600, 200) if smoke else (None, None)
        return decode_jpeg_npz(args.jpeg_npz, *limit, workers=args.workers, seed=args.seed)
    if args.data_dir is not None or not smoke:
        from .data import load_cifar10

        data = load_cifar10(args.data_dir, download=args.data_dir is None)
        if smoke:  # a small slice, drawn at random (classes stay mixed)
            rng = np.random.default_rng(args.seed)
            tr, te = _chosen(len(data.train_labels), 600, rng), _chosen(len(data.test_labels), 200, rng)
            data = CIFAR10Arrays(
                data.train_images[tr], data.train_labels[tr], data.test_images[te], data.test_labels[te], data.classes
            )
        return data
    from .data import synthetic_cifar10

    return synthetic_cifar10()


def _parts(text: str) -> tuple[str, ...]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in names if p not in PARTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{text!r}: choose a comma-separated subset of {','.join(PARTS)}")
    return tuple(p for p in PARTS if p in names)


_POSITIVE = number_arg(float, 0, low_open=True)  # --minutes and the parts' seconds


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m swinlab.reference_run",
        description="The reference run on a CUDA GPU: speed against torchvision's and timm's Swin, the paper's "
        "throughput table, and the reference CIFAR-10 training, ending within --minutes.",
        epilog="Example: python -m swinlab.reference_run --jpeg-npz .gpu-data/cifar10-jpeg.npz --out assets/ "
        "--minutes 8.5   |   python -m swinlab.reference_run --smoke --out /tmp/rehearsal",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the JSON files (e.g. assets/)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--data-dir", default=None, help="CIFAR-10 folder (the official archive; see swinlab.data)")
    source.add_argument("--jpeg-npz", type=Path, default=None, help="cifar10-jpeg.npz, decoded in parallel")
    p.add_argument(
        "--minutes", type=_POSITIVE, default=None, help="the whole command's time (default 8.5; 2 with --smoke)"
    )
    p.add_argument("--parts", type=_parts, default=PARTS, help="a subset of speed,paper,train (default: all three)")
    p.add_argument("--smoke", action="store_true", help="rehearse every part on the CPU with tiny sizes")
    p.add_argument("--device", default=None, help="default: cuda (cpu with --smoke)")
    p.add_argument("--compile", dest="compile", action="store_true", default=None, help="force torch.compile on")
    p.add_argument("--no-compile", dest="compile", action="store_false", help="no torch.compile anywhere")
    p.add_argument("--seed", type=int, default=0, help="the training's seed (weights, split, sampling)")
    p.add_argument("--workers", type=int, default=None, help="processes decoding the JPEGs (default: all cores)")
    p.add_argument(
        "--speed-seconds",
        type=_POSITIVE,
        default=None,
        help=f"time for the speed part (default {SPEED_BUDGET_S:.0f}; with --smoke, 45%% of --minutes)",
    )
    p.add_argument(
        "--paper-seconds",
        type=_POSITIVE,
        default=None,
        help=f"time for the paper's table (default {PAPER_BUDGET_S:.0f}; with --smoke, 15%% of --minutes)",
    )
    p.add_argument(
        "--reserve-seconds",
        type=_POSITIVE,
        default=None,
        help="time kept after training for its last evaluations and the files "
        f"(default {FINISH_RESERVE_S:.0f}; 20 with --smoke)",
    )
    return p


def speed_summary(speed: dict[str, Any]) -> list[str]:
    """The lines that report ``gpu_bench.json`` (the record of :func:`speed_against_peers`): one row per model,
    then swinlab against the fastest peer of each group."""
    lines = [f"speed against the peers ({speed.get('precision', '?')}, {speed.get('seconds', 0):.0f} s):"]
    lines.append(
        f"  {'group':<16} {'model':<50} {'params':>8} {'train img/s':>12} {'infer img/s':>12} {'MFU':>6} "
        f"{'train mem':>10}"
    )
    for r in speed.get("rows", []):
        if r["status"] == "ok":
            mfu = "-" if r.get("train_mfu") is None else f"{r['train_mfu']:.1%}"
            mem = "-" if r.get("train_peak_memory_gb") is None else f"{r['train_peak_memory_gb']:.2f} GB"
            lines.append(
                f"  {r['group']:<16} {r['model']:<50} {r['params'] / 1e6:7.2f}M {r['train_images_per_s']:12,.0f} "
                f"{r['infer_images_per_s']:12,.0f} {mfu:>6} {mem:>10}"
            )
        else:
            lines.append(f"  {r['group']:<16} {r['model']:<50} {r['status']}")
    for c in speed.get("comparison", []):
        parts = []
        for key, what in (("train_images_per_s", "train"), ("infer_images_per_s", "infer")):
            q = c[key]
            if q["swinlab_over_fastest_peer"] is not None:
                parts.append(f"{what} {q['swinlab_over_fastest_peer']:.2f}x ({q['fastest_peer']})")
        if parts:
            lines.append(f"  swinlab / fastest peer, {c['group']}: " + ", ".join(parts))
    if speed.get("status") == "failed":
        lines.append(f"  failed: {speed.get('reason')}")
    return lines


def paper_summary(paper: dict[str, Any]) -> list[str]:
    """The lines that report ``paper_throughput_gpu.json`` (the record of :func:`paper_throughput`): images/s
    per model and precision beside the paper's V100 figure, then the paper's pairs as ratios."""
    lines = [f"paper's throughput table (batch {paper.get('batch_size')}, images/s):"]
    for r in paper.get("rows", []):
        if r["status"] == "ok":
            lines.append(
                f"  {r['model']:<13} "
                + "  ".join(f"{k} {r[f'images_per_s_{k}']:9,.1f}" for k in paper["precisions"])
                + f"   paper V100 {r['paper_images_per_s']:6.1f}"
            )
        else:
            lines.append(f"  {r['model']:<13} {r['status']}")
    for q in paper.get("ratios", []):
        measured = "  ".join(f"{k} {'-' if q.get(k) is None else format(q[k], '.2f')}" for k in paper["precisions"])
        ratio = q.get("paper_ratio")
        lines.append(
            f"  {q['a'] + ' / ' + q['b']:<28} {measured}   paper {'-' if ratio is None else format(ratio, '.2f')}"
        )
    if paper.get("status") == "failed":
        lines.append(f"  failed: {paper.get('reason')}")
    return lines


def training_summary(trained: dict[str, Any]) -> list[str]:
    """The lines that report ``cifar10_gpu_history.json`` (the record of :func:`reference_training`): epochs,
    the validation-chosen epoch's test accuracy with its interval, the recipe as it ran (the epoch where the
    warmup reached the peak, whether the step was compiled), and each target met or missed by how much."""
    if trained.get("status") not in ("done", "interrupted"):
        return [f"training: {trained.get('status')}: {trained.get('reason')}"]
    h, t, g, c = trained["history"], trained.get("test") or {}, trained["targets"], trained["config"]
    early, final = g["early"], g["final"]
    ebest = early["best_test_acc_within"]
    peak_at = next((r["epoch"] for r in h if r["lr"] >= 0.999 * c["lr"]), None)  # where the warmup really ended
    compiled = {True: "on", False: "off", None: "default (on for CUDA)"}[trained.get("compiled", c.get("compile"))]
    if "compile_failed" in trained:
        compiled = f"failed ({trained['compile_failed']}), eager instead"
    return [
        f"training ({trained['data']}, {trained.get('device')}): {len(h)} epochs in "
        f"{h[-1]['elapsed_s'] if h else 0:.0f} s, best val acc {trained.get('best_val_acc') or 0:.4f}, "
        f"test acc {t.get('acc', float('nan')):.4f} (epoch {t.get('epoch')}, 95% interval "
        f"{'-'.join(format(v, '.3f') for v in t.get('ci95', []))})",
        f"  recipe: {c['model']}, peak lr {c['lr']:g}, batch {c['batch_size']}, warmup {c['warmup_epochs']:g} epochs "
        f"(the peak reached at epoch {peak_at}), {trained.get('precision')}, torch.compile {compiled}; "
        f"torch {trained.get('torch')}",
        f"  >= {early['target']:.0%} within {early['within_s']:.0f} s: {'met' if early['met'] else 'NOT met'} "
        f"(best {'-' if ebest is None else format(ebest, '.4f')}"
        + (f", missed by {early['missed_by'] * 100:.2f} points" if early["missed_by"] else "")
        + ")",
        f"  >= {final['target']:.0%} within the budget: {'met' if final['met'] else 'NOT met'}"
        + (f" (missed by {final['missed_by'] * 100:.2f} points)" if final["missed_by"] else "")
        + f"; aim {final['aim']:.1%}: {'met' if final['aim_met'] else 'not met'}",
    ]


def _summary(results: dict[str, dict[str, Any]], clock: Clock, out: Path) -> str:
    lines = [f"== reference run: {clock.elapsed():.0f} s of {clock.minutes * 60:.0f} s; files in {out} =="]
    for part, summary in (("speed", speed_summary), ("paper", paper_summary), ("train", training_summary)):
        if results.get(part) is not None:
            lines += summary(results[part])
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, started_s_ago: float = 0.0) -> int:
    """``python -m swinlab.reference_run --help``; returns 0 when every part ran, 1 when one failed.

    ``started_s_ago``: how long before this call the command's clock started (the command line passes the
    process's age, so that the interpreter's start and the imports count against ``--minutes``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    smoke = args.smoke
    minutes = args.minutes if args.minutes is not None else (2.0 if smoke else 8.5)
    clock = Clock(minutes, started_s_ago=started_s_ago)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"argument --out: {args.out} is a file; give a folder, e.g. assets/")
    if args.jpeg_npz is not None and not args.jpeg_npz.is_file():
        parser.error(f"argument --jpeg-npz: no file at {args.jpeg_npz}")
    if args.device is not None:
        try:
            device = torch.device(args.device)
        except RuntimeError:
            parser.error(f"argument --device: unknown device {args.device!r}: use cuda, cuda:N or cpu")
    elif smoke:
        device = torch.device("cpu")
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    else:
        parser.error("no CUDA GPU here: this run measures a GPU. Rehearse it with --smoke, or force --device cpu")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"argument --device: {args.device!r}, but no CUDA GPU is available here")
    compile = args.compile if args.compile is not None else (device.type == "cuda" and not smoke)
    reserve = args.reserve_seconds if args.reserve_seconds is not None else (20.0 if smoke else FINISH_RESERVE_S)
    speed_s = args.speed_seconds or (0.45 * minutes * 60 if smoke else SPEED_BUDGET_S)
    paper_s = args.paper_seconds or (0.15 * minutes * 60 if smoke else PAPER_BUDGET_S)
    command = "python -m swinlab.reference_run " + shlex.join(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # The data first: bad data should surface before minutes of measuring, and the decoding processes fork
    # before CUDA starts.
    data, data_error, decode_s = None, None, None
    if "train" in args.parts:
        t0 = time.perf_counter()
        try:
            data = _load_data(args, smoke)
            decode_s = time.perf_counter() - t0
            print(
                f"data: {getattr(data, 'source', None) or ('synthetic stand-in' if data.synthetic else 'CIFAR-10')}, "
                f"{len(data.train_labels):,} train / {len(data.test_labels):,} test images in {decode_s:.1f} s",
                flush=True,
            )
        except Exception as e:
            data_error = f"the data could not be loaded: {_error(e)}"
            print(data_error, flush=True)

    info = run_info(device, command)
    print(
        f"reference run on {info['device']} (torch {info['torch']}), {minutes:g} minutes in all, parts "
        f"{','.join(args.parts)}{' (smoke: tiny sizes)' if smoke else ''}",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    failed = False
    for part in args.parts:
        path = args.out / OUTPUT_FILES[part]
        print(f"-- {part} ({clock.elapsed():.0f} s in, {clock.left():.0f} s left)", flush=True)
        try:
            if part == "speed":
                res = {**info, **speed_against_peers(device, smoke=smoke, compile=compile, budget_s=speed_s)}
            elif part == "paper":
                res = {**info, **paper_throughput(device, smoke=smoke, budget_s=paper_s)}
            else:
                if data is None:
                    raise RuntimeError(data_error or "no data")
                res = reference_training(
                    data,
                    device,
                    clock,
                    path,
                    info,
                    smoke=smoke,
                    compile=args.compile,
                    seed=args.seed,
                    reserve_s=reserve,
                )
                res["decode_s"] = decode_s
            res.setdefault("status", "done")
            if res["status"] == "failed":
                failed = True
                print(f"{part} failed: {res.get('reason')}", flush=True)
        except Exception as e:
            failed = True
            res = {**info, "status": "failed", "reason": _error(e), "traceback": traceback.format_exc()[-5000:]}
            print(f"{part} failed: {res['reason']}", flush=True)
        res.update(_versions())  # the peers' versions are known once they were imported
        res["command_seconds_at_end_of_part"] = clock.elapsed()
        write_json_atomic(path, res)
        results[part] = res
    print(_summary(results, clock, args.out), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(started_s_ago=_seconds_since_process_start()))
