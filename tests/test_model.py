"""The Swin Transformer: shapes, sizes, official names, checkpoints, gradients, determinism, FLOPs."""

from __future__ import annotations

import functools
import os
import pickle
import re
import urllib.error

import pytest
import torch

from swinlab.complexity import count_flops
from swinlab.model import (
    OFFICIAL_URLS,
    DropPath,
    SwinBlock,
    SwinTransformer,
    load_official,
    swin_b,
    swin_cifar,
    swin_micro,
    swin_s,
    swin_t,
)
from swinlab.shift import shift_mask


def build_on_meta(factory, **kwargs) -> SwinTransformer:
    """Build a model without allocating its weights (shapes and counts only, instant even for Swin-B)."""
    with torch.device("meta"):
        return factory(**kwargs)


@functools.cache
def built(factory) -> SwinTransformer:
    """One seeded model per configuration, shared by the read-only tests below (building Swin-T takes a while)."""
    torch.manual_seed(0)
    return factory().eval()


def stage_shapes(model: SwinTransformer, images: torch.Tensor) -> list[tuple[int, ...]]:
    shapes = []
    hooks = [layer.register_forward_hook(lambda m, i, out: shapes.append(tuple(out.shape))) for layer in model.layers]
    with torch.no_grad():
        logits = model(images)
    for h in hooks:
        h.remove()
    return shapes + [tuple(logits.shape)]


@pytest.mark.parametrize(
    "factory, batch, expected",
    [
        (swin_micro, 2, [(2, 8, 8, 64), (2, 4, 4, 128), (2, 4, 4, 128), (2, 10)]),
        (swin_cifar, 2, [(2, 8, 8, 192), (2, 4, 4, 384), (2, 4, 4, 384), (2, 10)]),
        (swin_t, 1, [(1, 28, 28, 192), (1, 14, 14, 384), (1, 7, 7, 768), (1, 7, 7, 768), (1, 1000)]),
    ],
)
def test_every_stage_output_has_the_expected_shape(factory, batch, expected):
    model = built(factory)
    size = model.config["img_size"]
    assert stage_shapes(model, torch.randn(batch, 3, size, size)) == expected


@pytest.mark.parametrize(
    "factory, dims, resolutions, windows",
    [
        (swin_s, [96, 192, 384, 768], [56, 28, 14, 7], [7, 7, 7, 7]),
        (swin_b, [128, 256, 512, 1024], [56, 28, 14, 7], [7, 7, 7, 7]),
    ],
)
def test_large_configurations_are_built_stage_by_stage_as_in_the_paper(factory, dims, resolutions, windows):
    model = build_on_meta(factory)
    assert [layer.blocks[0].dim for layer in model.layers] == dims
    assert [layer.blocks[0].input_resolution[0] for layer in model.layers] == resolutions
    assert model.stage_windows() == windows
    assert [len(layer.blocks) for layer in model.layers] == [2, 2, 18, 2]


@pytest.mark.parametrize(
    "factory, expected",
    [
        (swin_t, 28_288_354),
        (swin_s, 49_606_258),
        (swin_b, 87_768_224),
        (swin_cifar, 7_048_612),
    ],
)
def test_parameter_count_matches_the_reference_models(factory, expected):
    assert sum(p.numel() for p in build_on_meta(factory).parameters()) == expected


def test_swin_micro_is_small_enough_for_a_laptop_cpu():
    assert sum(p.numel() for p in swin_micro().parameters()) < 1_000_000


OFFICIAL_KEY = re.compile(
    r"patch_embed\.(proj|norm)\.(weight|bias)"
    r"|layers\.\d+\.blocks\.\d+\.(norm1|attn\.qkv|attn\.proj|norm2|mlp\.fc1|mlp\.fc2)\.(weight|bias)"
    r"|layers\.\d+\.blocks\.\d+\.attn\.relative_position_(bias_table|index)"
    r"|layers\.\d+\.downsample\.norm\.(weight|bias)|layers\.\d+\.downsample\.reduction\.weight"
    r"|norm\.(weight|bias)|head\.(weight|bias)"
)


def test_state_dict_keys_are_exactly_the_official_keys():
    keys = set(built(swin_cifar).state_dict())
    assert all(OFFICIAL_KEY.fullmatch(k) for k in keys), [k for k in keys if not OFFICIAL_KEY.fullmatch(k)]
    per_block = [
        "norm1.weight",
        "norm1.bias",
        "attn.relative_position_bias_table",
        "attn.relative_position_index",
        "attn.qkv.weight",
        "attn.qkv.bias",
        "attn.proj.weight",
        "attn.proj.bias",
        "norm2.weight",
        "norm2.bias",
        "mlp.fc1.weight",
        "mlp.fc1.bias",
        "mlp.fc2.weight",
        "mlp.fc2.bias",
    ]
    expected = {
        "patch_embed.proj.weight",
        "patch_embed.proj.bias",
        "patch_embed.norm.weight",
        "patch_embed.norm.bias",
        "norm.weight",
        "norm.bias",
        "head.weight",
        "head.bias",
    }
    for i, depth in enumerate((2, 6, 4)):
        expected |= {f"layers.{i}.blocks.{j}.{name}" for j in range(depth) for name in per_block}
        if i < 2:  # patch merging closes every stage but the last
            expected |= {
                f"layers.{i}.downsample.norm.weight",
                f"layers.{i}.downsample.norm.bias",
                f"layers.{i}.downsample.reduction.weight",
            }
    assert keys == expected


def test_sdpa_model_equals_explicit_model():
    torch.manual_seed(0)
    explicit = swin_micro(fused=False).eval()
    fused = swin_micro(fused=True).eval()
    fused.load_state_dict(explicit.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), explicit(x), rtol=0, atol=1e-5)


def test_small_feature_map_gets_one_window_and_no_shift():
    # The official rule: if min(H, W) <= M, the window shrinks to the map and nothing is shifted.
    t = build_on_meta(swin_t)
    assert [(b.window_size, b.shift_size) for b in t.layers[3].blocks] == [(7, 0), (7, 0)]  # 7x7 map, M=7
    assert [(b.window_size, b.shift_size) for b in t.layers[2].blocks][:2] == [(7, 0), (7, 3)]  # 14x14 map
    cifar = build_on_meta(swin_cifar)
    assert cifar.stage_windows() == [4, 4, 4]
    assert [b.shift_size for b in cifar.layers[1].blocks] == [0, 2] * 3
    assert [b.shift_size for b in cifar.layers[2].blocks] == [0, 0, 0, 0]  # 4x4 map, M=4
    small = swin_micro(img_size=16)  # maps 8, 4, 2
    assert small.stage_windows() == [4, 4, 2]
    assert [b.shift_size for b in small.layers[2].blocks] == [0, 0]
    with torch.no_grad():
        assert small(torch.randn(1, 3, 16, 16)).shape == (1, 10)


def test_shift_mask_follows_the_feature_map_size():
    torch.manual_seed(0)
    block = SwinBlock(dim=8, input_resolution=(8, 8), num_heads=2, window_size=4, shift_size=2).eval()
    with torch.no_grad():
        block(torch.randn(1, 8, 8, 8))
        block(torch.randn(1, 12, 12, 8))
    assert block.attn_mask.shape == (4, 16, 16)  # the block's own map: the buffer
    assert [tuple(m.shape) for m in block._masks.values()] == [(9, 16, 16)]  # another size: built when seen
    assert torch.equal(block.attention_mask(12, 12, torch.device("cpu")), shift_mask(12, 12, 4, 2))


def test_a_model_builds_no_mask_in_its_forward_at_its_own_size():
    """The masks of the model's own maps are buffers: a forward builds nothing (so a compiled forward
    never traces how a mask is made), and they follow the model's dtype."""
    model = swin_micro().eval().to(torch.float64)
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32, dtype=torch.float64))
    blocks = [b for layer in model.layers for b in layer.blocks]
    assert all(not b._masks for b in blocks)
    assert any(b.attn_mask is not None for b in blocks)
    assert all(b.attn_mask.dtype == torch.float64 for b in blocks if b.attn_mask is not None)
    assert not [k for k in model.state_dict() if k.endswith("attn_mask")]  # not part of the weights


def test_a_compiled_forward_traces_no_mask_building():
    """torch.compile sees the masks as ready buffers: its graph holds none of the ops that build one
    (built inside the graph, they were compiled as CPU code next to the GPU kernels)."""
    graphs = []

    def record(gm: torch.fx.GraphModule, example_inputs: list) -> object:
        graphs.append(gm.code)
        return gm.forward

    model = swin_micro().train()
    torch.compile(model, backend=record)(torch.randn(2, 3, 32, 32))
    code = "\n".join(graphs)
    assert graphs and "torch.where" not in code and "torch.full" not in code and "torch.zeros" not in code


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------


def official_checkpoint(model: SwinTransformer, seed: int = 1) -> dict:
    """``model``'s weights, changed, in the official file layout (with the buffers swinlab rebuilds)."""
    g = torch.Generator().manual_seed(seed)
    state = {
        k: v + 0.1 * torch.randn(v.shape, generator=g) if v.is_floating_point() else v.clone()
        for k, v in model.state_dict().items()
    }
    for i, layer in enumerate(model.layers):
        for j, block in enumerate(layer.blocks):
            mask = block.attention_mask(*block.input_resolution, torch.device("cpu"))
            if mask is not None:  # official files carry attn_mask for shifted blocks only
                state[f"layers.{i}.blocks.{j}.attn_mask"] = mask
    return {"model": state}


def test_load_official_from_a_file_loads_every_weight_and_ignores_derived_buffers(tmp_path):
    torch.manual_seed(0)
    source = swin_micro().eval()
    checkpoint = official_checkpoint(source)
    assert any(k.endswith("attn_mask") for k in checkpoint["model"])
    checkpoint["model"]["layers.0.blocks.0.attn.relative_position_index"] = torch.zeros(16, 16, dtype=torch.long)
    path = tmp_path / "swin_micro.pth"
    torch.save(checkpoint, path)
    model = load_official(swin_micro(), path).eval()
    for k, v in model.state_dict().items():
        if k.endswith("relative_position_index"):
            assert torch.equal(v, source.state_dict()[k])  # rebuilt by swinlab, never read from the file
        else:
            assert torch.equal(v, checkpoint["model"][k]), k
    x = torch.randn(1, 3, 32, 32)
    source.load_state_dict(
        {k: v for k, v in checkpoint["model"].items() if not k.endswith(("attn_mask", "index"))}, strict=False
    )
    with torch.no_grad():
        assert torch.equal(model(x), source(x))


def test_load_official_refuses_a_checkpoint_with_a_missing_weight():
    state = official_checkpoint(swin_micro())["model"]
    del state["layers.1.blocks.0.mlp.fc1.weight"]
    with pytest.raises(ValueError, match=r"missing \['layers\.1\.blocks\.0\.mlp\.fc1\.weight'\]"):
        load_official(swin_micro(), {"model": state})


def test_load_official_refuses_a_mis_shaped_weight_and_names_it():
    state = official_checkpoint(swin_micro())["model"]
    state["head.weight"] = torch.zeros(1000, 128)
    state["head.bias"] = torch.zeros(1000)
    with pytest.raises(ValueError, match=r"head\.weight: checkpoint \(1000, 128\) vs model \(10, 128\)"):
        load_official(swin_micro(), {"model": state})


def test_load_official_refuses_a_file_that_is_not_a_dict(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(3)], path)
    with pytest.raises(ValueError, match="a dict with key 'model', got list"):
        load_official(swin_micro(), path)


class _RunsCode:
    """Unpickling this object would create a file: what a malicious checkpoint does."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_load_official_refuses_a_pickle_that_runs_code(tmp_path, writer):
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pth"
    payload = {"model": {"head.weight": _RunsCode(str(marker))}}
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f, protocol=2)
    with pytest.raises(ValueError, match="refusing to load .* would run code"):
        load_official(swin_micro(), path)
    assert not marker.exists()


def test_load_official_from_a_url_offline_gives_a_clear_connection_error(tmp_path, monkeypatch):
    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(ConnectionError, match="could not download the checkpoint .*swin_tiny.*Offline") as info:
        load_official(build_on_meta(swin_t), OFFICIAL_URLS["swin_t"])
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no urllib traceback
    assert list((tmp_path / "checkpoints").iterdir()) == []  # no half-written file left


def test_load_official_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_official(swin_micro(), tmp_path / "nothing.pth")


# ---------------------------------------------------------------------------------------------
# Training behaviour
# ---------------------------------------------------------------------------------------------


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = swin_micro(drop_path_rate=0.1).train()
    loss = torch.nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_same_seed_gives_same_weights_and_same_training_step():
    def run():
        torch.manual_seed(123)
        model = swin_micro(drop_path_rate=0.2, drop_rate=0.1).train()
        out = model(torch.randn(2, 3, 32, 32))
        return model.state_dict(), out

    (state_a, out_a), (state_b, out_b) = run(), run()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert torch.equal(out_a, out_b)


def test_drop_path_drops_whole_samples_and_keeps_the_expectation():
    torch.manual_seed(0)
    x = torch.ones(10_000, 3)
    y = DropPath(0.25).train()(x)
    assert set(y.unique().tolist()) <= {0.0, torch.tensor(1 / 0.75).item()}  # kept samples scaled by 1/keep
    assert torch.equal(y.min(dim=1).values, y.max(dim=1).values)  # per sample, all or nothing
    assert abs(y.mean().item() - 1.0) < 0.03
    assert torch.equal(DropPath(1.0).train()(x), torch.zeros_like(x))  # no 0/0 when everything drops
    assert torch.equal(DropPath(0.5).eval()(x), x)


# ---------------------------------------------------------------------------------------------
# FLOPs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("factory, image", [(swin_micro, 32), (swin_cifar, 32), (swin_t, 224)])
def test_macs_equal_half_the_flop_counter(factory, image):
    model = built(factory)
    assert 2 * model.macs()["total"] == count_flops(model, torch.randn(1, 3, image, image))


@pytest.mark.parametrize("factory, paper", [(swin_t, 4.5), (swin_s, 8.7), (swin_b, 15.4)])
def test_macs_round_to_the_papers_flops(factory, paper):
    assert round(build_on_meta(factory).macs()["total"] / 1e9, 1) == paper


# ---------------------------------------------------------------------------------------------
# load_official: files that are not checkpoints
# ---------------------------------------------------------------------------------------------


def test_load_official_on_a_text_file_says_text_file_and_not_key_error(tmp_path):
    path = tmp_path / "swin_tiny.pth"
    path.write_text("version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(ValueError, match=r"official checkpoint .*swin_tiny.pth is a text file, not a checkpoint"):
        load_official(swin_micro(), path)


def test_load_official_on_an_empty_file_says_empty(tmp_path):
    path = tmp_path / "swin_tiny.pth"
    path.touch()
    with pytest.raises(ValueError, match=r"swin_tiny.pth is empty \(0 bytes\)") as info:
        load_official(swin_micro(), path)
    assert info.value.__context__ is None or info.value.__suppress_context__  # no bare EOFError above it


def test_load_official_on_a_truncated_file_says_truncated_and_never_advises_weights_only_false(tmp_path):
    path = tmp_path / "swin_micro.pth"
    torch.save({"model": swin_micro().state_dict()}, path)
    path.write_bytes(path.read_bytes()[:4096])
    with pytest.raises(ValueError, match=r"swin_micro.pth is a damaged or truncated zip archive") as info:
        load_official(swin_micro(), path)
    assert "weights_only" not in str(info.value)
    assert info.value.__context__ is None or info.value.__suppress_context__  # torch's message not chained


def test_load_official_never_caches_a_download_that_is_not_a_checkpoint(tmp_path, monkeypatch):
    def error_page(url, dst, *args, **kwargs):
        with open(dst, "w") as f:
            f.write("<html><body>Rate limit exceeded</body></html>")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", error_page)
    with pytest.raises(ValueError, match=r"downloaded from .*swin_tiny.* is a text file.*Nothing was cached"):
        load_official(build_on_meta(swin_t), OFFICIAL_URLS["swin_t"])
    assert list((tmp_path / "checkpoints").iterdir()) == []  # neither the page nor a temporary file is kept


# ---------------------------------------------------------------------------------------------
# Images of another size (the size is fixed at build time)
# ---------------------------------------------------------------------------------------------


def test_images_of_another_size_are_refused_naming_the_built_size_and_the_fix():
    model = swin_micro()
    with pytest.raises(ValueError, match=r"built for 32x32 images.*img_size=64.*or resize them to 32x32"):
        model(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match=r"built for 32x32.*\(B, 3, 32, 32\)"):
        model(torch.randn(1, 3, 32, 48))


def test_a_model_built_for_larger_images_keeps_the_shift_its_maps_allow():
    # 64 pixels, patch 2: maps 32, 16, 8 > M=4, so every stage alternates W-MSA and SW-MSA (at 32 pixels the
    # last map is 4x4 = one window, no shift).
    big = swin_micro(img_size=64)
    assert [[b.shift_size for b in layer.blocks] for layer in big.layers] == [[0, 2], [0, 2], [0, 2]]
    assert [[b.shift_size for b in layer.blocks] for layer in swin_micro().layers] == [[0, 2], [0, 2], [0, 0]]
    with torch.no_grad():
        assert big(torch.randn(1, 3, 64, 64)).shape == (1, 10)


@pytest.mark.parametrize("size", [16, 64])
def test_macs_for_another_size_equal_the_macs_of_the_model_built_for_it(size):
    model = swin_micro(fused=False).eval()
    other = swin_micro(img_size=size, fused=False).eval()
    assert model.macs(size) == other.macs()
    assert 2 * model.macs(size)["total"] == count_flops(other, torch.randn(1, 3, size, size))
    with pytest.raises(ValueError, match="divisible by 8"):
        model.macs(36)


# ---------------------------------------------------------------------------------------------
# Lesson 10's options: shift, position, window
# ---------------------------------------------------------------------------------------------


def seeded(factory, seed=0, **kwargs) -> SwinTransformer:
    torch.manual_seed(seed)
    return factory(**kwargs).eval()


def bias_table_sizes(model: SwinTransformer) -> int:
    """The number of relative-bias entries by the formula: each block has (2M-1)^2 x heads."""
    return sum(
        (2 * block.window_size - 1) ** 2 * block.attn.num_heads for layer in model.layers for block in layer.blocks
    )


def assert_same_state(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("factory", [swin_micro, swin_cifar])
def test_the_default_options_are_the_model_built_without_them_bit_for_bit(factory):
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    plain = seeded(factory)
    explicit = seeded(factory, shift=True, position="relative", window_size=4)
    assert_same_state(plain.state_dict(), explicit.state_dict())
    with torch.no_grad():
        assert torch.equal(plain(x), explicit(x))


def test_shift_false_makes_every_block_w_msa_with_the_same_weights():
    default, unshifted = seeded(swin_micro), seeded(swin_micro, shift=False)
    assert [b.shift_size for layer in unshifted.layers for b in layer.blocks] == [0] * 6
    assert all(b.attention_mask(*b.input_resolution, torch.device("cpu")) is None for b in unshifted.layers[0].blocks)
    assert_same_state(default.state_dict(), unshifted.state_dict())  # a shift has no weights
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(default(x), unshifted(x))  # ... but it changes the function
        for layer in default.layers:  # the same model with every shift set to 0 by hand computes the same
            for block in layer.blocks:
                block.shift_size = 0
        assert torch.equal(default(x), unshifted(x))


def test_position_none_has_no_bias_table_and_equals_the_relative_model_with_zero_tables():
    relative, none = seeded(swin_micro), seeded(swin_micro, position="none")
    assert not [k for k in none.state_dict() if "relative_position" in k or "absolute_pos" in k]
    rel_state = relative.state_dict()
    expected = {k: v for k, v in rel_state.items() if "relative_position" not in k}
    assert_same_state(expected, none.state_dict())  # every other weight equals the default's (same seed)
    n_rel = sum(p.numel() for p in relative.parameters())
    assert sum(p.numel() for p in none.parameters()) == n_rel - bias_table_sizes(relative)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        for name, p in relative.named_parameters():
            if name.endswith("relative_position_bias_table"):
                p.zero_()
        assert torch.equal(none(x), relative(x))


def test_position_absolute_is_the_official_ape_added_to_the_patch_tokens_row_by_row():
    relative, absolute = seeded(swin_micro), seeded(swin_micro, position="absolute")
    none = seeded(swin_micro, position="none")
    state = absolute.state_dict()
    grid, C = 32 // 2, 32
    assert "absolute_pos_embed" in dict(absolute.named_parameters(recurse=False))  # the official name, on the model
    assert state["absolute_pos_embed"].shape == (1, grid * grid, C)  # (1, num_patches, embed_dim)
    assert not [k for k in state if "relative_position" in k]
    n_rel = sum(p.numel() for p in relative.parameters())
    assert sum(p.numel() for p in absolute.parameters()) == n_rel - bias_table_sizes(relative) + grid * grid * C
    assert abs(state["absolute_pos_embed"].std().item() - 0.02) < 0.002  # trunc_normal(std=.02), 8,192 values
    assert_same_state({k: v for k, v in state.items() if k != "absolute_pos_embed"}, none.state_dict())
    seen = {}
    absolute.pos_drop.register_forward_hook(lambda m, inp, out: seen.update(x=inp[0]))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        absolute(x)
        tokens = absolute.patch_embed(x)  # B, 16, 16, C
        ape = state["absolute_pos_embed"][0]  # 256, C: token i sits at row i // 16, column i % 16
        for i in (0, 1, 17, 255):
            torch.testing.assert_close(seen["x"][:, i // grid, i % grid], tokens[:, i // grid, i % grid] + ape[i])
        absolute.absolute_pos_embed.zero_()
        assert torch.equal(absolute(x), none(x))


def test_unknown_position_and_non_bool_shift_are_refused():
    with pytest.raises(ValueError, match="relative.*absolute.*none"):
        swin_micro(position="learned")
    with pytest.raises(ValueError, match="shift must be True"):
        swin_micro(shift=2)


@pytest.mark.parametrize(
    "M, windows, shifts",
    [
        (2, [2, 2, 2], [[0, 1], [0, 1], [0, 1]]),
        (4, [4, 4, 4], [[0, 2], [0, 2], [0, 0]]),  # 4x4 last map: one window, no shift
        (8, [8, 8, 4], [[0, 4], [0, 0], [0, 0]]),  # 16x16 map: 2x2 windows; 8x8 and 4x4: one window each
    ],
)
def test_window_sizes_of_the_32_pixel_model_and_the_windows_each_stage_uses(M, windows, shifts):
    model = seeded(swin_micro, window_size=M)
    assert model.stage_windows() == windows
    assert [[b.shift_size for b in layer.blocks] for layer in model.layers] == shifts
    default = seeded(swin_micro)
    n = sum(p.numel() for p in model.parameters())
    assert n == sum(p.numel() for p in default.parameters()) - bias_table_sizes(default) + bias_table_sizes(model)
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_a_window_that_does_not_tile_a_stage_is_refused_naming_the_windows_that_do():
    from swinlab.model import allowed_windows

    assert allowed_windows(16, 3) == [1, 2, 4, 8, 16]  # maps 16, 8, 4
    assert allowed_windows(56, 4) == [1, 7, 14, 28, 56]  # Swin-T: maps 56, 28, 14, 7
    with pytest.raises(ValueError, match=r"window_size=3 does not tile stage 1's 16x16 map.*\[1, 2, 4, 8, 16\]"):
        swin_micro(window_size=3)


def test_no_weight_decay_names_the_position_tables_of_each_variant():
    assert swin_micro(position="absolute").no_weight_decay() == {"absolute_pos_embed"}
    assert swin_micro(position="none").no_weight_decay() == set()
    names = swin_micro().no_weight_decay()
    assert len(names) == 6 and all(n.endswith("attn.relative_position_bias_table") for n in names)
