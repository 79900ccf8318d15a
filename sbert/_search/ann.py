"""Approximate nearest-neighbour search with faiss (the ``search`` extra): build, search, rescore.

Numpy in, numpy out, no files: :mod:`sbert._search.index` adds persistence. One :class:`AnnSpec` names the
structure (``flat`` exact, ``hnsw`` graph, ``ivf-pq`` inverted lists of product-quantized codes) and the
precision of what it keeps in memory (``float32``, ``int8`` scalar codes, ``binary`` sign bits). Scores are
inner products (cosine on unit vectors). Quantized or product-quantized indexes find
``k * rescore_multiplier`` candidates, then :func:`rescore` orders them by their exact float32 scores.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .._errors import InputError, missing_extra
from .exact import top_k_positions

KINDS: tuple[str, ...] = ("flat", "hnsw", "ivf-pq")
PRECISIONS: tuple[str, ...] = ("float32", "int8", "binary")
RESCORE_BLOCK_BYTES = 64 * 2**20  # candidate vectors gathered at once while rescoring


@dataclasses.dataclass
class AnnSpec:
    """What to build and how to search it. Defaults reach recall@10 >= 0.95 (docs/benchmarks.md)."""

    kind: str = "flat"
    precision: str = "float32"
    hnsw_m: int = 32  # graph degree
    ef_construction: int = 200
    ef_search: int = 128  # candidates explored per query; raised to k when k is larger
    nlist: int | None = None  # IVF lists; None: about 4 * sqrt(n) at build time
    nprobe: int | None = None  # lists visited per query; None: default_nprobe(nlist)
    pq_m: int | None = None  # PQ sub-vectors; None: d / 4 (or the nearest divisor of d)
    pq_bits: int = 8
    rescore_multiplier: int | None = None  # None: 4 for int8, 10 for binary and ivf-pq, 1 (none) otherwise
    center: list[float] | None = None  # binary: the sign is taken after subtracting the build corpus' mean

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"Unknown index type {self.kind!r}; choose one of {KINDS}.")
        if self.precision not in PRECISIONS:
            raise InputError(f"Unknown index precision {self.precision!r}; choose one of {PRECISIONS}.")
        if self.kind == "ivf-pq" and self.precision != "float32":
            raise InputError(
                "ivf-pq compresses vectors itself (product quantization); use it with precision float32, "
                "or use int8/binary with flat or hnsw."
            )

    @property
    def needs_rescoring(self) -> bool:
        return self.precision != "float32" or self.kind == "ivf-pq"

    @property
    def multiplier(self) -> int:
        if self.rescore_multiplier is not None:
            return self.rescore_multiplier
        if not self.needs_rescoring:
            return 1
        return 4 if self.precision == "int8" else 10


def build(vectors: np.ndarray, spec: AnnSpec) -> Any:
    """A faiss index over ``vectors`` ``(n, d)`` float32 (trained when the structure needs it)."""
    faiss = import_faiss()
    d = vectors.shape[1]
    metric = faiss.METRIC_INNER_PRODUCT
    if spec.precision == "binary":
        # Embeddings share a common direction (each dimension has a non-zero mean), so raw signs agree on
        # many bits for unrelated texts; signs around the corpus mean carry more information per bit.
        spec.center = vectors.mean(axis=0).astype(np.float32).tolist()
        bits = 8 * math.ceil(d / 8)
        index = (
            faiss.IndexBinaryFlat(bits) if spec.kind == "flat" else faiss.IndexBinaryHNSW(bits, spec.hnsw_m)
        )
        if spec.kind == "hnsw":
            index.hnsw.efConstruction = spec.ef_construction
    elif spec.kind == "flat":
        index = (
            faiss.IndexFlatIP(d)
            if spec.precision == "float32"
            else faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, metric)
        )
    elif spec.kind == "hnsw":
        index = (
            faiss.IndexHNSWFlat(d, spec.hnsw_m, metric)
            if spec.precision == "float32"
            else faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, spec.hnsw_m, metric)
        )
        index.hnsw.efConstruction = spec.ef_construction
    else:
        index = _ivf_pq(faiss, vectors, spec)
    if not index.is_trained:
        with blas_distances(faiss):
            index.train(_codes(vectors, spec))
    add(index, vectors, spec)
    return index


# faiss computes distances with BLAS only past a threshold; from faiss 1.15 that is rows x dimension >=
# 128,000, so the k-means of PQ's 4-dimensional sub-vectors runs its row-at-a-time loop below 32,000 vectors
# (an IVF-PQ index of 5,000 texts built in 6.4 s instead of 1.1) and an exact search of 16-330 queries at
# once scans the corpus once per query (4.7-9.5x slower over 100,000 vectors; docs/benchmarks.md).
# 20: the classic value.
BLAS_DISTANCE_THRESHOLD = 20


class _BlasUsers:
    """Who is inside :func:`blas_distances` now: the first sets faiss' process-wide threshold, the last
    puts the previous value back, whatever threads overlap."""

    lock = threading.Lock()
    count = 0
    previous = 0


@contextmanager
def blas_distances(faiss: Any) -> Iterator[None]:
    """faiss' BLAS distances for a training run or a search (restored after the last one ends)."""
    with _BlasUsers.lock:
        if _BlasUsers.count == 0:
            _BlasUsers.previous = faiss.cvar.distance_compute_blas_threshold
            faiss.cvar.distance_compute_blas_threshold = BLAS_DISTANCE_THRESHOLD
        _BlasUsers.count += 1
    try:
        yield
    finally:
        with _BlasUsers.lock:
            _BlasUsers.count -= 1
            if _BlasUsers.count == 0:
                faiss.cvar.distance_compute_blas_threshold = _BlasUsers.previous


def _ivf_pq(faiss: Any, vectors: np.ndarray, spec: AnnSpec) -> Any:
    n, d = vectors.shape
    nlist = spec.nlist or max(1, min(int(4 * math.sqrt(n)), n // 39))
    if n < max(39 * nlist, 2**spec.pq_bits):
        raise InputError(
            f"ivf-pq needs at least {max(39 * nlist, 2**spec.pq_bits)} vectors to train its {nlist} lists "
            f"and {2**spec.pq_bits} codes per sub-vector, got {n}; "
            "use --index flat or hnsw for a corpus this small."
        )
    pq_m = spec.pq_m or _divisor_near(d, d // 4)
    if d % pq_m:
        raise InputError(f"pq_m={pq_m} must divide the dimension {d}.")
    spec.nlist, spec.pq_m = nlist, pq_m
    index = faiss.index_factory(d, f"IVF{nlist},PQ{pq_m}x{spec.pq_bits}", faiss.METRIC_INNER_PRODUCT)
    index.do_polysemous_training = False  # minutes of training for a Hamming filter we do not use
    return index


def default_nprobe(nlist: int) -> int:
    """Lists an IVF search visits by default: a third of them, and at least 48 (or all) for small corpora.

    The lists searched limit recall, not the PQ codes (rescoring 40 x k instead of 10 x k changed nothing).
    Recall@10 (all-MiniLM-L6-v2, 200 held-out queries, rescore 10 x k) with nprobe = nlist/8 was
    0.902-0.971 on 5,000 STSb / SciFact texts and 0.807 on NFCorpus; nlist/4 cleared 0.95 everywhere, but
    narrowly for short keyword queries against 10k-40k documents (NFCorpus: 0.954-0.958), where nlist/3
    gives 0.968-0.974 and nlist/2 0.988-0.991 (docs/benchmarks.md).
    """
    return max(nlist // 3, min(nlist, 48))


def add(index: Any, vectors: np.ndarray, spec: AnnSpec) -> None:
    """Append ``vectors`` ``(n, d)`` float32 to ``index`` (ids continue from ``index.ntotal``)."""
    if len(vectors):
        index.add(_codes(vectors, spec))


def search(
    index: Any,
    queries: np.ndarray,
    k: int,
    spec: AnnSpec,
    exact_vectors: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` ``(ids, scores)``, each ``(q, min(k, index.ntotal))``, best first (as the exact search gives
    them: fewer results than ``k`` from a smaller index, never a ``(q, k)`` allocation for a huge ``k``); id
    ``-1`` / score ``-inf`` fill slots an approximate structure left empty.

    ``exact_vectors(rows)`` returns the float32 vectors of index rows; when given and the index is
    quantized, ``k * multiplier`` candidates are rescored exactly.
    """
    faiss = import_faiss()
    rescoring = exact_vectors is not None and spec.needs_rescoring
    k = min(k, index.ntotal)
    fetch = min(index.ntotal, k * spec.multiplier if rescoring else k)
    if fetch == 0 or len(queries) == 0:
        return np.full((len(queries), k), -1, np.int64), np.full((len(queries), k), -np.inf, np.float32)
    params = None
    if spec.kind == "hnsw":
        cls = faiss.SearchParametersHNSW
        params = cls(efSearch=max(spec.ef_search, fetch))
    elif spec.kind == "ivf-pq":
        nprobe = spec.nprobe or default_nprobe(index.nlist)
        params = faiss.SearchParametersIVF(nprobe=min(index.nlist, nprobe))
    if spec.precision == "binary" and spec.kind == "hnsw":
        index.hnsw.efSearch = max(spec.ef_search, fetch)  # binary indexes take no search parameters
        params = None
    if spec.precision == "binary":
        distances, ids = index.search(_codes(queries, spec), fetch)
        scores = -distances.astype(np.float32)  # fewer differing bits is closer
    else:
        with blas_distances(faiss):
            scores, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), fetch, params=params)
    ids = ids.astype(np.int64)
    scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
    if rescoring and exact_vectors is not None:
        scores = rescore(queries, ids, exact_vectors)
    order = top_k_positions(scores, ids, k)  # fetch >= k: k is at most the index size
    return np.take_along_axis(ids, order, 1), np.take_along_axis(scores, order, 1)


def rescore(
    queries: np.ndarray,
    ids: np.ndarray,
    exact_vectors: Callable[[np.ndarray], np.ndarray],
    max_block_bytes: int = RESCORE_BLOCK_BYTES,
) -> np.ndarray:
    """Exact inner products ``(q, c)`` of each query with its candidate rows ``ids`` ``(q, c)`` (-1: -inf).

    Queries are taken in blocks whose gathered candidate vectors fit ``max_block_bytes``: deep rescoring
    of many queries (1,000 queries x 10,000 candidates x 384 dims would be 15 GB at once) stays bounded.
    """
    scores = np.full(ids.shape, -np.inf, dtype=np.float32)
    if ids.size == 0:
        return scores
    row_bytes = ids.shape[1] * queries.shape[1] * 4
    block = max(1, max_block_bytes // max(1, row_bytes))
    for start in range(0, len(ids), block):
        block_ids = ids[start : start + block]
        valid = block_ids >= 0
        rows, inverse = np.unique(block_ids[valid], return_inverse=True)  # read each stored vector once
        vectors = np.asarray(exact_vectors(rows), dtype=np.float32)  # (u, d)
        q_index = np.nonzero(valid)[0] + start
        scores[start : start + block][valid] = np.einsum("ij,ij->i", queries[q_index], vectors[inverse])
    return scores


def _codes(vectors: np.ndarray, spec: AnnSpec) -> np.ndarray:
    """What faiss stores: float32 rows, or packed sign bits (around ``spec.center``) for binary."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if spec.precision != "binary":
        return vectors
    center = np.asarray(spec.center, dtype=np.float32) if spec.center is not None else 0
    return np.packbits(vectors - center > 0, axis=-1)


def _divisor_near(d: int, target: int) -> int:
    target = max(1, target)
    return min((m for m in range(1, d + 1) if d % m == 0), key=lambda m: (abs(m - target), -m))


def memory_bytes(index: Any) -> int:
    """Bytes of the serialized index (what it takes in memory, to within small bookkeeping)."""
    faiss = import_faiss()
    if isinstance(index, faiss.IndexBinary):
        return int(faiss.serialize_index_binary(index).size)
    return int(faiss.serialize_index(index).size)


def serialize(index: Any) -> bytes:
    faiss = import_faiss()
    if isinstance(index, faiss.IndexBinary):
        return faiss.serialize_index_binary(index).tobytes()
    return faiss.serialize_index(index).tobytes()


def deserialize(data: bytes, spec: AnnSpec) -> Any:
    faiss = import_faiss()
    array = np.frombuffer(data, dtype=np.uint8)
    if spec.precision == "binary":
        return faiss.deserialize_index_binary(array)
    return faiss.deserialize_index(array)


def import_faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise missing_extra("faiss-cpu", "search") from None
    return faiss
