"""CIFAR-10 for lesson 08: download it once, check it, load it as numpy arrays.

The official "python version" archive (cifar-10-python.tar.gz, 163 MB) holds six pickled batches and
a small metadata file. Three measures stand between the network and your Python process:

1. **Verify before reading.** The archive is downloaded to a temporary file next to its final place,
   its MD5 is compared with the published one, and only then is it renamed into place with
   ``os.replace`` (atomic). Nothing ever reads a file that failed the check or was only half written:
   a truncated or corrupt download is reported and deleted, and the next call downloads it again.
   An archive *you* put in the data folder that fails the check is never deleted: it is renamed to
   ``cifar-10-python.tar.gz.md5-mismatch`` (``...md5-mismatch-2`` and so on if that name is taken)
   and the message says so. Temporary files and folders left by a run that was killed (named
   ``.cifar-10-python.tar.gz.*.part`` and ``.cifar-10-batches-py.*.part``) are removed by a later
   call once nothing has written to them for an hour.
2. **Extract only what we expect.** A tar member can be named ``../../.bashrc``, carry an absolute
   path, or be a link that points anywhere on disk. We extract only the known CIFAR-10 file names,
   refuse everything else (links included) with an error that names the member, and unpack into a
   temporary folder that is renamed into place only once it is complete.
3. **Unpickle only numpy arrays of numbers.** ``pickle.load`` calls whatever function a pickle names,
   so a batch file that names ``os.system`` runs a shell command the moment it is loaded. A CIFAR-10
   batch needs only numpy's array reconstructors (``_reconstruct`` for pickle protocols 2-4,
   ``_frombuffer`` for protocol 5, in numpy 1.x's and numpy 2's spelling), so a restricted unpickler
   allows exactly those few globals and refuses any other, naming it, before it is imported or called.
   Even numpy's own names are checked stand-ins: they accept only the arguments numpy's pickles use for
   arrays of numbers, because an array of Python objects rebuilt from raw bytes would read the file's
   bytes as memory addresses.

The loaded contents are then checked (shapes, dtype, label range, counts that agree).

Shapes: images are ``(N, 32, 32, 3)`` uint8, channels last; labels are ``(N,)`` int64 in 0..9;
the official set has N = 50,000 train and 10,000 test images. Without internet,
``load_cifar10_or_synthetic`` falls back to a small synthetic stand-in, flagged ``synthetic=True``.
"""

from __future__ import annotations

import _codecs
import gzip
import hashlib
import http.client
import os
import pickle
import re
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import torch
from einops import rearrange
from tqdm.auto import tqdm

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
FOLDER_NAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
REQUIRED_FILES = (*TRAIN_BATCHES, TEST_BATCH, META_FILE)
OPTIONAL_FILES = ("readme.html",)
N_TRAIN, N_TEST = 50_000, 10_000  # the official counts; smaller consistent sets load too
TIMEOUT_S = 60  # seconds without an answer before a download counts as failed
MISMATCH_SUFFIX = ".md5-mismatch"  # what a user's archive that fails the MD5 check is renamed with
STALE_AFTER_S = 60 * 60  # a temporary download or extraction untouched this long belongs to a dead run

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # per channel (R, G, B), pixel values scaled to 0..1
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


class DownloadError(RuntimeError):
    """CIFAR-10 could not be obtained: offline, the download failed or arrived corrupt, or the data is
    missing and ``download=False``. The message says how to install the archive by hand."""


class UnsafeArchiveError(RuntimeError):
    """The archive holds a member we refuse to extract: a path that climbs out with ``..``, an absolute
    path, a link, a special file, or a name that is not part of CIFAR-10."""


class _RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside the allow-list."""


@dataclass(frozen=True, eq=False)
class CIFAR10Arrays:
    """CIFAR-10 (or its synthetic stand-in) as numpy arrays.

    train_images: (N_train, 32, 32, 3) uint8, channels last (H, W, C with C = R, G, B)
    train_labels: (N_train,) int64 in 0..9
    test_images:  (N_test, 32, 32, 3) uint8
    test_labels:  (N_test,) int64 in 0..9
    classes:      the 10 class names, in label order
    synthetic:    True for the synthetic stand-in; its numbers say nothing about CIFAR-10
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: tuple[str, ...]
    synthetic: bool = False

    def __repr__(self) -> str:
        kind = "synthetic stand-in, not CIFAR-10" if self.synthetic else "CIFAR-10"
        return (
            f"CIFAR10Arrays({kind}: train_images {tuple(self.train_images.shape)} {self.train_images.dtype}, "
            f"test_images {tuple(self.test_images.shape)} {self.test_images.dtype}, "
            f"{len(self.classes)} classes)"
        )


# ---------------------------------------------------------------------------------------------------
# Where the data lives


def data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder that holds (or will hold) CIFAR-10, as an absolute path; nothing is created.

    Rule: ``root`` if given, else the environment variable ``SWINLAB_DATA``, else
    ``$XDG_CACHE_HOME/swinlab``, else ``~/.cache/swinlab``. The folder may hold
    ``cifar-10-python.tar.gz`` and/or ``cifar-10-batches-py/``; ``root`` may also be the
    ``cifar-10-batches-py`` folder itself.
    """
    if root is not None:
        path = os.fspath(root)
    elif os.environ.get("SWINLAB_DATA"):
        path = os.environ["SWINLAB_DATA"]
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        path = os.path.join(cache, "swinlab")
    return Path(os.path.expanduser(path)).absolute()


def _missing_files(folder: Path) -> list[str]:
    return [name for name in REQUIRED_FILES if not (folder / name).is_file()]


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a person reads it in a message: relative to the working folder when it lies within two
    levels above it (``../data/cifar10``), else under the home folder as ``~/...``, else as it is. Saved
    notebook outputs then hold no machine's absolute path."""
    path = Path(path).absolute()
    try:
        relative = Path(os.path.relpath(path, Path.cwd()))
        if relative.parts[:3].count("..") <= 2 and ".." not in relative.parts[2:]:
            return str(relative)
    except ValueError:  # another drive on Windows
        pass
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _manual_steps(root_dir: Path, url: str, md5: str) -> str:
    return (
        "To install CIFAR-10 by hand:\n"
        f"  1. on a machine with internet access, download {url}\n"
        f"  2. check that its MD5 is {md5}   (md5sum {ARCHIVE_NAME})\n"
        f"  3. put the file at {root_dir / ARCHIVE_NAME}\n"
        f"     (or extract it there yourself, so that {root_dir / FOLDER_NAME / 'data_batch_1'} exists)\n"
        "  4. run this again. To keep the data elsewhere, pass root=... or set SWINLAB_DATA."
    )


def _existing_folder(root_dir: Path, url: str, md5: str) -> Path | None:
    """The complete official-layout folder at root_dir, or None; an incomplete one is an error."""
    candidates = [root_dir, root_dir / FOLDER_NAME] if root_dir.name == FOLDER_NAME else [root_dir / FOLDER_NAME]
    for folder in candidates:
        if not _missing_files(folder):
            return folder
    for folder in candidates:
        # An empty folder is harmless (extraction replaces it); a partly filled one is someone's data.
        if folder.is_dir() and any(folder.iterdir()):
            raise DownloadError(
                f"{folder} exists but lacks {', '.join(_missing_files(folder))}: complete it, or delete "
                "the folder so that CIFAR-10 can be extracted there again.\n" + _manual_steps(root_dir, url, md5)
            )
    return None


# ---------------------------------------------------------------------------------------------------
# Download, verify, extract


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _temporary_names() -> re.Pattern[str]:
    """The names of this module's temporary download files and extraction folders, and nothing else:
    ``tempfile`` makes them from the prefix, 8 characters of ``[a-z0-9_]`` and the suffix."""
    names = "|".join(re.escape(f".{name}.") for name in (ARCHIVE_NAME, FOLDER_NAME))
    return re.compile(rf"(?:{names})[a-z0-9_]{{8}}\.part")


def _last_write(path: Path) -> float:
    """The newest modification time of path and, for a folder, of everything in it (links not followed)."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
                except OSError:  # removed meanwhile
                    pass
    return newest


def _remove_stale_temporaries(root_dir: Path, now: float | None = None) -> list[Path]:
    """Remove temporary downloads and half-extracted folders left in root_dir by runs that were killed;
    -> what was removed.

    Only names this module creates are touched (see ``_temporary_names``), only directly in root_dir,
    and only once nothing has written to them for ``STALE_AFTER_S`` (an hour). Age, not a process id,
    says whether a run still owns one: the data folder may be shared by several machines (a network
    home folder on a cluster), where a process id means nothing, and a process id can be reused. A live
    download writes at least every ``TIMEOUT_S`` seconds or fails, and a live extraction writes without
    pause, so an hour without a write is far beyond any live run; a leftover only costs disk space
    until then.
    """
    if not root_dir.is_dir():
        return []
    now = time.time() if now is None else now
    pattern = _temporary_names()
    removed = []
    for path in root_dir.iterdir():
        if not pattern.fullmatch(path.name) or path.is_symlink():
            continue
        try:
            if now - _last_write(path) < STALE_AFTER_S:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:  # gone meanwhile (another process cleaned it) or not ours to remove: leave it
            continue
        removed.append(path)
    return removed


def _download(url: str, archive: Path, md5: str, progress: bool) -> None:
    """Fetch url into a temporary file, check its MD5, then rename it to archive (never half written)."""
    fd, tmp_name = tempfile.mkstemp(dir=archive.parent, prefix=f".{archive.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                    total = int(response.headers.get("Content-Length") or 0) or None
                    bar = tqdm(
                        total=total,
                        unit="B",
                        unit_scale=True,
                        unit_divisor=1024,
                        desc=f"downloading {archive.name}",
                        disable=not progress,
                    )
                    with bar:
                        while chunk := response.read(1 << 20):
                            out.write(chunk)
                            digest.update(chunk)
                            bar.update(len(chunk))
            except urllib.error.HTTPError as err:
                reason = f"HTTP {err.code} {err.reason}"
            except urllib.error.URLError as err:
                reason = f"{err.reason}"
            except (OSError, http.client.HTTPException, ValueError) as err:
                reason = f"{type(err).__name__}: {err}"
            else:
                reason = None
        if reason is not None:
            # Raised outside the except blocks: the message carries the reason, not urllib's traceback.
            raise DownloadError(
                f"could not download CIFAR-10 from {url} ({reason}).\n" + _manual_steps(archive.parent, url, md5)
            )
        found = digest.hexdigest()
        if found != md5:
            raise DownloadError(
                f"the file downloaded from {url} has MD5 {found}, expected {md5}: it is truncated or "
                "corrupt and has been deleted. Run this again to download it again.\n"
                + _manual_steps(archive.parent, url, md5)
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
        os.replace(tmp, archive)
    finally:
        tmp.unlink(missing_ok=True)


def _checked_members(members: list[tarfile.TarInfo], archive: Path) -> list[tuple[tarfile.TarInfo, PurePosixPath]]:
    """The regular-file members to extract, each with its normalised path; anything else is refused."""
    allowed = {PurePosixPath(FOLDER_NAME, name) for name in REQUIRED_FILES + OPTIONAL_FILES}
    chosen: dict[PurePosixPath, tarfile.TarInfo] = {}
    for member in members:
        path = PurePosixPath(member.name)  # also drops "." parts and repeated slashes
        if path.is_absolute() or member.name.startswith("\\") or PureWindowsPath(member.name).drive:
            reason = "is an absolute path"
        elif ".." in path.parts or ".." in PureWindowsPath(member.name).parts:
            reason = "climbs out of the target folder with '..'"
        elif member.issym() or member.islnk():
            kind = "symbolic" if member.issym() else "hard"
            reason = f"is a {kind} link (to '{member.linkname}')"
        elif member.isdir():
            if path == PurePosixPath(FOLDER_NAME):
                continue
            reason = "is an unexpected folder"
        elif not member.isfile():
            reason = "is a device, FIFO or other special file"
        elif path not in allowed:
            reason = "is not a CIFAR-10 file"
        elif path in chosen:
            reason = "appears twice"
        else:
            chosen[path] = member
            continue
        raise UnsafeArchiveError(
            f"refusing to extract {archive}: member '{member.name}' {reason}. A CIFAR-10 archive holds only "
            f"{FOLDER_NAME}/ with {', '.join(REQUIRED_FILES)} (and {', '.join(OPTIONAL_FILES)}). "
            "The archive has been deleted."
        )
    return [(member, path) for path, member in chosen.items()]


def _extract(archive: Path, root_dir: Path, url: str, md5: str) -> Path:
    """Unpack the checked members of archive into a temporary folder, then rename it into place."""
    target = root_dir / FOLDER_NAME
    tmp_dir = Path(tempfile.mkdtemp(dir=root_dir, prefix=f".{FOLDER_NAME}.", suffix=".part"))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member, path in _checked_members(tar.getmembers(), archive):
                    dest = tmp_dir.joinpath(*path.parts)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    source = tar.extractfile(member)
                    assert source is not None  # regular files always have contents
                    with source, open(dest, "wb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
        except UnsafeArchiveError:
            archive.unlink(missing_ok=True)
            raise
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
            archive.unlink(missing_ok=True)
            raise DownloadError(
                f"{archive} is not a readable gzip tar archive ({type(err).__name__}: {err}): it is "
                "truncated or corrupt and has been deleted. Run this again to download it again.\n"
                + _manual_steps(root_dir, url, md5)
            ) from None
        missing = _missing_files(tmp_dir / FOLDER_NAME)
        if missing:
            archive.unlink(missing_ok=True)
            raise DownloadError(
                f"{archive} lacks {', '.join(missing)}: it is not the CIFAR-10 archive and has been deleted.\n"
                + _manual_steps(root_dir, url, md5)
            )
        try:
            os.replace(tmp_dir / FOLDER_NAME, target)
        except OSError:
            if _missing_files(target):  # not another process finishing the same extraction first
                raise
        return target
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _set_aside(archive: Path) -> Path:
    """Rename archive to ``<name>.md5-mismatch`` (or ``-2``, ``-3``, ... if taken) and return the new path;
    never replaces an existing file."""
    for n in range(1, 10_000):
        kept = archive.with_name(archive.name + MISMATCH_SUFFIX + (f"-{n}" if n > 1 else ""))
        if kept.exists() or kept.is_symlink():
            continue
        try:
            os.link(archive, kept)  # fails if the name was taken meanwhile: nothing is ever overwritten
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: the check above has to do
            os.rename(archive, kept)
            return kept
        archive.unlink()
        return kept
    raise DownloadError(f"{archive} fails the MD5 check and 9,999 earlier copies are kept beside it: clean up")


def _prepare(root_dir: Path, url: str, md5: str, progress: bool, download: bool) -> Path:
    _remove_stale_temporaries(root_dir)
    folder = _existing_folder(root_dir, url, md5)
    if folder is not None:
        return folder
    archive = root_dir / ARCHIVE_NAME
    if archive.is_file():
        found = _file_md5(archive)
        if found != md5:
            # Our own downloads are checked before they get this name, so this file was put here by hand
            # (or damaged on disk): keep it under another name rather than delete someone's file.
            kept = _set_aside(archive)
            problem = (
                f"{archive} has MD5 {found}, expected {md5}: it is not the CIFAR-10 archive (truncated, "
                f"corrupt or another file). It was kept, renamed to {kept.name}"
            )
            if not download:
                raise DownloadError(
                    f"{problem}. Nothing was downloaded (download=False).\n"
                    + _manual_steps(root_dir, url, md5)
                    + f"\n  Delete {kept.name} once you no longer need it."
                )
            warnings.warn(f"{problem}; downloading the archive again.", stacklevel=3)
    if not archive.is_file():
        if not download:
            raise DownloadError(
                f"CIFAR-10 was not found in {root_dir} and download=False.\n" + _manual_steps(root_dir, url, md5)
            )
        root_dir.mkdir(parents=True, exist_ok=True)
        _download(url, archive, md5, progress)
    return _extract(archive, root_dir, url, md5)


def download_cifar10(
    root: str | os.PathLike[str] | None = None, url: str = URL, md5: str = MD5, progress: bool = True
) -> Path:
    """Make sure CIFAR-10 is on disk and return its ``cifar-10-batches-py`` folder.

    Does only what is missing: a folder in the official layout (data_batch_1..5, test_batch,
    batches.meta) is used as it is; else ``<root>/cifar-10-python.tar.gz`` is checked against ``md5``
    (downloaded from ``url`` first if absent, with a progress bar if ``progress``) and extracted.
    ``root`` follows ``data_dir``. Raises ``DownloadError`` (offline, failed or corrupt download) with
    the steps to install the archive by hand, and ``UnsafeArchiveError`` for a member it won't extract.
    """
    return _prepare(data_dir(root), url, md5, progress, download=True)


# ---------------------------------------------------------------------------------------------------
# Loading the batches


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2 (and the name numpy 2 pickles use)
    except ImportError:
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _numpy_frombuffer():
    try:
        from numpy._core.numeric import _frombuffer  # numpy >= 2
    except ImportError:
        from numpy.core.numeric import _frombuffer
    return _frombuffer


#: The element types a batch may hold: booleans, integers and floats, never objects.
_PLAIN_DTYPES = frozenset({"b1", "f2", "f4", "f8"} | {f"{kind}{size}" for kind in "iu" for size in (1, 2, 4, 8)})
_MALICIOUS = "the file may be malicious - delete it and download again"


def _plain_dtype(spec: object, align: object = False, copy: object = False) -> np.dtype:
    """Stands for ``numpy.dtype`` in a pickle, for the plain number types only.

    A pickle could name the object type ("O8") instead: with the flags in the pickled state zeroed,
    numpy would then take raw bytes from the file as pointers to Python objects (a crash, or worse,
    once an element is read). No element type a CIFAR-10 batch needs is like that. The official files
    were pickled by Python 2, whose strings load as bytes here (b"u1"): both spellings are accepted."""
    if isinstance(spec, bytes):
        spec = spec.decode("latin1")
    if not isinstance(spec, str) or spec not in _PLAIN_DTYPES:
        raise _RefusedGlobal(
            f"refusing to load an array of element type {spec!r}: CIFAR-10 batches hold arrays of numbers "
            f"only ({', '.join(sorted(_PLAIN_DTYPES))}); {_MALICIOUS}"
        )
    return np.dtype(spec, bool(align), bool(copy))


class _NdarrayName:
    """Stands for ``numpy.ndarray`` in a pickle. Pickles pass the class to ``_reconstruct`` and never call
    it; called, ``numpy.ndarray(shape, "O", buffer)`` would read raw bytes from the file as pointers."""

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise _RefusedGlobal(f"refusing to call numpy.ndarray(...): CIFAR-10 batches never do; {_MALICIOUS}")


_NDARRAY = _NdarrayName()


def _checked_reconstruct(subtype: object, shape: object, typecode: object) -> np.ndarray:
    """``_reconstruct`` exactly as numpy's own pickles call it: ``(ndarray, (0,), b"b")``, an empty array
    that the pickle's next step fills from its state (whose element type comes from ``_plain_dtype``)."""
    if subtype is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise _RefusedGlobal(
            f"refusing to load an array rebuilt as _reconstruct({subtype!r}, {shape!r}, {typecode!r}): numpy "
            f"writes _reconstruct(numpy.ndarray, (0,), b'b'); {_MALICIOUS}"
        )
    return _numpy_reconstruct()(np.ndarray, (0,), typecode)


def _checked_frombuffer(buffer: object, dtype: object, shape: object, order: object) -> np.ndarray:
    """``_frombuffer`` (how protocol 5 rebuilds a contiguous array) for plain number types only."""
    if not (isinstance(dtype, np.dtype) and dtype.kind in "biuf" and not dtype.hasobject and dtype.names is None):
        raise _RefusedGlobal(f"refusing to load an array of element type {dtype!r}: numbers only; {_MALICIOUS}")
    return _numpy_frombuffer()(buffer, dtype, shape, order)


# Everything a pickled array of numbers needs, and nothing else. Looked up here, never imported by
# name. Protocols 0-4 rebuild an array with _reconstruct + ndarray + dtype (+ _codecs.encode for its
# bytes under protocol 2); protocol 5 with _frombuffer(buffer, dtype, shape, order) + dtype. numpy 1.x
# writes the module as numpy.core, numpy 2 as numpy._core: both spellings load. Each numpy name maps
# to a checked stand-in that accepts only the arguments numpy's own pickles use with number arrays.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _checked_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _checked_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _checked_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _checked_frombuffer,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _plain_dtype,
    ("_codecs", "encode"): _codecs.encode,  # how protocol 2 stores bytes, e.g. an array's raw buffer
}


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can build numpy arrays, dicts, lists, strings and numbers, and call nothing else."""

    def __init__(self, file, source: str) -> None:
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _RefusedGlobal(
                f"refusing to load '{module}.{name}' from {self.source}: CIFAR-10 batches contain only "
                "numpy arrays; the file may be malicious - delete it and download again"
            ) from None


def _load_pickle(path: Path) -> dict[str, object]:
    """One batch file as a dict with str keys (the files use bytes keys; str keys are accepted too)."""
    try:
        with open(path, "rb") as f:
            obj = _RestrictedUnpickler(f, source=path.name).load()
    except _RefusedGlobal as err:
        if path.name in str(err):
            raise
        raise _RefusedGlobal(f"{path.name}: {err}") from None  # a stand-in's refusal: name the file too
    except Exception as err:
        raise ValueError(
            f"{path} is not a readable CIFAR-10 batch ({type(err).__name__}: {err}): delete "
            f"{path.parent} and download again"
        ) from err
    if not isinstance(obj, dict):
        raise ValueError(f"{path} holds a {type(obj).__name__}; a CIFAR-10 batch is a dict")
    return {key.decode("latin1") if isinstance(key, bytes) else str(key): value for key, value in obj.items()}


def _check_meta(meta: dict[str, object], path: Path) -> tuple[str, ...]:
    names = meta.get("label_names")
    if not isinstance(names, (list, tuple)) or len(names) != 10:
        count = len(names) if isinstance(names, (list, tuple)) else "no"
        raise ValueError(f"{path}: 'label_names' should list the 10 CIFAR-10 classes, found {count}")
    return tuple(n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names)


def _check_batch(batch: dict[str, object], path: Path, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """-> data (N, 3072) uint8, labels (N,) int64, after checking shapes, dtype and label range."""
    data = batch.get("data")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
        found = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(
            f"{path}: 'data' should be an (N, 3072) uint8 array (1024 red, 1024 green, then 1024 blue "
            f"values of a 32x32 image per row), found {found}"
        )
    if "labels" not in batch:
        raise ValueError(f"{path} has no 'labels' (a CIFAR-100 file has 'fine_labels' instead)")
    labels = np.asarray(batch["labels"])
    if len(data) == 0 or labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path}: expected N >= 1 images and a flat list of N integer labels")
    if len(labels) != len(data):
        raise ValueError(f"{path}: {len(data)} images but {len(labels)} labels; the counts must agree")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"{path}: labels must lie in 0..{n_classes - 1}, found {labels.min()}..{labels.max()}")
    return data, labels.astype(np.int64)


def _rows_to_hwc(data: np.ndarray) -> np.ndarray:
    """(N, 3072) official rows (1024 R, 1024 G, 1024 B, each row-major) -> (N, 32, 32, 3)."""
    return np.ascontiguousarray(rearrange(data, "n (c h w) -> n h w c", c=3, h=32, w=32))


def _load_split(folder: Path, names: tuple[str, ...], n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    parts = [_check_batch(_load_pickle(folder / name), folder / name, n_classes) for name in names]
    data = np.concatenate([d for d, _ in parts])
    labels = np.concatenate([y for _, y in parts])
    return _rows_to_hwc(data), labels


def load_cifar10(root: str | os.PathLike[str] | None = None, download: bool = True) -> CIFAR10Arrays:
    """CIFAR-10 as numpy arrays, downloading it first if needed (and ``download``).

    -> CIFAR10Arrays with train_images (50000, 32, 32, 3) uint8, train_labels (50000,) int64,
    test_images (10000, 32, 32, 3) uint8, test_labels (10000,) int64 for the official set.
    Every batch is read with a restricted unpickler and checked: data (N, 3072) uint8, N labels
    in 0..9, 10 class names. ``root`` follows ``data_dir``; with ``download=False`` missing data
    is a ``DownloadError`` instead of a download.
    """
    root_dir = data_dir(root)
    folder = _prepare(root_dir, URL, MD5, progress=True, download=download)
    classes = _check_meta(_load_pickle(folder / META_FILE), folder / META_FILE)
    train_images, train_labels = _load_split(folder, TRAIN_BATCHES, len(classes))
    test_images, test_labels = _load_split(folder, (TEST_BATCH,), len(classes))
    return CIFAR10Arrays(train_images, train_labels, test_images, test_labels, classes, synthetic=False)


# ---------------------------------------------------------------------------------------------------
# The synthetic stand-in

# One colour (R, G, B in 0..1) and one shape per class, so colour and outline both separate the classes.
_SYNTHETIC_COLOURS = np.array([
    (0.90, 0.10, 0.10), (1.00, 0.55, 0.00), (0.95, 0.90, 0.10), (0.10, 0.75, 0.15), (0.10, 0.85, 0.90),
    (0.15, 0.25, 0.95), (0.55, 0.15, 0.85), (0.95, 0.20, 0.70), (1.00, 1.00, 1.00), (0.55, 0.35, 0.15),
])  # fmt: skip


def _shape_mask(label: int, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Boolean mask of class label's shape; dy, dx are offsets from the shape's centre, any shape."""
    ay, ax = np.abs(dy), np.abs(dx)
    r2, box = dy**2 + dx**2, np.maximum(ay, ax)
    masks = {
        0: (ay <= 2) & (ax <= 11),  # horizontal bar
        1: (ax <= 2) & (ay <= 11),  # vertical bar
        2: box <= 7,  # square
        3: r2 <= 64,  # disc
        4: (r2 >= 36) & (r2 <= 100),  # ring
        5: ((ay <= 2) | (ax <= 2)) & (box <= 10),  # plus
        6: ((np.abs(dy - dx) <= 1) | (np.abs(dy + dx) <= 1)) & (box <= 9),  # X
        7: ((dy // 4 + dx // 4) % 2 == 0) & (box <= 9),  # checkerboard
        8: (dy >= -8) & (dy <= 8) & (ax <= (dy + 8) // 2),  # triangle
        9: ((dy // 3) % 2 == 0) & (box <= 10),  # horizontal stripes
    }
    return masks[label]


def _synthetic_split(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.permutation(np.arange(n) % 10).astype(np.int64)
    centre = rng.integers(11, 22, size=(n, 2))  # each shape wanders +-5 pixels
    grid = np.arange(32)
    dy, dx = np.broadcast_arrays(grid[None, :, None] - centre[:, :1, None], grid[None, None, :] - centre[:, 1:, None])
    mask = np.zeros((n, 32, 32), dtype=bool)
    for label in range(10):
        chosen = labels == label
        mask[chosen] = _shape_mask(label, dy[chosen], dx[chosen])
    background = rng.uniform(0.05, 0.55, size=(n, 1, 1, 1)) * rng.uniform(0.7, 1.0, size=(n, 1, 1, 3))
    foreground = _SYNTHETIC_COLOURS[labels][:, None, None, :] * rng.uniform(0.75, 1.0, size=(n, 1, 1, 1))
    images = np.where(mask[..., None], foreground, background) + rng.normal(0.0, 0.08, size=(n, 32, 32, 3))
    return np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8), labels


def synthetic_cifar10(n_train: int = 512, n_test: int = 256, seed: int = 0) -> CIFAR10Arrays:
    """A tiny deterministic stand-in for CIFAR-10, for offline runs and CI; ``synthetic=True``.

    Class k is a shape of its own (bar, square, disc, ring, ...) in a colour of its own, placed with
    a random offset on a random dark background, plus pixel noise: a small model learns it quickly.
    -> CIFAR10Arrays with train_images (n_train, 32, 32, 3) uint8, train_labels (n_train,) int64,
    test_images (n_test, 32, 32, 3) uint8, test_labels (n_test,) int64; classes are CIFAR10_CLASSES
    (names only: class 0 is a red bar, not an airplane). The same seed gives the same arrays.
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train={n_train} and n_test={n_test} must both be at least 1")
    rng = np.random.default_rng(seed)
    train_images, train_labels = _synthetic_split(rng, n_train)
    test_images, test_labels = _synthetic_split(rng, n_test)
    return CIFAR10Arrays(train_images, train_labels, test_images, test_labels, CIFAR10_CLASSES, synthetic=True)


def load_cifar10_or_synthetic(
    root: str | os.PathLike[str] | None = None, download: bool = True
) -> tuple[CIFAR10Arrays, str]:
    """CIFAR-10 if it can be had, else the synthetic stand-in; -> (arrays, a message saying which).

    Tries ``load_cifar10(root, download)``; on ``DownloadError`` (offline, failed download, data
    missing with ``download=False``) returns ``synthetic_cifar10()`` (512 train / 256 test images,
    ``arrays.synthetic`` is True) and a message that says so and why. Shapes as in ``load_cifar10``.
    """
    try:
        arrays = load_cifar10(root, download=download)
    except DownloadError as err:
        arrays = synthetic_cifar10()
        message = (
            f"Using a SYNTHETIC stand-in for CIFAR-10 ({len(arrays.train_labels)} train / "
            f"{len(arrays.test_labels)} test images of coloured shapes): its results say nothing about "
            f"CIFAR-10.\nWhy: {err}"
        )
        return arrays, message
    message = (
        f"CIFAR-10 loaded from {display_path(data_dir(root))}: {len(arrays.train_labels):,} train / "
        f"{len(arrays.test_labels):,} test images."
    )
    return arrays, message


def to_tensors(arrays: CIFAR10Arrays, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The arrays as torch tensors on device, ready for GPU-resident batches.

    -> {"train_images": (N_train, 32, 32, 3) uint8, "train_labels": (N_train,) int64,
        "test_images": (N_test, 32, 32, 3) uint8, "test_labels": (N_test,) int64}.
    Images stay uint8 and channels last (4x less memory than float32); convert per batch.
    On the CPU the tensors share memory with the numpy arrays.
    """
    device = torch.device(device)
    return {
        "train_images": torch.from_numpy(arrays.train_images).to(device),
        "train_labels": torch.from_numpy(arrays.train_labels).to(device, torch.int64),
        "test_images": torch.from_numpy(arrays.test_images).to(device),
        "test_labels": torch.from_numpy(arrays.test_labels).to(device, torch.int64),
    }
