"""Lesson 06's exercise checkers accept the correct answers kept in tests/solutions, refuse the answer key, print
what is missing for an unfinished answer, and name each typical mistake without printing the solution."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange
from solutions.lesson06_patch_merging import merging_as_conv, my_merge

from swinlab.course.checks import ExerciseError
from swinlab.course.lesson06_patch_merging import check_merge_neighbours, check_merging_as_conv, normalise_groups
from swinlab.merging import PatchMerging, merge_neighbours


def assert_no_solution_in(message: str) -> None:
    for giveaway in ("(pw ph c)", "(dx dy c)", "rearrange(", "permute(0, 3, 2, 1)"):
        assert giveaway not in message


# ---- exercise 1: one einops pattern --------------------------------------------------------------


def test_merge_checker_accepts_the_correct_answer(capsys):
    assert check_merge_neighbours(my_merge) is True
    assert capsys.readouterr().out.startswith("Correct: ")


def test_merge_checker_refuses_the_answer_key():
    for answer_key in (merge_neighbours, lambda x: merge_neighbours(x)):
        with pytest.raises(ExerciseError, match="answer key"):
            check_merge_neighbours(answer_key)


def test_merge_checker_prints_what_is_missing_for_the_saved_unfinished_cell(capsys):
    def my_unfinished_merge(x): ...

    assert check_merge_neighbours(my_unfinished_merge) is False
    assert capsys.readouterr().out.startswith("Not finished yet: my_merge returns None")


def pattern(groups: str):
    return lambda x: rearrange(x, f"b (h ph) (w pw) c -> b h w ({groups})", ph=2, pw=2)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (pattern("ph pw c"), r"x1 and x2 are swapped\. x1 is the odd ROW"),
        (pattern("c pw ph"), r"the channels of one pixel are spread out"),
        (pattern("c ph pw"), r"the channels of one pixel are spread out"),
        (lambda x: x, r"my_merge\(x of shape \(2, 6, 8, 3\)\): shape \(2, 6, 8, 3\), expected \(2, 3, 4, 12\)"),
        (
            lambda x: rearrange(x, "b (h ph) (w pw) c -> b (h w) (pw ph c)", ph=2, pw=2),
            r"shape \(2, 12, 12\), expected \(2, 3, 4, 12\) \(the same number of values, grouped differently\)",
        ),
        (
            lambda x: rearrange(x, "b (ph h) (pw w) c -> b h w (pw ph c)", ph=2, pw=2),
            r"right shape \(2, 3, 4, 12\), but \d+ of 288 values differ; the first at position \(0, 0, 0, 3\): got ",
        ),
    ],
    ids=["x1-x2-swapped", "channels-outermost", "channels-outermost-rows", "unchanged", "tokens-flattened", "halves"],
)
def test_merge_checker_names_each_typical_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message) as err:
        check_merge_neighbours(wrong)
    assert_no_solution_in(str(err.value))


# ---- exercise 2: merging as a convolution -----------------------------------------------------------


def test_normalise_groups_then_the_solution_kernel_equals_patch_merging():
    torch.manual_seed(0)
    merge = PatchMerging(5)
    with torch.no_grad():
        for p in merge.parameters():
            p.normal_()
    x = torch.randn(2, 6, 4, 5)
    conv = F.conv2d(normalise_groups(x, merge.norm), merging_as_conv(merge), stride=2)
    torch.testing.assert_close(conv.permute(0, 2, 3, 1), merge(x))
    # each 2x2 group is normalised as one: its 4C values have mean 0 (before the LayerNorm's scale and shift)
    plain = normalise_groups(x, torch.nn.LayerNorm(20, elementwise_affine=False))
    torch.testing.assert_close(
        rearrange(plain, "b c (h dy) (w dx) -> b h w (dy dx c)", dy=2, dx=2).mean(-1),
        torch.zeros(2, 3, 2),
        atol=1e-6,
        rtol=0,
    )


def test_conv_checker_accepts_the_correct_weight_and_a_conv2d_holding_it(capsys):
    assert check_merging_as_conv(merging_as_conv) is True

    def as_module(merge):
        C = merge.dim
        conv = torch.nn.Conv2d(C, 2 * C, kernel_size=2, stride=2, bias=False)
        with torch.no_grad():
            conv.weight.copy_(merging_as_conv(merge))
        return conv

    assert check_merging_as_conv(as_module) is True
    assert capsys.readouterr().out.count("Correct: ") == 2


def test_conv_checker_prints_what_is_missing_for_the_saved_unfinished_cell(capsys):
    def unfinished_conv(merge): ...

    assert check_merging_as_conv(unfinished_conv) is False
    assert "merging_as_conv returns None" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda merge: merge.reduction.weight, r"has shape \(6, 12\): that is reduction's weight as it stands"),
        (lambda merge: merge.reduction.weight[..., None, None], r"has shape \(6, 12, 1, 1\)"),
        (lambda merge: merging_as_conv(merge).transpose(2, 3), r"the kernel is transposed: .* x1 is the odd ROW"),
        (lambda merge: merge.reduction.weight.reshape(2 * merge.dim, merge.dim, 2, 2), r"as if the channel came first"),
        (
            lambda merge: torch.nn.Conv2d(merge.dim, 2 * merge.dim, 2, stride=2),
            r"returned a Conv2d with kernel \(2, 2\), stride \(2, 2\) and a bias",
        ),
        (
            lambda merge: merging_as_conv(merge).flip(0),
            r"merging_as_conv\(PatchMerging\(3\)\): right shape \(6, 3, 2, 2\), but 72 of 72 values differ; "
            r"the first at position \(0, 0, 0, 0\)",
        ),
    ],
    ids=["reduction-as-is", "1x1-conv", "transposed-kernel", "channel-first-split", "module-with-bias", "outputs"],
)
def test_conv_checker_names_each_typical_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message) as err:
        check_merging_as_conv(wrong)
    assert_no_solution_in(str(err.value))
