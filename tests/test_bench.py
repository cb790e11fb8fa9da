"""Tests for swinlab.bench (lesson 08): throughput, FLOP/s, MFU and memory on tiny sizes on the CPU."""

from __future__ import annotations

import json
import re

import pytest
import torch

from swinlab import bench
from swinlab.bench import benchmark, format_table, main, model_macs, peak_tflops
from swinlab.train import build_model

TINY = {"embed_dim": 16, "depths": (1, 1), "num_heads": (1, 2)}


def test_peak_table_knows_datacenter_gpus_and_nothing_else():
    assert peak_tflops("NVIDIA H100 80GB HBM3") == pytest.approx(989.4)
    assert peak_tflops("NVIDIA H100 PCIe") == pytest.approx(756.5)
    assert peak_tflops("NVIDIA H200") == pytest.approx(989.4)
    assert peak_tflops("NVIDIA A100-SXM4-80GB") == pytest.approx(312.0)
    assert peak_tflops("NVIDIA GeForce RTX 3090") is None
    assert peak_tflops("cpu (2 threads)") is None


def test_model_macs_uses_the_analytic_count_and_falls_back_to_the_counter():
    model = build_model("swin_micro", **TINY)
    assert model_macs(model) == model.macs()["total"]
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    assert model_macs(linear) == 3 * 32 * 32 * 10


def test_benchmark_reports_throughput_flops_and_no_mfu_or_memory_on_cpu():
    torch.manual_seed(0)
    r = benchmark(build_model("swin_micro", **TINY), batch_size=4, steps=2, warmup=1, device="cpu")
    assert r["train_images_per_s"] > 0 and r["infer_images_per_s"] > 0
    assert r["train_tflops"] == pytest.approx(r["train_images_per_s"] * 6 * r["macs_per_image"] / 1e12)
    assert r["infer_tflops"] == pytest.approx(r["infer_images_per_s"] * 2 * r["macs_per_image"] / 1e12)
    assert r["peak_tflops"] is None and r["train_mfu"] is None and r["train_peak_memory_gb"] is None
    assert "swin_micro" in format_table([{"model": "swin_micro", **r}])
    with pytest.raises(ValueError, match="batch sizes"):
        benchmark(build_model("swin_micro", **TINY), batch_size=0, device="cpu")


def test_bench_cli_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert (
        main(
            [
                "--model",
                "swin_micro",
                "--batch-size",
                "4",
                "--steps",
                "1",
                "--warmup",
                "0",
                "--device",
                "cpu",
                "--model-kwargs",
                json.dumps({"embed_dim": 16, "depths": [1, 1], "num_heads": [1, 2]}),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "train img/s" in capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved["results"][0]["model"] == "swin_micro" and saved["results"][0]["train_images_per_s"] > 0


# ---------------------------------------------------------------------------------------------
# Command-line errors: an argparse message naming the flag, never a traceback, no .tmp left behind
# ---------------------------------------------------------------------------------------------

QUICK = ["--model", "swin_micro", "--batch-size", "2", "--steps", "1", "--warmup", "0", "--device", "cpu"]
QUICK_KWARGS = ["--model-kwargs", json.dumps(TINY)]


def _cli_error(argv, capsys) -> str:
    """Run the command line, expect argparse's exit (status 2), return what it printed to stderr."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "flag, value, expected",
    [
        ("--batch-size", "0", "argument --batch-size: must be >= 1, got 0"),
        ("--batch-size", "-4", "argument --batch-size: must be >= 1, got -4"),
        ("--batch-size", "many", "argument --batch-size: must be a whole number >= 1, got 'many'"),
        ("--infer-batch-size", "0", "argument --infer-batch-size: must be >= 1, got 0"),
        ("--steps", "0", "argument --steps: must be >= 1, got 0"),
        ("--warmup", "-1", "argument --warmup: must be >= 0"),
        ("--img-size", "0", "argument --img-size: must be >= 1, got 0"),
        ("--img-size", "-32", "argument --img-size: must be >= 1, got -32"),
        ("--device", "gpu0", "argument --device: unknown device 'gpu0'"),
    ],
)
def test_bench_cli_refuses_a_bad_number_naming_the_flag(flag, value, expected, capsys):
    assert expected in _cli_error([*QUICK, flag, value], capsys)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{embed_dim: 16}", r"argument --model-kwargs: '\{embed_dim: 16\}' is not valid JSON"),
        ('{"embed_dim": 16', "argument --model-kwargs: .* is not valid JSON"),
        ("[16]", "argument --model-kwargs: must be a JSON object of keyword arguments, got a JSON list"),
        ("16", "argument --model-kwargs: must be a JSON object of keyword arguments, got a JSON int"),
        ('{"embed": 16}', "cannot build swin_micro with --model-kwargs .*unexpected keyword argument 'embed'"),
    ],
)
def test_bench_cli_refuses_model_kwargs_that_are_not_a_json_object_of_arguments(text, expected, capsys):
    err = _cli_error([*QUICK, "--model-kwargs", text], capsys)
    assert re.search(expected, err), err


def test_bench_cli_names_img_size_when_the_model_cannot_take_it(capsys):
    err = _cli_error([*QUICK, *QUICK_KWARGS, "--img-size", "30"], capsys)
    assert "cannot build swin_micro with --img-size 30" in err and "divisible by" in err


def test_bench_cli_refuses_an_out_folder_before_measuring_and_leaves_no_tmp(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "results"
    folder.mkdir()
    ran = []
    monkeypatch.setattr(bench, "benchmark", lambda *a, **k: ran.append(1))
    err = _cli_error([*QUICK, *QUICK_KWARGS, "--out", str(folder)], capsys)
    assert f"argument --out: {folder} is a folder; give a file name, e.g. --out {folder / 'bench.json'}" in err
    assert not ran  # refused before any measurement
    assert list(tmp_path.rglob("*")) == [folder]  # no .results.tmp beside it, nothing inside it


def test_bench_cli_refuses_an_out_inside_a_file(tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    err = _cli_error([*QUICK, "--out", str(blocker / "bench.json")], capsys)
    assert f"argument --out: {blocker} is a file" in err
    assert blocker.read_text() == "mine" and list(tmp_path.iterdir()) == [blocker]


def test_bench_cli_write_failure_names_out_and_leaves_no_tmp(tmp_path, capsys, monkeypatch):
    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bench.os, "replace", disk_full)
    out = tmp_path / "bench.json"
    with pytest.raises(SystemExit) as info:
        main([*QUICK, *QUICK_KWARGS, "--out", str(out)])
    assert info.value.code == 1
    captured = capsys.readouterr()
    assert "train img/s" in captured.out  # the results were printed before the write failed
    assert f"argument --out: could not write {out} (No space left on device)" in captured.err
    assert list(tmp_path.iterdir()) == []  # neither bench.json nor .bench.json.tmp
