"""Lesson 07's exercise checkers accept the correct answers kept in tests/solutions, refuse counting the model,
print what is missing for an unfinished answer, and name each typical mistake without printing the formula."""

from __future__ import annotations

import pytest
from solutions.lesson07_swin_transformer import block_params, swin_params

from swinlab.course.checks import ExerciseError
from swinlab.course.lesson07_swin_transformer import check_block_params, check_swin_params
from swinlab.model import SwinBlock, swin_s


def assert_no_formula_in(message: str) -> None:
    for giveaway in ("12C", "12 * C", "C * C", "3 * C", "(2 * M - 1) ** 2 *"):
        assert giveaway not in message


# ---- exercise 1: one block ---------------------------------------------------------------------------


def test_block_checker_accepts_the_correct_answer(capsys):
    assert check_block_params(block_params) is True
    assert capsys.readouterr().out.startswith("Correct: ")


def test_block_checker_refuses_counting_the_model():
    def by_counting(C, heads, M, mlp_ratio=4.0):
        return sum(p.numel() for p in SwinBlock(C, (2 * M, 2 * M), heads, M, mlp_ratio=mlp_ratio).parameters())

    with pytest.raises(ExerciseError, match="answer key"):
        check_block_params(by_counting)


def test_block_checker_prints_what_is_missing_for_the_saved_unfinished_cell(capsys):
    def unfinished(C, heads, M, mlp_ratio=4.0): ...

    assert check_block_params(unfinished) is False
    assert capsys.readouterr().out.startswith("Not finished yet: block_params returns None")


def with_index_buffer(C, heads, M, mlp_ratio=4.0):
    return block_params(C, heads, M, mlp_ratio) + M**4


def without_table(C, heads, M, mlp_ratio=4.0):
    return block_params(C, heads, M, mlp_ratio) - (2 * M - 1) ** 2 * heads


def one_table(C, heads, M, mlp_ratio=4.0):
    return block_params(C, heads, M, mlp_ratio) - (2 * M - 1) ** 2 * (heads - 1)


def without_biases(C, heads, M, mlp_ratio=4.0):
    return block_params(C, heads, M, mlp_ratio) - 5 * C - int(C * mlp_ratio)


def without_norms(C, heads, M, mlp_ratio=4.0):
    return block_params(C, heads, M, mlp_ratio) - 4 * C


def mlp_ratio_ignored(C, heads, M, mlp_ratio=4.0):
    return block_params(C, heads, M, 1.0)


def with_a_typo(C, heads, M, mlp_ratio=4.0):
    return block_params(C, heads, M, mlp_ratio) + 1


@pytest.mark.parametrize(
    "wrong, message",
    [
        (with_index_buffer, r"block_params\(96, 3, 7\) = 114,748 is 2,401 too many: relative_position_index"),
        (without_table, r"is 507 too few: the relative position bias table is learned too"),
        (one_table, r"is 338 too few: the table has one column per head"),
        (without_biases, r"is 864 too few: qkv, proj, fc1 and fc2 each have a bias"),
        (without_norms, r"is 384 too few: the two LayerNorms"),
        (mlp_ratio_ignored, r"too few: the MLP's hidden layer has mlp_ratio \* C units"),
        (with_a_typo, r"block_params\(96, 3, 7\) = 112348 is too large, expected 112347"),
        (lambda C, heads, M, mlp_ratio=4.0: "112347", r"expected a number, got str"),
    ],
    ids=["index-buffer", "no-table", "one-table", "no-biases", "no-norms", "mlp-ratio", "off-by-one", "string"],
)
def test_block_checker_names_each_typical_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message) as err:
        check_block_params(wrong)
    assert_no_formula_in(str(err.value))


# ---- exercise 2: the whole model ---------------------------------------------------------------------


def test_model_checker_accepts_the_correct_answer_and_it_gives_swin_s(capsys):
    assert check_swin_params(swin_params) is True
    assert capsys.readouterr().out.startswith("Correct: ")
    assert swin_params(96, (2, 2, 18, 2), (3, 6, 12, 24)) == sum(p.numel() for p in swin_s().parameters())


def test_model_checker_refuses_counting_the_model():
    def by_counting(C, depths, heads, M=7, num_classes=1000):
        return sum(p.numel() for p in swin_s().parameters())

    with pytest.raises(ExerciseError, match="answer key"):
        check_swin_params(by_counting)


def test_model_checker_prints_what_is_missing_for_the_saved_unfinished_cell(capsys):
    def unfinished(C, depths, heads, M=7, num_classes=1000): ...

    assert check_swin_params(unfinished) is False
    assert "swin_params returns None" in capsys.readouterr().out


def merging_everywhere(C, depths, heads, M=7, num_classes=1000):
    last = C * 2 ** (len(depths) - 1)
    return swin_params(C, depths, heads, M, num_classes) + 8 * last + 8 * last * last


def merging_with_bias(C, depths, heads, M=7, num_classes=1000):
    return swin_params(C, depths, heads, M, num_classes) + sum(2 * C * 2**i for i in range(len(depths) - 1))


def without_final_norm(C, depths, heads, M=7, num_classes=1000):
    return swin_params(C, depths, heads, M, num_classes) - 2 * C * 2 ** (len(depths) - 1)


def without_embed_norm(C, depths, heads, M=7, num_classes=1000):
    return swin_params(C, depths, heads, M, num_classes) - 2 * C


def without_head(C, depths, heads, M=7, num_classes=1000):
    last = C * 2 ** (len(depths) - 1)
    return swin_params(C, depths, heads, M, num_classes) - last * num_classes - num_classes


def four_stages_always(C, depths, heads, M=7, num_classes=1000):
    return swin_params(C, (*depths, 2)[:4] if len(depths) < 4 else depths, (*heads, 16)[:4], M, num_classes)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (merging_everywhere, r"\(Swin-T\) = 33,013,090 is 4,724,736 too many: no patch merging follows the last stage"),
        (merging_with_bias, r"\(Swin-T\) = 28,289,698 is 1,344 too many: patch merging's Linear\(4C, 2C\) has no bias"),
        (without_final_norm, r"is 1,536 too few: a LayerNorm of the last stage's channels comes before the head"),
        (without_embed_norm, r"is 192 too few: a LayerNorm follows the patch embedding"),
        (without_head, r"is 769,000 too few: the head is a Linear layer with bias"),
        (four_stages_always, r"swin_params\(48, \(2, 4, 2\), \(2, 4, 8\), num_classes=100\) \(a three-stage Swin\) = "),
    ],
    ids=["merging-after-last", "merging-bias", "no-final-norm", "no-embed-norm", "no-head", "four-stages-always"],
)
def test_model_checker_names_each_typical_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message) as err:
        check_swin_params(wrong)
    assert_no_formula_in(str(err.value))
