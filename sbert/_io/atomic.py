"""Atomic writes: a crash mid-write never leaves a half-written file or folder at the destination.

What they leave has the permissions a plain ``open()`` / ``mkdir`` would give: the temporary file or folder
is created with mode 0o666 / 0o777 and the kernel applies the umask (and any default ACL) as it always
does; files a library wrote owner-only inside an atomic folder are opened up to that mode. Nothing reads or
changes the process umask, so threads writing at the same time cannot race on it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator, Sequence
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
def atomic_directory(
    destination: str | os.PathLike,
    *,
    keep_others: bool = False,
    last: Sequence[str] = (),
    stale: Sequence[str] = (),
) -> Iterator[Path]:
    """Yield a temporary folder beside ``destination``; on success it replaces ``destination`` whole.

    ``destination`` is a folder the caller asked for, so its missing parents are created (as ``mkdir -p``),
    and a file at it or above it is refused before anything is written with ``mkdir -p``'s error, as
    sentence-transformers' save raises it (``FileExistsError`` / ``NotADirectoryError``).
    The temporary folder lives in the same parent so the final ``rename`` is atomic on POSIX. An existing
    destination is moved aside first and removed only once the new one is in place: ``destination`` holds
    the old complete folder or the new complete one (or, between two renames, nothing), never a partial one.

    ``keep_others`` (a model's save, as sentence-transformers' save keeps them): where ``destination``
    holds entries the new folder lacks (a trainer's checkpoints and logs, a user's own files), or is the
    working folder or one of its parents, the new entries go into it instead, each replacing its namesake
    by a rename, the names in ``last`` (the file a loader reads first) after the others, and the paths in
    ``stale`` (relative) that the new folder lacks are removed from it. A failure while the temporary
    folder is written still leaves ``destination`` as it was.
    """
    dest = Path(destination).absolute()
    _refuse_files_in_the_way(dest, destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_unique(dest.parent, f".{dest.name}.tmp-", _mkdir)
    try:
        yield tmp
        _settle_tree(tmp)
        if keep_others and dest.is_dir() and _holds_more(dest, tmp):
            for name in stale:
                if not (tmp / name).exists():
                    with contextlib.suppress(FileNotFoundError):
                        (dest / name).unlink()
            _move_entries(tmp, dest, last)
            tmp.rmdir()
        elif dest.exists():
            old = _make_unique(dest.parent, f".{dest.name}.old-", _mkdir)
            os.rename(dest, old / dest.name)
            os.rename(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _refuse_files_in_the_way(dest: Path, named: str | os.PathLike) -> None:
    """``os.makedirs(named, exist_ok=True)``'s error where ``dest`` or its nearest existing ancestor is not a
    folder: a file is never replaced by (or turned into the parent of) a model folder."""
    existing = next(path for path in (dest, *dest.parents) if path.exists())
    if not existing.is_dir():
        code = errno.EEXIST if existing == dest else errno.ENOTDIR
        raise OSError(code, os.strerror(code), os.fspath(named))  # FileExistsError / NotADirectoryError


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


def _holds_more(dest: Path, new: Path) -> bool:
    """Whether replacing ``dest`` by ``new`` whole would lose something: an entry ``new`` lacks, or the
    working folder (renaming it away would leave the process in a deleted folder)."""
    cwd = Path.cwd().absolute()
    return bool(set(os.listdir(dest)) - set(os.listdir(new))) or cwd == dest or dest in cwd.parents


def _move_entries(source: Path, dest: Path, last: Sequence[str]) -> None:
    """Move each entry of ``source`` into ``dest``: a file by an atomic ``os.replace``; an entry in the way
    of another kind, or a folder, is first moved aside into a trash folder inside ``dest`` (the same file
    system), removed at the end."""
    names = sorted(os.listdir(source), key=lambda name: (name in last, name))
    trash = _make_unique(dest, ".sbert-replaced-", _mkdir)
    try:
        for name in names:
            new, old = source / name, dest / name
            if old.is_symlink() or (old.exists() and (old.is_dir() or new.is_dir())):
                os.rename(old, trash / name)
            os.replace(new, old)
    finally:
        shutil.rmtree(trash, ignore_errors=True)


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
