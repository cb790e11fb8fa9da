"""The helpers every exercise checker shares (swinlab.course.checks), introduced with lesson 00's exercises:
unfinished answers print what is missing, the answer key is refused, and a wrong tensor is described by its
shape, order and first differing position without the solution."""

import functools
import traceback

import pytest
import torch

import swinlab.windows as windows_module
from swinlab.course.checks import (
    ExerciseError,
    Unfinished,
    call,
    checker,
    compare,
    compare_number,
    refuse_answer_key,
    require,
    unfinished,
    uses_answer_key,
)
from swinlab.windows import window_partition, window_reverse


@checker
def check_identity(fn) -> bool:
    x = torch.arange(12.0).view(3, 4)
    compare("fn(x)", call(fn, x, name="fn"), x, hint="Return x unchanged.")
    print("Correct: identity")
    return True


def test_checker_returns_true_for_a_right_answer(capsys):
    assert check_identity(lambda x: x.clone()) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "body, message",
    [
        (lambda x: None, "fn returns None: its body is still `...`"),
        (lambda x: ..., "fn returns `...`"),
        (lambda x: (_ for _ in ()).throw(NotImplementedError), "fn raises NotImplementedError"),
    ],
)
def test_an_unfinished_function_prints_what_is_missing_and_raises_nothing(body, message, capsys):
    assert check_identity(body) is False
    out = capsys.readouterr().out
    assert out.startswith("Not finished yet: ") and message in out


def test_unfinished_and_require_name_every_missing_answer(capsys):
    assert unfinished(N=..., scores=3, windowed=None) is True
    assert "N and windowed are still `...`" in capsys.readouterr().out
    assert unfinished(N=1, scores=2) is False
    assert capsys.readouterr().out == ""
    with pytest.raises(Unfinished, match="scores is still"):
        require(N=1, scores=...)


def test_a_non_function_is_named():
    with pytest.raises(ExerciseError, match="fn is a Tensor, not a function"):
        call(torch.zeros(1), name="fn")


def test_a_wrong_answer_raises_with_a_short_traceback():
    with pytest.raises(ExerciseError) as err:
        check_identity(lambda x: x + 1)
    frames = [entry.name for entry in err.traceback]
    assert frames == ["test_a_wrong_answer_raises_with_a_short_traceback", "wrapped"]  # none inside the checker


def test_the_answer_key_is_refused_however_it_is_handed_in():
    keys = (window_reverse,)
    assert uses_answer_key(window_reverse, *keys)
    assert uses_answer_key(functools.partial(window_reverse, window_size=2), *keys)
    assert uses_answer_key(lambda w, M, H, W: window_reverse(w, M, H, W), *keys)
    assert uses_answer_key(lambda w, M, H, W: windows_module.window_reverse(w, M, H, W), *keys)

    def nested(w, M, H, W):
        return (lambda: window_reverse(w, M, H, W))()

    assert uses_answer_key(nested, *keys)
    assert not uses_answer_key(lambda w, M, H, W: w.flip(0), *keys)
    assert not uses_answer_key(lambda x, M: window_partition(x, M), *keys)  # another function is fine
    with pytest.raises(ExerciseError, match="this is swinlab's answer key \\(window_reverse\\)"):
        refuse_answer_key(window_reverse, *keys, name="window_reverse")


def test_compare_names_a_wrong_type_and_a_wrong_number_of_values():
    expected = torch.zeros(2, 3)
    with pytest.raises(ExerciseError, match="expected a torch.Tensor, got list"):
        compare("out", [0.0] * 6, expected)
    with pytest.raises(ExerciseError, match=r"shape \(2, 4\) \(8 values\), expected \(2, 3\) \(6 values\)"):
        compare("out", torch.zeros(2, 4), expected)


def test_compare_says_when_the_same_axes_are_in_another_order():
    with pytest.raises(ExerciseError, match=r"shape \(3, 2\), expected \(2, 3\) \(the same axes in another order\)"):
        compare("out", torch.zeros(3, 2), torch.zeros(2, 3))
    with pytest.raises(ExerciseError, match="the same number of values, grouped differently"):
        compare("out", torch.zeros(6, 1), torch.zeros(2, 3))


def test_compare_gives_the_first_differing_position_with_both_values_and_where_a_value_belongs():
    expected = torch.arange(8).view(2, 4)
    shuffled = expected.t().reshape(2, 4)  # every value present, in another order
    with pytest.raises(ExerciseError) as err:
        compare("out", shuffled, expected, hint="Mind the order.")
    text = str(err.value)
    assert "right shape (2, 4), but 6 of 8 values differ" in text
    assert "the first at position (0, 1): got 4, expected 1" in text
    assert "Every expected value is there, in another order (the 4 found at (0, 1) belongs at (1, 0))" in text
    assert text.endswith("Mind the order.")
    with pytest.raises(ExerciseError, match="the first at position \\(0, 0\\): got 1, expected 0\\.$"):
        compare("out", expected + 1, expected)


def test_compare_number_says_which_way_and_hides_the_expected_value_unless_asked():
    with pytest.raises(ExerciseError, match="^N = 9000 is too small\\.$"):
        compare_number("N", 9000, 9216)
    with pytest.raises(ExerciseError, match="is too large, expected 9216"):
        compare_number("f(2)", 10000, 9216, show_expected=True)
    with pytest.raises(ExerciseError, match="expected a number, got str"):
        compare_number("N", "9216", 9216)
    compare_number("N", torch.tensor(9216), 9216)
    compare_number("ratio", 13.81, 13.8134, rel=1e-3)


def test_an_error_in_the_students_code_names_the_input_and_keeps_the_students_traceback():
    def broken(x):
        return x.view(5, 5)

    with pytest.raises(ExerciseError, match=r"fn\(<tensor of shape \(3, 4\)>\) raised RuntimeError") as err:
        check_identity(broken)
    assert isinstance(err.value.__cause__, RuntimeError)
    assert "broken" in [frame.name for frame in traceback.extract_tb(err.value.__cause__.__traceback__)]
