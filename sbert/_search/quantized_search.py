"""sentence-transformers' ``semantic_search_faiss`` and ``semantic_search_usearch``: top-k search over a faiss
or usearch index of float32 or quantized corpus embeddings, with the float queries rescoring the quantized
candidates.

For code written against ``sentence_transformers.quantization``; sbert's own persistent indexes are
:class:`sbert.VectorIndex`. The corpus is quantized by the caller (``quantize_embeddings``) and named by
``corpus_precision``; float queries are quantized here the same way, the index returns ``top_k *
rescore_multiplier`` candidates, and (``rescore=True``) each is scored again as the float query's dot
product with the candidate's codes read back (bits as 0/1, int8/uint8 codes dequantized with ``ranges``).
Scores are what each library returns unless rescored: faiss inner products (or Hamming distances for
``ubinary``), usearch distances (cosine distance for float32), as sentence-transformers passes them on.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._checks import check_positive_int
from .._errors import InputError, missing_extra, warn_at_caller
from .ann import blas_distances, import_faiss
from .quantize import dequantize_embeddings, quantization_ranges, quantize_embeddings

FAISS_PRECISIONS = ("float32", "uint8", "ubinary")
USEARCH_PRECISIONS = ("float32", "int8", "ubinary", "binary")


def semantic_search_faiss(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray | None = None,
    corpus_index: Any = None,
    corpus_precision: str = "float32",
    top_k: int = 10,
    ranges: np.ndarray | None = None,
    calibration_embeddings: np.ndarray | None = None,
    rescore: bool = True,
    rescore_multiplier: int = 2,
    exact: bool = True,
    output_index: bool = False,
) -> tuple[Any, ...]:
    """``(hits, seconds)``, or ``(hits, seconds, index)`` with ``output_index``: one list per query of
    ``{"corpus_id", "score"}`` dicts, best first, and the search's wall time. Give ``corpus_embeddings``
    (an index is built: exact, or HNSW with ``exact=False``) or a ``corpus_index`` from an earlier call."""
    faiss = import_faiss()
    _check_search("faiss", corpus_embeddings, corpus_index, corpus_precision, top_k, rescore_multiplier)
    index = corpus_index
    if index is None:
        index = _new_faiss_index(faiss, corpus_embeddings, corpus_precision, exact)
    queries = np.asarray(query_embeddings)
    searched, rescoring, ranges = _prepared_queries(
        queries, corpus_precision, rescore, ranges, calibration_embeddings
    )
    start = time.time()
    with blas_distances(faiss):
        scores, ids = index.search(searched, top_k * rescore_multiplier if rescoring else top_k)
    valid = ids != -1  # faiss pads short result sets with -1
    if rescoring:
        codes = _faiss_codes(index, ids, corpus_precision)
        scores, ids, valid = _rescored(queries, codes, ids, valid, corpus_precision, ranges, top_k)
    seconds = time.time() - start
    hits = _hits(scores, ids, valid)
    return (hits, seconds, index) if output_index else (hits, seconds)


def semantic_search_usearch(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray | None = None,
    corpus_index: Any = None,
    corpus_precision: str = "float32",
    top_k: int = 10,
    ranges: np.ndarray | None = None,
    calibration_embeddings: np.ndarray | None = None,
    rescore: bool = True,
    rescore_multiplier: int = 2,
    exact: bool = True,
    output_index: bool = False,
) -> tuple[Any, ...]:
    """As :func:`semantic_search_faiss`, on a usearch ``Index`` (``exact=False``: its HNSW graph): float32
    (cosine distance), ``int8`` (inner product) or packed bits (``ubinary`` / ``binary``, Hamming)."""
    index_class = import_usearch()
    _check_search("usearch", corpus_embeddings, corpus_index, corpus_precision, top_k, rescore_multiplier)
    index = corpus_index
    if index is None:
        index = _new_usearch_index(index_class, np.asarray(corpus_embeddings), corpus_precision)
    queries = np.asarray(query_embeddings)
    searched, rescoring, ranges = _prepared_queries(
        queries, corpus_precision, rescore, ranges, calibration_embeddings
    )
    start = time.time()
    if corpus_precision == "binary":
        searched = _raw_bits(searched)
    matches = index.search(searched, count=top_k * rescore_multiplier if rescoring else top_k, exact=exact)
    scores, ids = np.atleast_2d(matches.distances), np.atleast_2d(matches.keys)
    # usearch pads short result sets (with key 0, a real key) and counts the real matches per query; one
    # query's Matches has no counts
    counts = np.reshape(getattr(matches, "counts", ids.shape[1]), (-1, 1))
    valid = np.arange(ids.shape[1]) < counts
    if rescoring and valid.any():
        known = np.where(valid, ids, ids[valid][0])  # get() has no padding key: look up a real one there
        codes = np.array([index.get(row) for row in known])
        scores, ids, valid = _rescored(queries, codes, ids, valid, corpus_precision, ranges, top_k)
    seconds = time.time() - start
    hits = _hits(scores, ids, valid)
    return (hits, seconds, index) if output_index else (hits, seconds)


def import_usearch() -> Any:
    """usearch's ``Index`` class (the ``usearch`` extra)."""
    try:
        from usearch.index import Index
    except ImportError:
        raise missing_extra("usearch", "usearch") from None
    return Index


def _check_search(library: str, corpus: Any, index: Any, precision: str, top_k: int, multiplier: int) -> None:
    precisions = FAISS_PRECISIONS if library == "faiss" else USEARCH_PRECISIONS
    if (corpus is None) == (index is None):
        raise InputError("Pass corpus_embeddings or corpus_index (from output_index=True), exactly one.")
    if precision not in precisions:
        raise InputError(f"corpus_precision must be one of {precisions} for {library}, not {precision!r}.")
    check_positive_int("top_k", top_k)
    check_positive_int("rescore_multiplier", multiplier)


def _prepared_queries(
    queries: np.ndarray, precision: str, rescore: bool, ranges: Any, calibration: Any
) -> tuple[np.ndarray, bool, Any]:
    """The queries as the index searches them, whether the candidates are rescored, and the int8/uint8
    ranges that rescoring dequantizes with."""
    float_queries = queries.dtype not in (np.uint8, np.int8)
    if rescore and not (float_queries and precision != "float32"):
        warn_at_caller(
            "rescore=True changes nothing here: it needs float queries and a quantized corpus "
            "(quantize_embeddings(...) and corpus_precision=...); pass rescore=False."
        )
    rescoring = rescore and float_queries and precision != "float32"
    if rescoring and precision.endswith("int8") and ranges is None:
        ranges = quantization_ranges(queries if calibration is None else calibration)
    if not float_queries:
        return queries, rescoring, ranges
    return quantize_embeddings(queries, precision, ranges, calibration), rescoring, ranges


def _new_faiss_index(faiss: Any, corpus: np.ndarray, precision: str, exact: bool) -> Any:
    corpus = np.asarray(corpus)
    if precision == "ubinary":  # packed bits: 8 dimensions per byte
        bits = corpus.shape[1] * 8
        index = faiss.IndexBinaryFlat(bits) if exact else faiss.IndexBinaryHNSW(bits, 16)
        index.add(np.ascontiguousarray(corpus, dtype=np.uint8))
        return index
    width = corpus.shape[1]
    index = faiss.IndexFlatIP(width) if exact else faiss.IndexHNSWFlat(width, 16, faiss.METRIC_INNER_PRODUCT)
    index.add(np.ascontiguousarray(corpus, dtype=np.float32))  # uint8 codes as their float values
    return index


def _new_usearch_index(index_class: Any, corpus: np.ndarray, precision: str) -> Any:
    if precision == "float32":
        index = index_class(ndim=corpus.shape[1], metric="cos", dtype="f32")
    elif precision == "int8":
        index = index_class(ndim=corpus.shape[1], metric="ip", dtype="i8")
    else:  # packed bits: 8 dimensions per byte
        index = index_class(ndim=corpus.shape[1] * 8, metric="hamming", dtype="b1")
        corpus = _raw_bits(corpus) if precision == "binary" else corpus
    index.add(np.arange(len(corpus)), corpus)
    return index


def _raw_bits(codes: np.ndarray) -> np.ndarray:
    """``binary`` codes as the sign bits they pack: quantize_embeddings shifted the bytes by -128."""
    return codes.view(np.uint8) ^ 0x80


def _faiss_codes(index: Any, ids: np.ndarray, precision: str) -> np.ndarray:
    """The stored codes of the candidates ``ids``; zeros for faiss's ``-1`` padding (reconstruct(-1) reads
    out of bounds)."""
    width = index.d // 8 if precision == "ubinary" else index.d
    empty = np.zeros(width, dtype=np.uint8 if precision == "ubinary" else np.float32)
    return np.array([[index.reconstruct(int(i)) if i != -1 else empty for i in row] for row in ids])


def _rescored(
    queries: np.ndarray,
    codes: np.ndarray,
    ids: np.ndarray,
    valid: np.ndarray,
    precision: str,
    ranges: Any,
    top_k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidates ``ids`` (their ``codes`` ``(q, k, width)``) scored again as dot products of the float
    queries with the codes read back, best ``top_k`` first; padding slots (not ``valid``) score ``-inf``."""
    if precision.endswith("binary"):  # bits as 0/1, the byte padding dropped
        candidates = np.unpackbits(codes.astype(np.uint8), axis=-1)[..., : queries.shape[-1]].astype(
            np.float64
        )
    else:
        candidates = dequantize_embeddings(codes, precision, ranges, dtype=np.float64)
    scores = np.einsum("qd,qkd->qk", queries.astype(np.float64), candidates)
    scores[~valid] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
    picked = (np.take_along_axis(a, order, axis=1) for a in (scores, ids, valid))
    return tuple(picked)  # type: ignore[return-value]


def _hits(scores: np.ndarray, ids: np.ndarray, valid: np.ndarray) -> list[list[dict[str, Any]]]:
    return [
        [{"corpus_id": int(i), "score": float(s)} for s, i, ok in zip(row_scores, row_ids, row_valid) if ok]
        for row_scores, row_ids, row_valid in zip(scores, ids, valid)
    ]
