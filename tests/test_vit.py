"""Lesson 09: the ViT baseline (shapes, parameters, FLOPs against the counter, gradients) and the benchmark."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from swinlab.complexity import count_flops, vit_macs
from swinlab.model import swin_cifar, swin_micro
from swinlab.vit import (
    MODEL_PAIRS,
    ViT,
    compare_inference,
    count_parameters,
    crossover,
    global_attention,
    time_forward,
    vit_cifar,
    vit_cifar_lite,
    vit_micro,
)


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
