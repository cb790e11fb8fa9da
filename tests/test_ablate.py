"""The ablation grid: its plan (shared runs, equal budgets), resuming, the summary and its statistics."""

from __future__ import annotations

import json
import math
import statistics

import pytest

from swinlab import ablate
from swinlab.ablate import (
    EXPERIMENTS,
    GridSettings,
    cpu_settings,
    difference,
    experiment_variants,
    gpu_settings,
    is_noise,
    plan,
    quick_settings,
    run_grid,
    run_path,
    seeds_needed,
)
from swinlab.data import synthetic_cifar10


def steps(spec, settings) -> int:
    return (spec.train_size // settings.recipe.batch_size) * spec.epochs


def fake_record(spec, seed, settings, acc) -> dict:
    """What run_one writes, with a chosen test accuracy (for tests that do not need training)."""
    cfg = ablate._config(spec, settings, seed)
    return {
        "run": spec.name,
        "model": spec.model,
        "model_kwargs": dict(spec.kwargs),
        "parameters": 1000,
        "seed": seed,
        "data": "synthetic stand-in",
        "train_images": spec.train_size,
        "config": cfg.to_dict(),
        "best_epoch": 1,
        "best_val_acc": acc,
        "test": {"epoch": 1, "loss": 1.0, "acc": acc, "n": 256, "ci95": [acc - 0.05, acc + 0.05]},
        "seconds": 1.0,
        "history": [],
    }


@pytest.mark.parametrize("make", [cpu_settings, gpu_settings, quick_settings])
def test_experiments_1_to_3_share_the_default_run_and_give_every_variant_the_same_steps(make):
    settings = make()
    default = experiment_variants("shift", settings)[0].run
    for experiment in ("shift", "position", "window"):
        variants = experiment_variants(experiment, settings)
        assert variants[0].run == default  # the default variant comes first and is one shared run
        assert len({steps(v.run, settings) for v in variants}) == 1
        assert len({v.run for v in variants}) == len(variants)  # every variant is its own run
    names = {spec.name for spec, _ in plan(["shift", "position", "window"], settings, [0])}
    assert len(names) == 1 + 1 + 2 + (len(settings.windows) - 1)  # default + shift off + 2 positions + windows


@pytest.mark.parametrize("make", [cpu_settings, gpu_settings, quick_settings])
def test_every_training_size_gets_the_same_number_of_steps_and_images_seen(make):
    settings = make()
    variants = experiment_variants("data_size", settings)
    assert len(variants) == 2 * len(settings.sizes)  # Swin and its ViT at every size
    assert {v.run.model for v in variants} == {settings.model, ablate.PAIRED_VIT[settings.model]}
    assert {v.run.train_size * v.run.epochs for v in variants} == {settings.size_budget}
    assert len({steps(v.run, settings) for v in variants}) == 1
    assert {v.run.warmup_epochs / v.run.epochs for v in variants} == {0.2}  # a fifth of every run


def test_the_window_experiment_holds_the_default_window_as_its_reference_and_names_options():
    variants = experiment_variants("window", cpu_settings())
    assert [v.label for v in variants] == ["M=4", "M=2", "M=8"]
    assert [dict(v.run.kwargs) for v in variants] == [{}, {"window_size": 2}, {"window_size": 8}]
    assert variants[1].run.name == "swin_micro-window_size=2-n5000-e4"


def test_settings_refuse_sizes_that_would_not_get_equal_steps():
    with pytest.raises(ValueError, match="whole number of epochs"):
        GridSettings(sizes=(640, 1_000), size_budget=5_120)
    with pytest.raises(ValueError, match="multiples of the batch size 128"):
        GridSettings(sizes=(100, 200), size_budget=400)


def test_the_plan_lists_shared_runs_once_experiment_by_experiment_and_seed_by_seed():
    settings = cpu_settings()
    runs = plan(EXPERIMENTS, settings, [0, 1, 2])
    assert len(runs) == len(set(runs)) == 3 * 14  # 6 runs for experiments 1-3, 8 for experiment 4
    # experiments 1-3 first, each with all its seeds (two new runs per seed each), then experiment 4 seed by seed
    assert [seed for _, seed in runs] == [0, 0, 1, 1, 2, 2] * 3 + [0] * 8 + [1] * 8 + [2] * 8
    assert {spec.model for spec, _ in runs[:18]} == {"swin_micro"}


def test_difference_and_its_standard_error_by_hand():
    a, b = [0.60, 0.62, 0.64], [0.66, 0.65, 0.70]
    diff, se = difference(a, b)
    assert diff == pytest.approx(statistics.mean(b) - statistics.mean(a))
    assert se == pytest.approx(math.sqrt(statistics.variance(a) / 3 + statistics.variance(b) / 3))
    assert not is_noise(a, b)  # 0.05 > 2 x 0.0136
    assert is_noise(a, [0.61, 0.66, 0.63])
    with pytest.raises(ValueError, match="at least 2 seeds"):
        difference([0.5], [0.6, 0.7])


def test_seeds_needed_makes_the_difference_two_standard_errors():
    for std, diff in [(0.01, 0.01), (0.005, 0.011), (0.02, 0.05)]:
        n = seeds_needed(std, diff)
        assert 2 * std * math.sqrt(2 / n) <= abs(diff) + 1e-12
        if n > 2:
            assert 2 * std * math.sqrt(2 / (n - 1)) > abs(diff)  # one seed fewer would not do
    assert seeds_needed(0.01, 0.01) == 8


def test_the_grid_resumes_skipping_runs_whose_json_exists(tmp_path, monkeypatch):
    settings = quick_settings()
    calls = []

    def fake_run_one(spec, seed, data, settings, device="cpu"):
        calls.append((spec.name, seed))
        return fake_record(spec, seed, settings, 0.5 + 0.01 * seed + 0.02 * ("shift=False" in spec.name))

    monkeypatch.setattr(ablate, "run_one", fake_run_one)
    summary_path = tmp_path / "summary.json"
    summary = run_grid(["shift", "position"], settings, [0, 1], None, tmp_path / "runs", summary_path, progress=False)
    assert len(calls) == 2 * 4  # default, shift off, absolute, none; two seeds
    assert summary["complete"] and json.loads(summary_path.read_text())["complete"]
    run_path(tmp_path / "runs", *plan(["shift"], settings, [1])[1]).unlink()  # the shift-off run of seed 1
    calls.clear()
    summary = run_grid(["shift", "position"], settings, [0, 1], None, tmp_path / "runs", summary_path, progress=False)
    assert calls == [("swin_micro-shift=False-n128-e2", 1)]
    row = summary["experiments"]["shift"][1]
    assert row["test_acc"] == pytest.approx([0.52, 0.53]) and row["test_mean"] == pytest.approx(0.525)
    assert row["diff_to_default"] == pytest.approx(0.02)
    assert row["diff_sem"] == pytest.approx(difference([0.50, 0.51], [0.52, 0.53])[1])


def test_a_run_of_another_recipe_is_refused_not_mixed_in(tmp_path):
    settings = quick_settings()
    spec, seed = plan(["shift"], settings, [0])[0]
    record = fake_record(spec, seed, settings, 0.5)
    record["config"]["lr"] = 1.0
    run_path(tmp_path, spec, seed).write_text(json.dumps(record))
    with pytest.raises(ValueError, match="another recipe.*lr"):
        run_grid(["shift"], settings, [0], None, tmp_path, progress=False)


def test_the_summary_lists_missing_runs_and_shards_split_the_grid(tmp_path, monkeypatch):
    settings = quick_settings()
    done = []
    monkeypatch.setattr(
        ablate,
        "run_one",
        lambda spec, seed, data, s, device="cpu": done.append(spec.name) or fake_record(spec, seed, s, 0.5),
    )
    summary = run_grid(["position"], settings, [0], None, tmp_path, progress=False, shard=(1, 2))
    assert done == ["swin_micro-position=absolute-n128-e2"]  # runs 1, 3, ... of the plan
    assert sorted(summary["missing"]) == ["swin_micro-n128-e2_seed0", "swin_micro-position=none-n128-e2_seed0"]
    assert not summary["complete"]


def test_a_real_tiny_pair_trains_and_writes_small_histories(tmp_path):
    settings = quick_settings()
    data = synthetic_cifar10(n_train=256, n_test=64)
    summary = run_grid(["shift"], settings, [0], data, tmp_path, tmp_path / "s.json", progress=False, log=None)
    for spec, seed in plan(["shift"], settings, [0]):
        record = json.loads(run_path(tmp_path, spec, seed).read_text())
        assert record["test"]["n"] == 64 and len(record["history"]) == spec.epochs
        assert record["steps"] == steps(spec, settings) and record["data"] == "synthetic stand-in"
        assert record["val_images"] == settings.recipe.val_size
        assert run_path(tmp_path, spec, seed).stat().st_size < 10_000  # a history, never weights
    assert [r["label"] for r in summary["experiments"]["shift"]] == ["shift_on", "shift_off"]


def test_the_command_line_lists_the_grid_and_names_bad_flags(tmp_path, capsys):
    assert ablate.main(["--list", "--experiments", "shift", "--seeds", "0", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "todo  swin_micro-n5000-e4_seed0" in out and "shift=False" in out
    for argv, message in [
        (["--full", "--quick"], "exclude each other"),
        (["--shard", "2/2"], "--shard must be K/N"),
        (["--seeds", "0", "0"], "--seeds must be distinct"),
        (["--sizes", "640", "1000"], "whole number of epochs"),
    ]:
        with pytest.raises(SystemExit):
            ablate.main([*argv, "--list"])
        assert message in capsys.readouterr().err
