"""swinlab computes the same function as the official Swin Transformer, given the same weights.

The official code (microsoft/Swin-Transformer) and its checkpoints cannot be fetched in CI, so the
reference here is timm's Swin Transformer: an independent implementation that loads the official
checkpoints through its ``checkpoint_filter_fn``. The official state_dict layout differs from timm's
in two places only (timm does patch merging at the start of the next stage and names the classifier
``head.fc``), and that function converts one into the other. swinlab's state_dict is in the official
layout, so it goes through the same conversion an official checkpoint goes through.

timm imports torchvision at import time for things a Swin never uses (datasets, transforms,
FrozenBatchNorm2d). Where torchvision is missing or cannot load beside the installed torch, a
placeholder module stands in for it while timm is imported, and is removed right after.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
import types

import pytest
import torch
from torch import nn

from swinlab.model import SwinTransformer, load_official, swin_cifar, swin_micro, swin_t


class _Placeholder(type):
    """A class whose every attribute is another placeholder class (enough for import-time references)."""

    def __getattr__(cls, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Placeholder(name, (), {})


class _PlaceholderModule(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Placeholder(name, (nn.Module,), {})


class _TorchvisionPlaceholder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _PlaceholderModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module) -> None:
        pass


def _drop_torchvision_modules() -> None:
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]


def _import_timm_swin():
    if importlib.util.find_spec("timm") is None:
        pytest.skip("timm is not installed (pip install -e '.[test]')")
    try:
        import torchvision  # noqa: F401

        placeholder = None
    except Exception:  # missing, or built for another torch ("operator torchvision::nms does not exist")
        _drop_torchvision_modules()
        placeholder = _TorchvisionPlaceholder()
        sys.meta_path.insert(0, placeholder)
    try:
        pytest.importorskip("timm")
        from timm.models.swin_transformer import SwinTransformer as TimmSwin
        from timm.models.swin_transformer import checkpoint_filter_fn
    finally:
        if placeholder is not None:
            sys.meta_path.remove(placeholder)
            _drop_torchvision_modules()
    return TimmSwin, checkpoint_filter_fn


TimmSwin, checkpoint_filter_fn = _import_timm_swin()

#: The same architectures, in timm's arguments.
TIMM_ARGS = {
    "swin_t": dict(
        img_size=224,
        patch_size=4,
        num_classes=1000,
        embed_dim=96,
        depths=(2, 2, 6, 2),
        num_heads=(3, 6, 12, 24),
        window_size=7,
        mlp_ratio=4.0,
    ),
    "swin_cifar": dict(
        img_size=32,
        patch_size=2,
        num_classes=10,
        embed_dim=96,
        depths=(2, 6, 4),
        num_heads=(3, 6, 12),
        window_size=4,
        mlp_ratio=2.0,
    ),
    "swin_micro": dict(
        img_size=32,
        patch_size=2,
        num_classes=10,
        embed_dim=32,
        depths=(2, 2, 2),
        num_heads=(2, 4, 8),
        window_size=4,
        mlp_ratio=2.0,
    ),
}
FACTORIES = {"swin_t": swin_t, "swin_cifar": swin_cifar, "swin_micro": swin_micro}


def timm_model(name: str, fused: bool = False, **kwargs) -> nn.Module:
    model = TimmSwin(**TIMM_ARGS[name], drop_path_rate=0.0, **kwargs)
    for module in model.modules():  # timm decides per module whether to call SDPA
        if hasattr(module, "fused_attn"):
            module.fused_attn = fused
    return model


def perturbed(model: SwinTransformer, seed: int = 0) -> SwinTransformer:
    """Move every parameter away from its initial value (LayerNorms start at 1/0 and biases at 0, which
    would hide a weight loaded into the wrong place)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return model


def timm_to_official(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm's layout -> the official one: merging at the end of stage i, not the start of stage i+1."""
    out = {}
    for k, v in state.items():
        k = re.sub(r"^layers\.(\d+)\.downsample", lambda m: f"layers.{int(m.group(1)) - 1}.downsample", k)
        out[k.replace("head.fc.", "head.")] = v
    return out


@pytest.mark.parametrize("name, batch", [("swin_t", 1), ("swin_cifar", 4), ("swin_micro", 4)])
def test_same_weights_give_bitwise_equal_logits_as_timm(name, batch):
    torch.manual_seed(0)
    ours = perturbed(FACTORIES[name](fused=False)).eval()
    theirs = timm_model(name).eval()
    # swinlab's state_dict goes through the conversion timm applies to official checkpoints.
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    theirs.load_state_dict(checkpoint_filter_fn({"model": ours.state_dict()}, theirs), strict=True)
    x = torch.randn(batch, 3, ours.config["img_size"], ours.config["img_size"])
    features = {}
    ours.norm.register_forward_hook(lambda m, i, out: features.__setitem__("ours", out))
    theirs.norm.register_forward_hook(lambda m, i, out: features.__setitem__("theirs", out))
    with torch.no_grad():
        ours_logits, theirs_logits = ours(x), theirs(x)
    # Both run the same operations in the same order (scale q, QK^T, + bias, + mask, softmax, @V, proj;
    # LayerNorm, roll, partition; mean over tokens), so not one bit differs on the same machine.
    assert torch.equal(features["ours"], features["theirs"])  # (B, h, w, 8C) after the final norm
    assert torch.equal(ours_logits, theirs_logits), (ours_logits - theirs_logits).abs().max()


def test_timm_initialised_weights_load_into_swinlab_with_load_official():
    torch.manual_seed(1)
    theirs = timm_model("swin_micro").eval()
    checkpoint = {"model": timm_to_official(theirs.state_dict())}
    ours = load_official(swin_micro(fused=False), checkpoint).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))


def test_training_mode_with_drop_path_and_attention_dropout_matches_timm_bit_for_bit():
    # Same seed -> same random numbers drawn in the same order: the stochastic depth schedule
    # (linspace over all blocks), the per-sample drop path mask (scaled by 1/keep before use) and the
    # attention dropout all line up. Gradients then agree too.
    torch.manual_seed(0)
    ours = perturbed(swin_micro(fused=False, drop_path_rate=0.3, attn_drop_rate=0.1)).train()
    theirs = TimmSwin(**TIMM_ARGS["swin_micro"], drop_path_rate=0.3, attn_drop_rate=0.1).train()
    for module in theirs.modules():
        if hasattr(module, "fused_attn"):
            module.fused_attn = False
    theirs.load_state_dict(checkpoint_filter_fn({"model": ours.state_dict()}, theirs), strict=True)
    x = torch.randn(4, 3, 32, 32)
    torch.manual_seed(1)
    ours_out = ours(x)
    torch.manual_seed(1)
    theirs_out = theirs(x)
    assert torch.equal(ours_out, theirs_out)
    ours_out.square().sum().backward()
    theirs_out.square().sum().backward()
    theirs_grads = {k: p.grad for k, p in timm_to_official(dict(theirs.named_parameters())).items()}
    for k, p in ours.named_parameters():
        assert torch.equal(p.grad, theirs_grads[k]), k


def test_fused_attention_paths_agree_with_timm_fused_path():
    torch.manual_seed(2)
    ours = perturbed(swin_micro(fused=True)).eval()
    theirs = timm_model("swin_micro", fused=True).eval()
    theirs.load_state_dict(checkpoint_filter_fn({"model": ours.state_dict()}, theirs), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ours_logits, theirs_logits = ours(x), theirs(x)
    # Both fold bias and mask into SDPA's float mask, but timm lets SDPA compute the scale itself and
    # adds the mask in another broadcast order: equal up to float32 rounding.
    torch.testing.assert_close(ours_logits, theirs_logits, rtol=0, atol=1e-5)
