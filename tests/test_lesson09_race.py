"""Lesson 09: the equal-time race: speeds measured once, the budget turned into steps, seeds, the comparison."""

from __future__ import annotations

import json
import math

import pytest
import torch

from swinlab.data import synthetic_cifar10
from swinlab.race import (
    DEFAULT_ARMS,
    compare_arms,
    main,
    plan_budget,
    run_race,
    summarize,
    training_throughput,
)


def test_the_slowest_contender_makes_min_epochs_and_the_others_what_their_speed_buys():
    plan = plan_budget({"vit": 100.0, "swin": 420.0}, n_available=10_000, batch_size=100, train_subset=2_000)
    assert plan["train_subset"] == 2_000 and plan["steps_per_epoch"] == 20
    assert plan["budget_s"] == pytest.approx(5 * 2_000 / 100.0)  # the slowest: 5 passes at 100 images/s
    assert plan["epochs"] == {"vit": 5, "swin": 21}
    assert plan["steps"] == {"vit": 100, "swin": 420}
    assert plan["equivalent_s"]["vit"] == pytest.approx(100.0)
    assert plan["equivalent_s"]["swin"] == pytest.approx(100.0)  # 21 x 2,000 images at 420 images/s


def test_rounding_to_whole_epochs_is_recorded_in_the_equivalent_seconds():
    plan = plan_budget({"vit": 100.0, "swin": 430.0}, n_available=10_000, batch_size=100, train_subset=2_000)
    assert plan["epochs"]["swin"] == round(21.5)
    assert plan["equivalent_s"]["swin"] == pytest.approx(plan["epochs"]["swin"] * 2_000 / 430.0)


def test_a_budget_in_seconds_sizes_the_subset_and_is_capped_by_the_data():
    plan = plan_budget({"vit": 100.0, "swin": 400.0}, n_available=10_000, batch_size=64, budget_s=50.0)
    assert plan["train_subset"] == 1_000 // 64 * 64 and plan["epochs"]["vit"] == 5
    capped = plan_budget({"vit": 100.0}, n_available=1_000, batch_size=100, budget_s=500.0)
    assert capped["train_subset"] == 1_000 and capped["epochs"]["vit"] == 50


def test_plan_budget_refuses_what_it_cannot_plan():
    with pytest.raises(ValueError, match="exactly one"):
        plan_budget({"a": 1.0}, 1000, 10)
    with pytest.raises(ValueError, match="exactly one"):
        plan_budget({"a": 1.0}, 1000, 10, budget_s=1.0, train_subset=100)
    with pytest.raises(ValueError, match="train_subset=5000"):
        plan_budget({"a": 1.0}, 1000, 10, train_subset=5000)
    with pytest.raises(ValueError, match="cannot fill one batch"):
        plan_budget({"a": 1.0}, 5, 10, train_subset=5)
    with pytest.raises(ValueError, match="positive speed"):
        plan_budget({"a": 0.0}, 1000, 10, train_subset=100)


def test_summaries_and_the_noise_rule():
    s = summarize([0.40, 0.42, 0.44])
    assert s["mean"] == pytest.approx(0.42) and s["std"] == pytest.approx(0.02) and s["n"] == 3
    assert s["sem"] == pytest.approx(0.02 / math.sqrt(3))
    far = compare_arms([0.50, 0.51, 0.52], [0.40, 0.41, 0.42])
    assert far["diff"] == pytest.approx(0.10) and far["beyond_noise"]
    near = compare_arms([0.41, 0.45, 0.43], [0.40, 0.44, 0.42])  # 1 point apart, std 2 points
    assert not near["beyond_noise"] and near["z"] == pytest.approx(0.01 / near["se"])
    single = compare_arms([0.5], [0.4])
    assert single["se"] is None and not single["beyond_noise"]  # one run per side: no error bar, no verdict


def test_training_throughput_measures_every_contender_in_every_round():
    arms = {k: DEFAULT_ARMS[k] for k in ("swin_micro", "vit_micro")}
    speed = training_throughput(arms, batch_size=4, steps=1, rounds=2, warmup=1)
    assert set(speed) == set(arms)
    for s in speed.values():
        assert len(s["rounds"]) == 2 and s["images_per_s"] == max(s["rounds"]) > 0
        assert s["seconds_per_step"] == pytest.approx(4 / s["images_per_s"])


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is as fast, and a busy machine does not stall it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    return synthetic_cifar10(64, 24, seed=3)


def test_run_race_trains_every_contender_for_its_epochs_and_tests_once(data, tmp_path):
    out = tmp_path / "race.json"
    race = run_race(
        data, seeds=[0, 1], train_subset=16, min_epochs=1, batch_size=16, val_size=16, bench_steps=1,
        bench_rounds=1, out=out, progress=False,
    )  # fmt: skip
    assert json.loads(out.read_text()) == json.loads(json.dumps(race))
    assert [(r["arm"], r["seed"]) for r in race["runs"]] == [
        ("swin_micro", 0), ("vit_micro", 0), ("swin_micro", 1), ("vit_micro", 1),
        ("vit_micro_mean", 0), ("vit_micro_mean", 1),
    ]  # fmt: skip
    for r in race["runs"]:
        assert len(r["history"]) == r["epochs"] == race["plan"]["epochs"][r["arm"]]
        assert r["steps"] == r["epochs"] and r["test"]["n"] == 24  # 16 images in one batch of 16; all test images
        assert 1 <= r["best_epoch"] <= r["epochs"]
    assert set(race["summary"]) == set(DEFAULT_ARMS) and race["summary"]["swin_micro"]["n"] == 2
    assert [(c["a"], c["b"]) for c in race["comparisons"]] == [
        ("swin_micro", "vit_micro"),
        ("vit_micro_mean", "vit_micro"),
    ]
    assert race["data"] == {"source": "synthetic stand-in", "train_images": 64, "val_size": 16, "test_images": 24}


def test_race_command_writes_json_resumes_and_names_bad_flags(data, tmp_path, capsys):
    out = tmp_path / "r.json"
    args = [
        "--synthetic", "48", "16", "--out", str(out), "--train-subset", "8", "--val-size", "16", "--batch-size", "8",
        "--min-epochs", "1", "--bench-steps", "1", "--bench-rounds", "1", "--arms", "swin_micro", "vit_micro",
    ]  # fmt: skip
    assert main([*args, "--seeds", "0"]) == 0
    first = json.loads(out.read_text())
    assert [r["seed"] for r in first["runs"]] == [0, 0]
    assert "swin_micro - vit_micro" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([*args, "--seeds", "1"])  # exists: needs --resume
    assert "--resume" in capsys.readouterr().err
    assert main([*args, "--seeds", "0", "1", "--resume"]) == 0
    second = json.loads(out.read_text())
    assert second["throughput"] == first["throughput"] and second["runs"][:2] == first["runs"]  # kept, not rerun
    assert [(r["arm"], r["seed"]) for r in second["runs"][2:]] == [("swin_micro", 1), ("vit_micro", 1)]
    for bad, flag in ((["--val-size", "0"], "--val-size"), (["--seeds", "-1"], "--seeds")):
        with pytest.raises(SystemExit):
            main([*args, *bad, "--out", str(tmp_path / "x.json")])
        assert flag in capsys.readouterr().err
