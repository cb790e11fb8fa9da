"""The reference run (``swinlab.reference_run``): the JPEG decoder, the time budget, the targets, the paper's
models at their published sizes, a failing part that does not stop the others, and the whole command
rehearsed on the CPU (``--smoke``) on synthetic data."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from swinlab import reference_run as rr
from swinlab.data import CIFAR10_CLASSES, CIFAR10Arrays
from swinlab.model import swin_cifar, swin_t


def _jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _tiny_npz(path, n_train: int = 20, n_test: int = 10, seed: int = 0, **replace) -> dict[str, np.ndarray]:
    """A small cifar10-jpeg.npz, sorted by class as the real one is; image 1 of each split is grayscale."""
    rng = np.random.default_rng(seed)
    d: dict[str, np.ndarray] = {"classes": np.array(CIFAR10_CLASSES)}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        files = [_jpeg(im) for im in images]
        gray = Image.fromarray(images[1]).convert("L")
        buf = io.BytesIO()
        gray.save(buf, format="JPEG")
        files[1] = buf.getvalue()
        d[f"{split}_jpeg"] = np.frombuffer(b"".join(files), dtype=np.uint8)
        d[f"{split}_offsets"] = np.concatenate([[0], np.cumsum([len(f) for f in files])]).astype(np.int64)
        d[f"{split}_labels"] = (np.arange(n) * 10 // n).astype(np.uint8)  # sorted by class
    d.update(replace)
    np.savez(path, **d)
    return d


def _pillow(d: dict[str, np.ndarray], split: str) -> np.ndarray:
    """Each image decoded on its own, as the shared converter does."""
    jpeg, off = d[f"{split}_jpeg"], d[f"{split}_offsets"]
    return np.stack(
        [
            np.asarray(Image.open(io.BytesIO(jpeg[off[i] : off[i + 1]].tobytes())).convert("RGB"))
            for i in range(len(off) - 1)
        ]
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_decoder_gives_pillows_pixels_image_for_image_in_the_arrays_swinlab_data_returns(tmp_path, workers):
    d = _tiny_npz(tmp_path / "c.npz")
    data = rr.decode_jpeg_npz(tmp_path / "c.npz", workers=workers)
    assert isinstance(data, CIFAR10Arrays) and not data.synthetic
    assert data.source == rr.JPEG_SOURCE == "CIFAR-10 (JPEG re-encoding)"
    assert data.classes == CIFAR10_CLASSES
    for split in ("train", "test"):
        images, labels = getattr(data, f"{split}_images"), getattr(data, f"{split}_labels")
        assert images.dtype == np.uint8 and images.shape == (len(d[f"{split}_labels"]), 32, 32, 3)
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(images, _pillow(d, split))
        np.testing.assert_array_equal(labels, d[f"{split}_labels"])
    # the grayscale file became three equal channels
    assert (data.train_images[1, ..., 0] == data.train_images[1, ..., 2]).all()


def test_a_subset_is_drawn_across_the_file_not_its_first_class(tmp_path):
    d = _tiny_npz(tmp_path / "c.npz", n_train=40)
    full = _pillow(d, "train")
    data = rr.decode_jpeg_npz(tmp_path / "c.npz", n_train=12, n_test=4, workers=2, seed=3)
    assert data.train_images.shape == (12, 32, 32, 3) and data.test_images.shape == (4, 32, 32, 3)
    where = [int(np.flatnonzero((full == im).all(axis=(1, 2, 3)))[0]) for im in data.train_images]
    assert where == sorted(set(where))  # distinct images, in file order
    np.testing.assert_array_equal(data.train_labels, d["train_labels"][where])
    assert len(set(data.train_labels.tolist())) > 3  # the file is sorted by class: a front slice would be one class
    again = rr.decode_jpeg_npz(tmp_path / "c.npz", n_train=12, n_test=4, workers=1, seed=3)
    np.testing.assert_array_equal(again.train_images, data.train_images)


def test_decoder_refuses_a_malformed_file_naming_the_key_or_the_image(tmp_path):
    d = _tiny_npz(tmp_path / "ok.npz")
    np.savez(tmp_path / "missing.npz", **{k: v for k, v in d.items() if k != "test_labels"})
    with pytest.raises(ValueError, match=r"lacks \['test_labels'\]"):
        rr.decode_jpeg_npz(tmp_path / "missing.npz")
    short = d["train_offsets"].copy()
    short[-1] -= 1
    _tiny_npz(tmp_path / "offsets.npz", train_offsets=short)
    with pytest.raises(ValueError, match="train_offsets must rise from 0 to len"):
        rr.decode_jpeg_npz(tmp_path / "offsets.npz")
    _tiny_npz(tmp_path / "labels.npz", test_labels=np.full(10, 10, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"test_labels must lie in 0..9"):
        rr.decode_jpeg_npz(tmp_path / "labels.npz")
    broken = d["train_jpeg"].copy()
    start, end = d["train_offsets"][3], d["train_offsets"][4]
    broken[start:end] = 0  # image 3 is no JPEG any more
    _tiny_npz(tmp_path / "broken.npz", train_jpeg=broken)
    for workers in (1, 2):
        with pytest.raises(ValueError, match="image 3 could not be decoded"):
            rr.decode_jpeg_npz(tmp_path / "broken.npz", workers=workers)


@pytest.mark.skipif(not os.environ.get("SWINLAB_JPEG_NPZ"), reason="set SWINLAB_JPEG_NPZ to a cifar10-jpeg.npz")
def test_decoder_on_the_real_file():
    data = rr.decode_jpeg_npz(os.environ["SWINLAB_JPEG_NPZ"], n_train=2000, n_test=500)
    assert data.train_images.shape == (2000, 32, 32, 3) and data.test_images.shape == (500, 32, 32, 3)
    assert set(data.train_labels.tolist()) == set(range(10))
    assert 90 < data.train_images.mean() < 160  # natural images, not noise or blanks
    assert data.classes[0] == "airplane" and data.classes[-1] == "truck"


def test_training_gets_what_is_left_less_the_reserve_or_nothing():
    assert rr.training_budget_s(300.0, 40.0, 30.0) == 260.0
    assert rr.training_budget_s(69.0, 40.0, 30.0) is None
    clock = rr.Clock(1.0, started_s_ago=10.0)
    assert 49.0 < clock.left() <= 50.0 and 10.0 <= clock.elapsed() < 11.0
    assert rr.Clock(8.5).elapsed() > 0  # counted from the process start


def _epoch(epoch: int, elapsed: float, test_acc: float) -> dict[str, float]:
    return {"epoch": epoch, "elapsed_s": elapsed, "test_acc": test_acc, "val_acc": test_acc + 0.001}


def test_targets_say_whether_each_was_met_and_by_how_much_it_was_missed():
    history = [_epoch(1, 60.0, 0.85), _epoch(2, 115.0, 0.91), _epoch(3, 125.0, 0.95), _epoch(4, 300.0, 0.93)]
    test = {"epoch": 4, "acc": 0.9385, "n": 10_000, "ci95": [0.93, 0.94]}
    t = rr.assess_targets(history, test)
    assert t["early"]["met"] and t["early"]["best_test_acc_within"] == 0.91 and t["early"]["epoch"] == 2
    assert t["early"]["first_epoch_reaching_target"] == 2 and t["early"]["missed_by"] is None
    assert not t["final"]["met"] and t["final"]["missed_by"] == pytest.approx(0.0015)
    assert not t["final"]["aim_met"]

    slow = rr.assess_targets([_epoch(1, 100.0, 0.80), _epoch(2, 130.0, 0.92)], {"acc": 0.95, "epoch": 2})
    assert not slow["early"]["met"] and slow["early"]["missed_by"] == pytest.approx(0.10)
    assert slow["early"]["first_elapsed_s_reaching_target"] == 130.0  # reached, but after the 2 minutes
    assert slow["final"]["met"] and slow["final"]["aim_met"] and slow["final"]["missed_by"] is None

    untracked = rr.assess_targets([{"epoch": 1, "elapsed_s": 50.0, "val_acc": 0.5}], None)
    assert not untracked["early"]["met"] and "no per-epoch test curve" in untracked["early"]["note"]
    assert not untracked["final"]["met"] and untracked["final"]["test_acc"] is None


def test_the_smoke_stand_ins_keep_each_paper_models_image_size_and_are_small():
    from swinlab.vit import paper_models

    for name, entry in paper_models().items():
        model = rr.build_paper_model(name, shrink=True)
        assert model.config["img_size"] == entry["img_size"], name
        assert sum(p.numel() for p in model.parameters()) < 200_000, name
    with torch.device("meta"):  # the real one, sizes only
        assert sum(p.numel() for p in rr.build_paper_model("Swin-B/384").parameters()) == 87_903_584


def test_peers_built_from_swinlabs_configuration_match_it_parameter_for_parameter():
    peers = rr._import_peers()
    available = {k: v for k, v in peers.items() if not isinstance(v, str)}
    if not available:
        pytest.skip(f"neither peer can be imported here: {peers}")
    ours = swin_cifar()
    n = sum(p.numel() for p in ours.parameters())
    built = [(label, b) for label, _, b in rr.peer_builders(ours.config, 0.1, peers) if not isinstance(b, str)]
    built += [(label, b) for label, _, b in rr.peer_swin_t_builders(0.2, peers) if not isinstance(b, str)]
    n_t = sum(p.numel() for p in swin_t().parameters())
    for label, build in built:
        model = build()
        expected = n_t if "swin_t" in label or "tiny" in label else n
        assert sum(p.numel() for p in model.parameters()) == expected, label
        if expected == n:
            assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10), label


def test_a_failing_part_is_recorded_and_the_next_part_still_runs(tmp_path, monkeypatch, capsys):
    def broken(device, **kwargs):
        raise RuntimeError("the paper part broke")

    monkeypatch.setattr(rr, "speed_against_peers", lambda device, **kwargs: {"rows": [], "seconds": 0.0})
    monkeypatch.setattr(rr, "paper_throughput", broken)
    code = rr.main(["--smoke", "--parts", "paper,speed", "--out", str(tmp_path)])
    assert code == 1
    paper = json.loads((tmp_path / "paper_throughput_gpu.json").read_text())
    assert paper["status"] == "failed" and "the paper part broke" in paper["reason"]
    speed = json.loads((tmp_path / "gpu_bench.json").read_text())
    assert speed["status"] == "done" and "--parts paper,speed" in speed["command"]
    assert not (tmp_path / "cifar10_gpu_history.json").exists()
    out = capsys.readouterr().out
    assert out.index("-- speed") < out.index("-- paper")  # the parts run in their fixed order


def test_arguments_are_checked_before_anything_runs(tmp_path, capsys):
    with pytest.raises(SystemExit):
        rr.main(["--smoke", "--parts", "speed,bogus", "--out", str(tmp_path)])
    assert "choose a comma-separated subset of speed,paper,train" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        rr.main(["--smoke", "--jpeg-npz", str(tmp_path / "none.npz"), "--out", str(tmp_path)])
    assert "no file at" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit):
        rr.main(["--smoke", "--out", str(tmp_path / "file")])
    assert "is a file" in capsys.readouterr().err
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            rr.main(["--out", str(tmp_path)])
        assert "Rehearse it with --smoke" in capsys.readouterr().err


def test_the_module_imports_no_widget_plotting_or_course_code():
    code = (
        "import sys, swinlab.reference_run; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'matplotlib', 'jupyterlab') "
        "or m.startswith('swinlab.course')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_the_smoke_run_writes_the_three_files_within_its_minutes(tmp_path):
    from swinlab.course.lesson09_swin_vs_vit import throughput_rows_from_json
    from swinlab.vit import PAPER_PAIRS, paper_models

    minutes = 5.0
    proc = subprocess.run(
        [sys.executable, "-m", "swinlab.reference_run", "--smoke", "--out", str(tmp_path), "--minutes", str(minutes)],
        capture_output=True,
        text=True,
        timeout=minutes * 60 + 60,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "== reference run" in proc.stdout
    files = {part: json.loads((tmp_path / name).read_text()) for part, name in rr.OUTPUT_FILES.items()}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(rr.OUTPUT_FILES.values())  # nothing else
    for part, res in files.items():
        assert res["status"] == "done", (part, res.get("reason"))
        assert res["device"].startswith("cpu") and res["torch"] == torch.__version__, part
        assert res["command"].startswith("python -m swinlab.reference_run --smoke"), part
        assert res["date"][:2] == "20", part

    speed = files["speed"]
    rows = {(r["group"], r["model"]): r for r in speed["rows"]}
    ours = rows[("32 px, eager", "swinlab swin_cifar")]
    assert ours["status"] == "ok" and ours["params"] == sum(p.numel() for p in swin_cifar().parameters())
    assert ours["train_images_per_s"] > 0 and ours["infer_images_per_s"] > 0 and ours["batch_size"] == 4
    assert rows[("224 px, eager", "swinlab swin_t")]["params"] == 28_288_354
    for r in speed["rows"]:
        assert r["status"] in ("ok", "skipped", "failed"), r
        if r["status"] != "ok":
            assert r["reason"], r
        elif r["impl"] != "swinlab":
            assert r["params_minus_swinlab"] == 0, r  # the same architecture, parameter for parameter
    assert all(r["status"] == "skipped" and "compile is off" in r["reason"] for r in speed["rows"] if r["compile"])
    assert [c["group"] for c in speed["comparison"]] == ["32 px, eager", "224 px, eager", "32 px, compiled"]

    paper = files["paper"]
    assert paper["smoke_stand_ins"] and [r["model"] for r in paper["rows"]] == list(paper_models())
    for r in paper["rows"]:
        assert r["status"] == "ok" and r["images_per_s_float32"] > 0 and r["images_per_s_bf16"] > 0, r
    assert next(r for r in paper["rows"] if r["model"] == "ViT-B/16/384")["same_as"] == "DeiT-B/384"
    assert [(q["a"], q["b"]) for q in paper["ratios"]] == list(PAPER_PAIRS)
    assert paper["ratios"][0]["paper_ratio"] == pytest.approx(755.2 / 940.4)
    assert all(q["float32"] > 0 and q["bf16"] > 0 for q in paper["ratios"])
    rows = throughput_rows_from_json(paper, precision="bf16")  # lesson 09 reads this file
    assert len(rows) == len(paper_models()) and rows[0]["images_per_s"] == paper["rows"][0]["images_per_s_bf16"]

    trained = files["train"]
    assert trained["data"] == "synthetic stand-in" and trained["model"] == "swin_cifar"
    assert trained["config"]["train_subset"] == 16
    assert trained["config"]["track_test"] and trained["config"]["batch_size"] == 8
    assert len(trained["history"]) >= 1
    for r in trained["history"]:
        for key in ("val_acc", "test_acc", "train_loss", "val_loss", "lr", "images_per_s", "elapsed_s"):
            assert r[key] is not None, key
    assert 0.0 <= trained["test"]["acc"] <= 1.0 and trained["test"]["n"] == 64
    assert set(trained["targets"]) == {"data", "early", "final"}
    assert trained["budget"]["command_seconds_at_end"] < minutes * 60

    # the summaries that the run prints and lesson 08 shows
    report = "\n".join([*rr.speed_summary(speed), *rr.paper_summary(paper), *rr.training_summary(trained)])
    assert all(r["model"] in report for r in speed["rows"]) and all(r["model"] in report for r in paper["rows"])
    assert f"{trained['test']['acc']:.4f}" in report and "within the budget" in report
    assert f"recipe: swin_cifar, peak lr {trained['config']['lr']:g}" in report and "torch.compile off" in report
    assert "swinlab / fastest peer, 32 px, eager" in report or not any(
        r["status"] == "ok" and r["impl"] != "swinlab" for r in speed["rows"]
    )


def test_the_committed_gpu_records_come_from_the_reference_run_on_a_cuda_gpu():
    """The files in assets/ that lessons 08 and 09 and the README quote were written by the command on a GPU
    (not by a CPU rehearsal copied over them)."""
    from pathlib import Path

    assets = Path(__file__).resolve().parents[1] / "assets"
    present = {part: assets / name for part, name in rr.OUTPUT_FILES.items() if (assets / name).exists()}
    if not present:
        pytest.skip("no GPU reference run is committed")
    for part, path in present.items():
        record = json.loads(path.read_text())
        assert record["command"].startswith("python -m swinlab.reference_run"), part
        assert "--smoke" not in record["command"] and record["device"].startswith("NVIDIA"), part
        assert record["status"] == "done" and record["torch"].split("+")[1].startswith("cu"), part
        if part == "train":  # all of CIFAR-10: 45,000 + 5,000 training images, the test set once, whole
            assert (record["n_train"], record["n_val"], record["test"]["n"]) == (45_000, 5_000, 10_000)


def test_the_attention_gradient_check_finds_the_fused_path_right_on_the_cpu():
    check = rr.attention_gradient_check(torch.device("cpu"), batch_size=2)
    assert check["fused_ok"] and check["precision"] == "bfloat16"
    assert check["variants"]["fused float32"]["worst_relative_error"] < 1e-5  # the same function, rounded differently
    assert set(check["variants"]) == {"fused float32", "explicit bfloat16", "fused bfloat16"}


def test_the_attention_gradient_check_fails_a_kernel_with_a_wrong_bias_gradient(monkeypatch):
    """A fused kernel that drops the gradient of its float mask (so the bias tables never learn) is caught."""
    import swinlab.attention as attention

    real = attention.F.scaled_dot_product_attention

    def no_mask_gradient(q, k, v, attn_mask=None, **kwargs):
        return real(q, k, v, attn_mask=None if attn_mask is None else attn_mask.detach(), **kwargs)

    monkeypatch.setattr(attention.F, "scaled_dot_product_attention", no_mask_gradient)
    check = rr.attention_gradient_check(torch.device("cpu"), batch_size=2)
    assert not check["fused_ok"]
    assert check["variants"]["fused float32"]["worst_bias_table_error"] == pytest.approx(1.0)


def test_training_falls_back_to_the_explicit_path_when_the_fused_gradients_disagree(tmp_path, monkeypatch):
    monkeypatch.setattr(rr, "attention_gradient_check", lambda device, batch_size=64: {"fused_ok": False})
    assert rr.main(["--smoke", "--parts", "train", "--out", str(tmp_path)]) == 0
    trained = json.loads((tmp_path / "cifar10_gpu_history.json").read_text())
    assert trained["status"] == "done" and trained["model_kwargs"]["fused"] is False
    assert trained["attention_gradient_check"] == {"fused_ok": False}
