"""Small argument checks shared by every lesson's module (not a lesson of its own), and the one safe
way the package reads a file written by ``torch.save``."""

from __future__ import annotations

import argparse
import math
import numbers
import os
import pickle
import pickletools
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any


def pair(value: int | tuple[int, int] | list[int], name: str = "size") -> tuple[int, int]:
    """Return ``value`` as a ``(height, width)`` pair of positive ints.

    ``7 -> (7, 7)``; ``(4, 8) -> (4, 8)``. Raises ``ValueError`` naming ``name`` otherwise.
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
        values = tuple(value)
    else:
        values = (value, value)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r} ({type(v).__name__})")
        if v < 1:
            raise ValueError(f"{name} must be positive, got {value!r}")
    return int(values[0]), int(values[1])


def divisors(n: int) -> list[int]:
    """The divisors of ``n`` greater than 1, in increasing order (used in error messages)."""
    return [d for d in range(2, n + 1) if n % d == 0]


def check_divisible(axis: str, length: int, size: int, what: str, symbol: str) -> None:
    """Raise a ``ValueError`` that names the sizes and the fix when ``size`` does not divide ``length``.

    ``check_divisible("H", 30, 7, "window", "M")`` raises
    "H=30 is not divisible by window M=7: pad to 35 or pick M in {2, 3, 5, 6, 10, 15, 30}".
    """
    if size > length:
        raise ValueError(
            f"{what} {symbol}={size} is larger than {axis}={length}: pick {symbol} <= {length} or use a larger input"
        )
    if length % size:
        padded = -(-length // size) * size
        choices = ", ".join(map(str, divisors(length))) or "none (the length is 1)"
        raise ValueError(
            f"{axis}={length} is not divisible by {what} {symbol}={size}: "
            f"pad to {padded} or pick {symbol} in {{{choices}}}"
        )


def check_rank(x, rank: int, layout: str, name: str = "x") -> None:
    """Raise a ``ValueError`` unless tensor ``x`` has ``rank`` dimensions (``layout`` names them)."""
    if x.dim() != rank:
        raise ValueError(f"{name} must be a {rank}-D tensor {layout}, got shape {tuple(x.shape)}")


# ---------------------------------------------------------------------------------------------
# Reading checkpoints safely
# ---------------------------------------------------------------------------------------------

#: Parts of the weights-only unpickler's messages that mean "this file asks for more than tensors and
#: plain values" (a refusal for safety), as opposed to "this is not a pickle I can read" (damage).
_REFUSALS = (
    "GLOBAL ",
    "Can only create new object",
    "Can only build",
    "Trying to call reduce",
    "persistent_load id",
    "Only persistent_load of storage",
    "must be imported to load",
)


def _looks_like_text(head: bytes) -> str | None:
    """The first line of ``head`` when the bytes are printable text (an HTML page, a note), else None."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A cut in the middle of a multi-byte character at the end of ``head`` is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not text.strip() or not all(c.isprintable() or c in "\t\r\n" for c in text):
        return None
    first = text.strip().splitlines()[0]
    return first if len(first) <= 40 else first[:40] + "..."


def _pickle_globals(path: Path) -> tuple[int | None, list[str]]:
    """The pickle protocol of the raw pickle at ``path`` and the globals it asks for, read with ``pickletools``
    (which only lists opcodes and never runs them). ``(None, [])`` when the file is not a readable pickle."""
    protocol, found, strings = None, [], []
    try:
        with open(path, "rb") as f:
            for opcode, arg, _ in pickletools.genops(f):
                if opcode.name == "PROTO":
                    protocol = arg
                elif opcode.name == "GLOBAL":
                    found.append(str(arg).replace(" ", "."))
                elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append(f"{strings[-2]}.{strings[-1]}")
                elif isinstance(arg, str):
                    strings.append(arg)
    except Exception:  # a damaged stream: report what was found before the damage
        pass
    return protocol, found


def _damage_reason(path: Path, error: BaseException) -> str:
    """Why a non-empty file that ``torch.load`` could not read is not a checkpoint, in words."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        head = b""
    first_line = _looks_like_text(head)
    if first_line is not None:
        return (
            f"is a text file, not a checkpoint (it begins {first_line!r}): a download that returned a web "
            f"page, or the wrong file? Pass the file that torch.save wrote"
        )
    if head.startswith(b"PK"):
        return (
            "is a damaged or truncated zip archive (the format torch.save writes): probably an interrupted "
            "write, copy or download. Save, copy or download it again"
        )
    if isinstance(error, EOFError):
        return (
            "ends before its data does (truncated): probably an interrupted write, copy or download. "
            "Save, copy or download it again"
        )
    if head.startswith(b"\x80"):  # a raw pickle (pickle.dump), not torch.save's zip archive
        protocol, _ = _pickle_globals(path)
        if protocol is not None and protocol > 2:
            return (
                f"is a plain Python pickle (protocol {protocol}), not a file torch.save wrote, and the safe "
                f"reader does not read it. Save it with torch.save"
            )
    detail = str(error).strip().splitlines()
    detail = [line for line in detail if "Unsupported operand" in line] or detail[:1]
    reason = f"{type(error).__name__}: {detail[0].strip()}" if detail and detail[0].strip() else type(error).__name__
    return (
        f"is not a checkpoint written by torch.save, or it is damaged ({reason}). Pass the right file, "
        f"or save, copy or download it again"
    )


def _refusal(what: str, path: Path, name: str | None) -> str:
    named = f" (it asks for {name})" if name else ""
    return (
        f"refusing to load {what} {path}: it holds objects other than tensors and plain values{named}, and "
        f"unpickling those would run code, so it was refused for safety. Use a checkpoint from a source you "
        f"trust that holds only tensors and plain values (e.g. a state_dict)"
    )


def torch_load_safely(path: str | os.PathLike, what: str = "checkpoint", *, map_location: Any = "cpu") -> Any:
    """Read a file written by ``torch.save`` with ``torch.load(weights_only=True)``: tensors and plain Python
    values (dicts, lists, numbers, strings) only, so loading it can never run code.

    ``what`` names the file in messages ("checkpoint", "official checkpoint"): "checkpoint runs/a/last.pt is
    empty ...". Every failure is one error that names the file and the reason, raised without torch's own
    message attached:

    - no file: ``FileNotFoundError``; a folder: ``IsADirectoryError``; unreadable: ``PermissionError``;
    - empty (0 bytes), truncated, damaged, a text file or not a ``torch.save`` file at all: ``ValueError``;
    - a file holding other objects (classes, functions: what a malicious pickle needs to run code): ``ValueError``
      saying it was refused for safety, naming the refused global when torch names it.
    """
    import torch  # here, so that the argument checks above stay importable without torch

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {path}: check the path")
    if path.is_dir():
        raise IsADirectoryError(f"{what} {path} is a folder, not a file: pass the file inside it")
    if path.stat().st_size == 0:
        raise ValueError(
            f"{what} {path} is empty (0 bytes): probably an interrupted write, copy or download. "
            f"Save, copy or download it again"
        )
    try:
        with warnings.catch_warnings():
            # Torch warns about pickle protocols other than 2 before it reads on; any real problem is an
            # exception handled below, so the warning would only be noise before the message.
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location=map_location, weights_only=True)
    except PermissionError:
        raise PermissionError(f"cannot read {what} {path}: permission denied") from None
    except pickle.UnpicklingError as e:
        message = str(e)
        if any(refusal in message for refusal in _REFUSALS):
            found = re.search(r"GLOBAL ([\w.]+?)\.?(?:\s|$)", message)
            raise ValueError(_refusal(what, path, found.group(1) if found else None)) from None
        if "Unsupported operand" in message:
            # A raw pickle (not torch.save's format) stops at its first opcode the safe reader lacks, before
            # reaching any global it asks for: list them with pickletools (which runs nothing).
            _, asked = _pickle_globals(path)
            if asked:
                raise ValueError(_refusal(what, path, asked[0])) from None
        raise ValueError(f"{what} {path} {_damage_reason(path, e)}") from None
    except RuntimeError as e:
        message = str(e)
        # Damage reported by torch's zip reader ("PytorchStreamReader failed ..."); any other runtime error
        # (e.g. map_location naming a device this machine lacks) is not about the file and passes through.
        if "PytorchStreamReader" not in message and "zip archive" not in message:
            raise
        raise ValueError(f"{what} {path} {_damage_reason(path, e)}") from None
    except (EOFError, KeyError, IndexError, ValueError, TypeError, AttributeError, UnicodeDecodeError) as e:
        # What the legacy (non-zip) reader raises on bytes that are not a pickle: e.g. KeyError: 101 for a
        # text file, EOFError for a cut one.
        raise ValueError(f"{what} {path} {_damage_reason(path, e)}") from None


def write_atomic(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Write a file via ``write(tmp)``, a temporary file in the same folder, then ``os.replace``: a reader sees
    the old file or the new one, never half of one. A writer killed mid-write leaves only a ``.NAME.*.tmp``
    file. The file gets ordinary permissions (``mkstemp`` alone would make it private): results, histories and
    checkpoints are meant to be shared like any file the user writes."""
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` with :func:`write_atomic`."""
    import json

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")

    write_atomic(path, write)


def number_arg(
    kind: type, low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False
) -> Callable[[str], Any]:
    """An argparse type: ``kind`` within ``[low, high]`` (or open at either end); argparse names the flag."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n int' if kind is int else ' number'}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
            hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
            raise argparse.ArgumentTypeError(
                f"{text} is out of range: it must be {' and '.join(x for x in (lo, hi) if x)}"
            )
        return value

    return parse
