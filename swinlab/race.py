"""Lesson 09: accuracy at equal training time, Swin against ViT, with error bars.

"The same wall-clock budget" is easy to say and hard to measure on a shared machine: other work slows
one run and not the next, and a budget read off the clock then measures the machine as much as the model.
This race measures time once and then counts steps:

1. **Measure.** Every contender's training speed (images/s of a full step: forward, backward, AdamW) is
   measured in one benchmark, back to back and interleaved over several rounds; the fastest round counts
   (other processes can only slow a step down). :func:`training_throughput`.
2. **Convert.** The budget becomes a number of training steps per contender: ``budget x speed`` images.
   All contenders train on the same subset of the training images; the slowest makes exactly ``min_epochs``
   passes over it, the others as many passes as their speed buys in the same time (:func:`plan_budget`).
   The budget is given in seconds, or, better on a busy machine, as the subset's size: then it is the time
   the slowest contender needs for its passes. From here on nothing depends on the clock.
3. **Train.** ``swinlab.train.train`` with the same recipe for everyone (the warmup a fixed fraction of
   each run), several seeds; each run chooses its epoch on the validation split and is tested once, at the
   end, on the test set (all 10,000 images unless told otherwise).
4. **Compare.** Mean +- standard deviation of the test accuracy over seeds per contender, and for each
   pair the difference against its standard error: a difference under about two standard errors is noise.

Command line (writes one JSON file; ``--resume`` continues an interrupted race)::

    python -m swinlab.race --data data/cifar10 --train-subset 2560 --min-epochs 4 --val-size 1000 --threads 1 \
        --seeds 0 1 2 --out assets/lesson09_race_cpu.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._utils import write_json_atomic
from .train import TrainConfig, build_model, param_groups, soft_targets, train, train_step

__all__ = [
    "DEFAULT_ARMS",
    "DEFAULT_PAIRS",
    "training_throughput",
    "plan_budget",
    "summarize",
    "compare_arms",
    "run_race",
    "main",
]

#: The contenders: name -> (model name for ``swinlab.train.build_model``, its keyword arguments).
#: ``vit_micro`` reads the class from its [CLS] token, ``vit_micro_mean`` from the average of its tokens.
DEFAULT_ARMS: dict[str, tuple[str, dict[str, Any]]] = {
    "swin_micro": ("swin_micro", {}),
    "vit_micro": ("vit_micro", {}),
    "vit_micro_mean": ("vit_micro", {"pool": "mean"}),
}

#: The comparisons reported: (a, b) -> the difference a - b.
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (("swin_micro", "vit_micro"), ("vit_micro_mean", "vit_micro"))


def _build(arm: tuple[str, dict[str, Any]], seed: int, drop_path: float | None) -> torch.nn.Module:
    name, kwargs = arm
    extra = {} if drop_path is None else {"drop_path_rate": drop_path}
    return build_model(name, seed=seed, **{**extra, **kwargs})


def training_throughput(
    arms: Mapping[str, tuple[str, dict[str, Any]]],
    batch_size: int = 128,
    steps: int = 5,
    rounds: int = 3,
    warmup: int = 2,
    device: str | torch.device = "cpu",
    seed: int = 0,
    progress: bool = False,
) -> dict[str, dict[str, float]]:
    """Training images/s of each contender, measured back to back: ``{arm: {"images_per_s",
    "seconds_per_step", "rounds": [images/s of each round]}}``.

    A step is ``swinlab.train.train_step`` (forward, soft-target loss, backward, clipping, AdamW) on a random
    batch ``(batch_size, 3, 32, 32)``. After ``warmup`` untimed steps per model, ``rounds`` rounds time
    ``steps`` steps of every model in turn (interleaved, so a busy moment hits all of them); each model's
    fastest round counts, since other processes can only slow a step down.
    """
    if steps < 1 or rounds < 1 or batch_size < 1:
        raise ValueError(f"steps={steps}, rounds={rounds} and batch_size={batch_size} must all be at least 1")
    device = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, 3, 32, 32, generator=generator).to(device)
    x = x.contiguous(memory_format=torch.channels_last)
    targets = soft_targets(torch.randint(0, 10, (batch_size,), generator=generator).to(device), 10, 0.1)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    models, optimizers = {}, {}
    for name, arm in arms.items():
        model = _build(arm, seed, None).to(device).train()
        models[name] = model
        optimizers[name] = torch.optim.AdamW(param_groups(model, 0.05), lr=1e-4)
        for _ in range(warmup):
            train_step(model, optimizers[name], x, targets)
    per_round: dict[str, list[float]] = {name: [] for name in arms}
    for r in range(rounds):
        for name, model in models.items():
            sync()
            start = time.perf_counter()
            for _ in range(steps):
                train_step(model, optimizers[name], x, targets)
            sync()
            per_round[name].append(steps * batch_size / (time.perf_counter() - start))
            if progress:
                print(f"  round {r + 1}/{rounds} {name:16s} {per_round[name][-1]:8.1f} images/s", flush=True)
    return {
        name: {
            "images_per_s": max(speeds),
            "seconds_per_step": batch_size / max(speeds),
            "rounds": speeds,
        }
        for name, speeds in per_round.items()
    }


def plan_budget(
    images_per_s: Mapping[str, float],
    n_available: int,
    batch_size: int,
    budget_s: float | None = None,
    train_subset: int | None = None,
    min_epochs: int = 5,
) -> dict[str, Any]:
    """Turn a time budget into a number of epochs per contender, from the measured speeds.

    Give either ``budget_s`` or ``train_subset``. The slowest contender makes ``min_epochs`` passes over a
    training subset: with ``budget_s``, the subset holds ``budget_s x speed / min_epochs`` images (a whole
    number of batches, at most ``n_available``; when capped, it makes more passes); with ``train_subset``, the
    budget is the time the slowest contender needs for ``min_epochs`` passes over that many images (a budget
    that does not depend on how busy the machine was while it was measured). Every contender trains on the
    same subset for ``round(budget_s x speed / subset)`` epochs (at least 1).

    Returns ``{"budget_s", "train_subset", "steps_per_epoch", "epochs": {arm: E}, "steps": {arm: S},
    "equivalent_s": {arm: the seconds those steps take at the measured speed}}``: the rounding to whole epochs
    is the only difference between the contenders' budgets, and it is recorded.
    """
    if (budget_s is None) == (train_subset is None):
        raise ValueError("give exactly one of budget_s (seconds) and train_subset (images)")
    if min_epochs < 1 or batch_size < 1:
        raise ValueError(f"min_epochs={min_epochs} and batch_size={batch_size} must be at least 1")
    if n_available < batch_size:
        raise ValueError(f"{n_available} training images cannot fill one batch of {batch_size}: lower the batch size")
    if not images_per_s or min(images_per_s.values()) <= 0:
        raise ValueError(f"need a positive speed for every contender, got {dict(images_per_s)}")
    slowest = min(images_per_s.values())
    cap = n_available // batch_size * batch_size
    if budget_s is not None:
        if budget_s <= 0:
            raise ValueError(f"budget_s={budget_s} must be positive")
        per_pass = int(slowest * budget_s / min_epochs) // batch_size * batch_size
        subset = max(batch_size, min(per_pass, cap))
    else:
        if not batch_size <= train_subset <= n_available:
            raise ValueError(
                f"train_subset={train_subset} must lie between the batch size {batch_size} and the {n_available} "
                "training images left after the validation split"
            )
        subset = train_subset // batch_size * batch_size
        budget_s = min_epochs * subset / slowest
    steps_per_epoch = subset // batch_size
    epochs = {name: max(1, round(speed * budget_s / subset)) for name, speed in images_per_s.items()}
    return {
        "budget_s": budget_s,
        "train_subset": subset,
        "steps_per_epoch": steps_per_epoch,
        "epochs": epochs,
        "steps": {name: e * steps_per_epoch for name, e in epochs.items()},
        "equivalent_s": {name: e * steps_per_epoch * batch_size / images_per_s[name] for name, e in epochs.items()},
    }


def summarize(accs: Sequence[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (``ddof=1``; 0 for one value), standard error and the values."""
    a = np.asarray(accs, dtype=float)
    if a.size == 0:
        raise ValueError("no accuracies to summarize")
    std = float(a.std(ddof=1)) if a.size > 1 else 0.0
    return {"n": int(a.size), "mean": float(a.mean()), "std": std, "sem": std / math.sqrt(a.size), "values": a.tolist()}


def compare_arms(a: Sequence[float], b: Sequence[float], threshold: float = 2.0) -> dict[str, Any]:
    """The difference of mean accuracies ``a - b`` against its standard error
    ``sqrt(std_a^2/n_a + std_b^2/n_b)``: ``{"diff", "se", "z", "beyond_noise"}``; ``beyond_noise`` when
    ``|diff| > threshold x se`` (with one run per side there is no standard error: ``se`` is None and the
    difference is never called beyond the noise)."""
    sa, sb = summarize(a), summarize(b)
    diff = sa["mean"] - sb["mean"]
    if sa["n"] < 2 or sb["n"] < 2:
        return {"diff": diff, "se": None, "z": None, "beyond_noise": False}
    se = math.sqrt(sa["std"] ** 2 / sa["n"] + sb["std"] ** 2 / sb["n"])
    z = diff / se if se > 0 else (math.inf if diff else 0.0)
    return {"diff": diff, "se": se, "z": z, "beyond_noise": bool(abs(diff) > threshold * se)}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def _results(race: dict[str, Any], pairs: Sequence[tuple[str, str]]) -> None:
    """Fill ``race["summary"]`` and ``race["comparisons"]`` from its finished runs."""
    by_arm: dict[str, list[float]] = {}
    for run in race["runs"]:
        by_arm.setdefault(run["arm"], []).append(run["test"]["acc"])
    race["summary"] = {arm: summarize(accs) for arm, accs in by_arm.items()}
    race["comparisons"] = [
        {"a": a, "b": b, **compare_arms(by_arm[a], by_arm[b])} for a, b in pairs if a in by_arm and b in by_arm
    ]


def run_race(
    data: Any,
    arms: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    budget_s: float | None = None,
    train_subset: int | None = 4_000,
    min_epochs: int = 5,
    batch_size: int = 128,
    val_size: int = 2_000,
    test_subset: int | None = None,
    warmup_fraction: float = 0.1,
    device: str | torch.device = "cpu",
    bench_steps: int = 3,
    bench_rounds: int = 5,
    pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """The equal-time race (see the module's docstring); returns the record that ``out`` receives as JSON.

    ``data``: ``swinlab.data.CIFAR10Arrays``. ``val_size`` images are held out of the training images for
    every choice (fixed by each seed); the rest is the pool the training subset is drawn from. The recipe is
    ``TrainConfig.preset("cpu_quick")`` (crop and flip, label smoothing, AdamW, warmup + cosine) with the
    epochs of :func:`plan_budget` and a warmup of ``warmup_fraction`` of each run. The contenders of the first
    pair run first, seed by seed, then the others, so an interrupted race stays balanced; the JSON is
    rewritten after every run. ``resume=True`` keeps the benchmark, the plan and the finished runs of ``out``.

    The record: ``device``, ``torch``, ``data`` (source and sizes), ``budget_s``, ``batch_size``,
    ``throughput`` (:func:`training_throughput`), ``plan`` (:func:`plan_budget`), ``config`` (the recipe
    shared by all runs), ``runs`` (per run: arm, seed, epochs, chosen epoch, validation accuracy, ``test``
    with its 95% interval, history, wall seconds), ``summary`` (per arm: mean, std, sem of the test
    accuracy) and ``comparisons`` (per pair: difference, standard error, z, beyond_noise).
    """
    arms = dict(DEFAULT_ARMS if arms is None else arms)
    if budget_s is not None:
        train_subset = None  # the budget in seconds sizes the subset
    device = torch.device(device)
    out_path = Path(out) if out is not None else None
    n_train = len(data.train_labels)
    if not 0 < val_size < n_train:
        raise ValueError(f"val_size={val_size} must be positive and leave training images: there are {n_train}")
    n_available = n_train - val_size
    data_info = {
        "source": "synthetic stand-in" if getattr(data, "synthetic", False) else "CIFAR-10",
        "train_images": n_train,
        "val_size": val_size,
        "test_images": len(data.test_labels) if test_subset is None else min(test_subset, len(data.test_labels)),
    }
    race: dict[str, Any] | None = None
    if resume and out_path is not None and out_path.exists():
        race = json.loads(out_path.read_text())
        if sorted(race["arms"]) != sorted(arms) or race["data"] != data_info or race["batch_size"] != batch_size:
            raise ValueError(
                f"{out_path} holds another race (arms {sorted(race['arms'])}, batch {race['batch_size']}, "
                f"data {race['data']}): pass the same settings, or another --out"
            )
    if race is None:
        if progress:
            print(f"measuring training speed ({bench_rounds} rounds x {bench_steps} steps of batch {batch_size}) ...")
        speed = training_throughput(arms, batch_size, bench_steps, bench_rounds, device=device, progress=progress)
        plan = plan_budget(
            {k: v["images_per_s"] for k, v in speed.items()},
            n_available,
            batch_size,
            budget_s=budget_s,
            train_subset=train_subset,
            min_epochs=min_epochs,
        )
        base = TrainConfig.preset(
            "cpu_quick",
            max_minutes=None,
            batch_size=batch_size,
            val_size=val_size,
            train_subset=plan["train_subset"],
            test_subset=test_subset,
            track_test=False,
        )
        race = {
            "what": "accuracy at equal training time: the budget is converted into steps from speeds measured once",
            "device": _device_name(device),
            "torch": torch.__version__,
            "data": data_info,
            "arms": {k: {"model": v[0], "kwargs": v[1]} for k, v in arms.items()},
            "seeds": list(seeds),
            "budget_s": plan["budget_s"],
            "budget_from": "seconds" if budget_s is not None else "train_subset",
            "batch_size": batch_size,
            "min_epochs": min_epochs,
            "warmup_fraction": warmup_fraction,
            "throughput": speed,
            "plan": plan,
            "config": base.to_dict(),
            "runs": [],
        }
        if progress:
            e = plan["epochs"]
            print(
                f"budget {plan['budget_s']:.0f} s -> training subset {plan['train_subset']:,} images; epochs "
                + ", ".join(f"{k} {e[k]} ({plan['equivalent_s'][k]:.0f} s)" for k in arms)
            )
    else:
        race["seeds"] = sorted(set(race["seeds"]) | set(seeds))
    plan, done = race["plan"], {(r["arm"], r["seed"]) for r in race["runs"]}
    # the first comparison's contenders first, seed by seed, then the others: a race cut short stays balanced
    first = [a for a in (pairs[0] if pairs else ()) if a in arms]
    order = [(seed, a) for seed in seeds for a in first] + [(seed, a) for seed in seeds for a in arms if a not in first]
    for seed, name in order:
        arm = arms[name]
        if (name, seed) in done:
            continue
        epochs = plan["epochs"][name]
        cfg = TrainConfig.from_dict(
            {
                **race["config"],
                "epochs": epochs,
                "warmup_epochs": warmup_fraction * epochs,
                "seed": seed,
                "model": arm[0],
            }
        )
        model = _build(arm, seed, cfg.drop_path)
        start = time.perf_counter()
        result = train(model, data, cfg, device=device, progress=False, model_name=arm[0], model_kwargs=arm[1])
        wall = time.perf_counter() - start
        if result.test is None:
            raise RuntimeError(f"the run {name}, seed {seed} was interrupted: no test accuracy to record")
        race["runs"].append(
            {
                "arm": name,
                "seed": seed,
                "epochs": epochs,
                "steps": epochs * plan["steps_per_epoch"],
                "best_epoch": result.best_epoch,
                "best_val_acc": result.best_val_acc,
                "test": result.test,
                "wall_s": wall,
                "history": result.history,
            }
        )
        _results(race, pairs)
        if out_path is not None:
            write_json_atomic(out_path, race)
        if progress:
            lo, hi = result.test["ci95"]
            print(
                f"seed {seed} {name:16s} {epochs:3d} epochs, chose epoch {result.best_epoch} on validation "
                f"({100 * result.best_val_acc:.1f}%) | test {100 * result.test['acc']:.2f}% on "
                f"{result.test['n']:,} images [{100 * lo:.1f}, {100 * hi:.1f}] | {wall:.0f} s wall",
                flush=True,
            )
    _results(race, pairs)
    if out_path is not None:
        write_json_atomic(out_path, race)
    return race


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m swinlab.race",
        description="Swin against ViT at equal training time: speeds measured once, the budget converted to "
        "steps, several seeds, the test set evaluated once per run; writes JSON.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="the CIFAR-10 folder (cifar-10-batches-py or its parent); never downloads")
    src.add_argument(
        "--synthetic",
        type=int,
        nargs=2,
        metavar=("N_TRAIN", "N_TEST"),
        help="the synthetic stand-in with this many images (for tests; its numbers say nothing about CIFAR-10)",
    )
    p.add_argument("--out", required=True, help="the JSON file to write (e.g. assets/lesson09_race_cpu.json)")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--train-subset",
        type=int,
        default=4_000,
        help="training images; the budget is the time the slowest model needs for --min-epochs passes over them "
        "at its measured speed (default 4000)",
    )
    size.add_argument("--budget-s", type=float, default=None, help="or: training seconds per run at the measured speed")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default 0 1 2)")
    p.add_argument("--min-epochs", type=int, default=5, help="passes the slowest model makes (default 5)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--val-size", type=int, default=2_000, help="validation images held out (default 2000)")
    p.add_argument("--test-subset", type=int, default=None, help="test on the first N test images (default: all)")
    p.add_argument("--arms", nargs="+", default=list(DEFAULT_ARMS), choices=list(DEFAULT_ARMS))
    p.add_argument("--bench-steps", type=int, default=3, help="timed steps per round (default 3)")
    p.add_argument("--bench-rounds", type=int, default=5, help="interleaved rounds; the fastest counts (default 5)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for PyTorch (default: PyTorch's choice). On a machine shared with other work, 1 thread "
        "keeps a model of many small operations from waiting on a descheduled second thread",
    )
    p.add_argument("--resume", action="store_true", help="keep the benchmark and finished runs of --out")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.budget_s is not None:
        args.train_subset = None
    for flag, value in (
        ("--budget-s", args.budget_s if args.budget_s is not None else 1),
        ("--train-subset", args.train_subset if args.train_subset is not None else 1),
        ("--min-epochs", args.min_epochs),
        ("--batch-size", args.batch_size),
        ("--val-size", args.val_size),
        ("--bench-steps", args.bench_steps),
        ("--bench-rounds", args.bench_rounds),
    ):
        if value <= 0:
            parser.error(f"{flag} must be positive, got {value}")
    if any(s < 0 for s in args.seeds):
        parser.error(f"--seeds must be >= 0, got {args.seeds}")
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    if out.is_dir():
        parser.error(f"--out {args.out} is a folder: name a .json file")
    if out.exists() and not args.resume:
        parser.error(f"--out {args.out} already exists: pass --resume to continue it, or another --out")
    if args.synthetic:
        from .data import synthetic_cifar10

        data = synthetic_cifar10(*args.synthetic)
    else:
        from .data import DownloadError, load_cifar10

        try:
            data = load_cifar10(args.data, download=False)
        except DownloadError as err:
            parser.error(f"--data {args.data}: {err}")
    arms = {k: DEFAULT_ARMS[k] for k in args.arms}
    pairs = [p for p in DEFAULT_PAIRS if p[0] in arms and p[1] in arms]
    try:
        race = run_race(
            data,
            arms,
            args.seeds,
            args.budget_s,
            args.train_subset,
            args.min_epochs,
            args.batch_size,
            args.val_size,
            args.test_subset,
            device=args.device,
            bench_steps=args.bench_steps,
            bench_rounds=args.bench_rounds,
            pairs=pairs,
            out=out,
            resume=args.resume,
        )
    except ValueError as err:
        parser.error(str(err))
    for arm, s in race["summary"].items():
        print(f"{arm:16s} test accuracy {100 * s['mean']:.2f} +- {100 * s['std']:.2f} % over {s['n']} seeds")
    for c in race["comparisons"]:
        verdict = "beyond the noise" if c["beyond_noise"] else "within the noise"
        se = f"{100 * c['se']:.2f}" if c["se"] is not None else "n/a"
        print(f"{c['a']} - {c['b']}: {100 * c['diff']:+.2f} points (standard error {se}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
