"""sentence-transformers' ``semantic_search_faiss``: top-k search over a faiss index of float32, uint8 or
packed-binary (``ubinary``) corpus embeddings, with the float queries rescoring the quantized candidates.

For code written against ``sentence_transformers.quantization``; sbert's own persistent indexes are
:class:`sbert.VectorIndex`. The corpus is quantized by the caller (``quantize_embeddings``) and named by
``corpus_precision``; float queries are quantized here the same way, the index returns ``top_k *
rescore_multiplier`` candidates, and (``rescore=True``) each is scored again as the float query's dot
product with the candidate's codes read back (bits as 0/1, uint8 codes dequantized with ``ranges``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._checks import check_positive_int
from .._errors import InputError, warn_at_caller
from .ann import import_faiss
from .quantize import dequantize_embeddings, quantization_ranges, quantize_embeddings

FAISS_PRECISIONS = ("float32", "uint8", "ubinary")


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
    if (corpus_embeddings is None) == (corpus_index is None):
        raise InputError("Pass corpus_embeddings or corpus_index (from output_index=True), exactly one.")
    if corpus_precision not in FAISS_PRECISIONS:
        raise InputError(
            f"corpus_precision must be one of {FAISS_PRECISIONS} for faiss, not {corpus_precision!r}."
        )
    check_positive_int("top_k", top_k)
    check_positive_int("rescore_multiplier", rescore_multiplier)
    index = (
        corpus_index
        if corpus_index is not None
        else _new_index(faiss, corpus_embeddings, corpus_precision, exact)
    )
    queries = np.asarray(query_embeddings)
    float_queries = queries.dtype not in (np.uint8, np.int8)
    if rescore and not (float_queries and corpus_precision != "float32"):
        warn_at_caller(
            "rescore=True changes nothing here: it needs float queries and a quantized corpus "
            "(quantize_embeddings(...) and corpus_precision=...); pass rescore=False."
        )
    rescoring = rescore and float_queries and corpus_precision != "float32"
    if rescoring and corpus_precision == "uint8" and ranges is None:
        ranges = quantization_ranges(queries if calibration_embeddings is None else calibration_embeddings)
    searched = queries
    if float_queries:
        searched = quantize_embeddings(queries, corpus_precision, ranges, calibration_embeddings)
    start = time.time()
    scores, ids = index.search(searched, top_k * rescore_multiplier if rescoring else top_k)
    if rescoring:
        scores, ids = _rescored(index, queries, ids, corpus_precision, ranges, top_k)
    seconds = time.time() - start
    hits = [
        [{"corpus_id": int(i), "score": float(s)} for s, i in zip(row_scores, row_ids) if i != -1]
        for row_scores, row_ids in zip(scores, ids)
    ]
    return (hits, seconds, index) if output_index else (hits, seconds)


def _new_index(faiss: Any, corpus: np.ndarray, precision: str, exact: bool) -> Any:
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


def _rescored(
    index: Any, queries: np.ndarray, ids: np.ndarray, precision: str, ranges: Any, top_k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates ``ids`` scored again as dot products of the float queries with their codes, best
    ``top_k`` first; faiss's ``-1`` padding slots score ``-inf``."""
    width = index.d // 8 if precision == "ubinary" else index.d
    empty = np.zeros(width, dtype=np.uint8 if precision == "ubinary" else np.float32)
    codes = np.array([[index.reconstruct(int(i)) if i != -1 else empty for i in row] for row in ids])
    if precision == "ubinary":  # bits as 0/1, the byte padding dropped
        candidates = np.unpackbits(codes, axis=-1)[..., : queries.shape[-1]].astype(np.float64)
    else:
        candidates = dequantize_embeddings(codes.astype(np.int64), precision, ranges).astype(np.float64)
    scores = np.einsum("qd,qkd->qk", queries.astype(np.float64), candidates)
    scores[ids == -1] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)
