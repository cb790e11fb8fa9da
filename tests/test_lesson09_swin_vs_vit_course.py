"""Lesson 09: the Swin-vs-ViT figures, the cost explorer and the exercise checkers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from solutions.lesson09_swin_vs_vit import my_memory_takeover, my_takeover  # noqa: E402

from swinlab.complexity import swin_macs, vit_macs  # noqa: E402
from swinlab.course.checks import ExerciseError  # noqa: E402
from swinlab.course.lesson09_swin_vs_vit import (  # noqa: E402
    check_memory_takeover,
    check_quadratic_takeover,
    memory_figure,
    memory_takeover_tokens,
    model_cost_curves,
    model_cost_explorer,
    op_breakdown_figure,
    paper_throughput_figure,
    quadratic_takeover_tokens,
    race_figure,
    swin_vs_vit_figure,
)
from swinlab.model import swin_cifar  # noqa: E402
from swinlab.vit import OP_KINDS, block_activation_floats, vit_cifar, vit_cifar_lite  # noqa: E402


def test_cost_curves_state_matches_the_models_at_32_pixels():
    _, state = model_cost_curves()
    assert state["vit_macs_32"] == vit_cifar().macs()["total"]
    assert state["swin_macs_32"] == swin_cifar().macs()["total"]
    assert state["crossover_px"] == 32  # the parameter-matched ViT costs more at every size
    assert state["n_star"] == 1024


def test_cost_explorer_redraws_when_each_slider_moves():
    ex = model_cost_explorer()
    assert ex.state["crossover_px"] == 32
    ex.controls["vit_dim"].value = 128
    ex.controls["vit_depth"].value = 4  # 0.20 GMACs: cheaper than Swin's 0.24 at 32 px
    assert ex.state["vit_macs_32"] == vit_macs(32, 2, 3, 128, 4, 2.0, 10)["total"]
    assert ex.state["n_star"] == 2 * 128 + 256 and ex.state["crossover_px"] == 64
    ex.controls["window"].value = 8
    assert ex.state["swin_macs_32"] == swin_macs(32, 2, 3, 96, (2, 6, 4), (8, 8, 4), 2.0, 10)["total"]
    ex.controls["mlp_ratio"].value = 4.0
    assert ex.state["n_star"] == 2 * 128 + 512
    ex.controls["patch_size"].value = 4
    assert ex.state["patch_size"] == 4 and ex.state["vit_macs_32"] == vit_macs(32, 4, 3, 128, 4, 4.0, 10)["total"]


def _rows():
    rows = []
    for size, (vit, swin) in {32: (0.01, 0.02), 64: (0.1, 0.05), 96: (1.0, 0.1)}.items():
        for name, sec in (("ViT", vit), ("Swin", swin)):
            rows.append(
                {
                    "model": name,
                    "img_size": size,
                    "tokens": (size // 2) ** 2,
                    "macs": int(1e9 * sec),
                    "seconds": sec,
                    "images_per_s": 1 / sec,
                }
            )
    return rows


def test_swin_vs_vit_figure_draws_three_panels_with_the_slopes():
    fig = swin_vs_vit_figure(_rows(), slopes={"ViT": {"macs": 1.9, "seconds": 1.8}})
    assert len(fig.axes) == 3
    assert any("slope 1.90" in t.get_text() for t in fig.axes[1].get_legend().get_texts())
    assert any("from 64 px" in t.get_text() for t in fig.axes[0].texts)


def _paper_rows(speeds):
    paper = {"Swin-T": (4.5, 755.2, 81.3), "DeiT-S": (4.6, 940.4, 79.8)}
    return [
        {
            "model": name,
            "gmacs": paper[name][0],
            "images_per_s": speed,
            "paper_gflops": paper[name][0],
            "paper_images_per_s": paper[name][1],
            "paper_top1": paper[name][2],
        }
        for name, speed in speeds.items()
    ]


def test_paper_throughput_figure_shows_the_ratios_here_in_the_paper_and_on_the_gpu():
    rows = _paper_rows({"Swin-T": 2.0, "DeiT-S": 4.0})
    fig = paper_throughput_figure(rows, device="cpu")
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "0.80" in labels and "0.50" in labels  # 755.2 / 940.4 in the paper, 2 / 4 here
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["paper, V100", "cpu"]
    fig = paper_throughput_figure(rows, gpu_rows=_paper_rows({"Swin-T": 700.0, "DeiT-S": 1000.0}))
    assert "GPU run" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "0.70" in [t.get_text() for t in fig.axes[0].texts]


def test_op_breakdown_figure_stacks_the_shares_and_names_the_time():
    shares = {kind: 1 / 3 for kind in [*OP_KINDS, "elementwise and other (not counted)"]}
    fig = op_breakdown_figure({"Swin": {**shares, "ms_per_forward": 7.0}, "ViT": {**shares, "ms_per_forward": 3.0}})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "7.0 ms" in texts and "3.0 ms" in texts and texts.count("33%") == 6


def test_memory_figure_draws_formula_lines_and_measured_points():
    rows = [
        {"model": m, "tokens": t, "measured_bytes": b, "formula_bytes": b, "cuda_peak_bytes": None, "batch_size": 2}
        for m in ("ViT (explicit attention)", "Swin")
        for t, b in ((256, 2**20), (1024, 2**22))
    ]
    fig = memory_figure(rows)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "ViT (explicit attention): formula" in labels and "Swin: formula" in labels


def _race():
    hist = [{"epoch": 1, "val_acc": 0.2}, {"epoch": 2, "val_acc": 0.3}]
    runs = [
        {"arm": arm, "seed": s, "test": {"acc": acc + 0.01 * s}, "history": hist}
        for arm, acc in (("swin_micro", 0.4), ("vit_micro", 0.3))
        for s in range(3)
    ]
    return {
        "arms": {"swin_micro": {}, "vit_micro": {}},
        "runs": runs,
        "data": {"test_images": 10_000, "val_size": 1_000},
        "throughput": {"swin_micro": {"images_per_s": 400.0}, "vit_micro": {"images_per_s": 100.0}},
        "plan": {"steps_per_epoch": 10, "train_subset": 1280, "epochs": {"swin_micro": 20, "vit_micro": 5}},
        "batch_size": 128,
        "budget_s": 64.0,
    }


def test_race_figure_gives_each_contender_its_mean_and_std():
    fig = race_figure(_race())
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["41.0 ± 1.0", "31.0 ± 1.0"]
    assert [t.get_text() for t in fig.axes[2].texts] == ["400 img/s", "100 img/s"]
    assert fig.axes[1].get_title() == "same budget: 1.1 minutes each"


def test_quadratic_takeover_is_two_c_plus_the_mlp_width():
    assert quadratic_takeover_tokens(256, 2.0) == 1024
    assert quadratic_takeover_tokens(96, 4.0) == 576


def test_memory_takeover_is_where_the_attention_weights_outweigh_the_rest_of_a_block():
    C, hidden, heads = 128, 256, 4  # vit_cifar_lite
    assert (vit_cifar_lite().config["embed_dim"], vit_cifar_lite().config["num_heads"]) == (C, heads)

    def weights_and_rest(n):
        fused = block_activation_floats(n, C, hidden, heads, "fused")  # the rest + heads·n (log-sum-exp)
        weights = block_activation_floats(n, C, hidden, heads, "explicit") - fused + heads * n
        return weights, fused - heads * n

    n = memory_takeover_tokens(C, 2.0, heads)
    assert n == 385
    w, rest = weights_and_rest(n)
    assert w == heads * n * n and w >= rest
    w, rest = weights_and_rest(n - 1)
    assert w < rest


def test_takeover_checker_accepts_the_solution_and_refuses_the_answer_key(capsys):
    assert check_quadratic_takeover(my_takeover)
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="answer key"):
        check_quadratic_takeover(quadratic_takeover_tokens)
    with pytest.raises(ExerciseError, match="answer key"):
        check_quadratic_takeover(lambda C, r: quadratic_takeover_tokens(C, r))


def test_takeover_checker_names_mistakes_without_the_answer(capsys):
    assert check_quadratic_takeover(lambda C, r: ...) is False
    assert "Not finished yet" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="projections") as err:
        check_quadratic_takeover(lambda C, r: int(C * r))
    assert "1024" not in str(err.value)
    with pytest.raises(ExerciseError, match="MLP"):
        check_quadratic_takeover(lambda C, r: 2 * C)
    with pytest.raises(ExerciseError, match="2n²C, not n²C"):
        check_quadratic_takeover(lambda C, r: 4 * C + 2 * int(C * r))
    with pytest.raises(ExerciseError, match="whole number"):
        check_quadratic_takeover(lambda C, r: 2 * C + C * r + 0.5)


def test_memory_checker_accepts_the_solution_and_refuses_the_answer_key(capsys):
    assert check_memory_takeover(my_memory_takeover)
    assert "Correct" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="answer key"):
        check_memory_takeover(memory_takeover_tokens)


def test_memory_checker_names_mistakes_without_the_answer(capsys):
    assert check_memory_takeover(lambda C, r, h: ...) is False
    assert "Not finished yet" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="MAC crossover") as err:
        check_memory_takeover(lambda C, r, h: 2 * C + int(C * r))
    assert "385" not in str(err.value)
    with pytest.raises(ExerciseError, match="statistics"):
        check_memory_takeover(lambda C, r, h: -(-(8 * C + 2 * int(C * r)) // h))
    with pytest.raises(ExerciseError, match="per head"):
        check_memory_takeover(lambda C, r, h: 8 * C + 2 * int(C * r) + 4)


def test_throughput_json_of_either_writer_becomes_rows_with_the_papers_figures():
    from swinlab.course.lesson09_swin_vs_vit import throughput_rows_from_json
    from swinlab.vit import throughput_ratios

    ours = {"rows": [{"model": "Swin-T", "img_size": 224, "gmacs": 4.49, "images_per_s": 700.0},
                     {"model": "DeiT-S", "img_size": 224, "gmacs": 4.6, "images_per_s": 1000.0}]}  # fmt: skip
    reference_run = {
        "rows": [
            {"model": "Swin-B/384", "status": "ok", "images_per_s_float32": 80.0, "images_per_s_bf16": 200.0},
            {"model": "ViT-B/16/384", "status": "ok", "gmacs": 55.5, "images_per_s_float32": 100.0},
            {"model": "Swin-S", "status": "skipped", "reason": "budget spent"},
        ]
    }  # fmt: skip
    rows = throughput_rows_from_json(ours)
    assert [r["paper_images_per_s"] for r in rows] == [755.2, 940.4]
    assert throughput_ratios(rows)[0]["ratio"] == pytest.approx(0.7)
    rows = throughput_rows_from_json(reference_run)
    assert [r["model"] for r in rows] == ["Swin-B/384", "ViT-B/16/384"]  # the skipped row is left out
    assert throughput_ratios(rows)[0]["ratio"] == pytest.approx(0.8)
    assert throughput_rows_from_json(reference_run, precision="bf16")[0]["images_per_s"] == 200.0
