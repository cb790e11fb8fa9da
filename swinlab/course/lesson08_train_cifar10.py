"""Lesson 08, training: figures, explorers and exercise checkers.

The course file behind ``notebooks/08_train_cifar10.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch

from .checks import ExerciseError, call, checker, passed, refuse_answer_key
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


def run_dynamics_figure(history, title: str | None = None):
    """One run's epochs read together: accuracy (validation, and test when recorded) and training loss on
    top, the learning rate below, sharing the epoch axis, so that what the schedule did and what the
    model did line up. ``history``: the per-epoch records of ``train`` (``epoch``, ``val_acc``,
    ``train_loss``, ``lr``, optionally ``test_acc`` and ``grad_norm``, drawn beside the learning rate). Returns the
    Figure."""
    epochs = [r["epoch"] for r in history]
    fig, (top, bottom) = new_figure(2, 1, size=(6.4, 2.0), sharex=True)
    top.plot(epochs, [r["val_acc"] for r in history], color="C0", label="validation accuracy")
    if all(r.get("test_acc") is not None for r in history):
        top.plot(
            epochs, [r["test_acc"] for r in history], color="C0", ls=":", lw=0.9, label="test accuracy (per epoch)"
        )
    top.set_ylabel("accuracy")
    top.grid(alpha=0.3)
    loss_ax = top.twinx()
    loss_ax.plot(epochs, [r["train_loss"] for r in history], color="C3", lw=0.9, label="training loss")
    loss_ax.set_ylabel("training loss", color="C3")
    handles = top.get_legend_handles_labels()[0] + loss_ax.get_legend_handles_labels()[0]
    top.legend(handles=handles, fontsize=7, loc="center right")
    bottom.plot(epochs, [r["lr"] for r in history], color="0.3", label="learning rate")
    bottom.set_ylabel("learning rate")
    bottom.set_xlabel("epoch")
    bottom.grid(alpha=0.3)
    if all(r.get("grad_norm") is not None for r in history):  # recorded by train since the gradient norm was added
        norm_ax = bottom.twinx()
        norm_ax.plot(epochs, [r["grad_norm"] for r in history], color="C2", lw=0.9, label="gradient norm (epoch mean)")
        norm_ax.set_ylabel("gradient norm", color="C2")
        handles = bottom.get_legend_handles_labels()[0] + norm_ax.get_legend_handles_labels()[0]
        bottom.legend(handles=handles, fontsize=7, loc="upper right")
    if title:
        top.set_title(title, fontsize=9)
    return fig


def epoch_table(history, epochs) -> str:
    """Chosen epochs of a run as text: learning rate, training loss, the gradients' norm before clipping (the
    epoch's mean, "-" where not recorded), validation (and test) accuracy, elapsed seconds. ``epochs``: the epoch
    numbers to show (those not in the history are skipped)."""
    wanted = set(epochs)
    heads = (
        ("epoch", 5),
        ("lr", 9),
        ("train loss", 10),
        ("grad norm", 9),
        ("val acc", 8),
        ("test acc", 8),
        ("elapsed", 8),
    )
    lines = [" ".join(f"{name:>{width}}" for name, width in heads)]
    for r in history:
        if r["epoch"] in wanted:
            test = "-" if r.get("test_acc") is None else f"{r['test_acc']:.3f}"
            norm = "-" if r.get("grad_norm") is None else f"{r['grad_norm']:.2f}"
            lines.append(
                f"{r['epoch']:>5} {r['lr']:>9.2e} {r['train_loss']:>10.3f} {norm:>9} {r['val_acc']:>8.3f} {test:>8} "
                f"{r['elapsed_s']:>7.0f}s"
            )
    return "\n".join(lines)


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
    row per block, one panel per head, on one colour scale per row (its colourbar on the right). Axes are the
    offsets ``dx`` (columns) and ``dy`` (rows) of a key relative to its query, ``(0, 0)`` in the centre.
    Returns the Figure."""
    tables = [np.asarray(t, dtype=float) for t in tables]
    rows, cols = len(tables), max(t.shape[0] for t in tables)
    fig, axes = new_figure(rows, cols, size=(1.75, 1.7))
    axes = np.asarray(axes).reshape(rows, cols)
    for r, t in enumerate(tables):
        M = (t.shape[-1] + 1) // 2
        lim = float(np.abs(t).max()) or 1.0
        ticks = [-(M - 1), 0, M - 1]
        image = None
        for c in range(cols):
            ax = axes[r, c]
            if c >= t.shape[0]:
                ax.axis("off")
                continue
            image = ax.imshow(t[c], cmap="RdBu_r", vmin=-lim, vmax=lim, extent=(-M + 0.5, M - 0.5, M - 0.5, -M + 0.5))
            ax.set_xticks(ticks)
            ax.set_yticks(ticks)
            ax.tick_params(labelsize=6, length=2)
            ax.set_title(f"head {c}", fontsize=7)
            if r == rows - 1:
                ax.set_xlabel("dx", fontsize=7)
        axes[r, 0].set_ylabel(f"{block_labels[r] if block_labels is not None else f'block {r}'}\ndy", fontsize=7)
        fig.colorbar(image, ax=list(axes[r, : t.shape[0]]), shrink=0.8, pad=0.02).ax.tick_params(labelsize=6)
    fig.suptitle(title or "learned relative position bias B̂ per head (red: attend more, blue: less)")
    return fig


# ---- explorers -----------------------------------------------------------------------------------


def augmentation_explorer(images, labels=None, classes=None) -> Explorer:
    """Sliders over the training augmentation of a small uint8 batch ``(B, 32, 32, 3)``: crop padding, mixing
    (none / mixup / cutmix) and its Beta alpha, random-erasing probability and the seed (draws
    :func:`swinlab.draw_augmentation`; controls ``"padding"``, ``"mix"``, ``"alpha"``, ``"erase"``, ``"seed"``)."""
    alpha = widgets.FloatSlider(value=1.0, min=0.1, max=2.0, step=0.1, description="alpha", disabled=True)
    explorer = Explorer(
        lambda padding, mix, alpha, erase, seed: draw_augmentation(
            images, padding, mix, alpha, erase, seed, classes=classes, labels=labels
        ),
        padding=widgets.IntSlider(value=4, min=0, max=8, description="padding"),
        mix=widgets.Dropdown(options=["none", "mixup", "cutmix"], value="none", description="mix"),
        alpha=alpha,
        erase=widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="erase p"),
        seed=widgets.IntSlider(value=0, min=0, max=50, description="seed"),
    )

    def follow_mix(change) -> None:  # alpha shapes the mixing weight only: greyed out while nothing is mixed
        alpha.disabled = change["new"] == "none"

    explorer.controls["mix"].observe(follow_mix, names="value")
    return explorer


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


@checker
def check_lr_schedule(fn) -> bool:
    """Exercise 1 (recall): ``fn(step, total_steps, warmup_steps, peak, min_lr) -> float``, a linear warmup
    (step 0 already gets ``peak / warmup_steps``) then a cosine from ``peak`` to ``min_lr`` at ``total_steps``.
    Checked against ``swinlab.train.lr_at`` at steps across both phases and at the edges."""
    import math

    from ..train import WarmupCosine, lr_at

    refuse_answer_key(fn, lr_at, WarmupCosine, name="lr_at")
    cases = [
        (0, 50, 0, 2e-3, 0.0),
        (25, 50, 0, 2e-3, 0.0),
        (0, 100, 10, 1e-3, 1e-5),
        (4, 100, 10, 1e-3, 1e-5),
        (9, 100, 10, 1e-3, 1e-5),
        (10, 100, 10, 1e-3, 1e-5),
        (55, 100, 10, 1e-3, 1e-5),
        (99, 100, 10, 1e-3, 1e-5),
        (100, 100, 10, 1e-3, 1e-5),
    ]
    for step, total, warmup, peak, min_lr in cases:
        where = f"my_lr({step}, {total}, {warmup}, {peak}, {min_lr})"
        try:
            got = call(fn, step, total, warmup, peak, min_lr, name="my_lr")
        except ExerciseError as err:
            if isinstance(err.__cause__, ZeroDivisionError):
                raise ExerciseError(
                    f"{err} With no warmup (warmup_steps = 0) the cosine starts at once, at the peak; don't divide "
                    "by 0."
                ) from err.__cause__
            raise
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float)) or not math.isfinite(got):
            raise ExerciseError(f"{where} returned {got!r}: return a finite float.")
        expected = lr_at(step, total, warmup, peak, min_lr)
        if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-12):
            continue
        if warmup == 0 and step == 0:
            hint = "With no warmup (warmup_steps = 0) the cosine starts at once, at the peak; don't divide by 0."
        elif step < warmup:
            hint = "This step is in the warmup (step < warmup_steps): the rate grows linearly, and step 0 already gets "
            hint += "a first share of the peak, so the last warmup step reaches the full peak."
        elif step >= total:
            hint = "At and after total_steps the cosine is over: the rate stays at its floor, min_lr."
        else:
            hint = "This step is in the cosine phase: t runs from 0 (the end of warmup) to 1 (total_steps), "
            hint += "and the rate falls from peak to min_lr along half a cosine period."
        side = "too large" if got > expected else "too small"
        raise ExerciseError(f"{where} = {got:.6g} is {side} (swinlab's schedule gives {expected:.6g} there). {hint}")
    return passed("warmup then cosine: your schedule equals swinlab.train.lr_at at every step tested.")


@checker
def check_loss_floor(fn) -> bool:
    """Exercise 2 (transfer): ``fn(smoothing, num_classes) -> float``, the lowest soft-target cross-entropy any
    model can reach when the targets are label-smoothed, checked against the loss of the best possible logits
    (found here by gradient descent on the logits themselves, never by a formula)."""
    import math

    from ..train import soft_cross_entropy, soft_targets

    for smoothing, k in ((0.1, 10), (0.3, 10), (0.1, 100), (0.5, 4), (0.0, 10)):
        got = call(fn, smoothing, k, name="my_loss_floor")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        where = f"my_loss_floor({smoothing}, {k})"
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            raise ExerciseError(f"{where} returned a {type(got).__name__}: return a float.")
        if not math.isfinite(got):
            raise ExerciseError(
                f"{where} = {got}: not finite. With smoothing = 0 a class has target 0, and 0 * log 0 must count "
                "as 0 (it is the limit of t * log t as t -> 0)."
            )
        target = soft_targets(torch.tensor([0]), k, smoothing)
        logits = torch.zeros(1, k, requires_grad=True)
        opt = torch.optim.LBFGS([logits], max_iter=200, line_search_fn="strong_wolfe")

        def closure(logits=logits, target=target, opt=opt):
            opt.zero_grad()
            loss = soft_cross_entropy(logits, target)
            loss.backward()
            return loss

        opt.step(closure)
        best = soft_cross_entropy(logits.detach(), target).item()
        if got < best - 1e-3:
            raise ExerciseError(
                f"{where} = {got:.4f} is too small: the logits that minimise the loss reach only {best:.4f}. "
                "A lower bound must be reachable; which prediction would reach yours?"
            )
        if got > best + 1e-3:
            raise ExerciseError(
                f"{where} = {got:.4f} is too large: logits found by gradient descent reach {best:.4f}. "
                "Think of the best prediction as a whole probability vector, not only its largest entry."
            )
    return passed("the loss floor of label smoothing: the soft-target loss never falls below it, at any smoothing.")
