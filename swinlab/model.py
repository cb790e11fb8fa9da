"""Lesson 07 (part 2): the Swin Transformer, assembled from the earlier lessons.

Two successive blocks (the paper's Eq. 3):
    z_hat^l   = W-MSA(LN(z^{l-1})) + z^{l-1}        z^l     = MLP(LN(z_hat^l)) + z_hat^l
    z_hat^l+1 = SW-MSA(LN(z^l)) + z^l               z^{l+1} = MLP(LN(z_hat^{l+1})) + z_hat^{l+1}
Parameter and buffer names are the official checkpoints' names, so official weights load unchanged.

Two options turn an idea off for lesson 10's ablations (the defaults are the paper's model):
``shift=False`` makes every block W-MSA, and ``position`` picks the relative position bias (default),
the official code's absolute position embedding (``ape``), or no position information at all.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from ._utils import torch_load_safely
from .attention import WindowAttention
from .complexity import swin_macs
from .merging import PatchMerging
from .patches import PatchEmbed
from .shift import cyclic_shift, reverse_cyclic_shift, shift_mask, window_and_shift
from .windows import window_partition, window_reverse

__all__ = [
    "DropPath",
    "Mlp",
    "SwinBlock",
    "SwinStage",
    "SwinTransformer",
    "swin_t",
    "swin_s",
    "swin_b",
    "swin_cifar",
    "swin_micro",
    "POSITIONS",
    "WindowAttentionNoBias",
    "allowed_windows",
    "check_window_fits",
    "load_official",
    "OFFICIAL_URLS",
]

#: Where the authors published the ImageNet-1K checkpoints of the paper's models.
OFFICIAL_URLS = {
    "swin_t": "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth",
    "swin_s": "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_small_patch4_window7_224.pth",
    "swin_b": "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window7_224.pth",
}


#: The ``position`` options of :class:`SwinTransformer`: the paper's Table 4 variants.
POSITIONS = ("relative", "absolute", "none")


class DropPath(nn.Module):
    """Stochastic depth: drop a residual branch for a whole sample with probability ``p`` (training only)."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        if keep > 0.0:
            mask.div_(keep)  # scale the mask, not x: the official order (and no 0/0 when p = 1)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Mlp(nn.Module):
    """``fc1`` -> exact GELU -> ``fc2``, with dropout after each: ``(..., C) -> (..., C)``."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class WindowAttentionNoBias(WindowAttention):
    """:class:`WindowAttention` with no position information: no ``relative_position_bias_table``, no
    ``relative_position_index``, ``B = 0``. ``(B*nW, M*M, C) -> (B*nW, M*M, C)``.

    The table is built by the parent and then removed, so building it draws the same random numbers as the
    default model: with the same seed, every other weight equals the default model's.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.relative_position_bias_table
        del self.relative_position_index

    def relative_bias(self) -> torch.Tensor:
        """A zero bias, ``(heads, M², M²)``: adding it changes no logit."""
        n = self.window_size[0] * self.window_size[1]
        return self.qkv.weight.new_zeros(self.num_heads, n, n)


class SwinBlock(nn.Module):
    """One Swin Transformer block: ``(B, H, W, C) -> (B, H, W, C)``.

    ``shift_size = 0`` gives W-MSA, ``shift_size = M // 2`` gives SW-MSA. The window and shift are the
    ones this block really uses on its ``input_resolution`` (a map no larger than the window gets one
    window and no shift, as in the official model). ``relative_bias=False``: attention without the relative
    position bias (:class:`WindowAttentionNoBias`).
    """

    def __init__(
        self,
        dim: int,
        input_resolution: tuple[int, int],
        num_heads: int,
        window_size: int = 7,
        shift_size: int = 0,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        fused: bool | None = None,
        relative_bias: bool = True,
    ) -> None:
        super().__init__()
        self.dim, self.input_resolution = dim, tuple(input_resolution)
        self.window_size, self.shift_size = window_and_shift(self.input_resolution, window_size, shift_size)
        self.norm1 = nn.LayerNorm(dim)
        attention = WindowAttention if relative_bias else WindowAttentionNoBias
        self.attn = attention(dim, self.window_size, num_heads, qkv_bias, attn_drop, drop, fused)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        # The mask of the block's own map is a (non-persistent) buffer, as in the official model: it moves
        # with .to(device), and a compiled model finds it ready instead of tracing how it is built.
        self._buffer_for = (*self.input_resolution, self.window_size, self.shift_size)
        mask = shift_mask(*self.input_resolution, self.window_size, self.shift_size)
        self.register_buffer("attn_mask", mask, persistent=False)
        self._masks: dict[tuple, torch.Tensor | None] = {}  # other map sizes, built when first seen

    def attention_mask(self, H: int, W: int, device: torch.device) -> torch.Tensor | None:
        """The shift mask for an ``H x W`` map, ``(nW, M², M²)``: the buffer for the block's own map,
        otherwise built once per size and device."""
        if (H, W, self.window_size, self.shift_size) == self._buffer_for:
            if self.attn_mask is None or self.attn_mask.device == torch.device(device):
                return self.attn_mask
        key = (H, W, self.window_size, self.shift_size, str(device))
        if key not in self._masks:
            self._masks[key] = shift_mask(H, W, self.window_size, self.shift_size, device=device)
        return self._masks[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        M, s = self.window_size, self.shift_size
        shortcut = x
        x = self.norm1(x)
        if s:
            x = cyclic_shift(x, s)  # B, H, W, C
        windows = window_partition(x, M).reshape(-1, M * M, C)  # B*nW, M*M, C
        mask = self.attention_mask(H, W, x.device)
        if mask is not None:
            mask = mask.to(x.dtype)
        windows = self.attn(windows, mask)  # B*nW, M*M, C
        x = window_reverse(windows.reshape(-1, M, M, C), M, H, W)  # B, H, W, C
        if s:
            x = reverse_cyclic_shift(x, s)
        x = shortcut + self.drop_path(x)  # z_hat = W-MSA(LN(z)) + z
        return x + self.drop_path(self.mlp(self.norm2(x)))  # z = MLP(LN(z_hat)) + z_hat


class SwinStage(nn.Module):
    """``depth`` blocks alternating W-MSA and SW-MSA, then patch merging (all stages but the last).

    ``(B, H, W, C) -> (B, H/2, W/2, 2C)`` with merging, ``(B, H, W, C)`` without. ``shift=False``: every
    block is W-MSA. ``relative_bias=False``: no relative position bias in any block.
    """

    def __init__(
        self,
        dim: int,
        input_resolution: tuple[int, int],
        depth: int,
        num_heads: int,
        window_size: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: Sequence[float] | float = 0.0,
        downsample: bool = False,
        fused: bool | None = None,
        shift: bool = True,
        relative_bias: bool = True,
    ) -> None:
        super().__init__()
        drop_path = list(drop_path) if isinstance(drop_path, Sequence) else [drop_path] * depth
        self.blocks = nn.ModuleList(
            [
                SwinBlock(
                    dim,
                    input_resolution,
                    num_heads,
                    window_size,
                    window_size // 2 if shift and i % 2 == 1 else 0,
                    mlp_ratio,
                    qkv_bias,
                    drop,
                    attn_drop,
                    drop_path[i],
                    fused,
                    relative_bias,
                )
                for i in range(depth)
            ]
        )
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x if self.downsample is None else self.downsample(x)


class SwinTransformer(nn.Module):
    """The Swin Transformer for classification: images ``(B, in_chans, img_size, img_size) -> logits
    (B, num_classes)``.

    Patch embedding (+ LayerNorm), stages of Swin blocks with patch merging between them, a final
    LayerNorm, the mean over all tokens and a linear head.

    The image size is fixed when the model is built, as in the official code: each block's window, shift
    and mask follow from its stage's map size (a map no larger than the window gets one window and no
    shift). Images of another size are a ``ValueError``: build the model with ``img_size=...`` (e.g.
    ``swin_micro(img_size=64)``), or resize the images.

    Options for lesson 10 (the defaults are the paper's model, weight for weight):

    - ``shift=False``: every block uses W-MSA (no SW-MSA anywhere).
    - ``position="relative"``: the relative position bias in every block (the paper's model);
      ``"absolute"``: no bias tables, and the official code's absolute position embedding
      (``ape``): a parameter ``absolute_pos_embed`` of shape ``(1, num_patches, embed_dim)``, truncated
      normal with std .02, added to the patch tokens; ``"none"``: no position information at all.
      The embedding is initialised last, so that for the same seed every other weight of every variant
      equals the default model's.
    """

    def __init__(
        self,
        img_size: int = 224,
        patch_size: int = 4,
        in_chans: int = 3,
        num_classes: int = 1000,
        embed_dim: int = 96,
        depths: Sequence[int] = (2, 2, 6, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        window_size: int = 7,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        patch_norm: bool = True,
        fused: bool | None = None,
        shift: bool = True,
        position: str = "relative",
    ) -> None:
        super().__init__()
        if position not in POSITIONS:
            raise ValueError(f"position={position!r} is not one of {POSITIONS} (the paper's Table 4 variants)")
        if not isinstance(shift, bool):
            raise ValueError(f"shift must be True (SW-MSA in every second block) or False (W-MSA only), got {shift!r}")
        if len(depths) != len(num_heads):
            raise ValueError(f"depths {tuple(depths)} and num_heads {tuple(num_heads)} must have one entry per stage")
        self.config = dict(
            img_size=img_size,
            patch_size=patch_size,
            in_chans=in_chans,
            num_classes=num_classes,
            embed_dim=embed_dim,
            depths=tuple(depths),
            num_heads=tuple(num_heads),
            window_size=window_size,
            mlp_ratio=mlp_ratio,
            shift=shift,
            position=position,
        )
        self.num_classes, self.num_layers = num_classes, len(depths)
        self.num_features = embed_dim * 2 ** (self.num_layers - 1)
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, norm=patch_norm)
        grid = (img_size // patch_size, img_size // patch_size)
        self.grid = grid
        if position == "absolute":  # the official code's ape, under its name, registered where it has it
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1], embed_dim))
        self.pos_drop = nn.Dropout(drop_rate)
        if img_size % patch_size or grid[0] % 2 ** (self.num_layers - 1):
            raise ValueError(
                f"img_size={img_size} with patch_size={patch_size} gives a {grid[0]}x{grid[1]} grid that "
                f"cannot be halved {self.num_layers - 1} times: use img_size divisible by "
                f"{patch_size * 2 ** (self.num_layers - 1)}"
            )
        check_window_fits(grid[0], self.num_layers, window_size)
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()  # stochastic depth grows with depth
        self.layers = nn.ModuleList()
        for i, (depth, heads) in enumerate(zip(depths, num_heads, strict=True)):
            res = (grid[0] // 2**i, grid[1] // 2**i)
            self.layers.append(
                SwinStage(
                    embed_dim * 2**i,
                    res,
                    depth,
                    heads,
                    window_size,
                    mlp_ratio,
                    qkv_bias,
                    drop_rate,
                    attn_drop_rate,
                    dpr[sum(depths[:i]) : sum(depths[: i + 1])],
                    downsample=i < self.num_layers - 1,
                    fused=fused,
                    shift=shift,
                    relative_bias=position == "relative",
                )
            )
        self.norm = nn.LayerNorm(self.num_features)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.apply(_init_weights)
        if position == "absolute":
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)  # last: the other weights stay the default's

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, in_chans, H, W) -> (B, H/(P*2^(S-1)), W/(P*2^(S-1)), num_features)``, after the final norm.

        ``H = W = img_size``, the size the model was built for; another size is a ``ValueError``.
        """
        size = self.config["img_size"]
        if images.dim() != 4 or tuple(images.shape[-2:]) != (size, size):
            shape = tuple(images.shape)
            fix = (
                f"build the model for them with img_size={shape[-1]} (e.g. swin_micro(img_size={shape[-1]})), "
                f"or resize them to {size}x{size}"
                if images.dim() == 4 and shape[-1] == shape[-2]
                else f"pass images of shape (B, {self.config['in_chans']}, {size}, {size})"
            )
            raise ValueError(
                f"this model was built for {size}x{size} images (its windows, shifts and masks are fixed for "
                f"that size), got images of shape {shape}: {fix}"
            )
        x = self.patch_embed(images)  # B, H/P, W/P, C
        if hasattr(self, "absolute_pos_embed"):
            x = x + self.absolute_pos_embed.view(1, *self.grid, -1)  # the (1, h*w, C) embedding, row by row
        x = self.pos_drop(x)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(images).mean(dim=(1, 2))  # B, num_features
        return self.head(x)

    def stage_windows(self) -> list[int]:
        """The window each stage really uses (after the small-feature-map rule)."""
        return [layer.blocks[0].window_size for layer in self.layers]

    def macs(self, img_size: int | None = None) -> dict[str, int]:
        """Multiply-accumulates of one forward pass, per part and ``total`` (see ``complexity.swin_macs``).

        ``img_size``: the count for this architecture built for that size (each stage's window follows from
        its map size, as when building); default: the size this model was built for.
        """
        c = self.config
        size = c["img_size"] if img_size is None else img_size
        if size == c["img_size"]:
            windows = self.stage_windows()
        else:
            grid = size // c["patch_size"]
            if size % c["patch_size"] or grid % 2 ** (self.num_layers - 1):
                raise ValueError(
                    f"img_size={size} with patch_size={c['patch_size']} gives no grid that can be halved "
                    f"{self.num_layers - 1} times: use img_size divisible by "
                    f"{c['patch_size'] * 2 ** (self.num_layers - 1)}"
                )
            windows = [window_and_shift((grid >> i, grid >> i), c["window_size"], 0)[0] for i in range(self.num_layers)]
        return swin_macs(
            size,
            c["patch_size"],
            c["in_chans"],
            c["embed_dim"],
            c["depths"],
            windows,
            c["mlp_ratio"],
            c["num_classes"],
        )

    def no_weight_decay(self) -> set[str]:
        """Parameter names that the official recipe excludes from weight decay (position tables)."""
        return {
            n for n, _ in self.named_parameters() if n.endswith(("absolute_pos_embed", "relative_position_bias_table"))
        }


def check_window_fits(grid: int, num_stages: int, window_size: int) -> None:
    """Refuse a window that does not tile every stage's map: the maps are ``grid, grid/2, ...``; a map no
    larger than the window is one window (the official rule), a larger one must be a multiple of ``M``.
    """
    sizes = [grid >> i for i in range(num_stages)]
    bad = [(i + 1, r) for i, r in enumerate(sizes) if r > window_size and r % window_size]
    if bad:
        ok = allowed_windows(grid, num_stages)
        stage, r = bad[0]
        raise ValueError(
            f"window_size={window_size} does not tile stage {stage}'s {r}x{r} map (maps {sizes}): "
            f"pick M in {ok} (a map no larger than M becomes one window)"
        )


def allowed_windows(grid: int, num_stages: int) -> list[int]:
    """The windows ``M`` that tile every stage of a model whose first map is ``grid x grid`` (``M <= grid``)."""
    sizes = [grid >> i for i in range(num_stages)]
    return [m for m in range(1, grid + 1) if all(r <= m or r % m == 0 for r in sizes)]


def _init_weights(m: nn.Module) -> None:
    # The official initialisation: truncated normal (std .02) for Linear weights, zero biases,
    # LayerNorm weight 1 and bias 0. Convolutions keep PyTorch's default.
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def swin_t(**kwargs) -> SwinTransformer:
    """Swin-T: C=96, depths 2-2-6-2, heads 3-6-12-24, 224x224, ImageNet-1K (28.3M parameters, 4.5G MACs)."""
    return SwinTransformer(
        **{"embed_dim": 96, "depths": (2, 2, 6, 2), "num_heads": (3, 6, 12, 24), "drop_path_rate": 0.2, **kwargs}
    )


def swin_s(**kwargs) -> SwinTransformer:
    """Swin-S: C=96, depths 2-2-18-2, heads 3-6-12-24, 224x224, ImageNet-1K (49.6M, 8.7G)."""
    return SwinTransformer(
        **{"embed_dim": 96, "depths": (2, 2, 18, 2), "num_heads": (3, 6, 12, 24), "drop_path_rate": 0.3, **kwargs}
    )


def swin_b(**kwargs) -> SwinTransformer:
    """Swin-B: C=128, depths 2-2-18-2, heads 4-8-16-32, 224x224, ImageNet-1K (87.8M, 15.4G)."""
    return SwinTransformer(
        **{"embed_dim": 128, "depths": (2, 2, 18, 2), "num_heads": (4, 8, 16, 32), "drop_path_rate": 0.5, **kwargs}
    )


def swin_cifar(**kwargs) -> SwinTransformer:
    """The from-scratch CIFAR-10 Swin of the literature: 32x32, patch 2, window 4, C=96, depths 2-6-4,
    heads 3-6-12, MLP ratio 2, 10 classes (7.05M parameters)."""
    return SwinTransformer(
        **{
            "img_size": 32,
            "patch_size": 2,
            "num_classes": 10,
            "embed_dim": 96,
            "depths": (2, 6, 4),
            "num_heads": (3, 6, 12),
            "window_size": 4,
            "mlp_ratio": 2.0,
            "drop_path_rate": 0.1,
            **kwargs,
        }
    )


def swin_micro(**kwargs) -> SwinTransformer:
    """A small Swin that trains on a laptop CPU in minutes: 32x32, patch 2, window 4, C=32, depths 2-2-2,
    heads 2-4-8, MLP ratio 2, 10 classes."""
    return SwinTransformer(
        **{
            "img_size": 32,
            "patch_size": 2,
            "num_classes": 10,
            "embed_dim": 32,
            "depths": (2, 2, 2),
            "num_heads": (2, 4, 8),
            "window_size": 4,
            "mlp_ratio": 2.0,
            "drop_path_rate": 0.0,
            **kwargs,
        }
    )


# ---------------------------------------------------------------------------------------------
# Official checkpoints
# ---------------------------------------------------------------------------------------------

#: Buffers the official checkpoints carry that swinlab rebuilds itself.
_DERIVED = ("relative_position_index", "attn_mask")


def _read_checkpoint(source: str | os.PathLike | Mapping) -> Mapping:
    if isinstance(source, Mapping):
        return source
    source = str(source)
    if source.startswith(("http://", "https://")):
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        cache.mkdir(parents=True, exist_ok=True)
        target = cache / source.rsplit("/", 1)[-1]
        if not target.exists():
            fd, tmp = tempfile.mkstemp(dir=cache, suffix=".part")
            os.close(fd)
            try:
                try:
                    torch.hub.download_url_to_file(source, tmp, progress=True)
                except (urllib.error.URLError, OSError, TimeoutError) as e:
                    raise ConnectionError(
                        f"could not download the checkpoint {source} ({e.__class__.__name__}: {e}). "
                        f"Offline? Download it on a connected machine, copy it to {target}, and pass that path."
                    ) from None
                # Read the download before caching it: an error page or a cut file is never cached.
                try:
                    checkpoint = torch_load_safely(tmp, what=f"official checkpoint downloaded from {source} to")
                except ValueError as e:
                    raise ValueError(f"{e}. Nothing was cached: check the URL") from None
                os.replace(tmp, target)
                return checkpoint
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        source = str(target)
    if not os.path.exists(source):
        raise FileNotFoundError(f"no checkpoint at {source}: pass a path, a URL or an already-loaded dict")
    return torch_load_safely(source, what="official checkpoint")


def load_official(model: SwinTransformer, source: str | os.PathLike | Mapping) -> SwinTransformer:
    """Load an official Swin checkpoint (``{"model": state_dict}``) into ``model``, unchanged.

    ``source``: a path, a URL (downloaded once into torch's hub cache) or the loaded dict. Read with
    ``torch.load(weights_only=True)``: a checkpoint that would run code is refused. The buffers
    ``relative_position_index`` and ``attn_mask`` are ignored (swinlab builds them). A missing,
    unexpected or mis-shaped weight is a ``ValueError`` naming it.
    """
    checkpoint = _read_checkpoint(source)
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"an official checkpoint is a dict with key 'model', got {type(checkpoint).__name__}")
    state = checkpoint.get("model", checkpoint)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("the checkpoint's 'model' entry must map parameter names to tensors")
    own = {k: v for k, v in model.state_dict().items() if not k.endswith(_DERIVED)}
    theirs = {k: v for k, v in state.items() if not k.endswith(_DERIVED)}
    missing = sorted(set(own) - set(theirs))
    unexpected = sorted(set(theirs) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"the checkpoint does not match this model: missing {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''} ({len(missing)}), unexpected {unexpected[:5]}"
            f"{' ...' if len(unexpected) > 5 else ''} ({len(unexpected)}). "
            f"Build the configuration the checkpoint was trained with (e.g. swin_t() for swin_tiny)."
        )
    wrong = [
        f"{k}: checkpoint {tuple(theirs[k].shape)} vs model {tuple(v.shape)}"
        for k, v in own.items()
        if theirs[k].shape != v.shape
    ]
    if wrong:
        raise ValueError(
            "mis-shaped weights (wrong configuration, e.g. num_classes or window_size?): " + "; ".join(wrong[:5])
        )
    model.load_state_dict(theirs, strict=False)
    return model
