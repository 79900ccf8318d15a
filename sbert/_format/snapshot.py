"""What a model folder held when a model was loaded from it.

sentence-transformers holds a model wholly in memory once loaded, so the folder may be removed, replaced or
edited afterwards and the model saves, trains and moves as before. sbert reads the torch weights only when
something first needs them (an ONNX model encodes without torch), so at load it keeps what that later read
needs: the small files (configs, tokenizer, modules.json, card) in memory, and an open descriptor on each
large one (weights), which on POSIX still reads a file removed or replaced after it was opened. Reading a
weight file is deferred, never copied, while the folder stays as it was. A pickle carries the files' bytes.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ModelLoadError

SMALL_FILE = 4 << 20  # read whole at load; larger files are held open
# Folders sbert writes into after loading (its ONNX cache), or never reads for a model: other runtimes'
# exports, training checkpoints, version control.
_SKIPPED_DIRS = ("openvino",)
_SKIPPED_DIR_PREFIXES = (".", "checkpoint-")
_SKIPPED_SUFFIXES = (".h5", ".msgpack", ".ot")  # TensorFlow, Flax and Rust weights: never read by sbert
ONNX_DIR = "onnx"
# POSIX reads a file through a descriptor after it is removed or replaced; elsewhere (Windows) an open file
# cannot be removed or replaced at all, so large files are not held there: a changed folder fails clearly.
HOLDS_OPEN_FILES = hasattr(os, "pread")


@dataclass(frozen=True)
class _File:
    stamp: tuple[int, int, int, int]  # device, inode, size, mtime: the file as it was
    data: bytes | None  # a small file's bytes
    fd: int | None  # a large file's open descriptor


class FolderSnapshot:
    """The files of ``folder`` as they were when the model was loaded (``with_onnx``: its ``onnx/``
    folder too, which an export-only folder runs from; other folders' ``onnx/`` is sbert's cache).

    :meth:`folder` is where to read them later: ``folder`` itself while it is unchanged, else a private copy
    written from the snapshot, kept (and removed) with the snapshot.
    """

    def __init__(self, folder: Path, *, with_onnx: bool = False, private_copy: Path | None = None) -> None:
        self.original = Path(folder)
        self.with_onnx = with_onnx
        self._fds: list[int] = []  # the large files' descriptors, closed with the snapshot
        # the private copy, once written (``private_copy``: already written), removed with the snapshot
        self._copy: list[Path] = [] if private_copy is None else [private_copy]
        weakref.finalize(self, _release, self._fds, self._copy)
        if private_copy is not None:
            self._files: dict[str, _File] | None = {}
            return
        try:
            self._files = _take(self.original, with_onnx, self._fds)
        except FileNotFoundError:
            self._files = None  # gone already (a copy unpickled after the folder was removed)

    def folder(self) -> Path:
        """A folder holding the files as they were at load: the original while it is unchanged."""
        if self._copy:
            return self._copy[0]
        if self._files is None:
            raise ModelLoadError(
                f"The model folder {self.original} was removed after the model was loaded from it, before "
                "this copy of the model read it: load the model again, or keep the folder while the model "
                "is in use."
            )
        if _stamps(self.original, self.with_onnx) == {name: f.stamp for name, f in self._files.items()}:
            return self.original
        self._copy.append(_restore(self.original, self._files))
        _release(self._fds, [])  # the copy holds the large files now
        self._fds.clear()
        self._files = {}
        return self._copy[0]

    def locate(self, path: Path) -> Path:
        """``path`` in :meth:`folder` (a path outside the original folder, such as an adapter's base model
        elsewhere, as it is)."""
        folder = self.folder()
        if folder == self.original or not Path(path).is_relative_to(self.original):
            return path
        return folder / Path(path).relative_to(self.original)

    # A copy in this process shares the snapshot. A pickle carries the files, as sentence-transformers'
    # pickles carry the weights: unpickled where the folder is gone, changed (another model saved over it)
    # or never was (another machine), the copy reads the files as they were at load.
    def __copy__(self) -> FolderSnapshot:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FolderSnapshot:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        folder = self.folder()
        if folder != self.original:  # the private copy holds the files as they were
            copied = _walk(folder, self.with_onnx)
            contents = {name: (_stamp(path.stat()), path.read_bytes()) for name, path in copied}
        else:
            assert self._files is not None  # folder() raised otherwise
            contents = {name: (f.stamp, _bytes_of(self.original, name, f)) for name, f in self._files.items()}
        return (_unpickled, (str(self.original), self.with_onnx, contents))


def _unpickled(original: str, with_onnx: bool, contents: dict[str, tuple[Any, bytes]]) -> FolderSnapshot:
    """A pickled snapshot in this process: the original folder while it holds the same files (the same
    machine, unchanged), else a private copy written from the pickle's bytes."""
    folder = Path(original)
    if _stamps(folder, with_onnx) == {name: tuple(stamp) for name, (stamp, _) in contents.items()}:
        return FolderSnapshot(folder, with_onnx=with_onnx)
    writers = {name: functools.partial(Path.write_bytes, data=data) for name, (_, data) in contents.items()}
    return FolderSnapshot(folder, with_onnx=with_onnx, private_copy=_private_folder(writers))


def _bytes_of(original: Path, name: str, f: _File) -> bytes:
    """A snapshot file's bytes as they were at load (a large one through its held descriptor)."""
    if f.data is not None:
        return f.data
    if f.fd is None:  # not held (unreadable at load, or not kept open on this system)
        return _unchanged(original / name, f.stamp).read_bytes()
    _check_unchanged_in_place(original / name, f)
    return b"".join(_chunks(f.fd))


def _walk(folder: Path, with_onnx: bool) -> list[tuple[str, Path]]:
    """The files a snapshot keeps, by their path relative to ``folder``."""
    found, pending = [], [(folder, "")]
    while pending:
        directory, prefix = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                name = prefix + entry.name
                if entry.name.startswith(_SKIPPED_DIR_PREFIXES):
                    continue
                if entry.is_dir():
                    skipped = entry.name in _SKIPPED_DIRS or (entry.name == ONNX_DIR and not with_onnx)
                    if not skipped:
                        pending.append((Path(entry.path), name + "/"))
                elif entry.is_file() and not entry.name.endswith(_SKIPPED_SUFFIXES):
                    found.append((name, Path(entry.path)))
    return found


def _stamp(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _stamps(folder: Path, with_onnx: bool) -> dict[str, tuple[int, int, int, int]] | None:
    try:
        return {name: _stamp(path.stat()) for name, path in _walk(folder, with_onnx)}
    except OSError:  # gone, or changing under us
        return None


def _take(folder: Path, with_onnx: bool, fds: list[int]) -> dict[str, _File]:
    files = {}
    for name, path in _walk(folder, with_onnx):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:  # unreadable (a loader would fail on it too): noted, not kept
            files[name] = _File(_stamp(path.stat()), None, None)
            continue
        stat = os.fstat(fd)
        if stat.st_size > SMALL_FILE and not HOLDS_OPEN_FILES:
            os.close(fd)  # an open file there would keep the user from removing or replacing it
            files[name] = _File(_stamp(stat), None, None)
        elif stat.st_size <= SMALL_FILE:
            with os.fdopen(fd, "rb") as f:
                files[name] = _File(_stamp(stat), f.read(), None)
        else:
            fds.append(fd)
            files[name] = _File(_stamp(stat), None, fd)
    return files


def _restore(original: Path, files: dict[str, _File]) -> Path:
    """Write the snapshot's files into a new private folder."""
    return _private_folder(
        {name: functools.partial(_write_file, original / name, f) for name, f in files.items()}
    )


def _write_file(source: Path, f: _File, path: Path) -> None:
    """A snapshot file at ``path``, as it was at load (``source``: where it was)."""
    if f.data is not None:
        path.write_bytes(f.data)
    elif f.fd is None:  # not held (unreadable at load, or not kept open on this system)
        shutil.copyfile(_unchanged(source, f.stamp), path)
    else:
        _check_unchanged_in_place(source, f)
        with open(path, "wb") as out:
            for chunk in _chunks(f.fd):
                out.write(chunk)


def _private_folder(writers: dict[str, Callable[[Path], Any]]) -> Path:
    """A new private folder holding each file its writer writes (removed again if one fails)."""
    target = Path(tempfile.mkdtemp(prefix="sbert-model-"))
    try:
        for name, write in writers.items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def _check_unchanged_in_place(path: Path, f: _File) -> None:
    """A held file's bytes are still those seen at load, unless it was written in place (not replaced)."""
    if _stamp(os.fstat(f.fd))[2:] != f.stamp[2:]:  # type: ignore[arg-type]
        raise ModelLoadError(
            f"{path} was changed in place after the model was loaded from it, and sbert reads large files "
            "only when first needed: load the model again (or leave the model folder unchanged while a "
            "model loaded from it is in use)."
        )


def _unchanged(source: Path, stamp: tuple[int, int, int, int]) -> Path:
    """``source`` if it is still the file seen at load, else say what to do."""
    try:
        unchanged = _stamp(source.stat()) == stamp
    except OSError:
        unchanged = False
    if not unchanged:
        raise ModelLoadError(
            f"{source} was removed or changed after the model was loaded from it, and sbert reads large "
            "files only when first needed: load the model again (or leave the model folder unchanged while "
            "a model loaded from it is in use)."
        )
    return source


def _chunks(fd: int) -> Iterator[bytes]:
    """A held file's bytes from its start, in pieces."""
    offset = 0
    while chunk := os.pread(fd, 1 << 22, offset):
        yield chunk
        offset += len(chunk)


def _release(fds: list[int], copy: list[Path]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
    for folder in copy:
        shutil.rmtree(folder, ignore_errors=True)
