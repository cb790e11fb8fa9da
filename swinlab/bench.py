"""Lesson 08: how fast does a model train and infer, and how close is that to the hardware's peak?

``python -m swinlab.bench --model swin_cifar --out bench.json`` measures, on synthetic inputs:

- training images/s (forward + backward + AdamW step, bf16 autocast on CUDA) and inference images/s;
- achieved TFLOP/s from the model's analytic cost: ``2 * MACs`` per image forward (``model.macs()``,
  the formulas of lesson 03), ``3x`` that for a training step (the backward pass costs about twice
  the forward);
- MFU (model FLOPs utilisation): achieved / the device's peak dense bf16 TFLOP/s, where the device is
  in :data:`PEAK_BF16_TFLOPS` (None elsewhere, e.g. on a CPU);
- peak memory (``torch.cuda.max_memory_allocated``; None on a CPU).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PEAK_BF16_TFLOPS", "peak_tflops", "model_macs", "benchmark", "format_table", "main"]

#: Peak dense (no sparsity) bf16 tensor-core TFLOP/s from the vendors' datasheets, by device-name pattern.
PEAK_BF16_TFLOPS = {
    "H100 SXM": 989.4,
    "H100 PCIe": 756.5,
    "H200": 989.4,
    "A100": 312.0,
}


def peak_tflops(device_name: str) -> float | None:
    """Peak dense bf16 TFLOP/s of a device by its name (``torch.cuda.get_device_name()``), or None if unknown.

    ``"NVIDIA H100 80GB HBM3"`` is the SXM card, ``"NVIDIA H100 PCIe"`` the PCIe one; any A100 gives 312.
    """
    name = device_name.upper()
    if "H200" in name:
        return PEAK_BF16_TFLOPS["H200"]
    if "H100" in name:
        if "PCIE" in name:
            return PEAK_BF16_TFLOPS["H100 PCIe"]
        if "NVL" in name:
            return None  # a different card (and clock); not in the table
        return PEAK_BF16_TFLOPS["H100 SXM"]
    if "A100" in name:
        return PEAK_BF16_TFLOPS["A100"]
    return None


def model_macs(model: nn.Module, img_size: int = 32) -> int:
    """Multiply-accumulates of one forward pass for one image: ``model.macs(img_size)["total"]`` when the
    model has the analytic count (Swin, ViT), else PyTorch's FLOP counter on one image / 2."""
    if hasattr(model, "macs"):
        macs = model.macs(img_size)
        return int(macs["total"] if isinstance(macs, dict) else macs)
    from .complexity import count_flops

    was_training = model.training
    model.eval()
    param = next(model.parameters())
    flops = count_flops(model, torch.zeros(1, 3, img_size, img_size, device=param.device))
    model.train(was_training)
    return flops // 2


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, steps: int, warmup: int, device: torch.device) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / steps


def benchmark(
    model: nn.Module,
    batch_size: int = 256,
    steps: int = 20,
    warmup: int = 5,
    device: str | torch.device | None = None,
    amp: bool | None = None,
    compile: bool | None = None,
    img_size: int = 32,
    num_classes: int = 10,
    infer_batch_size: int | None = None,
) -> dict[str, Any]:
    """Measure one model: images ``(B, 3, img_size, img_size)`` of random values, random labels.

    -> dict with device, batch sizes, params, macs_per_image, train_images_per_s, infer_images_per_s,
    train_tflops, infer_tflops, peak_tflops, train_mfu, infer_mfu (None without a known peak),
    train_peak_memory_gb, infer_peak_memory_gb (None on a CPU), amp, compile.
    The model's weights change (it takes real AdamW steps); benchmark a copy if that matters.
    """
    device = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
    amp = device.type == "cuda" if amp is None else amp
    compile = device.type == "cuda" if compile is None else compile
    infer_batch_size = infer_batch_size or batch_size
    if min(batch_size, infer_batch_size, steps) < 1 or warmup < 0:
        raise ValueError(
            f"batch sizes and steps must be >= 1 and warmup >= 0, got batch_size={batch_size}, "
            f"infer_batch_size={infer_batch_size}, steps={steps}, warmup={warmup}"
        )
    model = model.to(device)
    macs = model_macs(model, img_size)
    run = torch.compile(model) if compile else model
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(batch_size, 3, img_size, img_size, device=device, generator=gen)
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, num_classes, (batch_size,), device=device, generator=gen)
    xi = torch.randn(infer_batch_size, 3, img_size, img_size, device=device, generator=gen)
    xi = xi.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(run(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            run(xi)

    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    model.train()
    t_train = _time(train_step, steps, warmup, device)
    train_mem = torch.cuda.max_memory_allocated(device) / 1e9 if cuda else None
    opt.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    model.eval()
    t_infer = _time(infer_step, steps, warmup, device)
    infer_mem = torch.cuda.max_memory_allocated(device) / 1e9 if cuda else None
    name = torch.cuda.get_device_name(device) if cuda else f"cpu ({torch.get_num_threads()} threads)"
    peak = peak_tflops(name) if cuda else None
    train_ips, infer_ips = batch_size / t_train, infer_batch_size / t_infer
    train_tflops = train_ips * 3 * 2 * macs / 1e12
    infer_tflops = infer_ips * 2 * macs / 1e12
    return {
        "device": name,
        "batch_size": batch_size,
        "infer_batch_size": infer_batch_size,
        "img_size": img_size,
        "params": sum(p.numel() for p in model.parameters()),
        "macs_per_image": macs,
        "amp": amp,
        "compile": compile,
        "train_images_per_s": train_ips,
        "infer_images_per_s": infer_ips,
        "train_tflops": train_tflops,
        "infer_tflops": infer_tflops,
        "peak_tflops": peak,
        "train_mfu": train_tflops / peak if peak else None,
        "infer_mfu": infer_tflops / peak if peak else None,
        "train_peak_memory_gb": train_mem,
        "infer_peak_memory_gb": infer_mem,
    }


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """The results of :func:`benchmark` (one per model) as a plain-text table."""

    def fmt(v: Any, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    head = (
        f"{'model':<12} {'batch':>6} {'params':>8} {'GMACs/img':>9} {'train img/s':>12} {'infer img/s':>12} "
        f"{'train TFLOP/s':>13} {'MFU':>6} {'infer TFLOP/s':>13} {'MFU':>6} {'mem GB':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.get('model', '?'):<12} {r['batch_size']:>6} {r['params'] / 1e6:>7.2f}M "
            f"{r['macs_per_image'] / 1e9:>9.3f} "
            f"{r['train_images_per_s']:>12,.0f} {r['infer_images_per_s']:>12,.0f} {fmt(r['train_tflops'], '.3g'):>13} "
            f"{fmt(r['train_mfu'], '.1%'):>6} {fmt(r['infer_tflops'], '.3g'):>13} {fmt(r['infer_mfu'], '.1%'):>6} "
            f"{fmt(r['train_peak_memory_gb'], '.2f'):>7}"
        )
    return "\n".join(lines)


def _positive_int(text: str) -> int:
    """argparse type: an int >= 1 (argparse names the flag in front of the message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    """argparse type: an int >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0: no warmup), got {value}")
    return value


_KWARGS_EXAMPLE = '\'{"embed_dim": 16, "depths": [1, 1], "num_heads": [1, 2]}\''


def _json_object(text: str) -> dict[str, Any]:
    """argparse type: a JSON object (the builder's keyword arguments)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not valid JSON ({e.msg} at character {e.pos}): write an object with double-quoted "
            f"keys, e.g. {_KWARGS_EXAMPLE}"
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"must be a JSON object of keyword arguments, got a JSON {type(value).__name__} ({text!r}): "
            f"e.g. {_KWARGS_EXAMPLE}"
        )
    return value


def _device(text: str) -> torch.device:
    """argparse type: a device torch knows and this machine has."""
    try:
        device = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"unknown device {text!r}: use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: no CUDA GPU is available here; use cpu, or leave --device out")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"{text!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m swinlab.bench --help``: measure models, print a table, optionally write JSON."""
    from .train import MODELS, build_model

    p = argparse.ArgumentParser(
        prog="python -m swinlab.bench",
        description="Training and inference throughput, TFLOP/s, MFU and memory of models.",
    )
    p.add_argument("--model", nargs="+", default=["swin_cifar"], choices=sorted(MODELS))
    p.add_argument("--batch-size", type=_positive_int, default=512)
    p.add_argument("--infer-batch-size", type=_positive_int, default=None, help="default: --batch-size")
    p.add_argument("--img-size", type=_positive_int, default=32)
    p.add_argument("--steps", type=_positive_int, default=20)
    p.add_argument("--warmup", type=_non_negative_int, default=5)
    p.add_argument("--device", type=_device, default=None, help="default: cuda if available, else cpu")
    p.add_argument("--compile", dest="compile", action="store_true", default=None)
    p.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument("--no-amp", dest="amp", action="store_false", default=None)
    p.add_argument(
        "--model-kwargs",
        type=_json_object,
        default={},
        help="JSON object passed to the model builder, e.g. '{\"embed_dim\": 16}'",
    )
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON to this file")
    args = p.parse_args(argv)

    out: Path | None = args.out
    if out is not None:
        # Checked before measuring, so a long run does not end in an error (and no .tmp is ever written).
        if out.is_dir():
            p.error(f"argument --out: {out} is a folder; give a file name, e.g. --out {out / 'bench.json'}")
        parent = next((q for q in (out.parent, *out.parent.parents) if q.exists()), None)
        if parent is not None and not parent.is_dir():
            p.error(f"argument --out: {parent} is a file, so {out} cannot be created inside it")

    def model_kwargs() -> dict[str, Any]:
        kw = dict(args.model_kwargs)
        if args.img_size != 32:
            kw.setdefault("img_size", args.img_size)
        return kw

    # Build every model once first (and drop it), leaving the random state as it was: a configuration error
    # names its flags before any measurement runs.
    for name in args.model:
        try:
            with torch.random.fork_rng(devices=[]):
                build_model(name, **model_kwargs())
        except (TypeError, ValueError, RuntimeError) as e:  # what a builder raises on bad arguments
            flags = [f"--img-size {args.img_size}"] if args.img_size != 32 else []
            flags += [f"--model-kwargs '{json.dumps(args.model_kwargs)}'"] if args.model_kwargs else []
            given = f" with {' and '.join(flags)}" if flags else ""
            p.error(f"cannot build {name}{given}: {e}")

    results = []
    for name in args.model:
        torch.manual_seed(0)
        r = benchmark(
            build_model(name, **model_kwargs()),
            args.batch_size,
            args.steps,
            args.warmup,
            args.device,
            args.amp,
            args.compile,
            args.img_size,
            infer_batch_size=args.infer_batch_size,
        )
        results.append({"model": name, **r})
    print(format_table(results))
    print(f"device: {results[0]['device']}; peak bf16 TFLOP/s: {results[0]['peak_tflops'] or 'unknown (no MFU)'}")
    if out is not None:
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"torch": torch.__version__, "results": results}, indent=1) + "\n")
            os.replace(tmp, out)
        except OSError as e:
            p.exit(
                1,
                f"{p.prog}: error: argument --out: could not write {out} ({e.strerror or e}); the table above "
                f"holds the results\n",
            )
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
