"""torch_load_safely: the one way swinlab reads a torch.save file. Every failure names the file and the reason,
never advises weights_only=False, and never chains torch's own message (which does). And the other half of
"nothing a user made is lost": the atomic writers every result, history and checkpoint goes through."""

from __future__ import annotations

import json
import os
import pickle
import zipfile

import pytest
import torch

from swinlab._utils import torch_load_safely, write_atomic, write_json_atomic


class _RunsCode:
    """Unpickling this object would create a file: what a malicious checkpoint does. Never unpickled unsafely."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _assert_clean(error: BaseException) -> None:
    """Torch's message (which recommends weights_only=False) is neither in the message nor chained to it."""
    assert "weights_only" not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_a_good_checkpoint_loads(tmp_path):
    path = tmp_path / "good.pt"
    torch.save({"model": {"w": torch.arange(3.0)}, "epoch": 2, "name": "run"}, path)
    loaded = torch_load_safely(path)
    assert torch.equal(loaded["model"]["w"], torch.arange(3.0)) and loaded["epoch"] == 2


@pytest.mark.parametrize("writer", ["torch.save", "pickle protocol 2", "pickle protocol 5"])
def test_a_malicious_checkpoint_is_refused_for_safety_and_names_the_global(tmp_path, writer):
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pt"
    payload = {"model": {"w": _RunsCode(str(marker))}}
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=int(writer[-1])))
    with pytest.raises(ValueError) as info:
        torch_load_safely(path, "checkpoint")
    message = str(info.value)
    assert str(path) in message
    assert "holds objects other than tensors and plain values" in message and "refused for safety" in message
    assert f"it asks for {os.system.__module__}.system" in message  # posix.system (nt.system on Windows)
    _assert_clean(info.value)
    assert not marker.exists()


def test_a_missing_file_is_a_file_not_found_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*nothing.pt"):
        torch_load_safely(tmp_path / "nothing.pt")


def test_a_folder_is_named_as_a_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder, not a file"):
        torch_load_safely(tmp_path)


def test_an_empty_file_says_empty_and_not_a_bare_eof_error(tmp_path):
    path = tmp_path / "last.pt"
    path.touch()
    with pytest.raises(ValueError, match=r"checkpoint .*last.pt is empty \(0 bytes\): probably an interrupted") as info:
        torch_load_safely(path)
    _assert_clean(info.value)


def test_a_truncated_checkpoint_says_truncated(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"w": torch.randn(100)}, good)
    assert zipfile.is_zipfile(good)  # torch.save writes a zip archive: cutting it loses its directory
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"cut.pt is a damaged or truncated zip archive") as info:
        torch_load_safely(cut)
    _assert_clean(info.value)


def test_a_truncated_legacy_checkpoint_says_truncated(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"w": torch.randn(100)}, good, _use_new_zipfile_serialization=False)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:50])
    with pytest.raises(ValueError, match=r"cut.pt ends before its data does \(truncated\)") as info:
        torch_load_safely(cut)
    _assert_clean(info.value)


@pytest.mark.parametrize(
    "text, begins",
    [("hello\nnot a checkpoint\n", "hello"), ("<!DOCTYPE html><html>404 Not Found</html>", "<!DOCTYPE html>")],
)
def test_a_text_file_says_text_and_shows_how_it_begins(tmp_path, text, begins):
    path = tmp_path / "weights.pth"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"weights.pth is a text file, not a checkpoint") as info:
        torch_load_safely(path)
    assert f"it begins '{begins}" in str(info.value)
    _assert_clean(info.value)


def test_random_bytes_say_not_a_checkpoint(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(bytes([0xFA, 0x01, 0xC3, 0x00]) * 64)
    with pytest.raises(
        ValueError, match=r"noise.pt is not a checkpoint written by torch.save, or it is damaged"
    ) as info:
        torch_load_safely(path)
    _assert_clean(info.value)


def test_a_plain_pickle_of_plain_values_says_to_use_torch_save(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2]}, protocol=5))
    with pytest.raises(ValueError, match=r"plain.pkl is a plain Python pickle \(protocol 5\).*torch.save") as info:
        torch_load_safely(path)
    _assert_clean(info.value)


def test_what_names_the_file_in_the_message(tmp_path):
    path = tmp_path / "x.pt"
    path.touch()
    with pytest.raises(ValueError, match=r"^official checkpoint .*x.pt is empty"):
        torch_load_safely(path, what="official checkpoint")


def test_map_location_is_passed_to_torch(tmp_path):
    path = tmp_path / "meta.pt"
    torch.save({"w": torch.ones(2)}, path)
    assert torch_load_safely(path, map_location="meta")["w"].device.type == "meta"


def test_atomic_writes_keep_the_old_file_when_a_write_fails_and_give_ordinary_permissions(tmp_path):
    path = tmp_path / "results.json"
    write_json_atomic(path, {"acc": 0.5})
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0o600

    def killed_half_way(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write('{"acc": ')
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        write_atomic(path, killed_half_way)
    assert json.loads(path.read_text()) == {"acc": 0.5}  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # and no temporary left behind
