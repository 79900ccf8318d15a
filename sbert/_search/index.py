"""VectorIndex: semantic search over a corpus kept in a folder (build, open, add, search).

The folder's files and their atomic writes are :mod:`sbert._search.index_store`; the check that a model
is the one the index was built with is :mod:`sbert._search.model_identity`; the faiss structures are
:mod:`sbert._search.ann`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_positive_int, check_texts
from .._errors import IndexCorruptError, InputError, ModelMismatchError
from .._numeric import normalize
from . import ann as _ann
from . import index_store as store
from .model_identity import PROBE_MIN_COSINE, describe, model_record, name_of, probe, probe_cosine

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
        self._segments = [store.Segment(generation, s) for s in manifest["segments"]]
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
        chunk_tokens: int | None = None,
        chunk_overlap: int = 0,
        **spec_options: Any,
    ) -> VectorIndex:
        """Embed ``texts`` with ``model`` (or take ``embeddings`` ``(n, d)``); write a new index at ``path``.

        ``ids`` default to the row numbers ("0", "1", ...). An existing index at ``path`` is replaced only
        with ``overwrite=True``. ``spec_options`` tune the structure (``hnsw_m``, ``ef_search``, ``nlist``,
        ``nprobe``, ``pq_m``, ``rescore_multiplier``; see ``sbert._search.ann.AnnSpec``).
        ``chunk_tokens`` / ``chunk_overlap``: one vector per long text, the mean of its token windows
        (``SentenceTransformer.encode``'s options of those names).
        """
        path = Path(path)
        texts = check_texts(texts, name="texts", allow_string=False, error=InputError)
        if not texts:
            raise InputError("Cannot build an index from an empty corpus: there are no texts to index.")
        if metric not in METRICS:
            raise InputError(f"Unknown metric {metric!r}; choose one of {METRICS}.")
        if model is None and embeddings is None:
            raise InputError("Pass model= to embed the texts (or embeddings= computed beforehand).")
        previous = _replaceable_generation(path, overwrite)
        spec = _ann.AnnSpec(kind=index, precision=precision, **spec_options)
        ids = _check_ids(ids, len(texts), start=0, existing=set())
        encoding = _encode_options(batch_size, chunk_tokens, chunk_overlap, embeddings)
        vectors = _embed(model, texts, embeddings, metric, encoding)
        probe_vectors = probe(model) if model is not None else None
        ann = _ann.build(vectors, spec)  # may raise InputError (e.g. ivf-pq on too few texts)
        dimension = int(vectors.shape[1])
        record = model_record(model, dimension)
        manifest = store.new_manifest(record, metric, dimension, len(texts), dataclasses.asdict(spec))
        store.write_generation(
            path,
            manifest,
            _ann.serialize(ann),
            probe_vectors,
            previous=previous,
            new_segment=(vectors, texts, ids),
        )
        return cls.open(path, model=model)

    @classmethod
    def open(cls, path: str | os.PathLike, *, model: Any = None) -> VectorIndex:
        """Open the index at ``path``; with ``model``, check it is the model the index was built with."""
        index = cls._read(Path(path), None)
        if model is not None:
            index.attach(model)
        return index

    @classmethod
    def _read(cls, path: Path, model: Any | None) -> VectorIndex:
        """The live generation at ``path``, its files verified; ``model`` is attached unchecked."""
        generation = store.live_generation(path)
        manifest = store.read_manifest(generation)
        store.verify_files(generation, manifest)
        return cls(path, generation, manifest, model)

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
        """Raise :class:`ModelMismatchError` unless ``model`` embeds like the index's model."""
        record = self._manifest["model"]
        dimension = int(model.get_sentence_embedding_dimension())
        if dimension != self.dimension:
            raise ModelMismatchError(
                f"The index at {self.path} holds {self.dimension}-dimensional vectors from model "
                f"{describe(record)}, but {name_of(model)} makes {dimension}-dimensional ones; "
                f"search with the index's model (--model {record['name'] if record else '...'}) "
                "or rebuild the index."
            )
        if record is None:
            return  # built from bare vectors: only the dimension can be checked
        cosine = probe_cosine(store.read_probe(self._generation), model)
        if cosine < PROBE_MIN_COSINE:
            raise ModelMismatchError(
                f"The index at {self.path} was built with model {describe(record)}; {name_of(model)} "
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
        chunk_tokens: int | None = None,
        chunk_overlap: int = 0,
    ) -> VectorIndex:
        """Append texts (embedded with the index's model, or given as ``embeddings``); atomic.

        Returns the index, reopened on the new generation. An empty list changes nothing.
        ``chunk_tokens`` / ``chunk_overlap`` as in :meth:`build`.
        """
        texts = check_texts(texts, name="texts", allow_string=False, error=InputError)
        if not texts:
            return self
        if embeddings is None and self._model is None:
            raise InputError("This index has no model attached: open it with model= (or pass embeddings=).")
        existing = set(self.ids())
        ids = _check_ids(ids, len(texts), start=len(self), existing=existing)
        encoding = _encode_options(batch_size, chunk_tokens, chunk_overlap, embeddings)
        vectors = _embed(self._model, texts, embeddings, self._manifest["metric"], encoding)
        if vectors.shape[1] != self.dimension:
            raise ModelMismatchError(
                f"The new vectors have {vectors.shape[1]} dimensions; "
                f"the index at {self.path} holds {self.dimension}."
            )
        ann = self._load_ann()
        _ann.add(ann, vectors, self._spec)
        manifest = {**self._manifest, "count": len(self) + len(texts)}
        probe_vectors = store.read_probe(self._generation) if self._manifest["model"] else None
        store.write_generation(
            self.path,
            manifest,
            _ann.serialize(ann),
            probe_vectors,
            previous=self._generation,
            new_segment=(vectors, texts, ids),
        )
        return self._read(self.path, self._model)  # the model was already checked against this index

    # ------------------------------------------------------------------ searching

    def search(self, queries: str | Sequence[str] | np.ndarray, k: int = 10) -> Any:
        """The ``k`` closest stored texts: a list of :class:`SearchHit` for one query (a string or a ``(d,)``
        vector), a list of such lists for several (a list of strings or a ``(q, d)`` array)."""
        check_positive_int("k", k)
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
            texts = check_texts(queries, name="queries", error=InputError)
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

    def _locate(self, row: int) -> tuple[store.Segment, int]:
        s = int(np.searchsorted(self._starts, row, side="right")) - 1
        return self._segments[s], row - int(self._starts[s])

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored float32 vectors of ``rows`` ``(r,)`` → ``(r, d)`` (from the memory-mapped segments)."""
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
            index_file = self._generation / store.INDEX_FILE
            try:
                self._ann = _ann.deserialize(index_file.read_bytes(), self._spec)
            except RuntimeError as e:
                raise IndexCorruptError(f"{index_file} could not be read: {e}") from None
            if self._ann.ntotal != len(self):
                raise IndexCorruptError(
                    f"{index_file} holds {self._ann.ntotal} vectors, the manifest {len(self)}."
                )
        return self._ann


# ---------------------------------------------------------------------------------------------- helpers


def _replaceable_generation(path: Path, overwrite: bool) -> Path | None:
    """The live generation a build at ``path`` replaces (``None`` for a new or empty folder), or refuse."""
    if not path.exists():
        return None
    if not path.is_dir():
        raise InputError(f"{path} exists and is not a folder; choose another output path.")
    if (path / store.CURRENT).exists():
        if not overwrite:
            raise InputError(
                f"{path} already holds an index; use `sbert index add` to extend it, or --overwrite "
                "(overwrite=True) to replace it."
            )
        return store.live_generation(path)
    if any(path.iterdir()):
        raise InputError(f"{path} exists and is not an sbert index; choose an empty or new folder.")
    return None


def _encode_options(
    batch_size: int | None, chunk_tokens: int | None, chunk_overlap: int, embeddings: np.ndarray | None
) -> dict[str, Any]:
    """The ``model.encode`` keywords for the texts of a build or add."""
    options: dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
    if chunk_tokens is not None:
        if embeddings is not None:
            raise InputError("chunk_tokens applies when the index embeds the texts; drop it or embeddings=.")
        options.update(chunk_tokens=chunk_tokens, chunk_overlap=chunk_overlap)
    return options


def _embed(
    model: Any, texts: list[str], embeddings: np.ndarray | None, metric: str, options: dict[str, Any]
) -> np.ndarray:
    if embeddings is not None:
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise InputError(f"embeddings must have shape ({len(texts)}, d), got {vectors.shape}.")
    else:
        vectors = np.asarray(model.encode(texts, **options), dtype=np.float32)
    if not np.all(np.isfinite(vectors)):
        raise InputError("The embeddings contain NaN or infinite values.")
    return normalize(vectors) if metric == "cosine" else vectors


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
