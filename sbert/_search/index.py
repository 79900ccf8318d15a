"""A persistent vector index: texts, ids and vectors on disk, a faiss structure in memory.

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

Writes are atomic: ``add`` builds a new generation folder beside the live one (unchanged segments are
hard links, so an add costs the new rows plus rewriting the search structure), fsyncs it and only then
replaces ``CURRENT``. A crash at any point leaves ``CURRENT`` naming the previous, complete generation;
leftover folders are removed by the next write.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import IndexCorruptError, InputError, ModelMismatchError
from .._io.atomic import atomic_write_bytes
from .._numeric import normalize
from . import ann as _ann

FORMAT = "sbert-vector-index"
FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
INDEX_FILE = "index.faiss"
PROBE_FILE = "probe.npy"
# Fixed texts whose vectors identify a model: the same model (any backend or precision) reproduces them
# to a cosine above PROBE_MIN_COSINE; a different model does not.
PROBE_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on the stage.",
    "Stock markets fell sharply after the announcement.",
    "ok",
)
PROBE_MIN_COSINE = 0.99
METRICS = ("cosine", "dot")


@dataclasses.dataclass(frozen=True)
class SearchHit:
    """One search result: the stored ``id`` and ``text`` of a row and its ``score`` (higher is closer)."""

    id: str
    text: str
    score: float
    row: int


class VectorIndex:
    """Semantic search over a corpus that lives in a folder.

    Build once, reopen later, add texts, search with texts or vectors::

        from sbert import SentenceTransformer, VectorIndex

        model = SentenceTransformer()
        index = VectorIndex.build("my-index", texts, model=model, index="hnsw")
        index = VectorIndex.open("my-index", model=model)   # refused if the model differs
        index.add(["another text"])
        hits = index.search("a query", k=5)                 # [SearchHit(id, text, score, row), ...]

    ``index``: ``flat`` (exact), ``hnsw`` (graph, fast, ~1.3-2x the vectors' memory) or ``ivf-pq``
    (compressed, needs a few thousand texts to train); ``precision``: what the search structure keeps in
    memory, ``float32``, ``int8`` (4x smaller) or ``binary`` (32x smaller). Approximate candidates are
    rescored with the exact float32 vectors, which stay on disk (memory-mapped), so scores are exact cosine
    similarities whatever the structure. Needs faiss: ``pip install 'sbert[search]'``.
    """

    def __init__(self, path: Path, generation: Path, manifest: dict[str, Any], model: Any | None) -> None:
        self.path = path
        self._generation = generation
        self._manifest = manifest
        self._spec = _ann.AnnSpec(**manifest["spec"])
        self._model = model
        self._ann: Any = None  # loaded on first search
        self._segments = [_Segment(generation, s) for s in manifest["segments"]]
        self._starts = np.cumsum([0] + [s.count for s in self._segments])  # first row of each segment

    # ------------------------------------------------------------------ building and opening

    @classmethod
    def build(
        cls,
        path: str | os.PathLike,
        texts: Sequence[str],
        *,
        model: Any = None,
        ids: Sequence[str] | None = None,
        embeddings: np.ndarray | None = None,
        index: str = "flat",
        precision: str = "float32",
        metric: str = "cosine",
        batch_size: int | None = None,
        overwrite: bool = False,
        **spec_options: Any,
    ) -> VectorIndex:
        """Embed ``texts`` with ``model`` (or take ``embeddings`` ``(n, d)``) and write a new index at ``path``.

        ``ids`` default to the row numbers ("0", "1", ...). An existing index at ``path`` is replaced only
        with ``overwrite=True``. ``spec_options`` tune the structure (``hnsw_m``, ``ef_search``, ``nlist``,
        ``nprobe``, ``pq_m``, ``rescore_multiplier``; see ``sbert._search.ann.AnnSpec``).
        """
        path = Path(path)
        texts = _check_texts(texts)
        if not texts:
            raise InputError("Cannot build an index from an empty corpus: there are no texts to index.")
        if metric not in METRICS:
            raise InputError(f"Unknown metric {metric!r}; choose one of {METRICS}.")
        if model is None and embeddings is None:
            raise InputError("Pass model= to embed the texts (or embeddings= computed beforehand).")
        previous = None
        if path.exists():
            if not path.is_dir():
                raise InputError(f"{path} exists and is not a folder; choose another output path.")
            if (path / CURRENT).exists():
                if not overwrite:
                    raise InputError(
                        f"{path} already holds an index; use `sbert index add` to extend it, or --overwrite "
                        "(overwrite=True) to replace it."
                    )
                previous = _live_generation(path)
            elif any(path.iterdir()):
                raise InputError(f"{path} exists and is not an sbert index; choose an empty or new folder.")
        spec = _ann.AnnSpec(kind=index, precision=precision, **spec_options)
        ids = _check_ids(ids, len(texts), start=0, existing=set())
        vectors = _embed(model, texts, embeddings, metric, batch_size)
        probe = _probe(model) if model is not None else None
        ann = _ann.build(vectors, spec)  # may raise InputError (e.g. ivf-pq on too few texts)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": _model_record(model, vectors.shape[1]),
            "metric": metric,
            "dimension": int(vectors.shape[1]),
            "count": len(texts),
            "spec": dataclasses.asdict(spec),
            "segments": [],
            "files": {},
        }
        _write_generation(path, manifest, ann, probe, previous=previous, new_segment=(vectors, texts, ids))
        return cls.open(path, model=model)

    @classmethod
    def open(cls, path: str | os.PathLike, *, model: Any = None) -> VectorIndex:
        """Open the index at ``path``; with ``model``, check it is the model the index was built with."""
        path = Path(path)
        generation = _live_generation(path)
        manifest = _read_manifest(generation)
        _verify_files(generation, manifest)
        index = cls(path, generation, manifest, None)
        if model is not None:
            index.attach(model)
        return index

    # ------------------------------------------------------------------ properties

    def __len__(self) -> int:
        return int(self._manifest["count"])

    def __repr__(self) -> str:
        spec = self._spec
        return (
            f"VectorIndex({str(self.path)!r}, {len(self)} texts, {spec.kind}/{spec.precision}, "
            f"model={self.model_name!r})"
        )

    @property
    def dimension(self) -> int:
        return int(self._manifest["dimension"])

    @property
    def model_name(self) -> str | None:
        record = self._manifest["model"]
        return record["name"] if record else None

    @property
    def info(self) -> dict[str, Any]:
        """The manifest's facts: model, metric, dimension, count, spec, segments."""
        return json.loads(json.dumps(self._manifest))

    # ------------------------------------------------------------------ the model check

    def attach(self, model: Any) -> VectorIndex:
        """Use ``model`` to embed queries and added texts, after :meth:`check_model`; returns the index."""
        self.check_model(model)
        self._model = model
        return self

    def check_model(self, model: Any) -> None:
        """Raise :class:`ModelMismatchError` unless ``model`` embeds like the model the index was built with."""
        record = self._manifest["model"]
        dimension = int(model.get_sentence_embedding_dimension())
        if dimension != self.dimension:
            raise ModelMismatchError(
                f"The index at {self.path} holds {self.dimension}-dimensional vectors from model "
                f"{_describe(record)}, but {_name_of(model)} makes {dimension}-dimensional ones; "
                f"search with the index's model (--model {record['name'] if record else '...'}) or rebuild the index."
            )
        if record is None:
            return  # built from bare vectors: only the dimension can be checked
        expected = np.load(self._generation / PROBE_FILE, allow_pickle=False)
        cosine = float(np.min(np.sum(normalize(expected) * normalize(_probe(model)), axis=1)))
        if cosine < PROBE_MIN_COSINE:
            raise ModelMismatchError(
                f"The index at {self.path} was built with model {_describe(record)}; {_name_of(model)} "
                f"embeds differently (probe cosine {cosine:.3f} < {PROBE_MIN_COSINE}). Search with --model "
                f"{record['name']} or rebuild the index with this model."
            )

    # ------------------------------------------------------------------ adding

    def add(
        self,
        texts: Sequence[str],
        *,
        ids: Sequence[str] | None = None,
        embeddings: np.ndarray | None = None,
        batch_size: int | None = None,
    ) -> VectorIndex:
        """Append texts (embedded with the index's model, or given as ``embeddings``); atomic.

        Returns the index, reopened on the new generation. An empty list changes nothing.
        """
        texts = _check_texts(texts)
        if not texts:
            return self
        if embeddings is None and self._model is None:
            raise InputError("This index has no model attached: open it with model= (or pass embeddings=).")
        existing = set(self.ids())
        ids = _check_ids(ids, len(texts), start=len(self), existing=existing)
        vectors = _embed(self._model, texts, embeddings, self._manifest["metric"], batch_size)
        if vectors.shape[1] != self.dimension:
            raise ModelMismatchError(
                f"The new vectors have {vectors.shape[1]} dimensions; the index at {self.path} holds {self.dimension}."
            )
        ann = self._load_ann()
        _ann.add(ann, vectors, self._spec)
        manifest = {**self._manifest, "count": len(self) + len(texts)}
        probe = (
            np.load(self._generation / PROBE_FILE, allow_pickle=False) if self._manifest["model"] else None
        )
        _write_generation(
            self.path, manifest, ann, probe, previous=self._generation, new_segment=(vectors, texts, ids)
        )
        fresh = VectorIndex.open(self.path)
        fresh._model = self._model  # already checked against this index
        return fresh

    # ------------------------------------------------------------------ searching

    def search(self, queries: str | Sequence[str] | np.ndarray, k: int = 10) -> Any:
        """The ``k`` closest stored texts: a list of :class:`SearchHit` for one query (a string or a ``(d,)``
        vector), a list of such lists for several (a list of strings or a ``(q, d)`` array)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}.")
        single = isinstance(queries, str) or (isinstance(queries, np.ndarray) and queries.ndim == 1)
        vectors = self._query_vectors(queries)
        ids, scores = _ann.search(self._load_ann(), vectors, int(k), self._spec, exact_vectors=self.vectors)
        hits = [
            [self._hit(int(row), float(score)) for row, score in zip(id_row, score_row) if row >= 0]
            for id_row, score_row in zip(ids, scores)
        ]
        return hits[0] if single else hits

    def _query_vectors(self, queries: Any) -> np.ndarray:
        if isinstance(queries, np.ndarray):
            vectors = np.atleast_2d(queries).astype(np.float32)
            if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
                raise InputError(f"Query vectors must have shape (q, {self.dimension}), got {queries.shape}.")
        else:
            texts = [queries] if isinstance(queries, str) else _check_texts(queries)
            if self._model is None:
                raise InputError(
                    "Searching with texts needs a model: open the index with model=, or pass vectors."
                )
            vectors = np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), -1)
        return normalize(vectors) if self._manifest["metric"] == "cosine" else vectors

    def _hit(self, row: int, score: float) -> SearchHit:
        segment, local = self._locate(row)
        record = segment.record(local)
        return SearchHit(id=record["id"], text=record["text"], score=score, row=row)

    def _locate(self, row: int) -> tuple[_Segment, int]:
        s = int(np.searchsorted(self._starts, row, side="right")) - 1
        return self._segments[s], row - int(self._starts[s])

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored float32 vectors of ``rows`` ``(r,)`` → ``(r, d)`` (read from the memory-mapped segments)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.dimension), dtype=np.float32)
        segment_of = np.searchsorted(self._starts, rows, side="right") - 1
        for s in np.unique(segment_of):
            mask = segment_of == s
            out[mask] = self._segments[s].vectors()[rows[mask] - self._starts[s]]
        return out

    def ids(self) -> list[str]:
        """Every stored id, in row order."""
        return [record["id"] for segment in self._segments for record in segment.records()]

    def _load_ann(self) -> Any:
        if self._ann is None:
            data = (self._generation / INDEX_FILE).read_bytes()
            try:
                self._ann = _ann.deserialize(data, self._spec)
            except RuntimeError as e:
                raise IndexCorruptError(f"{self._generation / INDEX_FILE} could not be read: {e}") from None
            if self._ann.ntotal != len(self):
                raise IndexCorruptError(
                    f"{self._generation / INDEX_FILE} holds {self._ann.ntotal} vectors, the manifest {len(self)}."
                )
        return self._ann


# ---------------------------------------------------------------------------------------------- segments


class _Segment:
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


# ---------------------------------------------------------------------------------------------- writing


def _write_generation(
    root: Path,
    manifest: dict[str, Any],
    ann: Any,
    probe: np.ndarray | None,
    *,
    previous: Path | None,
    new_segment: tuple[np.ndarray, list[str], list[str]],
) -> None:
    """Write a complete new generation folder, then point CURRENT at it (the commit point)."""
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
    lines = [
        json.dumps({"id": i, "text": t}, ensure_ascii=False).encode("utf-8") + b"\n"
        for i, t in zip(ids, texts)
    ]
    offsets = np.cumsum([0] + [len(line) for line in lines]).astype(np.int64)
    payloads = {
        f"{name}.npy": _npy_bytes(np.ascontiguousarray(vectors, dtype=np.float32)),
        f"{name}.jsonl": b"".join(lines),
        f"{name}.idx.npy": _npy_bytes(offsets),
        INDEX_FILE: _ann.serialize(ann),
    }
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


def _live_generation(path: Path) -> Path:
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


def _read_manifest(generation: Path) -> dict[str, Any]:
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


def _verify_files(generation: Path, manifest: dict[str, Any]) -> None:
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


# ---------------------------------------------------------------------------------------------- helpers


def _embed(
    model: Any, texts: list[str], embeddings: np.ndarray | None, metric: str, batch_size: int | None
) -> np.ndarray:
    if embeddings is not None:
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise InputError(f"embeddings must have shape ({len(texts)}, d), got {vectors.shape}.")
    else:
        options = {} if batch_size is None else {"batch_size": batch_size}
        vectors = np.asarray(model.encode(texts, **options), dtype=np.float32)
    if not np.all(np.isfinite(vectors)):
        raise InputError("The embeddings contain NaN or infinite values.")
    return normalize(vectors) if metric == "cosine" else vectors


def _probe(model: Any) -> np.ndarray:
    return np.asarray(model.encode(list(PROBE_TEXTS)), dtype=np.float32)


def _model_record(model: Any, dimension: int) -> dict[str, Any] | None:
    if model is None:
        return None
    return {"name": _name_of(model), "checksum": _model_checksum(model), "dimension": dimension}


def _model_checksum(model: Any) -> str:
    """sha256 of the model folder's weights and configs when it has one, else of its probe vectors."""
    folder = getattr(model, "_folder", None)
    if folder is not None:
        from .._backends.onnx_runner import weights_fingerprint

        return "sha256:" + weights_fingerprint(Path(folder))
    return "probe-sha256:" + hashlib.sha256(np.round(_probe(model), 4).tobytes()).hexdigest()


def _name_of(model: Any) -> str:
    return str(getattr(model, "name_or_path", None) or type(model).__name__)


def _describe(record: dict[str, Any] | None) -> str:
    if record is None:
        return "(none: built from vectors)"
    return f"{record['name']!r} (checksum {record['checksum'][:23]}...)"


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, str) or texts is None:
        raise InputError("texts must be a list of strings.")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"texts[{i}] is {type(text).__name__}, expected a string.")
    return texts


def _check_ids(ids: Sequence[str] | None, n: int, *, start: int, existing: set[str]) -> list[str]:
    ids = [str(start + i) for i in range(n)] if ids is None else [str(i) for i in ids]
    if len(ids) != n:
        raise InputError(f"Got {len(ids)} ids for {n} texts.")
    seen = set(existing)
    for i in ids:
        if i in seen:
            raise InputError(f"Duplicate id {i!r}: ids must be unique within the index.")
        seen.add(i)
    return ids
