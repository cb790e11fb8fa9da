"""Lesson 10: what each idea buys. The paper's ablations (its Table 4) and the "weak on small data" claim,
rerun on CIFAR-10 with error bars.

Four experiments, each changing one thing and holding everything else fixed:

1. ``shift``: shifted windows on (the paper's model) against off (every block W-MSA).
2. ``position``: relative position bias (the paper's model) against the official code's absolute
   position embedding against no position information at all.
3. ``window``: the window M in {2, 4, 8} on the 32-pixel model (patch 2: token maps 16, 8, 4; a map no
   larger than M is one window, so at M=8 stage 1 has 2x2 windows and stages 2 and 3 attend globally).
4. ``data_size``: training sets of several sizes, Swin against the ViT of about its size from lesson 09.

Every variant of an experiment gets the same budget of optimizer steps, never a wall-clock budget: in
experiments 1-3 the same number of epochs of the same training set; in experiment 4 the same number of
images seen (a smaller set gets more epochs). The warmup is a fifth of every run. Every run of a seed holds
out the same validation split (fixed by the seed) and chooses its epoch on it; the test set is evaluated
once, at the end. The default configuration (shift on, relative bias, the model's window) is one run shared
by experiments 1-3. :func:`cpu_settings` is the committed CPU grid, :func:`gpu_settings` the GPU one.

Every run writes ``<out>/<run>_seed<k>.json`` (its config, history and test result, no weights), and
after every run the summary (mean, std and standard error over the seeds per variant) is rewritten. A
grid that was stopped resumes: runs whose JSON exists are skipped, after checking that it holds the same
recipe.

Command line: ``python -m swinlab.ablate --help``; ``--list`` prints the grid without running it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ._utils import write_json_atomic
from .train import TrainConfig, build_model, train

__all__ = [
    "EXPERIMENTS",
    "PAIRED_VIT",
    "Variant",
    "RunSpec",
    "GridSettings",
    "cpu_settings",
    "gpu_settings",
    "quick_settings",
    "experiment_variants",
    "plan",
    "run_one",
    "run_grid",
    "summarize",
    "load_runs",
    "difference",
    "is_noise",
    "seeds_needed",
    "main",
]

#: The experiments, in the lesson's order.
EXPERIMENTS = ("shift", "position", "window", "data_size")

#: The ViT of about each Swin's size (lesson 09's pairs), for the training-set-size experiment.
PAIRED_VIT = {"swin_micro": "vit_micro", "swin_cifar": "vit_cifar"}

#: The paper's ImageNet-1K top-1 accuracies for Swin-T (Liu et al. 2021, Table 4), beside our variants.
PAPER_TABLE4 = {
    "shift": {"shift_on": 81.3, "shift_off": 80.2},
    "position": {"relative": 81.3, "absolute": 80.5, "none": 80.1},
}


@dataclass(frozen=True)
class RunSpec:
    """One training run of the grid, without its seed: a model, its options and its training budget."""

    model: str  # a name of swinlab.train.MODELS
    kwargs: tuple[tuple[str, Any], ...]  # model options that differ from the model's defaults, sorted
    train_size: int  # training images (after the validation split)
    epochs: int
    warmup_epochs: float
    test_subset: int | None = None  # the final test on the first n test images (None: all of them)
    val_size: int | None = None  # validation images (None: the recipe's)

    @property
    def name(self) -> str:
        """The file name stem: ``swin_micro-shift=False-n5000-e4`` (the default model has no options;
        ``-v500`` with 500 validation images instead of the recipe's; ``-t1000`` when tested on the first
        1,000 test images only)."""
        opts = "".join(f"-{k}={v}" for k, v in self.kwargs)
        val = "" if self.val_size is None else f"-v{self.val_size}"
        test = "" if self.test_subset is None else f"-t{self.test_subset}"
        return f"{self.model}{opts}-n{self.train_size}-e{self.epochs}{val}{test}"


@dataclass(frozen=True)
class Variant:
    """One bar of one experiment: a label and the run behind it."""

    experiment: str
    label: str
    run: RunSpec


@dataclass
class GridSettings:
    """What every run of a grid shares: the model and the recipe (a :class:`TrainConfig` without its seed).

    Experiments 1-3 train ``train_size`` images for ``epochs`` epochs. Experiment 4 trains each of ``sizes``
    for ``size_budget // size`` epochs: the same number of images seen (= optimizer steps) for every size,
    chooses on ``size_val_size`` validation images (None: the recipe's) and is tested on the first
    ``size_test_subset`` test images (None: all). The warmup is a fifth of every run.
    """

    model: str = "swin_micro"
    recipe: TrainConfig = field(default_factory=lambda: TrainConfig.preset("cpu_quick", max_minutes=None))
    train_size: int = 5_000
    epochs: int = 4
    windows: tuple[int, ...] = (2, 4, 8)
    sizes: tuple[int, ...] = (256, 512, 1_024, 2_048)
    size_budget: int = 2_048
    size_test_subset: int | None = None
    size_val_size: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        self.sizes, self.windows = tuple(self.sizes), tuple(self.windows)
        uneven = [n for n in self.sizes if self.size_budget % n or self.size_budget < n]
        if uneven:
            raise ValueError(
                f"the data-size budget of {self.size_budget:,} images seen must be a whole number of epochs of "
                f"every size; {uneven} do not divide it: pick sizes that divide {self.size_budget:,}"
            )
        b = self.recipe.batch_size
        partial = [n for n in self.sizes if n % b]
        if partial:  # an epoch drops its last partial batch, so only multiples of the batch give equal steps
            raise ValueError(
                f"sizes {partial} are not multiples of the batch size {b}: an epoch drops its last partial batch, "
                f"so the runs would not take the same number of steps; use multiples of {b}"
            )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["recipe"] = self.recipe.to_dict()
        d["sizes"], d["windows"] = list(self.sizes), list(self.windows)
        return d


def cpu_settings(**overrides: Any) -> GridSettings:
    """The configuration of the committed results: ``swin_micro`` (and ``vit_micro``) on a shared 2-core CPU.

    The lesson-08 quick recipe (AdamW, lr 2e-3, batch 128, weight decay 0.05, label smoothing 0.1, crop and
    flip, no mixing) without a time limit. Experiments 1-3: 5,000 training images for 4 epochs (156 steps of
    128), 1,000 validation images, the full test set. Experiment 4: 256, 512, 1,024 and 2,048 images, 2,048
    images seen by every run (16 steps: a ViT step costs about ten Swin steps here, and this machine's two
    cores are shared), 500 validation images, the first 1,000 test images.
    """
    recipe = TrainConfig.preset("cpu_quick", max_minutes=None, val_size=1_000, test_subset=None, train_subset=None)
    settings = dict(
        model="swin_micro",
        recipe=recipe,
        train_size=5_000,
        epochs=4,
        sizes=(256, 512, 1_024, 2_048),
        size_budget=2_048,
        size_test_subset=1_000,
        size_val_size=500,
        description="swin_micro / vit_micro on a CPU: 4 epochs of 5,000 images (experiments 1-3); "
        "2,048 images seen per run (experiment 4)",
    )
    return GridSettings(**{**settings, **overrides})


def gpu_settings(**overrides: Any) -> GridSettings:
    """The GPU configuration: ``swin_cifar`` (and ``vit_cifar``) with the lesson-08 GPU recipe, 5,000
    validation images, all 45,000 training images left for 100 epochs (experiments 1-3), and 5,120 / 10,240 /
    20,480 / 40,960 images with 409,600 images seen per run (80 steps of 512 per 40,960 images; experiment 4),
    the full test set (UNMEASURED here)."""
    recipe = TrainConfig.preset("gpu", max_minutes=None, val_size=5_000, test_subset=None, train_subset=None)
    settings = dict(
        model="swin_cifar",
        recipe=recipe,
        train_size=45_000,
        epochs=100,
        sizes=(5_120, 10_240, 20_480, 40_960),
        size_budget=409_600,
        size_test_subset=None,
        description="swin_cifar / vit_cifar on a GPU: 100 epochs of 45,000 images (experiments 1-3); "
        "409,600 images seen per run (experiment 4)",
    )
    return GridSettings(**{**settings, **overrides})


def quick_settings(**overrides: Any) -> GridSettings:
    """A grid small enough for seconds on a CPU, for tests and the lesson's quick mode (synthetic data)."""
    recipe = TrainConfig.preset(
        "cpu_quick",
        max_minutes=None,
        batch_size=32,
        val_size=64,
        test_subset=None,
        train_subset=None,
        eval_batch_size=256,
        log_every=1,
    )
    settings = dict(
        model="swin_micro",
        recipe=recipe,
        train_size=128,
        epochs=2,
        windows=(2, 4),
        sizes=(64, 128),
        size_budget=128,
        size_test_subset=None,
        description="a tiny grid on the synthetic stand-in (proves the code path only)",
    )
    return GridSettings(**{**settings, **overrides})


def _default_window(model: str) -> int | None:
    with torch.device("meta"):
        m = build_model(model)
    return getattr(m, "config", {}).get("window_size")


def experiment_variants(experiment: str, settings: GridSettings) -> list[Variant]:
    """The variants of one experiment, the default (reference) variant first."""
    s = settings

    def spec(
        model: str = s.model, train_size: int = s.train_size, epochs: int = s.epochs, test=None, val=None, **kwargs
    ) -> RunSpec:
        return RunSpec(model, tuple(sorted(kwargs.items())), train_size, epochs, epochs / 5, test, val)

    if experiment == "shift":
        return [Variant("shift", "shift_on", spec()), Variant("shift", "shift_off", spec(shift=False))]
    if experiment == "position":
        return [
            Variant("position", "relative", spec()),
            Variant("position", "absolute", spec(position="absolute")),
            Variant("position", "none", spec(position="none")),
        ]
    if experiment == "window":
        default = _default_window(s.model)
        variants = [
            Variant("window", f"M={m}", spec() if m == default else spec(window_size=m))
            for m in sorted(s.windows, key=lambda m: (m != default, m))
        ]
        return variants
    if experiment == "data_size":
        if s.model not in PAIRED_VIT:
            raise ValueError(f"no ViT paired with {s.model!r}: the data-size experiment knows {sorted(PAIRED_VIT)}")
        vit = PAIRED_VIT[s.model]
        return [
            Variant(
                "data_size",
                f"{model.split('_')[0]} {n:,}",
                spec(
                    model=model,
                    train_size=n,
                    epochs=s.size_budget // n,
                    test=s.size_test_subset,
                    val=s.size_val_size,
                ),
            )
            for model in (s.model, vit)
            for n in sorted(s.sizes)
        ]
    raise ValueError(f"unknown experiment {experiment!r}: choose from {EXPERIMENTS}")


def plan(experiments: Iterable[str], settings: GridSettings, seeds: Sequence[int]) -> list[tuple[RunSpec, int]]:
    """The distinct runs of the chosen experiments, each once (a run shared by experiments is listed once):
    experiment by experiment, and within one experiment seed by seed, so that a grid stopped early holds
    whole experiments with all their seeds, and the last one with whole seeds."""
    runs: list[tuple[RunSpec, int]] = []
    for experiment in experiments:
        variants = experiment_variants(experiment, settings)
        for seed in seeds:
            for v in variants:
                if (v.run, seed) not in runs:
                    runs.append((v.run, seed))
    return runs


def _config(spec: RunSpec, settings: GridSettings, seed: int) -> TrainConfig:
    return dataclasses.replace(
        settings.recipe,
        model=spec.model,
        epochs=spec.epochs,
        warmup_epochs=spec.warmup_epochs,
        train_subset=spec.train_size,
        test_subset=spec.test_subset,
        val_size=settings.recipe.val_size if spec.val_size is None else spec.val_size,
        seed=seed,
        max_minutes=None,
    )


def _model_kwargs(spec: RunSpec, cfg: TrainConfig) -> dict[str, Any]:
    kwargs = dict(spec.kwargs)
    if cfg.drop_path is not None:
        kwargs["drop_path_rate"] = cfg.drop_path
    return kwargs


def run_path(out: str | os.PathLike, spec: RunSpec, seed: int) -> Path:
    """Where one run's JSON lives: ``<out>/<run name>_seed<k>.json``."""
    return Path(out) / f"{spec.name}_seed{seed}.json"


def run_one(
    spec: RunSpec,
    seed: int,
    data: Any,
    settings: GridSettings,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Train one run and return its record: the config, the history, the chosen epoch and the test result."""
    cfg = _config(spec, settings, seed)
    kwargs = _model_kwargs(spec, cfg)
    n_train = len(data.train_labels)
    val_size = n_train // 10 if cfg.val_size is None else cfg.val_size
    if spec.train_size > n_train - val_size:
        raise ValueError(
            f"{spec.name}: {spec.train_size:,} training images asked for, but only {n_train - val_size:,} are left "
            f"after the {val_size:,}-image validation split: use a smaller size"
        )
    model = build_model(spec.model, seed=seed, **kwargs)
    start = time.perf_counter()
    result = train(model, data, cfg, device=device, out=None, progress=False)
    seconds = time.perf_counter() - start
    if result.interrupted or result.test is None:
        raise KeyboardInterrupt
    steps_per_epoch = max(1, spec.train_size // cfg.batch_size)  # the trainer drops the last partial batch
    return {
        "run": spec.name,
        "model": spec.model,
        "model_kwargs": kwargs,
        "parameters": sum(p.numel() for p in model.parameters()),
        "seed": seed,
        "data": "synthetic stand-in" if getattr(data, "synthetic", False) else "CIFAR-10",
        "train_images": spec.train_size,
        "val_images": val_size,
        "epochs": len(result.history),
        "steps": steps_per_epoch * len(result.history),
        "images_seen": spec.train_size * len(result.history),
        "config": cfg.to_dict(),
        "best_epoch": result.best_epoch,
        "best_val_acc": result.best_val_acc,
        "test": result.test,
        "seconds": round(seconds, 1),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "history": [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()} for r in result.history],
    }


def load_runs(out: str | os.PathLike) -> dict[tuple[str, int], dict[str, Any]]:
    """Every run JSON under ``out``, by (run name, seed)."""
    runs = {}
    for path in sorted(Path(out).glob("*_seed*.json")):
        with open(path) as f:
            record = json.load(f)
        runs[(record["run"], record["seed"])] = record
    return runs


def difference(reference: Sequence[float], variant: Sequence[float]) -> tuple[float, float]:
    """The variant's mean minus the reference's mean, and the standard error of that difference:
    ``sqrt(s_ref² / n_ref + s_var² / n_var)`` with ``s`` the sample standard deviation over the seeds
    (ddof=1). Each side needs at least 2 values."""
    for name, values in (("reference", reference), ("variant", variant)):
        if len(values) < 2:
            raise ValueError(f"the {name} has {len(values)} value(s): a standard error needs at least 2 seeds")
    se = math.hypot(
        statistics.stdev(reference) / math.sqrt(len(reference)), statistics.stdev(variant) / math.sqrt(len(variant))
    )
    return statistics.fmean(variant) - statistics.fmean(reference), se


def is_noise(reference: Sequence[float], variant: Sequence[float], z: float = 2.0) -> bool:
    """Whether the difference of the means is smaller than ``z`` (about two) standard errors: then this
    budget cannot tell the variants apart."""
    diff, se = difference(reference, variant)
    return abs(diff) < z * se


def seeds_needed(std: float, diff: float, z: float = 2.0) -> int:
    """Seeds per variant so that a true difference ``diff`` between two variants whose accuracy varies by
    ``std`` from seed to seed is at least ``z`` standard errors: ``z * std * sqrt(2 / n) <= |diff|``, i.e.
    ``n = ceil(2 z² std² / diff²)`` (at least 2)."""
    if diff == 0:
        raise ValueError("a difference of 0 is never resolved: no number of seeds is enough")
    return max(2, math.ceil(2 * z * z * std * std / (diff * diff) - 1e-12))


def _stats(values: list[float]) -> dict[str, Any]:
    n = len(values)
    mean = statistics.fmean(values) if n else None
    std = statistics.stdev(values) if n > 1 else None
    return {
        "n": n,
        "mean": mean,
        "std": std,
        "sem": std / math.sqrt(n) if std is not None else None,
    }


def summarize(
    out: str | os.PathLike,
    experiments: Iterable[str],
    settings: GridSettings,
    seeds: Sequence[int],
    command: str | None = None,
) -> dict[str, Any]:
    """The summary of the grid from the run JSONs present: per experiment and variant, the test accuracy of
    every seed, its mean, std and standard error, and each variant's difference to its ``reference`` (in
    experiments 1-3 the default variant, in experiment 4 the Swin of the same training size) with the standard
    error of that difference and whether it is noise (under two standard errors); ``missing`` lists runs not
    yet done."""
    runs = load_runs(out)
    summary: dict[str, Any] = {
        "settings": settings.to_dict(),
        "seeds": list(seeds),
        "command": command,
        "data": sorted({r["data"] for r in runs.values()}),
        "experiments": {},
        "missing": [],
    }
    for experiment in experiments:
        variants = experiment_variants(experiment, settings)
        rows = []
        for v in variants:
            done = [runs[(v.run.name, s)] for s in seeds if (v.run.name, s) in runs]
            accs = [r["test"]["acc"] for r in done]
            summary["missing"] += [f"{v.run.name}_seed{s}" for s in seeds if (v.run.name, s) not in runs]
            row = {
                "label": v.label,
                "run": v.run.name,
                "model": v.run.model,
                "model_kwargs": dict(v.run.kwargs),
                "train_images": v.run.train_size,
                "epochs": v.run.epochs,
                "seeds": [r["seed"] for r in done],
                "test_acc": accs,
                "test_images": [r["test"]["n"] for r in done],
                "val_acc": [r["best_val_acc"] for r in done],
                "parameters": done[0]["parameters"] if done else None,
                "seconds": [r["seconds"] for r in done],
                **{f"test_{k}": val for k, val in _stats(accs).items()},
            }
            rows.append(row)
        for row in rows:
            # Experiments 1-3: every variant against the default (the first row). Experiment 4: each ViT against
            # the Swin trained on the same number of images (the Swin rows are the references).
            if experiment == "data_size":
                same = [r for r in rows if r["model"] == settings.model and r["train_images"] == row["train_images"]]
                ref = same[0] if row["model"] != settings.model and same else None
            else:
                ref = rows[0] if row is not rows[0] else None
            row["reference"] = None if ref is None else ref["label"]
            if ref is None or row["test_mean"] is None or ref["test_mean"] is None:
                row["diff_to_default"], row["diff_sem"], row["noise"] = None, None, None
                continue
            row["diff_to_default"] = row["test_mean"] - ref["test_mean"]
            if len(row["test_acc"]) > 1 and len(ref["test_acc"]) > 1:
                row["diff_sem"] = difference(ref["test_acc"], row["test_acc"])[1]
                row["noise"] = is_noise(ref["test_acc"], row["test_acc"])
            else:
                row["diff_sem"], row["noise"] = None, None
        summary["experiments"][experiment] = rows
    summary["missing"] = sorted(set(summary["missing"]))
    summary["complete"] = not summary["missing"]
    return summary


def _check_same_recipe(record: dict[str, Any], cfg: TrainConfig, path: Path) -> None:
    saved = record.get("config", {})
    differ = sorted(k for k, v in cfg.to_dict().items() if saved.get(k) != v)
    if differ:
        raise ValueError(
            f"{path} was run with another recipe ({', '.join(f'{k}: {saved.get(k)!r} there' for k in differ[:4])}): "
            "results of different budgets must not be mixed; use another --out, or delete that file to rerun it"
        )


def run_grid(
    experiments: Sequence[str],
    settings: GridSettings,
    seeds: Sequence[int],
    data: Any,
    out: str | os.PathLike,
    summary_path: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    progress: bool = True,
    command: str | None = None,
    log: Callable[[str], None] | None = print,
    shard: tuple[int, int] = (0, 1),
) -> dict[str, Any]:
    """Run every run of the chosen experiments that has no JSON in ``out`` yet, seed by seed; rewrite the
    summary after every run; return the summary. ``shard=(k, n)``: only runs ``k, k+n, k+2n, ...`` of the
    plan (several processes can share one grid and one ``out``)."""
    from tqdm.auto import tqdm

    runs = plan(experiments, settings, seeds)
    todo = []
    k, n = shard
    for spec, seed in runs[k::n]:
        path = run_path(out, spec, seed)
        if path.exists():
            with open(path) as f:
                _check_same_recipe(json.load(f), _config(spec, settings, seed), path)
        else:
            todo.append((spec, seed))
    if log:
        mine = len(runs[k::n])
        part = f" (shard {k}/{n}: {mine} of them)" if n > 1 else ""
        log(f"{len(runs)} runs in the grid{part}, {mine - len(todo)} already done, {len(todo)} to run")

    def write_summary() -> dict[str, Any]:
        summary = summarize(out, experiments, settings, seeds, command)
        if summary_path is not None:
            write_json_atomic(Path(summary_path), summary)
        return summary

    summary = write_summary()
    bar = tqdm(todo, desc="ablation grid", unit="run", disable=not progress, dynamic_ncols=True)
    for spec, seed in bar:
        bar.set_postfix_str(f"{spec.name} seed {seed}")
        record = run_one(spec, seed, data, settings, device)
        write_json_atomic(run_path(out, spec, seed), record)
        if log:
            bar.write(
                f"{spec.name} seed {seed}: test acc {record['test']['acc']:.4f} on {record['test']['n']:,} images "
                f"(epoch {record['best_epoch']} chosen on validation), {record['seconds']:.0f} s"
            )
        summary = write_summary()
    bar.close()
    return summary


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m swinlab.ablate",
        description="Run any subset of lesson 10's ablation grid (shift, position, window, data_size), several "
        "seeds each, the same step budget for every variant; choices on the validation split, the test set once "
        "at the end. Resumes: runs whose JSON exists in --out are skipped.",
        epilog="CPU (the committed results): python -m swinlab.ablate --seeds 0 1 2   |   "
        "GPU: python -m swinlab.ablate --full --out runs/ablations --summary runs/ablations_summary.json",
    )
    p.add_argument("--experiments", nargs="+", choices=EXPERIMENTS, default=list(EXPERIMENTS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--full", action="store_true", help="the GPU configuration: swin_cifar / vit_cifar, 45k images")
    p.add_argument("--quick", action="store_true", help="a tiny grid (seconds) on the synthetic stand-in")
    p.add_argument("--model", choices=sorted(PAIRED_VIT), default=None, help="the Swin (default: the configuration's)")
    p.add_argument("--epochs", type=int, default=None, help="epochs of the default training size")
    p.add_argument("--train-size", type=int, default=None, help="training images of experiments 1-3")
    p.add_argument("--sizes", nargs="+", type=int, default=None, help="training sizes of the data_size experiment")
    p.add_argument("--windows", nargs="+", type=int, default=None, help="window sizes of the window experiment")
    p.add_argument("--out", default="assets/ablations", help="folder for the run JSONs (default: assets/ablations)")
    p.add_argument("--summary", default="assets/ablations_summary.json", help="the summary JSON")
    p.add_argument("--data-dir", default=None, help="CIFAR-10 folder (default: $SWINLAB_DATA or ~/.cache/swinlab)")
    p.add_argument("--synthetic", action="store_true", help="the synthetic stand-in instead of CIFAR-10")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading CIFAR-10")
    p.add_argument("--device", default=None, help="cuda, cpu, ... (default: cuda if available)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--size-budget", type=int, default=None, help="images seen per run in the data_size experiment")
    p.add_argument(
        "--shard",
        default=None,
        help="K/N: run only every N-th run of the grid starting at K (0-based), e.g. two processes with 0/2 and 1/2",
    )
    p.add_argument("--list", action="store_true", help="print the grid (and what is done) and exit")
    p.add_argument("--summarize-only", action="store_true", help="rewrite the summary from the run JSONs and exit")
    p.add_argument("--no-progress", action="store_true")
    return p


def _command(args: argparse.Namespace) -> str:
    """The command that reruns this grid (without machine paths, threads or shards)."""
    parts = ["python -m swinlab.ablate"]
    if args.full or args.quick:
        parts.append("--full" if args.full else "--quick")
    if list(args.experiments) != list(EXPERIMENTS):
        parts += ["--experiments", *args.experiments]
    parts += ["--seeds", *map(str, args.seeds)]
    for name in ("model", "epochs", "train_size", "size_budget"):
        if getattr(args, name) is not None:
            parts += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    for name in ("sizes", "windows"):
        if getattr(args, name) is not None:
            parts += [f"--{name}", *map(str, getattr(args, name))]
    if args.synthetic:
        parts.append("--synthetic")
    return " ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (``python -m swinlab.ablate --help``); returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.full and args.quick:
        parser.error("--full (the GPU grid) and --quick (a tiny grid) exclude each other: pick one")
    if any(s < 0 for s in args.seeds) or len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds must be distinct ints >= 0, got {args.seeds}")
    overrides: dict[str, Any] = {}
    for name in ("epochs", "train_size", "size_budget"):
        value = getattr(args, name)
        if value is not None:
            if value < 1:
                parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
            overrides[name] = value
    for name in ("sizes", "windows"):
        value = getattr(args, name)
        if value is not None:
            if any(v < 1 for v in value):
                parser.error(f"--{name} must be >= 1, got {value}")
            overrides[name] = tuple(value)
    if args.model:
        overrides["model"] = args.model
    make = gpu_settings if args.full else quick_settings if args.quick else cpu_settings
    try:
        settings = make(**overrides)
    except ValueError as e:
        parser.error(str(e))
    shard = (0, 1)
    if args.shard is not None:
        try:
            k, n = (int(v) for v in args.shard.split("/"))
            if not 0 <= k < n:
                raise ValueError
        except ValueError:
            parser.error(f"--shard must be K/N with 0 <= K < N, e.g. 0/2, got {args.shard!r}")
        shard = (k, n)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        for e in args.experiments:
            experiment_variants(e, settings)
    except ValueError as e:
        parser.error(str(e))
    runs = plan(args.experiments, settings, args.seeds)
    if args.list:
        done = load_runs(args.out) if Path(args.out).exists() else {}
        for spec, seed in runs:
            mark = "done" if (spec.name, seed) in done else "todo"
            print(f"{mark}  {spec.name}_seed{seed}  ({spec.epochs} epochs of {spec.train_size:,} images)")
        return 0
    if args.summarize_only:
        summary = summarize(args.out, args.experiments, settings, args.seeds, _command(args))
        write_json_atomic(Path(args.summary), summary)
        print(
            f"{args.summary}: {sum(len(r) for r in summary['experiments'].values())} variants, "
            f"{len(summary['missing'])} runs missing"
        )
        return 0
    if args.synthetic or args.quick:
        from .data import synthetic_cifar10

        data = synthetic_cifar10(n_train=512, n_test=256) if args.quick else synthetic_cifar10(50_000, 10_000)
        print("Training on the SYNTHETIC stand-in (coloured shapes, not CIFAR-10).")
    else:
        from .data import load_cifar10

        data = load_cifar10(args.data_dir, download=not args.no_download)
        print(f"CIFAR-10: {len(data.train_labels):,} train / {len(data.test_labels):,} test images.")
    command = _command(args)
    print(settings.description)
    try:
        summary = run_grid(
            args.experiments,
            settings,
            args.seeds,
            data,
            args.out,
            args.summary,
            device=device,
            progress=not args.no_progress,
            command=command.strip(),
            shard=shard,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped: the runs finished so far are saved; the same command resumes the grid", file=sys.stderr)
        return 130
    for experiment, rows in summary["experiments"].items():
        print(f"\n{experiment}")
        for row in rows:
            if row["test_mean"] is None:
                print(f"  {row['label']:12s} (no run yet)")
                continue
            spread = f" ± {100 * row['test_std']:.2f}" if row["test_std"] is not None else ""
            print(f"  {row['label']:12s} {100 * row['test_mean']:6.2f}{spread} % test accuracy ({row['test_n']} seeds)")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
