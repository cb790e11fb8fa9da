"""Tests for swinlab.train (lesson 08): augmentation, schedule, checkpoints/resume, NaN stop, interrupt, CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from swinlab.data import synthetic_cifar10
from swinlab.train import (
    NonFiniteLossError,
    TrainConfig,
    WarmupCosine,
    accuracy_interval,
    attention_received,
    attention_weights,
    augment_batch,
    build_model,
    choose_precision,
    confusion_matrix,
    denormalize,
    evaluate,
    load_checkpoint,
    load_history,
    lr_at,
    main,
    mix_batch,
    normalize,
    param_groups,
    random_crop,
    random_erase,
    random_flip,
    relative_bias_tables,
    soft_cross_entropy,
    soft_targets,
    split_train_val,
    train,
    train_step,
)


def tiny_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model("swin_micro", embed_dim=16, depths=(1, 1), num_heads=(1, 2))


@pytest.fixture(scope="module")
def data():
    return synthetic_cifar10(96, 32, seed=1)


def tiny_cfg(**kw) -> TrainConfig:
    base = dict(
        epochs=3,
        batch_size=32,
        lr=2e-3,
        warmup_epochs=1,
        eval_batch_size=64,
        erase_prob=0.25,
        mixup_alpha=0.8,
        cutmix_alpha=1.0,
        drop_path=None,
        model="swin_micro",
        log_every=2,
    )
    return TrainConfig(**{**base, **kw})


# ---- augmentation --------------------------------------------------------------------------


def test_batched_random_crop_equals_per_image_loop():
    images = torch.randint(0, 256, (5, 32, 32, 3), dtype=torch.uint8)
    out = random_crop(images, 4, torch.Generator().manual_seed(3))
    offsets = torch.randint(0, 9, (2, 5), generator=torch.Generator().manual_seed(3))
    padded = F.pad(images, (0, 0, 4, 4, 4, 4))
    for b in range(5):
        oy, ox = offsets[:, b].tolist()
        assert torch.equal(out[b], padded[b, oy : oy + 32, ox : ox + 32])
    assert not torch.equal(out, images)  # some image moved


def test_crop_without_padding_is_identity_and_flip_mirrors_columns():
    images = torch.randint(0, 256, (64, 8, 8, 3), dtype=torch.uint8)
    assert torch.equal(random_crop(images, 0), images)
    flipped = random_flip(images, torch.Generator().manual_seed(0))
    same = (flipped == images).flatten(1).all(1)
    mirrored = (flipped == images.flip(2)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 10 < int(mirrored.sum()) < 54


def test_normalize_is_channels_last_and_denormalize_inverts_it():
    images = torch.randint(0, 256, (2, 32, 32, 3), dtype=torch.uint8)
    x = normalize(images)
    assert x.shape == (2, 3, 32, 32) and x.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(denormalize(x) * 255, images.float(), atol=1e-3, rtol=0)
    with pytest.raises(ValueError, match="B, H, W, 3"):
        normalize(images[..., :2])


def test_random_erase_sets_rectangles_to_zero_with_probability_p():
    x = torch.ones(200, 3, 32, 32)
    out = random_erase(x, 0.5, torch.Generator().manual_seed(0))
    erased = (out == 0).all(1)  # B, H, W
    frac = erased.flatten(1).float().mean(1)
    hit = frac > 0
    assert 60 < int(hit.sum()) < 140 and float(frac.max()) <= 1 / 3 + 0.05
    for b in torch.nonzero(hit).flatten()[:10].tolist():  # each erased region is one rectangle
        rows, cols = erased[b].any(1), erased[b].any(0)
        assert int(erased[b].sum()) == int(rows.sum()) * int(cols.sum())
    assert torch.equal(random_erase(x, 0.0), x)


def test_soft_targets_cross_entropy_equals_label_smoothing():
    logits, labels = torch.randn(8, 10), torch.randint(0, 10, (8,))
    t = soft_targets(labels, 10, 0.1)
    torch.testing.assert_close(t.sum(1), torch.ones(8))
    torch.testing.assert_close(soft_cross_entropy(logits, t), F.cross_entropy(logits, labels, label_smoothing=0.1))


def test_mixup_and_cutmix_mix_targets_with_the_pasted_fraction():
    x = torch.stack([torch.zeros(3, 8, 8), torch.ones(3, 8, 8)])
    t = soft_targets(torch.tensor([0, 1]), 10)
    xm, tm, lam = mix_batch(x, t, 0.7, "mixup")
    assert lam == 0.7 and torch.allclose(xm[0], torch.full((3, 8, 8), 0.3))
    assert math.isclose(tm[0, 0].item(), 0.7, rel_tol=1e-6)
    xc, tc, lam_c = mix_batch(x, t, 0.75, "cutmix")
    pasted = xc[0].mean().item()  # fraction of image 0 now from image 1
    assert math.isclose(1 - lam_c, pasted, abs_tol=1e-6) and math.isclose(tc[0, 1].item(), pasted, abs_tol=1e-6)
    torch.testing.assert_close(tc.sum(1), torch.ones(2))
    with pytest.raises(ValueError, match="mixup"):
        mix_batch(x, t, 0.5, "blend")


def test_augment_batch_is_reproducible_from_its_generators():
    images = torch.randint(0, 256, (16, 32, 32, 3), dtype=torch.uint8)
    labels = torch.randint(0, 10, (16,))
    cfg = tiny_cfg()
    a = augment_batch(images, labels, cfg, torch.Generator().manual_seed(5), np.random.default_rng(5))
    b = augment_batch(images, labels, cfg, torch.Generator().manual_seed(5), np.random.default_rng(5))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert a[0].shape == (16, 3, 32, 32) and a[1].shape == (16, 10)


# ---- schedule and config ---------------------------------------------------------------------


def test_lr_warms_up_linearly_then_follows_a_cosine_to_min_lr():
    assert math.isclose(lr_at(0, 100, 10, 1.0), 0.1) and math.isclose(lr_at(9, 100, 10, 1.0), 1.0)
    assert math.isclose(lr_at(10, 100, 10, 1.0, 0.0), 1.0)
    assert math.isclose(lr_at(55, 100, 10, 1.0, 0.0), 0.5)
    assert math.isclose(lr_at(100, 100, 10, 1.0, 0.01), 0.01)
    lrs = [lr_at(s, 100, 10, 1.0) for s in range(10, 100)]
    assert all(a >= b for a, b in zip(lrs[:-1], lrs[1:], strict=True))


def test_config_presets_round_trip_through_json_and_reject_bad_values():
    for name in ("gpu", "cpu_quick"):
        cfg = TrainConfig.preset(name)
        assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert TrainConfig.preset("gpu", epochs=7).epochs == 7
    with pytest.raises(ValueError, match="unknown preset"):
        TrainConfig.preset("tpu")
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="unknown TrainConfig fields"):
        TrainConfig.from_dict({"epochz": 3})


def test_build_model_resolves_names_and_rejects_unknown_ones():
    assert build_model("swin_micro", embed_dim=16, depths=(1, 1), num_heads=(1, 2))(
        torch.zeros(2, 3, 32, 32)
    ).shape == (2, 10)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("resnet")


def test_importing_swinlab_train_does_not_import_later_lessons():
    code = "import sys, swinlab.train; assert 'swinlab.vit' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


# ---- training: learning, resume, NaN, interrupt ----------------------------------------------


def test_training_learns_the_synthetic_task_and_writes_its_files(tmp_path):
    cfg = tiny_cfg(epochs=5, mixup_alpha=0.0, cutmix_alpha=0.0, erase_prob=0.0, lr=5e-3, label_smoothing=0.0)
    result = train(tiny_model(), synthetic_cifar10(320, 64, seed=1), cfg, device="cpu", out=tmp_path, progress=False)
    assert not result.interrupted and len(result.history) == 5
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    for h in result.history:  # the gradient norm before clipping, per epoch: its mean within its largest
        assert 0 < h["grad_norm"] <= h["grad_norm_max"] and math.isfinite(h["grad_norm_max"])
    assert result.best_val_acc > 0.35  # chance is 0.1
    saved = load_history(tmp_path / "history.json")
    assert saved["history"] == result.history and saved["data"] == "synthetic stand-in"
    assert saved["compiled"] is False  # torch.compile is on by default on CUDA only
    assert set(saved["history"][0]) >= {
        "epoch",
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "lr",
        "seconds",
        "images_per_s",
        "elapsed_s",
    }
    assert "test_acc" not in saved["history"][0]  # the test set is not looked at during training
    assert saved["n_train"] + saved["n_val"] == 320 and saved["n_val"] == 32 and saved["n_test"] == 64
    assert saved["test"] == result.test and result.test["n"] == 64 and result.test["epoch"] == result.best_epoch
    lo, hi = result.test["ci95"]
    assert lo < result.test["acc"] < hi
    assert not (tmp_path / "curves.png").exists()  # the figure is the command line's (train() draws nothing)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_resumed_run_equals_the_uninterrupted_run(data, tmp_path):
    cfg = tiny_cfg(epochs=3)
    full = train(tiny_model(), data, cfg, device="cpu", out=tmp_path / "full", progress=False)
    part = train(tiny_model(), data, cfg, device="cpu", out=tmp_path / "split", progress=False, until_epoch=1)
    assert len(part.history) == 1
    ckpt = load_checkpoint(tmp_path / "split" / "checkpoint.pt")  # weights_only=True inside
    assert ckpt["epoch"] == 1 and ckpt["config"] == cfg.to_dict()
    resumed = train(tiny_model(seed=99), data, cfg, device="cpu", out=tmp_path / "split", progress=False, resume=True)
    assert len(resumed.history) == 3
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    for a, b in zip(full.history, resumed.history, strict=True):
        assert {k: a[k] for k in ("train_loss", "val_loss", "val_acc", "lr")} == {
            k: b[k] for k in ("train_loss", "val_loss", "val_acc", "lr")
        }
    assert full.test == resumed.test


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(data, tmp_path):
    model = tiny_model()
    poison = {"on": False}
    model.head.register_forward_hook(lambda m, i, o: o * float("nan") if poison["on"] else o)
    good = {}

    def after_epoch(record):
        good["state"] = {k: v.clone() for k, v in model.state_dict().items()}
        poison["on"] = True  # epoch 2 produces NaN logits

    with pytest.raises(NonFiniteLossError, match="epoch 2.*checkpoint of epoch 1"):
        train(model, data, tiny_cfg(), device="cpu", out=tmp_path, progress=False, callback=after_epoch)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["epoch"] == 1 and len(ckpt["history"]) == 1
    for k, v in good["state"].items():
        assert torch.equal(ckpt["model"][k], v) and bool(torch.isfinite(v.float()).all())


def test_keyboard_interrupt_returns_the_model_and_history_so_far(data):
    def stop(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    result = train(tiny_model(), data, tiny_cfg(epochs=5), device="cpu", progress=False, callback=stop)
    assert result.interrupted and [h["epoch"] for h in result.history] == [1, 2]
    assert isinstance(result.model, torch.nn.Module)


def test_a_time_budget_shortens_the_run_and_fits_the_whole_schedule_inside_it(data, tmp_path):
    cfg = tiny_cfg(epochs=500, max_minutes=0.05, warmup_epochs=1, mixup_alpha=0.0, cutmix_alpha=0.0)
    result = train(tiny_model(), data, cfg, device="cpu", out=tmp_path, progress=False)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    steps_per_epoch = ckpt["schedule"]["step_count"] // len(result.history)
    assert len(result.history) < 500 and ckpt["planned_epochs"] < 500  # the schedule was shortened ...
    assert ckpt["schedule"]["total_steps"] < 500 * steps_per_epoch
    assert result.history[-1]["elapsed_s"] < 3.0 + 2 * max(h["seconds"] for h in result.history)  # ... to the budget
    # ... and the cosine was fitted to it: the run ends with the learning rate near its floor, not at its peak
    assert result.history[-1]["lr"] < 0.35 * cfg.lr


def test_a_short_estimate_shortens_the_warmup_only_until_a_longer_one_restores_it():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.0)
    sched = WarmupCosine(opt, total_steps=1000, warmup_steps=100, peak=1.0)
    sched.resize(100)  # a pessimistic first estimate: the warmup is capped at a fifth of the run
    assert sched.warmup_steps == 20
    for _ in range(5):
        sched.advance()
    sched.resize(1000)  # still warming up: the configured warmup comes back
    assert sched.warmup_steps == 100
    state = sched.state_dict()
    for _ in range(150):
        sched.advance()
    sched.resize(200)  # the warmup has ended: it stays as it was
    assert sched.warmup_steps == 100 and sched.total_steps == 200
    restored = WarmupCosine(opt, total_steps=1, warmup_steps=1, peak=1.0)
    restored.load_state_dict(state)
    restored.resize(50)
    assert restored.warmup_steps == 10 and restored.planned_warmup == 100
    restored.resize(5000)
    assert restored.warmup_steps == 100


def test_a_slow_first_step_does_not_shorten_the_run_or_its_warmup(data, tmp_path, monkeypatch):
    """The first steps of a compiled run take seconds (compilation): the schedule is fitted at the steady speed
    measured after them, so the warmup keeps its configured length."""
    import time

    import swinlab.train as train_module

    real_step, calls = train_module.train_step, []

    def slow_first_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(4.0)  # a compilation's worth of delay, in the first step only
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_step", slow_first_step)
    big = synthetic_cifar10(640, 64, seed=1)  # 18 steps per epoch at batch 32 (after the validation split)
    cfg = tiny_cfg(epochs=500, max_minutes=12 / 60, warmup_epochs=2, mixup_alpha=0.0, cutmix_alpha=0.0)
    result = train(tiny_model(), big, cfg, device="cpu", out=tmp_path, progress=False)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    # at the first epoch's average speed (4 s of it one step) the 8 s left would fit about two more epochs,
    # and the warmup would have been cut to a fifth of that; at the steady speed the run is long enough for it
    assert len(result.history) >= 10, [round(h["seconds"], 2) for h in result.history]
    assert ckpt["schedule"]["planned_warmup"] == 2 * 18  # 576 training images, batch 32
    assert ckpt["schedule"]["warmup_steps"] == ckpt["schedule"]["planned_warmup"]


def test_resume_without_a_run_directory_is_refused(data):
    with pytest.raises(ValueError, match="resume=True needs out"):
        train(tiny_model(), data, tiny_cfg(), device="cpu", progress=False, resume=True)


# ---- evaluation and looking inside -----------------------------------------------------------


def test_evaluate_and_confusion_matrix_agree(data):
    model = tiny_model()
    res = evaluate(model, data.test_images, data.test_labels, batch_size=10, device="cpu", return_logits=True)
    pred = res["logits"].argmax(1)
    cm = confusion_matrix(pred, torch.as_tensor(data.test_labels))
    assert res["logits"].shape == (32, 10) and int(cm.sum()) == 32
    assert math.isclose(res["acc"], cm.trace().item() / 32)
    assert math.isclose(
        res["loss"], F.cross_entropy(res["logits"], torch.as_tensor(data.test_labels)).item(), rel_tol=1e-5
    )


def test_attention_weights_reproduce_the_blocks_attention_output():
    model = tiny_model()
    images = normalize(torch.randint(0, 256, (2, 32, 32, 3), dtype=torch.uint8))
    for block in (0, 1):  # W-MSA, and the shifted one if any
        attn = [m for m in model.modules() if type(m).__name__ == "WindowAttention"][block]
        caught: dict = {}

        def hook(m, args, out, caught=caught):
            caught.update(x=args[0], mask=args[1], out=out)

        handle = attn.register_forward_hook(hook)
        weights = attention_weights(model, images, block)
        handle.remove()
        Bw, N, C = caught["x"].shape
        torch.testing.assert_close(weights.sum(-1), torch.ones(Bw, attn.num_heads, N))
        v = F.linear(caught["x"], attn.qkv.weight, attn.qkv.bias)[..., 2 * C :]
        v = v.view(Bw, N, attn.num_heads, C // attn.num_heads).transpose(1, 2)
        out = F.linear((weights @ v).transpose(1, 2).reshape(Bw, N, C), attn.proj.weight, attn.proj.bias)
        torch.testing.assert_close(out, caught["out"], atol=1e-5, rtol=1e-4)
    maps = attention_received(model, images)
    assert maps.shape == (2, 2, 8, 8)  # last block: 2 heads on the 8x8 grid
    torch.testing.assert_close(maps.mean((-1, -2)), torch.full((2, 2), 1 / 16))
    tables = relative_bias_tables(model)
    assert [tuple(t.shape) for t in tables] == [(1, 7, 7), (2, 7, 7)]


# ---- command line ----------------------------------------------------------------------------


def test_cli_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert all(
        opt in text for opt in ("--model", "--epochs", "--data-dir", "--out", "--resume", "--quick", "--synthetic")
    )


def test_cli_trains_stops_and_resumes_on_synthetic_data(tmp_path, capsys):
    args = [
        "--quick",
        "--synthetic",
        "--out",
        str(tmp_path / "run"),
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--train-subset",
        "128",
        "--test-subset",
        "64",
        "--max-minutes",
        "0",
        "--no-progress",
    ]
    assert main(args + ["--stop-after", "1"]) == 0
    assert len(load_history(tmp_path / "run" / "history.json")["history"]) == 1
    assert main(["--out", str(tmp_path / "run"), "--resume", "--synthetic", "--no-progress"]) == 0
    saved = load_history(tmp_path / "run" / "history.json")
    assert [h["epoch"] for h in saved["history"]] == [1, 2] and saved["model"] == "swin_micro"
    assert (tmp_path / "run" / "curves.png").stat().st_size > 1000  # drawn by the command line
    assert "SYNTHETIC" in capsys.readouterr().out


# ---- honest evaluation: the validation split, the chosen epoch, the test set once -------------


def test_validation_split_is_disjoint_fixed_by_the_seed_and_a_tenth_by_default():
    tr, va = split_train_val(50_000, 5_000, seed=3)
    assert len(tr) == 45_000 and len(va) == 5_000 and not set(tr) & set(va)
    assert np.array_equal(va, split_train_val(50_000, 5_000, seed=3)[1])
    assert not np.array_equal(va, split_train_val(50_000, 5_000, seed=4)[1])
    with pytest.raises(ValueError, match="leave training images"):
        split_train_val(100, 100, seed=0)


def test_the_tested_model_is_the_epoch_with_the_best_validation_accuracy(data):
    result = train(tiny_model(), data, tiny_cfg(epochs=4), device="cpu", progress=False)
    val = [h["val_acc"] for h in result.history]
    assert result.best_epoch == 1 + int(np.argmax(val)) and result.best_val_acc == max(val)
    assert result.test["epoch"] == result.best_epoch
    # the returned model holds that epoch's weights: its validation accuracy is the recorded one
    train_idx, val_idx = split_train_val(len(data.train_labels), len(data.train_labels) // 10, 0)
    again = evaluate(result.model, data.train_images[val_idx], data.train_labels[val_idx], device="cpu")
    assert again["acc"] == pytest.approx(result.best_val_acc)


def test_early_stopping_ends_the_run_after_patience_epochs_without_progress(data):
    cfg = tiny_cfg(epochs=6, lr=1e-12, min_lr=0.0, patience=2, mixup_alpha=0.0, cutmix_alpha=0.0, erase_prob=0.0)
    result = train(tiny_model(), data, cfg, device="cpu", progress=False)
    assert result.best_epoch == 1 and len(result.history) == 3  # a frozen model never beats epoch 1


def test_track_test_records_the_test_curve_without_choosing_with_it(data):
    result = train(tiny_model(), data, tiny_cfg(epochs=2, track_test=True), device="cpu", progress=False)
    assert all("test_acc" in h and "val_acc" in h for h in result.history)


def test_accuracy_interval_is_about_three_points_on_1000_images():
    lo, hi = accuracy_interval(0.5, 1000)
    assert 0.468 < lo < 0.47 and 0.53 < hi < 0.532
    lo, hi = accuracy_interval(1.0, 50)
    assert hi == 1.0 and lo > 0.9
    with pytest.raises(ValueError, match="at least one image"):
        accuracy_interval(0.5, 0)


# ---- the step in the open ---------------------------------------------------------------------


def _twins_and_batch(data):
    """Two models with the same weights, and one normalised batch of 8 with smoothed targets."""
    torch.manual_seed(0)
    a, b = tiny_model(), tiny_model()  # tiny_model seeds itself: the same weights
    x = normalize(torch.as_tensor(data.train_images[:8]))
    t = soft_targets(torch.as_tensor(data.train_labels[:8]), 10, 0.1)
    return a, b, x, t


def test_train_step_is_the_hand_written_step(data):
    a, b, x, t = _twins_and_batch(data)
    opt_a = torch.optim.AdamW(param_groups(a, 0.05), lr=1e-3)
    opt_b = torch.optim.AdamW(param_groups(b, 0.05), lr=1e-3)
    loss_a, _ = train_step(a, opt_a, x, t, None, grad_clip=1.0)
    logits = b(x)
    loss_b = -(t * F.log_softmax(logits, -1)).sum(-1).mean()
    opt_b.zero_grad()
    loss_b.backward()
    torch.nn.utils.clip_grad_norm_(b.parameters(), 1.0)
    opt_b.step()
    assert torch.equal(loss_a, loss_b.detach())
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name


def test_train_step_reports_the_gradient_norm_before_clipping(data):
    a, b, x, t = _twins_and_batch(data)
    stats: dict = {}
    train_step(a, torch.optim.SGD(a.parameters(), lr=0.0), x, t, None, grad_clip=1e-3, stats=stats)
    loss = -(t * F.log_softmax(b(x), -1)).sum(-1).mean()
    loss.backward()
    unclipped = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in b.parameters()]))
    assert unclipped > 1e-3  # so the clip at 1e-3 did act on a's gradients
    torch.testing.assert_close(stats["grad_norm"], unclipped)
    clipped = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in a.parameters()]))
    torch.testing.assert_close(clipped, torch.tensor(1e-3), rtol=1e-3, atol=0)
    stats.clear()  # without clipping the norm is still reported
    train_step(a, torch.optim.SGD(a.parameters(), lr=0.0), x, t, None, grad_clip=None, stats=stats)
    torch.testing.assert_close(stats["grad_norm"], unclipped)


class _NoTruthValue(torch.nn.Module):
    """Like torch.compile's wrapper: asking its truth value raises (its __len__ refuses)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.inner = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)

    def __len__(self) -> int:
        raise TypeError("does not support len()")


def test_train_step_calls_a_compiled_forward_without_asking_its_truth_value(data):
    a, b, x, t = _twins_and_batch(data)
    opt_a = torch.optim.AdamW(param_groups(a, 0.05), lr=1e-3)
    opt_b = torch.optim.AdamW(param_groups(b, 0.05), lr=1e-3)
    loss_a, _ = train_step(a, opt_a, x, t, None, 1.0, forward=_NoTruthValue(a))
    loss_b, _ = train_step(b, opt_b, x, t, None, 1.0)
    assert torch.equal(loss_a, loss_b)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_param_groups_decay_only_weight_matrices():
    model = tiny_model()
    decay, no_decay = param_groups(model, 0.05)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 and "bias_table" not in names[id(p)] for p in decay["params"])
    assert any("relative_position_bias_table" in names[id(p)] for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))
    absolute = build_model("swin_micro", position="absolute")
    _, exempt = param_groups(absolute, 0.05)
    assert any(p is absolute.absolute_pos_embed for p in exempt["params"])  # as the official recipe


def test_precision_is_bf16_on_ampere_and_newer_fp16_with_scaling_before(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    assert choose_precision("cuda") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))  # T4, RTX 20xx
    assert choose_precision("cuda") == torch.float16 and choose_precision("cuda", True) == torch.float16
    assert choose_precision("cuda", False) is None
    assert choose_precision("cpu") is None and choose_precision("cpu", True) == torch.bfloat16


def test_fp16_loss_scaling_step_matches_the_unscaled_step_on_the_cpu(data):
    a, b, x, t = _twins_and_batch(data)
    opt_a = torch.optim.AdamW(param_groups(a, 0.05), lr=1e-3)
    opt_b = torch.optim.AdamW(param_groups(b, 0.05), lr=1e-3)
    train_step(a, opt_a, x, t, None, 1.0)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    train_step(b, opt_b, x, t, None, 1.0, scaler=scaler)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb, msg=name)


# ---- a trainer that never loses or mislabels a run ---------------------------------------------


def test_a_non_finite_weight_is_never_checkpointed_and_the_message_names_the_epoch_kept(data, tmp_path):
    model = tiny_model()

    def poison(record):
        if record["epoch"] == 2:  # after epoch 2's checkpoint: epoch 3 starts from an infinite weight
            with torch.no_grad():
                model.head.weight[0, 0] = float("inf")

    with pytest.raises(NonFiniteLossError, match="checkpoint of epoch 2"):
        train(
            model, data, tiny_cfg(epochs=5, log_every=100), device="cpu", out=tmp_path, progress=False, callback=poison
        )
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["epoch"] == 2 and all(bool(torch.isfinite(v.float()).all()) for v in ckpt["model"].values())


def test_a_huge_learning_rate_from_the_command_line_keeps_only_finite_checkpoints(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "--quick",
            "--synthetic",
            "--lr",
            "100",
            "--warmup-epochs",
            "0",
            "--epochs",
            "12",
            "--batch-size",
            "32",
            "--train-subset",
            "64",
            "--test-subset",
            "32",
            "--max-minutes",
            "0",
            "--no-compile",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    if code == 0:  # it happened to stay finite: every checkpoint then was
        kept = load_checkpoint(out / "checkpoint.pt")
    else:
        assert code == 1 and "non-finite" in err or "became" in err
        kept = load_checkpoint(out / "checkpoint.pt") if (out / "checkpoint.pt").exists() else None
        if kept is None:
            assert "No checkpoint was written" in err
        else:
            assert f"checkpoint of epoch {kept['epoch']}" in err
    if kept is not None:
        assert all(bool(torch.isfinite(v.float()).all()) for v in kept["model"].values())
        assert all(math.isfinite(h["train_loss"]) and math.isfinite(h["val_loss"]) for h in kept["history"])


def test_a_new_run_into_a_folder_holding_a_run_is_refused_unless_overwrite(data, tmp_path):
    train(tiny_model(), data, tiny_cfg(epochs=1), device="cpu", out=tmp_path, progress=False)
    with pytest.raises(FileExistsError, match="resume.*overwrite"):
        train(tiny_model(), data, tiny_cfg(epochs=1), device="cpu", out=tmp_path, progress=False)
    result = train(tiny_model(), data, tiny_cfg(epochs=2), device="cpu", out=tmp_path, progress=False, overwrite=True)
    assert len(load_history(tmp_path / "history.json")["history"]) == len(result.history) == 2


def test_cli_refuses_to_overwrite_a_run_and_names_resume_and_overwrite(tmp_path, capsys):
    (tmp_path / "history.json").write_text("{}")
    with pytest.raises(SystemExit):
        main(["--quick", "--synthetic", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert "--resume" in err and "--overwrite" in err and "--out" in err


def test_resume_refuses_other_data_and_names_what_differs(data, tmp_path):
    train(tiny_model(), data, tiny_cfg(epochs=3), device="cpu", out=tmp_path, progress=False, until_epoch=1)
    with pytest.raises(ValueError, match="train_images: saved 96, now 15"):
        train(
            tiny_model(),
            synthetic_cifar10(15, 32, seed=1),
            None,
            device="cpu",
            out=tmp_path,
            progress=False,
            resume=True,
        )
    with pytest.raises(ValueError, match="labels_sha256"):
        train(
            tiny_model(),
            synthetic_cifar10(96, 32, seed=2),
            None,
            device="cpu",
            out=tmp_path,
            progress=False,
            resume=True,
        )
    with pytest.raises(ValueError, match="given config differs.*epochs"):
        train(tiny_model(), data, tiny_cfg(epochs=9), device="cpu", out=tmp_path, progress=False, resume=True)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["data"]["source"] == "synthetic stand-in" and ckpt["config"] == tiny_cfg(epochs=3).to_dict()


def test_cli_resume_refuses_flags_that_would_change_the_recipe(tmp_path, capsys):
    for flags in (["--epochs", "5"], ["--lr", "0.1"], ["--model", "swin_cifar"]):
        with pytest.raises(SystemExit):
            main(["--out", str(tmp_path), "--resume", "--synthetic", *flags])
        err = capsys.readouterr().err
        assert flags[0] in err and "another --out" in err


def test_the_same_seed_gives_the_same_model_and_the_same_checkpoint(tmp_path):
    a, b = build_model("swin_micro", seed=5), build_model("swin_micro", seed=5)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    c = build_model("swin_micro", seed=6)
    assert not torch.equal(a.head.weight, c.head.weight)
    args = [
        "--quick",
        "--synthetic",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--train-subset",
        "128",
        "--test-subset",
        "32",
        "--max-minutes",
        "0",
        "--no-progress",
        "--seed",
        "7",
    ]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0 and main([*args, "--out", str(tmp_path / "b")]) == 0
    ka, kb = load_checkpoint(tmp_path / "a" / "checkpoint.pt"), load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    for name, v in ka["model"].items():
        assert torch.equal(v, kb["model"][name]), name


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--weight-decay", "-0.1"], "--weight-decay"),
        (["--seed", "-1"], "--seed"),
        (["--drop-path", "1.5"], "--drop-path"),
        (["--lr", "1e-4", "--min-lr", "1e-3"], "--min-lr"),
        (["--epochs", "0"], "--epochs"),
        (["--lr", "nan"], "--lr"),
    ],
)
def test_cli_errors_are_messages_that_name_the_flag(flags, named, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--quick", "--synthetic", "--out", str(tmp_path / "run"), *flags])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


def test_load_checkpoint_refuses_empty_foreign_and_malicious_files_without_running_them(tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_checkpoint(empty)
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint\n")
    with pytest.raises(ValueError, match="notes.pt") as e:
        load_checkpoint(text)
    assert "weights_only=False" not in str(e.value)
    foreign = tmp_path / "weights.pt"
    torch.save({"model": {}}, foreign)
    with pytest.raises(ValueError, match="not a swinlab training checkpoint"):
        load_checkpoint(foreign)
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "checkpoint.pt"
    torch.save({"model": Exploit()}, evil)
    with pytest.raises(ValueError) as e:
        load_checkpoint(evil)
    assert "checkpoint.pt" in str(e.value) and "weights_only=False" not in str(e.value) and e.value.__cause__ is None
    assert not marker.exists()


def test_an_interrupted_checkpoint_write_keeps_the_previous_checkpoint(data, tmp_path, monkeypatch):
    real_save, calls = torch.save, {"n": 0}

    def dying_save(obj, f, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second epoch's write dies half-way
            with open(f, "wb") as handle:
                handle.write(b"PK\x03\x04 half a file")
            raise KeyboardInterrupt
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", dying_save)
    result = train(tiny_model(), data, tiny_cfg(epochs=3), device="cpu", out=tmp_path, progress=False)
    monkeypatch.setattr(torch, "save", real_save)
    assert result.interrupted and result.test is None
    assert load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_half_written_files_of_a_killed_run_are_removed_by_the_next_run(data, tmp_path):
    (tmp_path / ".checkpoint.pt.abc123.tmp").write_bytes(b"half")
    train(tiny_model(), data, tiny_cfg(epochs=1), device="cpu", out=tmp_path, progress=False)
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_data_fingerprint_names_its_source_and_changes_with_the_labels():
    from types import SimpleNamespace

    from swinlab.train import data_fingerprint

    a = SimpleNamespace(train_labels=np.arange(10) % 10, test_labels=np.zeros(4, dtype=np.int64))
    b = SimpleNamespace(**vars(a), source="CIFAR-10 (JPEG re-encoding)")
    assert data_fingerprint(a)["source"] == "CIFAR-10"
    assert data_fingerprint(b)["source"] == "CIFAR-10 (JPEG re-encoding)"
    c = SimpleNamespace(train_labels=np.arange(10)[::-1] % 10, test_labels=a.test_labels)
    assert data_fingerprint(c)["labels_sha256"] != data_fingerprint(a)["labels_sha256"]
    assert data_fingerprint(synthetic_cifar10(8, 4))["source"] == "synthetic stand-in"


class _CompilerError(Exception):
    """Stands in for a torch.compile build failure (its classes live in torch._dynamo / torch._inductor)."""


_CompilerError.__module__ = "torch._inductor.exc"


def _compiled_that_fails(error: Exception):
    def compile(model):
        def forward(x):
            raise error

        return forward

    return compile


def test_a_compile_failure_falls_back_to_the_eager_model_and_is_recorded(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch, "compile", _compiled_that_fails(_CompilerError("C++ compile error\nCommand: g++ ...")))
    result = train(tiny_model(), data, tiny_cfg(epochs=2, compile=True), device="cpu", out=tmp_path, progress=False)
    assert len(result.history) == 2 and result.test is not None
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["compile_failed"] == "_CompilerError: C++ compile error" and saved["compiled"] is False
    assert "torch.compile failed (_CompilerError: C++ compile error); training goes on without it" in (
        capsys.readouterr().err
    )
    # the same run never compiled: identical weights (the failed attempt moved nothing)
    plain = train(tiny_model(), data, tiny_cfg(epochs=2, compile=False), device="cpu", progress=False)
    assert all(
        torch.equal(a, b)
        for a, b in zip(result.model.state_dict().values(), plain.model.state_dict().values(), strict=True)
    )


def test_an_error_that_is_not_the_compilers_is_not_swallowed(data, monkeypatch):
    monkeypatch.setattr(torch, "compile", _compiled_that_fails(RuntimeError("CUDA out of memory")))
    with pytest.raises(RuntimeError, match="out of memory"):
        train(tiny_model(), data, tiny_cfg(epochs=1, compile=True), device="cpu", progress=False)


def test_running_out_of_memory_names_the_batch_size_and_what_to_try(data, tmp_path, monkeypatch):
    from swinlab import train as train_module

    real_step = train_module._Run.step
    calls = []

    def step(self, x, targets):  # the second epoch's first step runs out of memory
        calls.append(1)
        if len(calls) > 3:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self, x, targets)

    monkeypatch.setattr(train_module._Run, "step", step)
    cfg = tiny_cfg(epochs=3, batch_size=32)  # 96 images: 3 steps an epoch
    with pytest.raises(torch.OutOfMemoryError) as info:
        train(tiny_model(), data, cfg, device="cpu", out=tmp_path, progress=False)
    message = str(info.value)
    assert "out of memory while training (epoch 2), swin_micro with batch_size=32" in message
    assert f"batch_size=16 (--batch-size 16) and lr={cfg.lr / 2:g}" in message
    assert "The checkpoint of epoch 1" in message and "Tried to allocate 2.00 GiB" in message
    assert load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 1  # what was learned is kept


def test_running_out_of_memory_while_evaluating_says_so(data, monkeypatch):
    from swinlab import train as train_module

    def evaluate(self, split):
        raise torch.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(train_module._Run, "evaluate", evaluate)
    with pytest.raises(torch.OutOfMemoryError, match=r"while evaluating epoch 1, .*eval_batch_size=\d+ \(now"):
        train(tiny_model(), data, tiny_cfg(epochs=1), device="cpu", progress=False)
