"""What every lesson's exercise checkers share. A checker runs the student's answer against swinlab and says
what is wrong, in words, or confirms it is right.

The contract of a checker (``check_*`` in each ``lessonNN_*.py``), written with the helpers below:

- **Right**: it prints ``Correct: ...`` (:func:`passed`) and returns ``True``.
- **Wrong**: it raises :class:`ExerciseError` (an ``AssertionError``) whose message names what is wrong:
  the type, the shape, the order, the first position where the values differ and both values there
  (:func:`compare`, :func:`compare_number`). It never prints the solution: no reference pattern, no formula,
  and for a single-number answer not the number.
- **Unfinished** (the notebook as saved: the student's cell still holds ``...``): it prints what is missing
  and returns ``False`` without raising, so a notebook runs top to bottom as saved. A checker decorated
  with :func:`checker` gets this for free: inside it, :func:`call` and :func:`require` raise
  :class:`Unfinished`, which the decorator turns into a printed line.
- **The answer key**: handing the checker swinlab's own function (the object the exercise asks the student
  to write) is refused with an :class:`ExerciseError` saying so (:func:`refuse_answer_key`).

A typical checker::

    @checker
    def check_window_reverse(fn) -> bool:
        refuse_answer_key(fn, window_reverse, name="window_reverse")
        for case in cases:
            got = call(fn, windows, M, H, W, name="my_window_reverse")   # Unfinished if still `...`
            compare(f"my_window_reverse on {case}", got, expected, hint="...")
        return passed("...")
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch

__all__ = [
    "ExerciseError",
    "Unfinished",
    "passed",
    "not_finished",
    "is_unfinished",
    "unfinished",
    "require",
    "call",
    "checker",
    "refuse_answer_key",
    "uses_answer_key",
    "compare",
    "compare_number",
]


class ExerciseError(AssertionError):
    """The answer is not right yet; the message says what differs and what to look at."""


class Unfinished(ExerciseError):
    """The answer still holds the ``...`` the notebook was saved with. :func:`checker` prints the message
    and returns ``False`` instead of raising."""


def passed(message: str) -> bool:
    """Print ``Correct: <message>`` and return ``True``: what a checker does when the answer is right."""
    print(f"Correct: {message}")
    return True


def not_finished(message: str) -> bool:
    """Print ``Not finished yet: <message>`` and return ``False``: the saved, unfinished state of an exercise."""
    print(f"Not finished yet: {message}")
    return False


# ---- unfinished answers ------------------------------------------------------------------------


def is_unfinished(value: Any) -> bool:
    """Whether ``value`` is still a placeholder: ``...`` (Ellipsis) or ``None`` (what a function whose body
    is ``...`` returns)."""
    return value is Ellipsis or value is None


def unfinished(*values: Any, **named: Any) -> bool:
    """Print what is missing and return ``True`` when any of the answers is still ``...`` or ``None``;
    return ``False`` (printing nothing) when all are filled in.

    Pass the answers by name so the message can name them: ``if unfinished(N=N, scores=scores): return False``.
    Positional values are called "answer 1", "answer 2", ...
    """
    items = [(f"answer {i + 1}", v) for i, v in enumerate(values)] + list(named.items())
    missing = [name for name, value in items if is_unfinished(value)]
    if missing:
        not_finished(
            f"{_join(missing)} {'is' if len(missing) == 1 else 'are'} still `...`: fill in, then run the cell again."
        )
    return bool(missing)


def require(**named: Any) -> None:
    """Raise :class:`Unfinished` naming every answer that is still ``...`` or ``None`` (for use inside a
    :func:`checker`, which prints it instead of raising)."""
    missing = [name for name, value in named.items() if is_unfinished(value)]
    if missing:
        raise Unfinished(
            f"{_join(missing)} {'is' if len(missing) == 1 else 'are'} still `...`: fill in, then run the cell again."
        )


def call(fn: Callable, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, raising :class:`Unfinished` when the student's function is not written yet:
    it returns ``...`` or ``None``, or raises ``NotImplementedError``. Any other exception inside the student's
    function becomes an :class:`ExerciseError` naming the inputs (tensors by shape), with the original
    exception (and its traceback into the student's code) as its cause. ``name`` is how messages call it
    (default: the function's ``__name__``)."""
    name = name or getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise ExerciseError(f"{name} is a {type(fn).__name__}, not a function: pass the function itself, without ().")
    try:
        got = fn(*args, **kwargs)
    except NotImplementedError:
        raise Unfinished(f"{name} raises NotImplementedError: write its body, then run the cell again.") from None
    except Exception as err:  # the student's code failed: say on which input, keep their traceback as the cause
        inputs = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        raise ExerciseError(f"{name}({inputs}) raised {type(err).__name__}: {err}") from err
    if got is Ellipsis:
        raise Unfinished(f"{name} returns `...`: write its body, then run the cell again.")
    if got is None:
        raise Unfinished(
            f"{name} returns None: its body is still `...` (or it lacks a `return`). Write it, then run the cell again."
        )
    return got


def checker(check: Callable[..., bool]) -> Callable[..., bool]:
    """Decorate a checker: :class:`Unfinished` raised inside it is printed (``Not finished yet: ...``) and the
    checker returns ``False``; an :class:`ExerciseError` is re-raised with a short traceback (the checker's
    own frames hidden, so the student reads the message, not swinlab's code)."""

    @functools.wraps(check)
    def wrapped(*args: Any, **kwargs: Any) -> bool:
        __tracebackhide__ = True  # noqa: F841 (read by IPython and pytest)
        try:
            return check(*args, **kwargs)
        except Unfinished as err:
            return not_finished(str(err))
        except ExerciseError as err:
            # drop the checker's own frames; keep a cause (the student's exception, from `call`) if there is one
            raise err.with_traceback(None) from err.__cause__

    return wrapped


# ---- the answer key ----------------------------------------------------------------------------


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def uses_answer_key(fn: Any, *key_objects: Any) -> bool:
    """Whether ``fn`` is one of ``key_objects``, wraps one (``functools.partial``, ``functools.wraps``), or
    calls one by a global name (``lambda x, P: patches_to_image(x, P)``, or ``swinlab.patches.patches_to_image``
    through a module in its globals)."""
    keys = [k for k in key_objects if k is not None]
    seen: set[int] = set()
    while fn is not None and id(fn) not in seen:
        seen.add(id(fn))
        if any(fn is k for k in keys):
            return True
        if isinstance(fn, functools.partial):
            fn = fn.func
            continue
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None:
            fn = wrapped
            continue
        break
    func = inspect.unwrap(fn) if callable(fn) else fn
    code, glob = getattr(func, "__code__", None), getattr(func, "__globals__", None)
    if code is None or glob is None:
        return False
    names = {n for c in _code_objects(code) for n in c.co_names}
    modules: dict[int, types.ModuleType] = {}
    for n in names:
        value = glob.get(n)
        if value is None:
            continue
        if any(value is k for k in keys):
            return True
        if isinstance(value, types.ModuleType):
            modules[id(value)] = value
    for _ in range(3):  # `swinlab.patches.patches_to_image`: follow the module attributes the code names
        for m in list(modules.values()):
            for n in names:
                sub = getattr(m, n, None)
                if isinstance(sub, types.ModuleType):
                    modules[id(sub)] = sub
    return any(
        getattr(k, "__name__", None) in names and getattr(m, k.__name__, None) is k
        for m in modules.values()
        for k in keys
    )


def refuse_answer_key(fn: Any, *key_objects: Any, name: str) -> None:
    """Raise :class:`ExerciseError` when the student hands in swinlab's own answer (one of ``key_objects``,
    e.g. ``swinlab.windows.window_reverse``) or a function that only calls it (see :func:`uses_answer_key`).

    ``name``: what the exercise asks for, as the message should call it (``"window_reverse"``).
    """
    if uses_answer_key(fn, *key_objects):
        raise ExerciseError(
            f"this is swinlab's answer key ({name}), or a function that calls it: the checker compares against it, "
            "so it would pass without showing anything. Write your own in the notebook cell."
        )


# ---- comparing answers -------------------------------------------------------------------------


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _describe(value: Any) -> str:
    """A short description of an input for a message: tensors by shape, modules by class, numbers as they are."""
    if isinstance(value, torch.Tensor):
        return f"<tensor of shape {tuple(value.shape)}>"
    if isinstance(value, torch.nn.Module):
        return f"<{value}>" if len(str(value)) <= 60 else f"<{type(value).__name__}>"
    text = repr(value)
    return text if len(text) <= 40 else f"<{type(value).__name__}>"


def _fmt(value: float) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _where_in(expected: torch.Tensor, value: torch.Tensor) -> tuple[int, ...] | None:
    """The one position of ``expected`` holding ``value``, when exactly one does (inputs such as
    ``torch.arange`` make every value name where it came from)."""
    hits = (expected == value).nonzero()
    return tuple(int(i) for i in hits[0]) if len(hits) == 1 else None


def compare(
    name: str, got: Any, expected: torch.Tensor, hint: str = "", atol: float = 1e-5, rtol: float = 1e-4
) -> None:
    """Raise :class:`ExerciseError` unless ``got`` is a tensor equal to ``expected`` (shape and values).

    The message names, in this order, what is wrong: not a tensor (its type); the shape (got and expected,
    and whether the same axes are merely in another order); the values: how many differ, the first position
    where they differ with both values there, and, when every value is present but elsewhere, that the order
    is wrong (and where the first misplaced value belongs, when the values are unique). ``hint`` (one tier
    of hint, never the solution) is appended.
    """
    tail = f" {hint}" if hint else ""
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(f"{name}: expected a torch.Tensor, got {type(got).__name__}.{tail}")
    gs, es = tuple(got.shape), tuple(expected.shape)
    if gs != es:
        if got.numel() != expected.numel():
            raise ExerciseError(
                f"{name}: shape {gs} ({got.numel()} values), expected {es} ({expected.numel()} values).{tail}"
            )
        same_axes = sorted(gs) == sorted(es)
        why = "the same axes in another order" if same_axes else "the same number of values, grouped differently"
        raise ExerciseError(f"{name}: shape {gs}, expected {es} ({why}).{tail}")
    if got.is_complex() != expected.is_complex() or (got.dtype == torch.bool) != (expected.dtype == torch.bool):
        raise ExerciseError(f"{name}: dtype {got.dtype}, expected {expected.dtype}.{tail}")
    g = got.detach().to(device="cpu", dtype=torch.float64)
    e = expected.detach().to(device="cpu", dtype=torch.float64)
    if not torch.isfinite(g).all() and torch.isfinite(e).all():
        first = tuple(int(i) for i in (~torch.isfinite(g)).nonzero()[0])
        raise ExerciseError(f"{name}: holds {g[first].item()} at position {first}; every value should be finite.{tail}")
    bad = (g - e).abs() > atol + rtol * e.abs()
    if not bad.any():
        return
    first = tuple(int(i) for i in bad.nonzero()[0])
    g0, e0 = g[first].item(), e[first].item()
    same_values = torch.allclose(g.flatten().sort().values, e.flatten().sort().values, atol=atol, rtol=rtol)
    message = (
        f"{name}: right shape {gs}, but {int(bad.sum())} of {bad.numel()} values differ; "
        f"the first at position {first}: got {_fmt(g0)}, expected {_fmt(e0)}."
    )
    if same_values:
        message += " Every expected value is there, in another order"
        source = _where_in(e, g[first])
        message += f" (the {_fmt(g0)} found at {first} belongs at {source})." if source is not None else "."
    raise ExerciseError(message + tail)


def compare_number(
    name: str, got: Any, expected: float, hint: str = "", show_expected: bool = False, rel: float = 0.0
) -> None:
    """Raise :class:`ExerciseError` unless ``got`` is a number equal to ``expected`` (within ``rel``,
    relative; exact by default).

    The message says whether ``got`` is too large or too small. It shows ``expected`` only with
    ``show_expected=True``: right for one test case of a function the student writes (the value at some
    input is not the formula), wrong for a single-number exercise, where it would be the answer.
    """
    tail = f" {hint}" if hint else ""
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise ExerciseError(f"{name}: expected a number, got {type(got).__name__} ({got!r}).{tail}")
    if abs(got - expected) <= rel * abs(expected):
        return
    side = "too large" if got > expected else "too small"
    shown = f", expected {_fmt(expected)}" if show_expected else ""
    raise ExerciseError(f"{name} = {_fmt(got)} is {side}{shown}.{tail}")
