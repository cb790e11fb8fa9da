"""Lesson 09: the ViT baseline (shapes, parameters, FLOPs against the counter, gradients), the paper's models
and their throughput, and the activation memory counted against its formula."""

from __future__ import annotations

import json
import time

import pytest
import torch
from torch import nn

from swinlab.complexity import count_flops, vit_macs
from swinlab.model import swin_cifar, swin_micro
from swinlab.vit import (
    MODEL_PAIRS,
    OP_KINDS,
    PAPER_TABLE1,
    SAME_NETWORK,
    ViT,
    activation_bytes_formula,
    block_activation_floats,
    compare_inference,
    count_parameters,
    crossover,
    cuda_peak_training_bytes,
    deit_b,
    deit_s,
    global_attention,
    measure_throughput,
    memory_vs_resolution,
    op_time_breakdown,
    paper_models,
    paper_throughput,
    saved_activation_bytes,
    throughput_ratios,
    time_forward,
    vit_b16,
    vit_cifar,
    vit_cifar_lite,
    vit_micro,
)
from swinlab.vit import main as vit_main


def tiny_vit(**kwargs) -> ViT:
    return ViT(
        **{
            "img_size": 16,
            "patch_size": 4,
            "embed_dim": 32,
            "depth": 2,
            "num_heads": 4,
            "mlp_ratio": 2.0,
            "num_classes": 5,
            "drop_path_rate": 0.0,
            **kwargs,
        }
    )


def test_vit_cifar_has_about_swin_cifar_parameters():
    n_vit, n_swin = count_parameters(vit_cifar()), count_parameters(swin_cifar())
    assert n_vit == 6_924_810
    assert abs(n_vit - n_swin) / n_swin < 0.02


def test_vit_micro_has_about_swin_micro_parameters():
    n_vit, n_swin = count_parameters(vit_micro()), count_parameters(swin_micro())
    assert n_vit == 401_098
    assert abs(n_vit - n_swin) / n_swin < 0.03


def test_vit_cifar_lite_costs_about_swin_cifar_at_32_pixels():
    vit, swin = vit_cifar_lite().macs()["total"], swin_cifar().macs()["total"]
    assert abs(vit - swin) / swin < 0.06


def test_vit_shapes_cls_token_first_and_logits():
    model = tiny_vit().eval()
    images = torch.randn(3, 3, 16, 16)
    tokens = model.forward_features(images)
    assert tokens.shape == (3, 1 + 4 * 4, 32)
    assert model.pos_embed.shape == (1, 17, 32) and model.cls_token.shape == (1, 1, 32)
    logits = model(images)
    assert logits.shape == (3, 5)
    torch.testing.assert_close(logits, model.head(tokens[:, 0]))


def test_vit_cifar_maps_cifar_images_to_ten_logits():
    assert vit_micro().eval()(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("kwargs", [{}, {"mlp_ratio": 1.5, "qkv_bias": False}, {"img_size": 24, "patch_size": 2}])
def test_vit_macs_formula_equals_flop_counter_exactly(kwargs):
    model = tiny_vit(fused=False, **kwargs).eval()
    size = model.config["img_size"]
    flops = count_flops(model, torch.randn(2, 3, size, size))
    assert flops == 2 * 2 * model.macs()["total"]  # 2 images, 2 FLOPs per MAC


def test_vit_macs_is_complexity_vit_macs():
    model = vit_cifar()
    assert model.macs() == vit_macs(32, 2, 3, 256, 13, 2.0, 10)
    assert model.macs(64)["total"] == vit_macs(64, 2, 3, 256, 13, 2.0, 10)["total"]


def test_fused_and_explicit_attention_compute_the_same_function():
    torch.manual_seed(0)
    explicit = tiny_vit(fused=False).eval()
    fused = tiny_vit(fused=True).eval()
    fused.load_state_dict(explicit.state_dict())
    images = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(fused(images), explicit(images), atol=1e-5, rtol=1e-4)


def test_global_attention_equals_torch_multihead_attention():
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(32, 4, batch_first=True).eval()
    x = torch.randn(2, 9, 32)
    expected, _ = mha(x, x, x, need_weights=False)
    for fused in (False, True):
        got = global_attention(
            x, mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias, 4, fused=fused
        )
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_attention_is_global_every_token_sees_every_other():
    torch.manual_seed(0)
    model = tiny_vit(depth=1).eval()
    images = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        before = model.forward_features(images)
        images[..., -4:, -4:] += 1.0  # change the last patch only
        after = model.forward_features(images)
    # one block of global attention already carries the change to every token, the [CLS] token included
    assert ((after - before).abs().amax(dim=-1) > 1e-6).all()


@pytest.mark.parametrize("fused", [False, True])
def test_gradients_reach_every_parameter(fused):
    torch.manual_seed(0)
    model = tiny_vit(fused=fused, drop_path_rate=0.1)
    loss = nn.functional.cross_entropy(model(torch.randn(4, 3, 16, 16)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_initialisation_is_swins_truncated_normal():
    torch.manual_seed(0)
    model = vit_micro()
    with torch.no_grad():
        for w in (model.blocks[0].mlp.fc1.weight, model.blocks[-1].attn.qkv.weight, model.pos_embed):
            assert abs(float(w.std()) - 0.02) < 0.002 and abs(float(w.mean())) < 0.002
        assert model.blocks[0].attn.qkv.bias.abs().sum() == 0
        assert (model.norm.weight == 1).all() and (model.norm.bias == 0).all()


def test_stochastic_depth_grows_linearly_with_depth():
    model = tiny_vit(depth=3, drop_path_rate=0.2)
    assert [b.drop_path.p for b in model.blocks] == pytest.approx([0.0, 0.1, 0.2])


def test_wrong_resolution_is_a_value_error_naming_the_sizes():
    model = tiny_vit()
    with pytest.raises(ValueError, match=r"8x8 patch grid.*4x4.*ViT\(img_size=32"):
        model(torch.randn(1, 3, 32, 32))


def test_image_size_not_divisible_by_patch_is_a_value_error():
    with pytest.raises(ValueError, match="img_size=30 is not divisible by patch_size=4"):
        ViT(img_size=30, patch_size=4)


def test_heads_must_divide_channels():
    with pytest.raises(ValueError, match="num_heads=5"):
        tiny_vit(num_heads=5)


def test_compare_inference_rows_are_consistent_with_the_models():
    rows = compare_inference([32, 64], pair="micro", repeats=1, min_seconds=0.0)
    assert [(r["model"], r["img_size"]) for r in rows] == [("ViT", 32), ("Swin", 32), ("ViT", 64), ("Swin", 64)]
    for r in rows:
        vit_build, swin_build = MODEL_PAIRS["micro"]
        model = (vit_build if r["model"] == "ViT" else swin_build)(img_size=r["img_size"])
        assert r["macs"] == model.macs()["total"] and r["flops"] == 2 * r["macs"]
        assert r["params"] == count_parameters(model)
        assert r["tokens"] == (r["img_size"] // 2) ** 2
        assert r["seconds"] > 0 and r["images_per_s"] == pytest.approx(r["batch_size"] / r["seconds"])
    by = {(r["model"], r["img_size"]): r for r in rows}
    # ViT's cost grows faster than 4x when the side doubles (tokens x4, attention x16); Swin's stays near 4x
    assert by["ViT", 64]["macs"] / by["ViT", 32]["macs"] > 4.5
    assert by["Swin", 64]["macs"] / by["Swin", 32]["macs"] < 4.1


def test_compare_inference_rejects_an_unknown_pair():
    with pytest.raises(ValueError, match="pair='deit'"):
        compare_inference([32], pair="deit")


def _rows(values: dict[int, tuple[float, float]]) -> list[dict]:
    rows = []
    for size, (vit, swin) in values.items():
        rows += [
            {"model": "ViT", "img_size": size, "images_per_s": vit, "seconds": 1 / vit},
            {"model": "Swin", "img_size": size, "images_per_s": swin, "seconds": 1 / swin},
        ]
    return rows


def test_crossover_is_the_size_from_which_swin_stays_ahead():
    rows = _rows({32: (10.0, 5.0), 64: (4.0, 5.0), 96: (1.0, 3.0)})
    assert crossover(rows) == 64
    assert crossover(rows, key="seconds") == 64
    assert crossover(_rows({32: (10.0, 5.0), 64: (4.0, 5.0), 96: (3.0, 2.0)})) is None
    assert crossover(_rows({32: (1.0, 5.0), 64: (0.5, 4.0)})) == 32


def test_time_forward_stops_at_its_time_limit():
    calls = []

    def slow(images):
        calls.append(1)
        time.sleep(0.05)

    seconds = time_forward(slow, torch.zeros(1), repeats=20, warmup=1, max_seconds=0.12)
    assert seconds >= 0.05
    assert len(calls) <= 4  # not 21


def test_time_forward_repeats_fast_calls_until_min_seconds():
    calls = []
    time_forward(lambda images: calls.append(1), torch.zeros(1), repeats=2, warmup=1, min_seconds=0.02)
    assert len(calls) > 3  # more than warmup + repeats


# ---- [CLS] or average pooling ----------------------------------------------------------------


def test_mean_pooling_has_no_cls_token_and_reads_the_average_of_the_tokens():
    torch.manual_seed(0)
    model = tiny_vit(pool="mean").eval()
    assert model.cls_token is None and model.pos_embed.shape == (1, 16, 32)
    images = torch.randn(2, 3, 16, 16)
    tokens = model.forward_features(images)
    assert tokens.shape == (2, 16, 32)
    torch.testing.assert_close(model(images), model.head(tokens.mean(dim=1)))
    assert count_parameters(tiny_vit()) - count_parameters(model) == 32 + 32  # the [CLS] token and its position
    assert model.macs()["total"] == vit_macs(16, 4, 3, 32, 2, 2.0, 5, cls_token=False)["total"]


def test_unknown_pooling_is_a_value_error():
    with pytest.raises(ValueError, match="pool='max'"):
        tiny_vit(pool="max")


# ---- the paper's models (Table 1) ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(PAPER_TABLE1))
def test_paper_models_have_the_papers_parameters_and_cost(name):
    entry = paper_models()[name]
    with torch.device("meta"):  # shapes only: no memory, no time
        model = entry["build"]()
    params_m = count_parameters(model) / 1e6
    assert abs(params_m - entry["paper_params_m"]) < 1.0  # the paper rounds (Swin) or truncates (DeiT-B: 86.6)
    gmacs = model.macs()["total"] / 1e9
    assert abs(gmacs - entry["paper_gflops"]) / entry["paper_gflops"] < 0.02
    assert model.config["img_size"] == entry["img_size"]


def test_deit_s_and_deit_b_have_deits_sizes():
    with torch.device("meta"):
        assert round(count_parameters(deit_s()) / 1e6) == 22
        assert abs(count_parameters(deit_b()) / 1e6 - 86) < 1


def test_vit_b16_is_the_same_network_as_deit_b():
    with torch.device("meta"):
        a, b = vit_b16(img_size=384).state_dict(), deit_b(img_size=384).state_dict()
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
    assert SAME_NETWORK == {"ViT-B/16/384": "DeiT-B/384"}


def test_swin_b_at_384_uses_window_12():
    with torch.device("meta"):
        model = paper_models()["Swin-B/384"]["build"]()
    assert model.stage_windows() == [12, 12, 12, 12]


class _Sleeper(nn.Module):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds, self.calls = seconds, 0
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        self.calls += 1
        time.sleep(self.seconds)
        return x.mean(dim=(1, 2, 3))

    def macs(self):
        return {"total": 10**9}


def test_measure_throughput_is_images_over_the_fastest_batch():
    model = _Sleeper(0.02)
    speed = measure_throughput(model, 8, batch_size=4, steps=3, warmup=1)
    assert model.calls == 4  # 1 warm-up + 3 timed
    assert speed["batch_size"] == 4 and speed["seconds_per_batch"] >= 0.02
    assert speed["images_per_s"] == pytest.approx(4 / speed["seconds_per_batch"])
    assert speed["images_per_s"] <= 4 / 0.02 and speed["median_images_per_s"] <= speed["images_per_s"]
    with pytest.raises(ValueError, match="steps=0"):
        measure_throughput(model, 8, steps=0)


def test_paper_throughput_measures_each_network_once_and_compares_ratios(monkeypatch):
    sleepers = {"Swin-T": _Sleeper(0.02), "DeiT-B/384": _Sleeper(0.01)}
    table = {
        "Swin-T": (lambda: sleepers["Swin-T"], 8, 28, 4.5, 755.2, 81.3),
        "DeiT-B/384": (lambda: sleepers["DeiT-B/384"], 8, 86, 55.4, 85.9, 83.1),
        "ViT-B/16/384": (lambda: sleepers["DeiT-B/384"], 8, 86, 55.4, 85.9, 77.9),
        "Swin-B/384": (lambda: _Sleeper(0.01), 8, 88, 47.0, 84.7, 84.5),
    }
    monkeypatch.setattr("swinlab.vit.PAPER_TABLE1", table)
    rows = paper_throughput(["Swin-T", "DeiT-B/384", "ViT-B/16/384", "Swin-B/384"], batch_size=2, steps=2, warmup=0)
    assert [r["model"] for r in rows] == ["Swin-T", "DeiT-B/384", "ViT-B/16/384", "Swin-B/384"]
    assert sleepers["DeiT-B/384"].calls == 2  # ViT-B/16/384 is the same network: measured once
    assert rows[2]["same_as"] == "DeiT-B/384" and rows[2]["images_per_s"] == rows[1]["images_per_s"]
    assert rows[0]["images_per_s"] < rows[1]["images_per_s"]  # 20 ms against 10 ms per batch
    ratios = throughput_ratios(rows)
    assert [(r["a"], r["b"]) for r in ratios] == [("Swin-B/384", "DeiT-B/384"), ("Swin-B/384", "ViT-B/16/384")]
    assert ratios[0]["paper_ratio"] == pytest.approx(84.7 / 85.9)
    assert ratios[1]["top1_gain"] == pytest.approx(84.5 - 77.9)
    with pytest.raises(ValueError, match="unknown models"):
        paper_throughput(["ResNet-50"])


def test_throughput_command_writes_json(tmp_path, monkeypatch):
    table = {
        "Swin-T": (lambda: _Sleeper(0.0), 8, 28, 4.5, 755.2, 81.3),
        "DeiT-S": (lambda: _Sleeper(0.0), 8, 22, 4.6, 940.4, 79.8),
    }
    monkeypatch.setattr("swinlab.vit.PAPER_TABLE1", table)
    out = tmp_path / "t.json"
    assert vit_main(["throughput", "--out", str(out), "--batch-size", "2", "--steps", "1", "--warmup", "0"]) == 0
    record = json.loads(out.read_text())
    assert record["batch_size"] == 2 and [r["model"] for r in record["rows"]] == ["Swin-T", "DeiT-S"]
    assert record["ratios"][0]["paper_ratio"] == pytest.approx(755.2 / 940.4)
    with pytest.raises(SystemExit):
        vit_main(["throughput", "--out", str(tmp_path), "--batch-size", "2"])  # a folder
    with pytest.raises(SystemExit):
        vit_main(["throughput", "--out", str(out), "--batch-size", "0"])


# ---- where the time goes ----------------------------------------------------------------------


def test_op_time_breakdown_shares_sum_to_one_and_see_the_matrix_multiplies():
    torch.manual_seed(0)
    shares = op_time_breakdown(tiny_vit(fused=False), torch.randn(2, 3, 16, 16), repeats=1)
    kinds = [*OP_KINDS, "elementwise and other (not counted)"]
    assert sum(shares[k] for k in kinds) == pytest.approx(1.0)
    assert shares["matrix multiplies (counted)"] > 0 and shares["ms_per_forward"] > 0
    assert all(op.startswith("aten::") for ops in OP_KINDS.values() for op in ops)


# ---- memory: what autograd keeps for the backward pass -------------------------------------------


def test_saved_activation_bytes_leaves_out_parameters_and_counts_each_storage_once():
    lin = nn.Linear(8, 4)
    x = torch.randn(3, 8)
    # Linear keeps its input for the weight's gradient; the weight itself is a parameter
    assert saved_activation_bytes(lin, x.view(3, 1, 8).view(3, 8)) == {"bytes": 3 * 8 * 4, "tensors": 1}


def tiny_swin(**kwargs):
    from swinlab.model import SwinTransformer

    return SwinTransformer(
        **{
            "img_size": 32,
            "patch_size": 2,
            "num_classes": 10,
            "embed_dim": 16,
            "depths": (2, 2),
            "num_heads": (2, 4),
            "window_size": 4,
            "mlp_ratio": 2.0,
            "drop_path_rate": 0.0,
            **kwargs,
        }
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: tiny_vit(fused=False),
        lambda: tiny_vit(fused=True),
        lambda: tiny_vit(fused=False, pool="mean"),
        tiny_swin,
        lambda: tiny_swin(img_size=64),
    ],
    ids=["vit-explicit", "vit-fused", "vit-mean", "swin-32", "swin-64"],
)
def test_the_memory_formula_equals_the_bytes_autograd_saves(build):
    torch.manual_seed(0)
    model = build()
    size = model.config["img_size"]
    for batch in (2, 3):
        measured = saved_activation_bytes(model, torch.randn(batch, 3, size, size))["bytes"]
        assert measured == activation_bytes_formula(model, batch)


def test_explicit_attention_keeps_heads_n_squared_floats_per_block_more_than_fused():
    explicit, fused = tiny_vit(fused=False), tiny_vit(fused=True)
    n, heads, depth, batch = 1 + 16, 4, 2, 2
    diff = activation_bytes_formula(explicit, batch) - activation_bytes_formula(fused, batch)
    assert diff == batch * depth * heads * (n * n - n) * 4
    assert block_activation_floats(100, 8, 16, 2, "window", 4) - block_activation_floats(100, 8, 16, 2, "fused") == (
        2 * 100 * 16 - 2 * 100
    )
    with pytest.raises(ValueError, match="window=0"):
        block_activation_floats(10, 8, 16, 2, "window", 0)


def test_memory_vs_resolution_rows_and_no_cuda_peak_on_the_cpu():
    rows = memory_vs_resolution([16], builders={"tiny": lambda **kw: tiny_vit(**kw)}, batch_size=2)
    (row,) = rows
    assert row["measured_bytes"] == row["formula_bytes"] and row["cuda_peak_bytes"] is None
    assert row["tokens"] == 16 and row["macs"] == tiny_vit().macs()["total"]
    assert cuda_peak_training_bytes(tiny_vit(), torch.randn(1, 3, 16, 16)) is None
