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


def check_output(path: str | os.PathLike, *inputs: str | os.PathLike | None) -> None:
    """:func:`check_parent`, and that ``path`` is none of the files a command reads (``inputs``: ``None``
    and ``-``, stdin, are skipped) and that its folder is writable: a command calls it before any work, so
    an output never replaces its own input and an unwritable folder fails at once, not after the work."""
    check_parent(path)
    for source in inputs:
        if source is not None and str(source) != "-" and _same_file(path, source):
            raise InputError(
                f"cannot write {str(path)!r}: it is also the input file {str(source)!r}; "
                "choose another output file."
            )
    parent = Path(path).parent
    if not os.access(parent, os.W_OK):
        raise InputError(
            f"cannot write {str(path)!r}: the folder {str(parent)!r} is not writable; "
            "choose another output folder."
        )


def check_output_folder(
    folder: str | os.PathLike, *sources: str | os.PathLike | None, whole: bool = False
) -> None:
    """Before a command writes the folder ``folder`` (an export, a distilled model, an index, shards): no
    file at it or above it, it is not one of the ``sources`` (what the command reads; those that do not
    exist, such as hub names, are skipped), nor inside one nor around one (writing it would replace the
    source), and the folder that will hold it is writable. Paths are compared resolved (symlinks followed).
    ``whole``: the writer replaces an existing folder whole (``atomic_directory`` without ``keep_others``), so
    the working folder, or one holding it, is refused too: everything in it would be deleted."""
    named = str(folder)
    out = Path(folder).expanduser().resolve()
    existing = next(path for path in (out, *out.parents) if path.exists())
    if not existing.is_dir():
        what = "it is a file" if existing == out else f"{str(existing)!r} is a file"
        raise InputError(f"cannot write the folder {named!r}: {what}; choose another output folder.")
    for source in sources:
        if source is None or not Path(source).expanduser().exists():
            continue
        src = Path(source).expanduser().resolve()
        if out == src or src in out.parents or out in src.parents:
            where = "is" if out == src else "is inside" if src in out.parents else "holds"
            raise InputError(
                f"cannot write {named!r}: it {where} the input {str(source)!r} (writing the output could "
                "overwrite or remove it); choose another output folder."
            )
    if whole and (out == Path.cwd().resolve() or out in Path.cwd().resolve().parents):
        raise InputError(
            f"cannot write {named!r}: it is or holds the working folder, and an existing folder is replaced "
            "whole (what it holds is deleted); choose another output folder."
        )
    holder = next((path for path in out.parents if path.exists()), out)  # where the temporary folder goes
    for path in (holder, out) if out.is_dir() else (holder,):
        if not os.access(path, os.W_OK):
            raise InputError(
                f"cannot write {named!r}: the folder {str(path)!r} is not writable; "
                "choose another output folder."
            )


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name one file (through a symlink or a hard link too)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


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
    with _naming(dest):
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
    with _naming(path):
        tmp, fd = _make_unique(path.parent, f".{path.name}.tmp-", _create_file)
    try:
        with _naming(path), os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        with _naming(path):
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """An ``OSError`` of the temporary file (a read-only folder, a full disk) raised again, of the same type,
    naming the file the caller asked for: ``out.npy: No space left on device``, not ``.out.npy.tmp-...``."""
    try:
        yield
    except OSError as error:
        if error.errno is None or error.strerror is None:
            raise
        raise type(error)(error.errno, error.strerror, os.fspath(path)) from error


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
