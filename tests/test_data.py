"""Tests for swinlab.data: download, verification, safe extraction, safe unpickling, loading.

No test touches the network: each builds a tiny archive in the official CIFAR-10 "python version"
format in tmp_path and downloads it through a file:// URL, or replaces urllib.request.urlopen.
"""

import hashlib
import io
import os
import pickle
import pickletools
import struct
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from swinlab import data
from swinlab.data import (
    CIFAR10_CLASSES,
    DownloadError,
    UnsafeArchiveError,
    data_dir,
    download_cifar10,
    load_cifar10,
    load_cifar10_or_synthetic,
    synthetic_cifar10,
    to_tensors,
)

N_PER_BATCH, N_TEST = 3, 4  # images per training batch (5 batches) and in the test batch


# ---------------------------------------------------------------------------------------------------
# Building tiny CIFAR-10 folders and archives in the official format


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _dump(path: Path, obj: dict, str_keys: bool = False, protocol: int = 2) -> None:
    if str_keys:
        obj = {key.decode(): value for key, value in obj.items()}
    path.write_bytes(pickle.dumps(obj, protocol=protocol))


def _batch(rows: np.ndarray, labels: list, name: str) -> dict:
    return {
        b"batch_label": name.encode(),
        b"labels": labels,
        b"data": rows,
        b"filenames": [f"{name}_{i}.png".encode() for i in range(len(labels))],
    }


def write_folder(folder: Path, seed: int = 0, str_keys: bool = False, protocol: int = 2) -> SimpleNamespace:
    """Write a tiny official-layout cifar-10-batches-py folder (pickle ``protocol``); -> its rows and labels."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    train_rows = [rng.integers(0, 256, size=(N_PER_BATCH, 3072), dtype=np.uint8) for _ in range(5)]
    train_labels = [[int(v) for v in rng.integers(0, 10, N_PER_BATCH)] for _ in range(5)]
    for i, (rows, labels) in enumerate(zip(train_rows, train_labels, strict=True), start=1):
        _dump(folder / f"data_batch_{i}", _batch(rows, labels, f"training batch {i} of 5"), str_keys, protocol)
    test_rows = rng.integers(0, 256, size=(N_TEST, 3072), dtype=np.uint8)
    test_labels = [int(v) for v in rng.integers(0, 10, N_TEST)]
    _dump(folder / "test_batch", _batch(test_rows, test_labels, "testing batch 1 of 1"), str_keys, protocol)
    meta = {b"num_cases_per_batch": N_PER_BATCH, b"label_names": [c.encode() for c in CIFAR10_CLASSES],
            b"num_vis": 3072}  # fmt: skip
    _dump(folder / "batches.meta", meta, str_keys, protocol)
    (folder / "readme.html").write_text("<html>tiny CIFAR-10</html>")
    return SimpleNamespace(
        train_rows=np.concatenate(train_rows),
        train_labels=np.concatenate(train_labels),
        test_rows=test_rows,
        test_labels=np.array(test_labels),
    )


def write_archive(path: Path, folder: Path, extra: list[tuple[tarfile.TarInfo, bytes]] = ()) -> str:
    """Tar.gz folder as cifar-10-batches-py/ (after the extra members, if any); -> the archive's MD5."""
    with tarfile.open(path, "w:gz") as tar:
        for info, payload in extra:
            tar.addfile(info, io.BytesIO(payload) if info.isfile() else None)
        tar.add(folder, arcname="cifar-10-batches-py")
    return _md5(path)


@pytest.fixture
def tiny(tmp_path: Path) -> SimpleNamespace:
    """A tiny CIFAR-10 archive served from a file:// URL, and an empty data folder to download into."""
    made = write_folder(tmp_path / "source" / "cifar-10-batches-py")
    archive = tmp_path / "served" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    made.md5 = write_archive(archive, tmp_path / "source" / "cifar-10-batches-py")
    made.archive, made.url = archive, archive.as_uri()
    made.root = tmp_path / "data"
    return made


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every urlopen fail as it does offline; -> the URLs that were tried."""
    tried: list[str] = []

    def offline(url, *args, **kwargs):
        tried.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return tried


def leftovers(root: Path) -> list[Path]:
    """Temporary downloads or half-extracted folders left behind."""
    return [p for p in root.glob(".*") if p.name.endswith(".part")]


# ---------------------------------------------------------------------------------------------------
# Download, verify, extract, load


def test_download_verifies_extracts_and_loads_the_archive(tiny):
    folder = download_cifar10(tiny.root, url=tiny.url, md5=tiny.md5, progress=False)

    assert folder == tiny.root / "cifar-10-batches-py"
    assert (tiny.root / "cifar-10-python.tar.gz").read_bytes() == tiny.archive.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == sorted([*data.REQUIRED_FILES, "readme.html"])
    assert leftovers(tiny.root) == []

    arrays = load_cifar10(tiny.root, download=False)
    assert arrays.train_images.shape == (5 * N_PER_BATCH, 32, 32, 3)
    assert arrays.test_images.shape == (N_TEST, 32, 32, 3)
    assert arrays.train_images.dtype == arrays.test_images.dtype == np.uint8
    assert arrays.train_labels.dtype == arrays.test_labels.dtype == np.int64
    np.testing.assert_array_equal(arrays.train_labels, tiny.train_labels)
    np.testing.assert_array_equal(arrays.test_labels, tiny.test_labels)
    assert arrays.classes == CIFAR10_CLASSES and arrays.synthetic is False


def test_official_row_layout_becomes_channels_last_pixels(tiny):
    download_cifar10(tiny.root, url=tiny.url, md5=tiny.md5, progress=False)
    arrays = load_cifar10(tiny.root, download=False)

    # A row holds 1024 red values, then 1024 green, then 1024 blue, each image row by row.
    for i, y, x, c in [(0, 0, 0, 0), (4, 5, 7, 2), (14, 31, 0, 1), (7, 2, 30, 0)]:
        assert arrays.train_images[i, y, x, c] == tiny.train_rows[i, c * 1024 + y * 32 + x]
    by_hand = np.stack([tiny.test_rows[:, c * 1024 : (c + 1) * 1024].reshape(-1, 32, 32) for c in range(3)], -1)
    np.testing.assert_array_equal(arrays.test_images, by_hand)
    assert arrays.train_images.flags.c_contiguous


def test_official_layout_folder_is_used_without_download(tmp_path, no_network):
    write_folder(tmp_path / "cifar-10-batches-py")

    assert download_cifar10(tmp_path) == tmp_path / "cifar-10-batches-py"
    arrays = load_cifar10(tmp_path)  # download=True, yet nothing is fetched
    assert arrays.train_images.shape == (5 * N_PER_BATCH, 32, 32, 3)
    assert no_network == []


def test_root_may_be_the_batches_folder_itself(tmp_path, no_network):
    folder = tmp_path / "somewhere" / "cifar-10-batches-py"
    write_folder(folder)

    assert download_cifar10(folder) == folder
    assert load_cifar10(folder).test_images.shape == (N_TEST, 32, 32, 3)
    assert no_network == []


def test_batches_with_str_keys_load_like_bytes_keys(tmp_path):
    made = write_folder(tmp_path / "cifar-10-batches-py", str_keys=True)

    arrays = load_cifar10(tmp_path, download=False)
    np.testing.assert_array_equal(arrays.train_labels, made.train_labels)
    assert arrays.classes == CIFAR10_CLASSES


def test_download_shows_a_progress_bar(tiny, capsys):
    download_cifar10(tiny.root, url=tiny.url, md5=tiny.md5, progress=True)

    assert "downloading cifar-10-python.tar.gz" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------
# Corrupt and truncated archives


def test_wrong_md5_is_refused_before_reading_and_the_next_try_succeeds(tiny, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the archive was opened before its MD5 was checked")

    with monkeypatch.context() as patch:
        patch.setattr(tarfile, "open", never)
        with pytest.raises(DownloadError, match="has MD5 .* expected 0123456789abcdef") as err:
            download_cifar10(tiny.root, url=tiny.url, md5="0123456789abcdef0123456789abcdef", progress=False)

    assert tiny.md5 in str(err.value)  # the MD5 it found
    assert not (tiny.root / "cifar-10-python.tar.gz").exists()
    assert not (tiny.root / "cifar-10-batches-py").exists()
    assert leftovers(tiny.root) == []

    assert download_cifar10(tiny.root, url=tiny.url, md5=tiny.md5, progress=False).is_dir()


def test_archive_in_place_with_bad_md5_is_kept_renamed_reported_and_downloaded_again(tiny):
    tiny.root.mkdir()
    placed = tiny.archive.read_bytes()[:1000]
    (tiny.root / "cifar-10-python.tar.gz").write_bytes(placed)

    with pytest.warns(UserWarning, match=r"It was kept, renamed to cifar-10-python.tar.gz.md5-mismatch; downloading"):
        folder = download_cifar10(tiny.root, url=tiny.url, md5=tiny.md5, progress=False)

    assert (tiny.root / "cifar-10-python.tar.gz.md5-mismatch").read_bytes() == placed  # the user's file, intact
    assert _md5(tiny.root / "cifar-10-python.tar.gz") == tiny.md5
    assert load_cifar10(folder, download=False).train_images.shape == (5 * N_PER_BATCH, 32, 32, 3)


def test_archive_in_place_with_bad_md5_and_download_false_is_kept_and_the_error_says_so(tiny, no_network):
    tiny.root.mkdir()
    (tiny.root / "cifar-10-python.tar.gz").write_bytes(b"my notes, not an archive")

    with pytest.raises(DownloadError) as err:
        load_cifar10(tiny.root, download=False)

    message = str(err.value)
    assert "has MD5" in message and "expected" in message and "download=False" in message
    assert "It was kept, renamed to cifar-10-python.tar.gz.md5-mismatch" in message
    assert (tiny.root / "cifar-10-python.tar.gz.md5-mismatch").read_bytes() == b"my notes, not an archive"
    assert not (tiny.root / "cifar-10-python.tar.gz").exists()
    assert no_network == []


def test_a_second_mismatched_archive_never_overwrites_the_first_one_kept(tiny, no_network):
    tiny.root.mkdir()
    archive = tiny.root / "cifar-10-python.tar.gz"
    for attempt in (b"first", b"second", b"third"):
        archive.write_bytes(attempt)
        with pytest.raises(DownloadError, match="renamed to cifar-10-python.tar.gz.md5-mismatch"):
            load_cifar10(tiny.root, download=False)

    kept = {p.name: p.read_bytes() for p in tiny.root.iterdir()}
    assert kept == {
        "cifar-10-python.tar.gz.md5-mismatch": b"first",
        "cifar-10-python.tar.gz.md5-mismatch-2": b"second",
        "cifar-10-python.tar.gz.md5-mismatch-3": b"third",
    }


@pytest.mark.parametrize("damage", ["truncated", "not_a_tar"])
def test_unreadable_archive_is_detected_deleted_and_the_next_try_succeeds(tiny, tmp_path, damage):
    # The MD5 given matches the damaged file, so only reading the archive can tell.
    whole = tiny.archive.read_bytes()
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else b"<html>404</html>" * 100)

    with pytest.raises(DownloadError, match="not a readable gzip tar archive.*truncated or corrupt"):
        download_cifar10(tiny.root, url=damaged.as_uri(), md5=_md5(damaged), progress=False)

    assert not (tiny.root / "cifar-10-python.tar.gz").exists()
    assert not (tiny.root / "cifar-10-batches-py").exists()
    assert leftovers(tiny.root) == []
    assert download_cifar10(tiny.root, url=tiny.url, md5=tiny.md5, progress=False).is_dir()


def test_download_cut_off_midway_leaves_nothing_behind(tiny, monkeypatch):
    class CutOff(io.BytesIO):
        headers = {"Content-Length": "170498071"}

        def read(self, size=-1):
            if self.tell() > 0:
                raise TimeoutError("The read operation timed out")
            return super().read(100)

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: CutOff(b"x" * 1000))

    with pytest.raises(DownloadError, match="timed out"):
        download_cifar10(tiny.root, progress=False)
    assert list(tiny.root.iterdir()) == []


# ---------------------------------------------------------------------------------------------------
# Tar members that must never be extracted


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", payload: bytes = b"") -> tuple:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(payload)
    return info, payload


UNSAFE_MEMBERS = {
    "parent_traversal": (_member("../evil", payload=b"pwned"), "climbs out of the target folder"),
    "nested_traversal": (_member("cifar-10-batches-py/../../evil", payload=b"pwned"), "climbs out"),
    "absolute_path": (_member("/tmp/swinlab-evil", payload=b"pwned"), "is an absolute path"),
    "symlink": (_member("cifar-10-batches-py/data_batch_1", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link"),
    "hardlink": (_member("cifar-10-batches-py/test_batch", tarfile.LNKTYPE, "../../evil"), "hard link"),
    "fifo": (_member("cifar-10-batches-py/pipe", tarfile.FIFOTYPE), "special file"),
    "unexpected_file": (_member("cifar-10-batches-py/setup.sh", payload=b"rm -rf ~"), "not a CIFAR-10 file"),
    "unexpected_folder": (_member("cifar-10-batches-py/extra", tarfile.DIRTYPE), "unexpected folder"),
}


@pytest.mark.parametrize("case", UNSAFE_MEMBERS, ids=list(UNSAFE_MEMBERS))
def test_unsafe_tar_member_is_refused_and_nothing_is_extracted(tiny, tmp_path, case):
    (info, payload), reason = UNSAFE_MEMBERS[case]
    archive = tmp_path / "unsafe.tar.gz"
    md5 = write_archive(archive, tmp_path / "source" / "cifar-10-batches-py", extra=[(info, payload)])

    with pytest.raises(UnsafeArchiveError, match=reason) as err:
        download_cifar10(tiny.root, url=archive.as_uri(), md5=md5, progress=False)

    assert repr(info.name)[1:-1] in str(err.value)  # names the member
    assert not (tmp_path / "evil").exists() and not (tiny.root.parent / "evil").exists()
    assert not (tiny.root / "cifar-10-batches-py").exists()
    assert not (tiny.root / "cifar-10-python.tar.gz").exists()
    assert leftovers(tiny.root) == []


# ---------------------------------------------------------------------------------------------------
# Pickles that must never run code


class _RunsShellCommand:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _shell_pickle(marker: Path) -> tuple[bytes, str]:
    obj = {b"data": _RunsShellCommand(f"touch '{marker}'"), b"labels": [0]}
    return pickle.dumps(obj, protocol=2), f"{os.system.__module__}.system"  # posix.system on Linux


def _exec_pickle(marker: Path) -> tuple[bytes, str]:
    # Written opcode by opcode: GLOBAL builtins.exec, a string argument, call it, stop.
    code = f"open({str(marker)!r}, 'w').close()"
    return b"cbuiltins\nexec\n(V" + code.encode("raw_unicode_escape") + b"\ntR.", "builtins.exec"


@pytest.mark.parametrize("make_payload", [_shell_pickle, _exec_pickle], ids=["os_system", "builtins_exec"])
def test_malicious_pickle_is_refused_by_name_and_never_runs(tmp_path, make_payload):
    folder = tmp_path / "cifar-10-batches-py"
    write_folder(folder)
    marker = tmp_path / "payload-ran"
    payload, refused = make_payload(marker)
    (folder / "data_batch_1").write_bytes(payload)

    with pytest.raises(pickle.UnpicklingError) as err:
        load_cifar10(tmp_path, download=False)

    assert f"refusing to load '{refused}' from data_batch_1" in str(err.value)
    assert "may be malicious" in str(err.value)
    assert not marker.exists()
    # The payload is live: a plain pickle.loads would have run it.
    live_marker = tmp_path / "plain-pickle-ran"
    pickle.loads(make_payload(live_marker)[0])
    assert live_marker.exists()


def test_unpickler_allows_named_numpy_functions_only(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_folder(folder)
    (folder / "test_batch").write_bytes(b"cnumpy\nload\n(V/etc/passwd\ntR.")

    with pytest.raises(pickle.UnpicklingError, match="refusing to load 'numpy.load' from test_batch"):
        load_cifar10(tmp_path, download=False)


def _py2_pickle(obj: object) -> bytes:
    """obj pickled the way Python 2's cPickle (protocol 2) wrote the official CIFAR-10 files: strings as
    SHORT_BINSTRING/BINSTRING (they load as bytes), arrays via numpy.core.multiarray._reconstruct with
    the dtype named by a byte string (b"u1"). Handles the types a batch holds: dict, list, bytes, int
    and C-contiguous uint8 or int64 arrays."""

    def string(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<i", len(b)) + b

    def integer(n: int) -> bytes:
        return b"K" + bytes([n]) if 0 <= n < 256 else b"J" + struct.pack("<i", n)

    def save(value: object) -> bytes:
        if isinstance(value, dict):
            return b"}(" + b"".join(save(k) + save(v) for k, v in value.items()) + b"u"
        if isinstance(value, list):
            return b"](" + b"".join(save(v) for v in value) + b"e"
        if isinstance(value, bytes):
            return string(value)
        if isinstance(value, int):
            return integer(value)
        assert isinstance(value, np.ndarray) and value.dtype in (np.uint8, np.int64) and value.ndim in (1, 2)
        order = b"|" if value.dtype == np.uint8 else b"<"
        shape = b"".join(integer(n) for n in value.shape) + (b"\x85" if value.ndim == 1 else b"\x86")
        return (
            b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + integer(0) + b"\x85" + string(b"b")
            + b"\x87R(" + integer(1) + shape
            + b"cnumpy\ndtype\n" + string(value.dtype.str[1:].encode()) + integer(0) + integer(1) + b"\x87R"
            + b"(" + integer(3) + string(order) + b"NNN" + integer(-1) + integer(-1) + integer(0) + b"tb"
            + b"\x89" + string(value.tobytes()) + b"tb"
        )  # fmt: skip

    return b"\x80\x02" + save(obj) + b"."


def test_batches_as_python_2_pickled_them_load(tmp_path):
    # The official files come from Python 2: the dtype arrives as b"u1", not "u1".
    folder = tmp_path / "cifar-10-batches-py"
    made = write_folder(folder)
    for path in folder.iterdir():
        if path.suffix != ".html":
            path.write_bytes(_py2_pickle(pickle.loads(path.read_bytes())))
    assert b"U\x02u1" in (folder / "data_batch_1").read_bytes()
    extra = folder / "data_batch_5"
    batch = pickle.loads(extra.read_bytes(), encoding="bytes")
    batch[b"extra"] = np.arange(3, dtype=np.int64)  # an int64 array too
    extra.write_bytes(_py2_pickle(batch))

    arrays = load_cifar10(tmp_path, download=False)

    assert np.array_equal(arrays.test_labels, made.test_labels)
    assert np.array_equal(arrays.train_images.reshape(-1, 32 * 32, 3)[:, :, 0], made.train_rows[:, :1024])


def _numpy1_spelling(payload: bytes) -> bytes:
    """The same pickle as numpy 1.x writes it: module numpy.core.* instead of numpy 2's numpy._core.*.

    FRAME opcodes (protocols 4-5) give byte lengths that a renamed module would break; frames are
    optional for the reader, so they are dropped first (everything else is copied opcode by opcode)."""
    ops = list(pickletools.genops(payload))
    ends = [pos for _, _, pos in ops[1:]] + [len(payload)]
    out = b"".join(payload[pos:end] for (op, _, pos), end in zip(ops, ends, strict=True) if op.name != "FRAME")
    for module in (b"numpy._core.numeric", b"numpy._core.multiarray"):
        old = module.replace(b"._core.", b".core.")
        # SHORT_BINUNICODE (0x8c) carries a one-byte length (protocols 4-5); GLOBAL (protocol 2) a newline.
        out = out.replace(b"\x8c" + bytes([len(module)]) + module, b"\x8c" + bytes([len(old)]) + old)
        out = out.replace(b"c" + module + b"\n", b"c" + old + b"\n")
    return out


def _globals(payload: bytes) -> set[str]:
    """The globals a pickle asks for, listed with pickletools (which runs nothing)."""
    found, strings = set(), []
    for opcode, arg, _ in pickletools.genops(payload):
        if opcode.name == "GLOBAL":
            found.add(arg.replace(" ", "."))
        elif opcode.name == "STACK_GLOBAL":
            found.add(f"{strings[-2]}.{strings[-1]}")
        elif isinstance(arg, str):
            strings.append(arg)
    return found


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("numpy_version", ["numpy 2", "numpy 1"])
def test_batches_pickled_with_any_protocol_by_numpy_1_or_2_load(tmp_path, protocol, numpy_version):
    folder = tmp_path / "cifar-10-batches-py"
    made = write_folder(folder, protocol=protocol)
    pickles = [path for path in folder.iterdir() if path.suffix != ".html"]
    if numpy_version == "numpy 1":
        for path in pickles:
            path.write_bytes(_numpy1_spelling(path.read_bytes()))
    asked = set().union(*(_globals(path.read_bytes()) for path in pickles))
    core = "numpy.core" if numpy_version == "numpy 1" else "numpy._core"
    if protocol == 5:  # the case refused before: protocol 5 rebuilds arrays with _frombuffer
        assert asked == {f"{core}.numeric._frombuffer", "numpy.dtype"}
    else:
        assert f"{core}.multiarray._reconstruct" in asked

    arrays = load_cifar10(tmp_path, download=False)

    assert np.array_equal(arrays.test_labels, made.test_labels)
    assert np.array_equal(arrays.train_images.reshape(-1, 32 * 32, 3)[:, :, 0], made.train_rows[:, :1024])


@pytest.mark.parametrize("protocol", [2, 5])
def test_an_array_of_python_objects_is_refused_before_it_exists(tmp_path, protocol):
    # An int64 array whose element type is renamed "O8" (object): its state's flags stay 0, so plain
    # pickle.loads makes an object array whose elements are the file's raw bytes read as pointers.
    spelled = {2: b"X\x02\x00\x00\x00", 5: b"\x8c\x02"}[protocol]
    payload = pickle.dumps(np.zeros(3, dtype=np.int64), protocol=protocol)
    assert payload.count(spelled + b"i8") == 1
    payload = payload.replace(spelled + b"i8", spelled + b"O8")
    assert pickle.loads(payload).dtype == object  # the hazard is live (the bytes are zeros: never read here)
    folder = tmp_path / "cifar-10-batches-py"
    write_folder(folder)
    (folder / "test_batch").write_bytes(payload)

    with pytest.raises(pickle.UnpicklingError, match="refusing to load an array of element type 'O8'.*malicious"):
        load_cifar10(tmp_path, download=False)


class _ObjectArrayFromBytes:
    """Pickles as numpy.ndarray((1,), "O", bytes): an object array whose element is 8 bytes of the file
    read as a pointer (reading it crashes Python). Only ever unpickled by the restricted unpickler here."""

    def __reduce__(self):
        return (np.ndarray, ((1,), "O", b"\x01" * 8))


class _ReconstructAnObjectArray:
    """Pickles as numpy's _reconstruct(ndarray, (2,), "O"), not the (ndarray, (0,), b"b") numpy writes."""

    def __reduce__(self):
        return (data._numpy_reconstruct(), (np.ndarray, (2,), "O"))


@pytest.mark.parametrize(
    "value, refused",
    [
        (_ObjectArrayFromBytes(), r"refusing to call numpy.ndarray\(...\)"),
        (_ReconstructAnObjectArray(), r"refusing to load an array rebuilt as _reconstruct\(.*\(2,\), 'O'\)"),
    ],
    ids=["ndarray_called", "reconstruct_misused"],
)
@pytest.mark.parametrize("protocol", [3, 5])
def test_numpy_names_are_refused_with_arguments_numpy_never_writes(tmp_path, value, refused, protocol):
    folder = tmp_path / "cifar-10-batches-py"
    write_folder(folder)
    (folder / "data_batch_4").write_bytes(pickle.dumps({b"data": value, b"labels": [0]}, protocol=protocol))

    with pytest.raises(pickle.UnpicklingError, match=refused) as err:
        load_cifar10(tmp_path, download=False)
    assert "data_batch_4" in str(err.value) and "malicious" in str(err.value)


def test_protocol_5_pickle_with_another_global_is_still_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_folder(folder)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": np.load, b"labels": [0]}, protocol=5))

    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load 'numpy.*\.load' from test_batch"):
        load_cifar10(tmp_path, download=False)


# ---------------------------------------------------------------------------------------------------
# Leftovers of a killed run


def _age(path: Path, seconds: float) -> None:
    """Make path (and everything in it) look last written ``seconds`` ago."""
    then = time.time() - seconds
    for p in [*path.rglob("*"), path] if path.is_dir() else [path]:
        os.utime(p, (then, then), follow_symlinks=False)


def _killed_run_leftovers(root: Path) -> tuple[Path, Path]:
    """What a run killed mid-download and one killed mid-extraction leave: names as tempfile makes them."""
    root.mkdir(parents=True, exist_ok=True)
    download = root / ".cifar-10-python.tar.gz.k3_9zq0a.part"
    download.write_bytes(b"half a download")
    extraction = root / ".cifar-10-batches-py.x1y2z3w4.part"
    (extraction / "cifar-10-batches-py").mkdir(parents=True)
    (extraction / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"half a batch")
    return download, extraction


def test_stale_leftovers_of_a_killed_run_are_removed_and_the_data_loads(tmp_path, no_network):
    write_folder(tmp_path / "cifar-10-batches-py")
    download, extraction = _killed_run_leftovers(tmp_path)
    _age(download, data.STALE_AFTER_S + 60)
    _age(extraction, data.STALE_AFTER_S + 60)

    arrays = load_cifar10(tmp_path, download=False)

    assert arrays.train_images.shape == (5 * N_PER_BATCH, 32, 32, 3)
    assert not download.exists() and not extraction.exists()
    assert leftovers(tmp_path) == []


def test_stale_leftovers_are_removed_even_when_the_download_then_fails(tmp_path, no_network):
    download, extraction = _killed_run_leftovers(tmp_path)
    _age(download, data.STALE_AFTER_S + 60)
    _age(extraction, data.STALE_AFTER_S + 60)

    with pytest.raises(DownloadError):
        download_cifar10(tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_leftovers_that_another_run_may_still_be_writing_are_kept(tmp_path, no_network):
    write_folder(tmp_path / "cifar-10-batches-py")
    download, extraction = _killed_run_leftovers(tmp_path)
    _age(download, data.STALE_AFTER_S - 60)  # written a little under an hour ago
    _age(extraction, data.STALE_AFTER_S + 60)
    os.utime(extraction / "cifar-10-batches-py" / "data_batch_1")  # its folder is old, but a file inside is new

    load_cifar10(tmp_path, download=False)

    assert download.read_bytes() == b"half a download"
    assert (extraction / "cifar-10-batches-py" / "data_batch_1").read_bytes() == b"half a batch"


@pytest.mark.parametrize(
    "name",
    [
        "cifar-10-python.tar.gz.md5-mismatch",  # a user's archive kept aside
        ".cifar-10-python.tar.gz.part",  # no random part: not a name tempfile makes
        ".cifar-10-python.tar.gz.mine.part",
        ".cifar-10-python.tar.gz.ABCDEFGH.part",  # tempfile uses lower case only
        ".cifar-10-batches-py.backup",
        "notes.part",
        ".other.k3_9zq0a.part",
    ],
)
def test_old_files_with_other_names_are_never_removed(tmp_path, no_network, name):
    write_folder(tmp_path / "cifar-10-batches-py")
    path = tmp_path / name
    path.write_bytes(b"the user's")
    _age(path, 10 * data.STALE_AFTER_S)

    load_cifar10(tmp_path, download=False)

    assert path.read_bytes() == b"the user's"


def test_a_link_named_like_a_leftover_is_not_followed(tmp_path, no_network):
    write_folder(tmp_path / "cifar-10-batches-py")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "work.txt").write_text("keep")
    link = tmp_path / ".cifar-10-batches-py.abcdefgh.part"
    link.symlink_to(precious, target_is_directory=True)
    _age(precious, 10 * data.STALE_AFTER_S)
    _age(link, 10 * data.STALE_AFTER_S)

    load_cifar10(tmp_path, download=False)

    assert (precious / "work.txt").read_text() == "keep" and link.is_symlink()


# ---------------------------------------------------------------------------------------------------
# Contents that are not CIFAR-10


def _bad_labels(batch):
    batch[b"labels"][0] = 10


def _too_few_labels(batch):
    batch[b"labels"] = batch[b"labels"][:-1]


def _float_data(batch):
    batch[b"data"] = batch[b"data"].astype(np.float32)


def _wrong_row_length(batch):
    batch[b"data"] = batch[b"data"][:, :1024]


BAD_CONTENTS = {
    "label_out_of_range": (_bad_labels, r"labels must lie in 0\.\.9, found"),
    "count_mismatch": (_too_few_labels, "3 images but 2 labels"),
    "float_data": (_float_data, r"\(N, 3072\) uint8 array.*found float32"),
    "wrong_row_length": (_wrong_row_length, r"found uint8 array of shape \(3, 1024\)"),
}


@pytest.mark.parametrize("case", BAD_CONTENTS, ids=list(BAD_CONTENTS))
def test_batch_contents_are_validated(tmp_path, case):
    spoil, message = BAD_CONTENTS[case]
    folder = tmp_path / "cifar-10-batches-py"
    write_folder(folder)
    batch = pickle.loads((folder / "data_batch_2").read_bytes())
    spoil(batch)
    _dump(folder / "data_batch_2", batch)

    with pytest.raises(ValueError, match=message) as err:
        load_cifar10(tmp_path, download=False)
    assert "data_batch_2" in str(err.value)


def test_meta_must_name_ten_classes(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_folder(folder)
    _dump(folder / "batches.meta", {b"label_names": [c.encode() for c in CIFAR10_CLASSES[:9]]})

    with pytest.raises(ValueError, match="should list the 10 CIFAR-10 classes, found 9"):
        load_cifar10(tmp_path, download=False)


def test_truncated_batch_file_is_a_clear_error(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_folder(folder)
    (folder / "test_batch").write_bytes((folder / "test_batch").read_bytes()[:500])

    with pytest.raises(ValueError, match="test_batch is not a readable CIFAR-10 batch"):
        load_cifar10(tmp_path, download=False)


def test_incomplete_folder_is_reported_not_overwritten(tmp_path, no_network):
    made = write_folder(tmp_path / "cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()

    with pytest.raises(DownloadError, match="exists but lacks data_batch_3"):
        load_cifar10(tmp_path)
    assert (tmp_path / "cifar-10-batches-py" / "data_batch_1").exists() and made is not None
    assert no_network == []


# ---------------------------------------------------------------------------------------------------
# Offline


@pytest.mark.parametrize(
    "failure",
    [
        urllib.error.URLError("[Errno -3] Temporary failure in name resolution"),
        urllib.error.HTTPError(data.URL, 503, "Service Unavailable", {}, None),
        TimeoutError("timed out"),
    ],
    ids=["no_network", "http_error", "timeout"],
)
def test_failed_download_explains_the_manual_steps(tmp_path, monkeypatch, failure):
    def fail(url, *args, **kwargs):
        raise failure

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    root = tmp_path / "data"

    with pytest.raises(DownloadError) as err:
        download_cifar10(root, progress=False)

    message = str(err.value)
    assert data.URL in message and data.MD5 in message
    assert str(root / "cifar-10-python.tar.gz") in message
    assert str(root / "cifar-10-batches-py") in message
    # Raised cleanly, not from inside urllib's exception.
    assert err.value.__cause__ is None and err.value.__context__ is None
    assert list(root.iterdir()) == []


def test_missing_data_with_download_false_raises_without_network(tmp_path, no_network):
    with pytest.raises(DownloadError, match="not found in .* and download=False") as err:
        load_cifar10(tmp_path, download=False)
    assert str(tmp_path / "cifar-10-python.tar.gz") in str(err.value)
    assert no_network == []


def test_load_cifar10_or_synthetic_falls_back_when_offline(tmp_path, no_network):
    arrays, message = load_cifar10_or_synthetic(tmp_path)

    assert no_network == [data.URL]
    assert arrays.synthetic is True
    assert arrays.train_images.shape == (512, 32, 32, 3)
    assert "SYNTHETIC" in message and data.URL in message


def test_load_cifar10_or_synthetic_prefers_real_data(tmp_path, no_network):
    write_folder(tmp_path / "cifar-10-batches-py")

    arrays, message = load_cifar10_or_synthetic(tmp_path)

    assert arrays.synthetic is False and "CIFAR-10 loaded" in message
    assert arrays.train_images.shape == (5 * N_PER_BATCH, 32, 32, 3)


# ---------------------------------------------------------------------------------------------------
# Where the data lives


def test_root_argument_wins_over_swinlab_data(tmp_path, monkeypatch):
    monkeypatch.setenv("SWINLAB_DATA", str(tmp_path / "from-env"))

    assert data_dir(tmp_path / "given") == tmp_path / "given"


def test_swinlab_data_env_var_is_respected(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("SWINLAB_DATA", str(tmp_path / "shared"))
    write_folder(tmp_path / "shared" / "cifar-10-batches-py")

    assert data_dir() == tmp_path / "shared"
    assert load_cifar10().test_images.shape == (N_TEST, 32, 32, 3)


def test_cache_dir_follows_xdg_cache_home_then_home(tmp_path, monkeypatch):
    monkeypatch.delenv("SWINLAB_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "swinlab"

    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_dir() == tmp_path / "home" / ".cache" / "swinlab"
    assert data_dir("~/cifar") == tmp_path / "home" / "cifar"


# ---------------------------------------------------------------------------------------------------
# Synthetic stand-in and tensors


def test_synthetic_set_has_cifar_shapes_and_is_deterministic():
    a, b = synthetic_cifar10(), synthetic_cifar10()

    assert a.synthetic is True and a.classes == CIFAR10_CLASSES
    assert a.train_images.shape == (512, 32, 32, 3) and a.test_images.shape == (256, 32, 32, 3)
    assert a.train_images.dtype == np.uint8 and a.train_labels.dtype == np.int64
    assert set(a.train_labels.tolist()) == set(range(10)) == set(a.test_labels.tolist())
    np.testing.assert_array_equal(a.train_images, b.train_images)
    np.testing.assert_array_equal(a.test_labels, b.test_labels)
    assert not np.array_equal(a.train_images, synthetic_cifar10(seed=1).train_images)
    assert synthetic_cifar10(n_train=20, n_test=10).train_images.shape == (20, 32, 32, 3)


def test_synthetic_classes_are_learnable_from_pixels():
    arrays = synthetic_cifar10()
    x = arrays.train_images.reshape(512, -1).astype(np.float32) / 255
    x_test = arrays.test_images.reshape(256, -1).astype(np.float32) / 255
    centroids = np.stack([x[arrays.train_labels == k].mean(0) for k in range(10)])

    predicted = ((x_test[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(1)

    assert (predicted == arrays.test_labels).mean() > 0.5  # chance is 0.1


def test_to_tensors_keeps_channels_last_uint8_and_int64_labels():
    arrays = synthetic_cifar10(n_train=30, n_test=20)

    tensors = to_tensors(arrays, "cpu")

    assert set(tensors) == {"train_images", "train_labels", "test_images", "test_labels"}
    assert tensors["train_images"].shape == (30, 32, 32, 3) and tensors["train_images"].dtype == torch.uint8
    assert tensors["test_labels"].shape == (20,) and tensors["test_labels"].dtype == torch.int64
    assert tensors["train_images"].device == torch.device("cpu")
    assert torch.equal(tensors["test_images"], torch.from_numpy(arrays.test_images))


def test_display_path_keeps_machine_paths_out_of_messages(tmp_path, monkeypatch):
    from swinlab.data import display_path

    work = tmp_path / "course" / "notebooks"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert display_path(tmp_path / "course" / "data" / "cifar10") == str(Path("..") / "data" / "cifar10")
    assert display_path(work / "runs") == "runs"
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)  # home is three levels up and across: shown as ~/...
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert display_path(tmp_path / "home" / ".cache" / "swinlab") == str(Path("~") / ".cache" / "swinlab")
    assert display_path("/") == "/"  # neither near the working folder nor under home: as it is
