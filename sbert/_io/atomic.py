"""Atomic writes: a crash mid-write never leaves a half-written file or folder at the destination.

What they leave has the permissions a plain ``open()`` / ``mkdir`` would give: the temporary file or folder
is created with mode 0o666 / 0o777 and the kernel applies the umask (and any default ACL) as it always
does; files a library wrote owner-only inside an atomic folder are opened up to that mode. Nothing reads or
changes the process umask, so threads writing at the same time cannot race on it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from .._errors import InputError

_T = TypeVar("_T")
_ATTEMPTS = 100  # random names tried before giving up (a clash is a 1-in-2**64 event each time)


def check_parent(path: str | os.PathLike) -> None:
    """Raise :class:`~sbert.InputError` unless the folder that would hold the file ``path`` exists.

    Output files never create folders: a typo in a folder name is an error, not a new folder.
    """
    parent = Path(path).parent  # named as the caller named it ("out", not "/home/me/out")
    if not parent.exists():
        raise InputError(
            f"cannot write {str(path)!r}: the folder {str(parent)!r} does not exist; create it first."
        )
    if not parent.is_dir():
        raise InputError(f"cannot write {str(path)!r}: {str(parent)!r} is not a folder.")


@contextlib.contextmanager
def atomic_directory(destination: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``destination``; on success it replaces ``destination`` whole.

    ``destination`` is a folder the caller asked for, so its missing parents are created (as ``mkdir -p``).
    The temporary folder lives in the same parent so the final ``rename`` is atomic on POSIX. An existing
    destination is moved aside first and removed only once the new one is in place: ``destination`` holds
    the old complete folder or the new complete one (or, between two renames, nothing), never a partial one.
    """
    dest = Path(destination).absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_unique(dest.parent, f".{dest.name}.tmp-", _mkdir)
    try:
        yield tmp
        _settle_tree(tmp)
        if dest.exists():
            old = _make_unique(dest.parent, f".{dest.name}.old-", _mkdir)
            os.rename(dest, old / dest.name)
            os.rename(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename.

    The folder holding ``path`` must exist (:func:`check_parent`). The file gets the permissions of a file
    newly made by ``open()``, also when it replaces one (a file left owner-only by older code is fixed).
    ``durable=False`` skips the fsync (readers still see the old file or the whole new one): for outputs
    that are cheap to make again, such as ``sbert encode``'s, where it was a large part of a short run.
    """
    path = Path(path)
    check_parent(path)
    tmp, fd = _make_unique(path.parent, f".{path.name}.tmp-", _create_file)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _mkdir(path: Path) -> Path:
    path.mkdir(mode=0o777)  # the umask applies, as for any mkdir
    return path


def _create_file(path: Path) -> tuple[Path, int]:
    return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)


def _make_unique(parent: Path, prefix: str, create: Callable[[Path], _T]) -> _T:
    """``create(parent / (prefix + random))`` for a name not yet taken (``create`` must fail if it is)."""
    for _ in range(_ATTEMPTS):
        try:
            return create(parent / f"{prefix}{secrets.token_hex(8)}")
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name {prefix}* in {parent}")


def _settle_tree(root: Path) -> None:
    """Flush every file of ``root`` to disk and open up what a library wrote owner-only.

    safetensors writes its files through a temporary file of mode 0o600 whatever the umask: such files (and
    folders) get at least the mode a plain ``open()`` / ``mkdir`` would give. That mode is read off ``root``
    itself, made by ``mkdir(0o777)``, so the umask is never touched.
    """
    folder_mode = stat.S_IMODE(root.stat().st_mode) & 0o777
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        current = stat.S_IMODE(path.stat().st_mode)
        wanted = current | (folder_mode if path.is_dir() else folder_mode & 0o666)
        if wanted != current:
            os.chmod(path, wanted)
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
