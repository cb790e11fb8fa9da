"""Lesson 08, training: figures, explorers and exercise checkers.

The course file behind ``notebooks/08_train_cifar10.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch

from .checks import ExerciseError, compare, passed
from .draw import new_figure
from .explorer import Explorer

# ---- figures -------------------------------------------------------------------------------------


def augmentation_figure(before, after, captions_before=None, captions_after=None, title: str | None = None):
    """A batch before and after augmentation: ``before``, ``after`` ``(B, H, W, 3)`` (uint8, or float in
    [0, 1]), drawn in two rows with optional captions. Returns the Figure."""
    before, after = np.asarray(before), np.asarray(after)
    n = len(before)
    fig, axes = new_figure(2, n, size=(1.3, 1.5))
    axes = np.asarray(axes).reshape(2, n)
    for row, (imgs, caps, name) in enumerate(
        ((before, captions_before, "stored (uint8)"), (after, captions_after, "what the model sees"))
    ):
        for i in range(n):
            ax = axes[row, i]
            ax.imshow(imgs[i], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if caps is not None:
                ax.set_title(caps[i], fontsize=7)
        axes[row, 0].set_ylabel(name, fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def draw_augmentation(
    images,
    padding: int = 4,
    mix: str = "none",
    alpha: float = 1.0,
    erase: float = 0.0,
    seed: int = 0,
    classes=None,
    labels=None,
):
    """Augment a small uint8 batch ``(B, 32, 32, 3)`` with ``swinlab.train``'s batched ops and draw it
    before/after: ``(fig, state)``; ``state`` holds the settings, ``lam`` (the mixing weight used) and
    ``changed`` (the fraction of pixels that differ from the un-augmented image)."""
    import torch

    from ..train import TrainConfig, augment_batch, denormalize, normalize

    x = torch.as_tensor(np.asarray(images))
    y = torch.as_tensor(np.asarray(labels) if labels is not None else np.zeros(len(x), dtype=np.int64))
    cfg = TrainConfig(
        crop_padding=int(padding),
        flip=True,
        mixup_alpha=alpha if mix == "mixup" else 0.0,
        cutmix_alpha=alpha if mix == "cutmix" else 0.0,
        erase_prob=float(erase),
        label_smoothing=0.0,
    )
    gen = torch.Generator().manual_seed(int(seed))
    rng = np.random.default_rng(int(seed))
    out, targets, _ = augment_batch(x, y, cfg, gen, rng, num_classes=10)
    after = denormalize(out).numpy()
    top = targets.max(-1)
    lam = float(top.values[0]) if mix != "none" else 1.0
    names = lambda k: classes[k] if classes is not None else str(k)
    caps_before = [names(int(k)) for k in y] if labels is not None else None
    caps_after = None
    if labels is not None:
        caps_after = [
            "\n".join(f"{names(int(k))} {float(t[k]):.2f}" for k in torch.nonzero(t > 0.005).flatten()) for t in targets
        ]
    fig = augmentation_figure(x.numpy(), after, caps_before, caps_after)
    same = np.abs(after - denormalize(normalize(x)).numpy()).max(-1) < 1e-6
    state = {
        "padding": int(padding),
        "mix": mix,
        "alpha": float(alpha),
        "erase": float(erase),
        "seed": int(seed),
        "lam": lam,
        "changed": float(1.0 - same.mean()),
    }
    return fig, state


def lr_schedule_figure(cfg, steps_per_epoch: int, title: str | None = None):
    """The learning rate of every step of a ``TrainConfig`` (warmup, then cosine). Returns the Figure."""
    from ..train import lr_at

    total = cfg.epochs * steps_per_epoch
    warmup = round(min(cfg.warmup_epochs, cfg.epochs / 5) * steps_per_epoch)
    steps = np.arange(total)
    lrs = [lr_at(int(s), total, warmup, cfg.lr, cfg.min_lr) for s in steps]
    fig, ax = new_figure(1, 1, size=(5.0, 2.8))
    ax.plot(steps / steps_per_epoch, lrs)
    ax.axvline(warmup / steps_per_epoch, color="gray", ls=":", lw=0.8)
    ax.text(warmup / steps_per_epoch, cfg.lr * 0.5, " end of warmup", fontsize=8, color="gray")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.grid(alpha=0.3)
    ax.set_title(title or f"warmup {cfg.warmup_epochs:g} epochs, cosine to {cfg.min_lr:g} at epoch {cfg.epochs}")
    return fig


def confusion_figure(matrix, classes, title: str | None = None):
    """A confusion matrix ``(K, K)`` (rows: true class, columns: predicted), each row in % of that class."""
    m = np.asarray(matrix, dtype=float)
    pct = 100 * m / np.maximum(m.sum(1, keepdims=True), 1)
    fig, ax = new_figure(1, 1, size=(5.2, 4.6))
    im = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    k = len(classes)
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{pct[i, j]:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if pct[i, j] > 60 else "black",
            )
    ax.set_xticks(range(k), classes, rotation=60, fontsize=7)
    ax.set_yticks(range(k), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, shrink=0.8, label="% of the true class")
    ax.set_title(title or f"accuracy {100 * np.trace(m) / max(m.sum(), 1):.1f}%")
    return fig


def mistakes_figure(images, true, pred, confidence, classes, title: str | None = None):
    """Test images the model got wrong: ``images (n, 32, 32, 3)`` uint8, true and predicted class ids, the
    softmax confidence of the wrong prediction. Returns the Figure (one row, or two for n > 8)."""
    n = len(images)
    cols = min(n, 8)
    rows = max(1, -(-n // cols))
    fig, axes = new_figure(rows, cols, size=(1.5, 1.8))
    axes = np.asarray(axes).reshape(-1)
    for ax in axes:
        ax.axis("off")
    for i in range(n):
        axes[i].imshow(images[i], interpolation="nearest")
        axes[i].set_title(
            f"{classes[int(pred[i])]} {100 * float(confidence[i]):.0f}%\n(is {classes[int(true[i])]})",
            fontsize=7,
            color="tab:red",
        )
    fig.suptitle(title or "the most confident mistakes: predicted (confidence), true class")
    return fig


def attention_figure(images, maps, titles=None, title: str | None = None, head_labels=None):
    """Attention maps over images: ``images (n, H, W, 3)`` uint8 or [0, 1], ``maps (n, h, w)`` (one per image)
    or ``(n, heads, h, w)`` (one row per head plus the image). Maps are upsampled (nearest) and overlaid."""
    images, maps = np.asarray(images), np.asarray(maps, dtype=float)
    if maps.ndim == 3:
        maps = maps[:, None]
    n, heads = maps.shape[:2]
    fig, axes = new_figure(heads + 1, n, size=(1.5, 1.5))
    axes = np.asarray(axes).reshape(heads + 1, n)
    H, W = images.shape[1:3]
    for i in range(n):
        axes[0, i].imshow(images[i], interpolation="nearest")
        if titles is not None:
            axes[0, i].set_title(titles[i], fontsize=7)
        for h in range(heads):
            m = maps[i, h]
            up = np.kron(m, np.ones((H // m.shape[0], W // m.shape[1])))
            axes[h + 1, i].imshow(images[i], interpolation="nearest")
            axes[h + 1, i].imshow(up, cmap="inferno", alpha=0.6, interpolation="nearest")
    for ax in axes.reshape(-1):
        ax.set_xticks([])
        ax.set_yticks([])
    for h in range(heads):
        axes[h + 1, 0].set_ylabel(head_labels[h] if head_labels is not None else f"head {h}", fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def draw_attention(images, maps, index: int = 0, head: int = -1, classes=None, labels=None, preds=None):
    """One test image and the attention its tokens receive (``maps (n, heads, h, w)``; ``head=-1``: the mean
    over heads): ``(fig, state)`` with ``state = {"index", "head", "peak": (row, col) of the map's maximum}``."""
    maps = np.asarray(maps, dtype=float)
    index = int(index) % len(maps)
    m = maps[index].mean(0) if head < 0 else maps[index, int(head)]
    fig, axes = new_figure(1, 2, size=(2.6, 2.8))
    img = np.asarray(images[index])
    axes[0].imshow(img, interpolation="nearest")
    caption = ""
    if labels is not None and classes is not None:
        caption = f"true {classes[int(labels[index])]}"
        if preds is not None:
            caption += f"\npredicted {classes[int(preds[index])]}"
    axes[0].set_title(caption, fontsize=8)
    up = np.kron(m, np.ones((img.shape[0] // m.shape[0], img.shape[1] // m.shape[1])))
    axes[1].imshow(img, interpolation="nearest")
    axes[1].imshow(up, cmap="inferno", alpha=0.6, interpolation="nearest")
    axes[1].set_title("mean over heads" if head < 0 else f"head {int(head)}", fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    peak = tuple(int(v) for v in np.unravel_index(np.argmax(m), m.shape))
    return fig, {"index": index, "head": int(head), "peak": peak}


def bias_tables_figure(tables, title: str | None = None, block_labels=None):
    """Learned relative position bias tables: a list of ``(heads, 2M-1, 2M-1)`` arrays (one per block), one
    row per block, one panel per head; the centre cell is offset (0, 0). Returns the Figure."""
    tables = [np.asarray(t, dtype=float) for t in tables]
    rows, cols = len(tables), max(t.shape[0] for t in tables)
    fig, axes = new_figure(rows, cols, size=(1.6, 1.6))
    axes = np.asarray(axes).reshape(rows, cols)
    for r, t in enumerate(tables):
        M = (t.shape[-1] + 1) // 2
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= t.shape[0]:
                ax.axis("off")
                continue
            lim = np.abs(t[c]).max() or 1.0
            ax.imshow(t[c], cmap="RdBu_r", vmin=-lim, vmax=lim, extent=(-M + 0.5, M - 0.5, M - 0.5, -M + 0.5))
            ax.set_title(f"head {c}", fontsize=7)
        axes[r, 0].set_ylabel(block_labels[r] if block_labels is not None else f"block {r}", fontsize=7)
    fig.suptitle(title or "learned relative position bias B̂ per head (red: attend more, blue: less); x: dx, y: dy")
    return fig


# ---- explorers -----------------------------------------------------------------------------------


def augmentation_explorer(images, labels=None, classes=None) -> Explorer:
    """Sliders over the training augmentation of a small uint8 batch ``(B, 32, 32, 3)``: crop padding, mixing
    (none / mixup / cutmix) and its Beta alpha, random-erasing probability and the seed (draws
    :func:`swinlab.draw_augmentation`; controls ``"padding"``, ``"mix"``, ``"alpha"``, ``"erase"``, ``"seed"``)."""
    return Explorer(
        lambda padding, mix, alpha, erase, seed: draw_augmentation(
            images, padding, mix, alpha, erase, seed, classes=classes, labels=labels
        ),
        padding=widgets.IntSlider(value=4, min=0, max=8, description="padding"),
        mix=widgets.Dropdown(options=["none", "mixup", "cutmix"], value="none", description="mix"),
        alpha=widgets.FloatSlider(value=1.0, min=0.1, max=2.0, step=0.1, description="alpha"),
        erase=widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="erase p"),
        seed=widgets.IntSlider(value=0, min=0, max=50, description="seed"),
    )


def attention_explorer(images, maps, classes=None, labels=None, preds=None) -> Explorer:
    """Sliders over test images and heads of a trained Swin's attention maps ``(n, heads, h, w)`` (from
    ``swinlab.train.attention_received``; head -1 is the mean over heads; draws
    :func:`swinlab.draw_attention`; controls ``"index"``, ``"head"``)."""
    import numpy as np

    n, heads = np.asarray(maps).shape[:2]
    return Explorer(
        lambda index, head: draw_attention(images, maps, index, head, classes=classes, labels=labels, preds=preds),
        index=widgets.IntSlider(value=0, min=0, max=n - 1, description="image"),
        head=widgets.IntSlider(value=-1, min=-1, max=heads - 1, description="head"),
    )


# ---- exercise checkers ---------------------------------------------------------------------------


def check_lr_schedule(fn) -> bool:
    """Exercise: ``fn(step, total_steps, warmup_steps, peak, min_lr) -> float``, linear warmup (step 0 gets
    ``peak / warmup_steps``) then a cosine from ``peak`` to ``min_lr`` (checked against ``swinlab.train.lr_at``)."""
    import math

    from ..train import lr_at

    cases = [
        (0, 100, 10, 1e-3, 1e-5),
        (4, 100, 10, 1e-3, 1e-5),
        (9, 100, 10, 1e-3, 1e-5),
        (10, 100, 10, 1e-3, 1e-5),
        (55, 100, 10, 1e-3, 1e-5),
        (99, 100, 10, 1e-3, 1e-5),
        (100, 100, 10, 1e-3, 1e-5),
        (0, 50, 0, 2e-3, 0.0),
        (25, 50, 0, 2e-3, 0.0),
    ]
    for step, total, warmup, peak, min_lr in cases:
        got, expected = fn(step, total, warmup, peak, min_lr), lr_at(step, total, warmup, peak, min_lr)
        if got is None or not isinstance(got, (int, float)) or not math.isfinite(got):
            raise ExerciseError(f"fn({step}, {total}, {warmup}, {peak}, {min_lr}) returned {got!r}: return a float")
        if not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-12):
            phase = "warmup" if step < warmup else "cosine"
            hint = (
                "During warmup the rate grows linearly: step 0 already gets peak / warmup_steps and the last "
                "warmup step gets the full peak."
                if phase == "warmup"
                else "After warmup, t = (step - warmup_steps) / (total_steps - warmup_steps) runs from 0 to 1 and "
                "lr = min_lr + (peak - min_lr) * (1 + cos(pi * t)) / 2."
            )
            raise ExerciseError(
                f"step {step} of {total} (warmup {warmup}, {phase}): got {got:.6g}, expected {expected:.6g}. {hint}"
            )
    return passed("warmup then cosine, equal to swinlab.train.lr_at at every step tested.")


def check_soft_targets(fn) -> bool:
    """Exercise: ``fn(labels (B,), num_classes, smoothing) -> (B, K)`` smoothed one-hot targets, such that the
    soft-target cross-entropy equals ``F.cross_entropy(..., label_smoothing=smoothing)``."""
    import torch.nn.functional as F

    from ..train import soft_cross_entropy, soft_targets

    labels = torch.tensor([3, 0, 9, 3])
    for smoothing in (0.0, 0.1, 0.3):
        got = fn(labels, 10, smoothing)
        compare(
            f"targets with smoothing={smoothing}",
            got,
            soft_targets(labels, 10, smoothing),
            "Each row sums to 1: smoothing/K on every class, plus 1 - smoothing on the true label.",
        )
    logits = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    ours = soft_cross_entropy(logits, fn(labels, 10, 0.1))
    ref = F.cross_entropy(logits, labels, label_smoothing=0.1)
    return passed(
        f"smoothed targets; their cross-entropy {ours.item():.4f} equals F.cross_entropy(label_smoothing=0.1)"
        f" {ref.item():.4f}."
    )
