"""The files of a vector index folder: generations, manifest and segments, written atomically.

Layout of an index folder (the on-disk format is public; ``format_version`` guards changes)::

    INDEX_DIR/
      CURRENT                  the name of the live generation, e.g. "g000002" (replaced atomically)
      g000002/
        manifest.json          model (name, checksum, dimension), index spec, counts, file sizes + sha256
        index.faiss            the search structure (flat / hnsw / ivf-pq; float32 / int8 / binary codes)
        probe.npy              the model's vectors for fixed probe texts: a different model is refused
        segment-000000.npy     float32 vectors of the first batch (memory-mapped; used for rescoring)
        segment-000000.jsonl   {"id": ..., "text": ...} per row, same order
        segment-000000.idx.npy byte offset of each line (random access to hit texts)
        segment-000001.*       the batch of each later ``add``

Writes are atomic: an add builds a new generation folder beside the live one (unchanged segments are
hard links, so an add costs the new rows plus rewriting the search structure), fsyncs it and only then
replaces ``CURRENT``. A crash at any point leaves ``CURRENT`` naming the previous, complete generation;
leftover folders are removed by the next write.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import IndexCorruptError, InputError
from .._io.atomic import atomic_write_bytes

FORMAT = "sbert-vector-index"
FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
INDEX_FILE = "index.faiss"
PROBE_FILE = "probe.npy"


def new_manifest(
    model: dict[str, Any] | None, metric: str, dimension: int, count: int, spec: dict[str, Any]
) -> dict[str, Any]:
    """The manifest of an index before its first generation is written (no segments, no files yet)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model,
        "metric": metric,
        "dimension": dimension,
        "count": count,
        "spec": spec,
        "segments": [],
        "files": {},
    }


# ---------------------------------------------------------------------------------------------- segments


class Segment:
    """One batch of rows: float32 vectors (memory-mapped), JSON lines and their byte offsets."""

    def __init__(self, folder: Path, record: dict[str, Any]) -> None:
        self.name = record["name"]
        self.count = int(record["count"])
        self.folder = folder
        self._vectors: np.ndarray | None = None
        self._offsets: np.ndarray | None = None

    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            self._vectors = np.load(self.folder / f"{self.name}.npy", mmap_mode="r", allow_pickle=False)
        return self._vectors

    def record(self, local: int) -> dict[str, str]:
        if self._offsets is None:
            self._offsets = np.load(self.folder / f"{self.name}.idx.npy", allow_pickle=False)
        start, end = int(self._offsets[local]), int(self._offsets[local + 1])
        with open(self.folder / f"{self.name}.jsonl", "rb") as f:
            f.seek(start)
            line = f.read(end - start)
        return _parse_record(line, self.folder / f"{self.name}.jsonl")

    def records(self) -> list[dict[str, str]]:
        path = self.folder / f"{self.name}.jsonl"
        return [_parse_record(line, path) for line in path.read_bytes().splitlines()]


def _parse_record(line: bytes, path: Path) -> dict[str, str]:
    try:
        record = json.loads(line)
    except ValueError as e:
        raise IndexCorruptError(f"{path} is corrupt ({e}); rebuild the index.") from None
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("id"), str)
        or not isinstance(record.get("text"), str)
    ):
        raise IndexCorruptError(
            f"{path} is corrupt (a line is not an {{id, text}} object); rebuild the index."
        )
    return record


def _segment_payloads(name: str, vectors: np.ndarray, texts: list[str], ids: list[str]) -> dict[str, bytes]:
    """The three files of a new segment: vectors, JSON lines and the byte offset of each line."""
    lines = [
        json.dumps({"id": i, "text": t}, ensure_ascii=False).encode("utf-8") + b"\n"
        for i, t in zip(ids, texts)
    ]
    offsets = np.cumsum([0] + [len(line) for line in lines]).astype(np.int64)
    return {
        f"{name}.npy": _npy_bytes(np.ascontiguousarray(vectors, dtype=np.float32)),
        f"{name}.jsonl": b"".join(lines),
        f"{name}.idx.npy": _npy_bytes(offsets),
    }


# ---------------------------------------------------------------------------------------------- writing


def write_generation(
    root: Path,
    manifest: dict[str, Any],
    index_bytes: bytes,
    probe: np.ndarray | None,
    *,
    previous: Path | None,
    new_segment: tuple[np.ndarray, list[str], list[str]],
) -> None:
    """Write a complete new generation folder, then point CURRENT at it (the commit point).

    ``index_bytes`` is the serialized search structure; ``new_segment`` the ``(vectors, texts, ids)`` added.
    """
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale(root, keep=previous)
    number = 0 if previous is None else int(previous.name[1:]) + 1
    generation = root / f"g{number:06d}"
    staging = root / f".{generation.name}.tmp"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    # Segments the manifest already lists are unchanged: hard links (copies where links are not possible).
    segments = list(manifest["segments"])
    files = {name: meta for name, meta in manifest["files"].items() if name not in (INDEX_FILE, PROBE_FILE)}
    for file_name in files:
        _link_or_copy(previous / file_name, staging / file_name)  # type: ignore[operator]
    vectors, texts, ids = new_segment
    name = f"segment-{len(segments):06d}"
    payloads = {**_segment_payloads(name, vectors, texts, ids), INDEX_FILE: index_bytes}
    if probe is not None:
        payloads[PROBE_FILE] = _npy_bytes(probe)
    for file_name, data in payloads.items():
        _write_synced(staging / file_name, data)
        files[file_name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    segments.append({"name": name, "count": len(texts)})
    manifest = {**manifest, "segments": segments, "files": files}
    _write_synced(staging / MANIFEST, json.dumps(manifest, indent=2).encode("utf-8"))
    _fsync_dir(staging)
    os.rename(staging, generation)
    _fsync_dir(root)
    atomic_write_bytes(root / CURRENT, generation.name.encode("ascii"))  # the commit point
    _fsync_dir(root)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def _remove_stale(root: Path, keep: Path | None) -> None:
    """Remove generation folders other than ``keep`` (the live one): left by a crash or a finished add."""
    for child in root.iterdir():
        is_generation = child.is_dir() and re.fullmatch(r"\.?g\d{6}(\.tmp)?", child.name)
        if is_generation and child != keep:
            shutil.rmtree(child, ignore_errors=True)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- reading


def live_generation(path: Path) -> Path:
    """The folder ``CURRENT`` names: the complete generation to read."""
    if not path.exists():
        raise InputError(f"No index at {path}: build one with `sbert index build CORPUS -o {path}`.")
    pointer = path / CURRENT
    if not pointer.is_file():
        raise IndexCorruptError(
            f"{path} is not an sbert index (no {CURRENT} file); build one with `sbert index build`."
        )
    name = pointer.read_text(encoding="ascii", errors="replace").strip()
    generation = path / name
    if not name.startswith("g") or "/" in name or not generation.is_dir():
        raise IndexCorruptError(f"{pointer} names {name!r}, which is not a generation folder of this index.")
    return generation


def read_manifest(generation: Path) -> dict[str, Any]:
    """The manifest of ``generation``, refused unless it is an sbert index of this format version."""
    try:
        manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorruptError(
            f"{generation / MANIFEST} is missing or unreadable ({e}); rebuild the index."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexCorruptError(f"{generation / MANIFEST} is not an sbert index manifest.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"{generation / MANIFEST} has format version {manifest.get('format_version')}; this sbert reads "
            f"version {FORMAT_VERSION}. Rebuild the index with this version."
        )
    return manifest


def verify_files(generation: Path, manifest: dict[str, Any]) -> None:
    """Sizes of every file; sha256 of the search structure and the small files (big segments: sizes)."""
    for name, meta in manifest["files"].items():
        path = generation / name
        if not path.is_file():
            raise IndexCorruptError(f"{path} is missing; the index is incomplete. Rebuild it.")
        if path.stat().st_size != meta["size"]:
            raise IndexCorruptError(
                f"{path} has {path.stat().st_size} bytes, the manifest records {meta['size']}: the file is "
                "truncated or corrupt. Rebuild the index."
            )
        checked = name in (INDEX_FILE, PROBE_FILE) or meta["size"] <= 1 << 20
        if checked and hashlib.sha256(path.read_bytes()).hexdigest() != meta["sha256"]:
            raise IndexCorruptError(
                f"{path} does not match its checksum: the file is corrupt. Rebuild the index."
            )


def read_probe(generation: Path) -> np.ndarray:
    """The probe vectors stored with the index (the model check's reference)."""
    return np.load(generation / PROBE_FILE, allow_pickle=False)
