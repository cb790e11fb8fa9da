"""Tests for swinlab.bench (lesson 08): throughput, FLOP/s, MFU and memory on tiny sizes on the CPU."""

from __future__ import annotations

import json

import pytest
import torch

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
