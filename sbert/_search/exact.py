"""Exact search over embeddings in bounded memory: top-k search, paraphrase mining, community detection.

Pure numpy: arrays in, plain Python results out, no files, no torch (a score function of the user's gets
tensors when the search was given tensors). The public score functions (``cos_sim``, ...) return torch
tensors as sentence-transformers' do (see ``_similarity``); the search itself scores with their numpy twins.
A SparseEncoder's sparse COO tensors are scored sparsely (``_sparse.tensors``), never made dense.
Every function works on chunks so the largest temporary is a
``(query_chunk, corpus_chunk)`` score block, never an ``n x n`` matrix. Results follow sentence-transformers'
``util`` functions (same inputs, same outputs, ties aside); ties are broken by the lower corpus id so results
are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import check_positive_int
from .._errors import EmbeddingShapeError, InputError, SparseEmbeddingsError
from .._numeric import as_numpy, normalize, similarity_matrix
from .._progress import progress_bar
from .._similarity import is_sparse_input, is_tensor, returns_tensors, similarity, similarity_pairwise

ScoreFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def cos_sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity ``(n, m)`` between the rows of ``a`` ``(n, d)`` and ``b`` ``(m, d)``.

    1-D inputs are one row. A torch tensor, as sentence-transformers' ``util.cos_sim`` returns (computed on
    a tensor input's device, gradients kept); numpy only where torch is not installed.
    """
    return _scores(a, b, "cosine")


def dot_score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot product ``(n, m)`` between the rows of ``a`` ``(n, d)`` and ``b`` ``(m, d)`` (tensors as in
    :func:`cos_sim`)."""
    return _scores(a, b, "dot")


def euclidean_sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Negated Euclidean distance ``(n, m)`` between the rows of ``a`` and ``b``."""
    return _scores(a, b, "euclidean")


def manhattan_sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Negated Manhattan distance ``(n, m)`` between the rows of ``a`` and ``b``."""
    return _scores(a, b, "manhattan")


def pairwise_cos_sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of row ``i`` of ``a`` with row ``i`` of ``b``: ``(n,)``."""
    return similarity_pairwise(a, b, "cosine")


def pairwise_dot_score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return similarity_pairwise(a, b, "dot")


def pairwise_euclidean_sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return similarity_pairwise(a, b, "euclidean")


def pairwise_manhattan_sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return similarity_pairwise(a, b, "manhattan")


# the public functions by SimilarityFunction name (its to_similarity_fn / to_similarity_pairwise_fn)
SCORE_FUNCTIONS = {
    "cosine": cos_sim,
    "dot": dot_score,
    "euclidean": euclidean_sim,
    "manhattan": manhattan_sim,
}
PAIRWISE_SCORE_FUNCTIONS = {
    "cosine": pairwise_cos_sim,
    "dot": pairwise_dot_score,
    "euclidean": pairwise_euclidean_sim,
    "manhattan": pairwise_manhattan_sim,
}


def _scores(a: np.ndarray, b: np.ndarray, function: str) -> np.ndarray:
    if returns_tensors(a, b):
        return similarity(a, b, function)
    return _NUMPY_SCORES[function](a, b)


def _numpy_scores_of(function: str) -> ScoreFunction:
    """The numpy twin of a public score function: what the search runs on its numpy chunks."""

    def scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = as_matrix(a, "a"), as_matrix(b, "b")
        _check_same_width(a, b)
        return similarity_matrix(a, b, function)

    return scores


_NUMPY_SCORES = {name: _numpy_scores_of(name) for name in ("cosine", "dot", "euclidean", "manhattan")}
_NUMPY_TWINS: dict[Any, ScoreFunction] = {
    cos_sim: _NUMPY_SCORES["cosine"],
    dot_score: _NUMPY_SCORES["dot"],
    euclidean_sim: _NUMPY_SCORES["euclidean"],
    manhattan_sim: _NUMPY_SCORES["manhattan"],
}
_NUMPY_COSINE, _NUMPY_DOT = _NUMPY_SCORES["cosine"], _NUMPY_SCORES["dot"]
_NAMED_SCORES: dict[str, ScoreFunction] = {
    "cosine": _NUMPY_COSINE,
    "cos_sim": _NUMPY_COSINE,
    "dot": _NUMPY_DOT,
    "dot_score": _NUMPY_DOT,
}


def resolve_score_function(score_function: str | ScoreFunction, tensors: bool = False) -> ScoreFunction:
    """A score function from a name (``"cosine"``, ``"dot"``) or a callable ``(a, b) -> (n, m)`` scores.

    The search runs on numpy chunks; a callable of the user's gets them as torch tensors when the search's
    inputs were tensors (as sentence-transformers always passes them), and may return a tensor.
    """
    if callable(score_function):
        if score_function in _NUMPY_TWINS:
            return _NUMPY_TWINS[score_function]
        return _numpy_scores(score_function, tensors)
    if score_function in _NAMED_SCORES:
        return _NAMED_SCORES[score_function]
    raise InputError(
        f"Unknown score_function {score_function!r}; use 'cosine', 'dot' or a callable (a, b) -> scores."
    )


def _numpy_scores(function: Callable[[Any, Any], Any], tensors: bool) -> ScoreFunction:
    def scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if tensors:
            import torch

            a, b = torch.from_numpy(a), torch.from_numpy(b)
        out = function(a, b)
        return out.detach().cpu().numpy() if is_tensor(out) else np.asarray(out)

    return scores


def semantic_search(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray,
    query_chunk_size: int = 100,
    corpus_chunk_size: int = 500_000,
    top_k: int = 10,
    score_function: str | ScoreFunction = cos_sim,
) -> list[list[dict[str, float | int]]]:
    """The ``top_k`` corpus entries closest to each query, best first.

    Returns one list per query of ``{"corpus_id": int, "score": float}`` dicts (fewer than ``top_k`` when the
    corpus is smaller). Peak extra memory is one ``(query_chunk_size, corpus_chunk_size)`` float32 block
    plus ``(queries, top_k)`` running results. With cosine scores each corpus chunk is normalized once.
    """
    if is_sparse_input(query_embeddings, corpus_embeddings):  # a SparseEncoder's (a tensor or its rows)
        return _sparse_search(
            query_embeddings, corpus_embeddings, query_chunk_size, corpus_chunk_size, top_k, score_function
        )
    tensors = is_tensor(query_embeddings) or is_tensor(corpus_embeddings)
    queries = as_matrix(query_embeddings, "query_embeddings")
    corpus_values = as_numpy(corpus_embeddings)
    if np.size(corpus_values) == 0:  # an empty corpus finds nothing, as in sentence-transformers
        return [[] for _ in range(len(queries))]
    corpus = as_matrix(corpus_values, "corpus_embeddings")
    _check_same_width(queries, corpus)
    if top_k == 0 and not isinstance(top_k, bool):  # no hits asked for: none, as in sentence-transformers
        return [[] for _ in range(len(queries))]
    check_positive_int("top_k", top_k)
    check_positive_int("query_chunk_size", query_chunk_size)
    check_positive_int("corpus_chunk_size", corpus_chunk_size)
    score = resolve_score_function(score_function, tensors)
    cosine = score is _NUMPY_COSINE
    if cosine:  # normalize queries once, each corpus chunk once, then plain dot products
        queries, score = normalize(queries), _NUMPY_DOT
    ids, scores = _top_k_over_chunks(
        queries, corpus, top_k, query_chunk_size, corpus_chunk_size, score, cosine
    )
    return _hits(ids, scores)


def _hits(ids: np.ndarray, scores: np.ndarray) -> list[list[dict[str, float | int]]]:
    return [
        [{"corpus_id": int(i), "score": float(s)} for i, s in zip(row_ids, row_scores) if i >= 0]
        for row_ids, row_scores in zip(ids.tolist(), scores.tolist())
    ]


def _sparse_search(
    query_embeddings: Any,
    corpus_embeddings: Any,
    query_chunk_size: int,
    corpus_chunk_size: int,
    top_k: int,
    score_function: str | ScoreFunction,
) -> list[list[dict[str, float | int]]]:
    """:func:`semantic_search` of torch sparse embeddings: chunks of rows scored sparsely by the
    SparseEncoder's own similarity (never made dense); a user's function gets the sparse chunks."""
    queries = _sparse_rows(query_embeddings, "query_embeddings")
    corpus = _sparse_rows(corpus_embeddings, "corpus_embeddings")
    if corpus.shape[0] == 0:
        return [[] for _ in range(queries.shape[0])]
    _check_same_width(queries, corpus)
    check_positive_int("top_k", top_k)
    check_positive_int("query_chunk_size", query_chunk_size)
    check_positive_int("corpus_chunk_size", corpus_chunk_size)
    # the chunk loop runs over row numbers; the score function takes each chunk's rows out of the tensors
    ids, scores = _top_k_over_chunks(
        np.arange(queries.shape[0]),
        np.arange(corpus.shape[0]),
        top_k,
        query_chunk_size,
        corpus_chunk_size,
        sparse_row_scores(queries, corpus, score_function),
        normalize_corpus=False,
    )
    return _hits(ids, scores)


def sparse_row_scores(queries: Any, corpus: Any, score_function: str | ScoreFunction) -> ScoreFunction:
    """Scores of sparse ``(n, d)`` tensors' rows by row numbers: ``(query_ids, corpus_ids) -> (q, c)``, the
    SparseEncoder's own similarity for cosine and dot (never made dense), a user's function given the
    sparse chunks as sentence-transformers gives them."""
    import torch

    from .._sparse import tensors as sparse_tensors

    if score_function in (cos_sim, "cosine", "cos_sim"):
        function: str | None = "cosine"
    elif score_function in (dot_score, "dot", "dot_score"):
        function = "dot"
    elif callable(score_function):
        function = None
    else:
        raise InputError(
            f"Unknown score_function {score_function!r}; use 'cosine', 'dot' or a callable (a, b) -> scores."
        )

    def score(query_ids: np.ndarray, corpus_ids: np.ndarray) -> np.ndarray:
        a = queries.index_select(0, torch.from_numpy(query_ids))
        b = corpus.index_select(0, torch.from_numpy(corpus_ids))
        out = sparse_tensors.similarity(a, b, function) if function else score_function(a, b)
        return out.detach().cpu().to_dense().numpy() if is_tensor(out) else np.asarray(out)

    return score


def check_dense(embeddings: Any, function: str) -> None:
    """Refuse a SparseEncoder's sparse embeddings where ``function`` scores dense ones only."""
    if getattr(embeddings, "is_sparse", False):
        raise SparseEmbeddingsError(
            f"{function} scores dense embeddings only, and these are sparse (a SparseEncoder's): search them "
            "with util.semantic_search (sparse embeddings as both queries and corpus), or make them dense "
            "first with embeddings.to_dense()."
        )


def _sparse_rows(x: Any, name: str) -> Any:
    """Embeddings (sparse COO or dense, tensors, arrays or lists; one ``(d,)`` vector is one row) as a
    coalesced sparse ``(n, d)`` tensor."""
    from .._sparse import tensors as sparse_tensors

    rows = sparse_tensors.sparse_rows(x)
    if rows.dim() != 2:
        raise InputError(f"{name} must be a (n, d) tensor or one (d,) vector, got shape {tuple(rows.shape)}.")
    return rows


def search_top_k(
    queries: np.ndarray,
    corpus: np.ndarray,
    top_k: int,
    *,
    score_function: ScoreFunction = _NUMPY_DOT,
    query_chunk_size: int = 1024,
    corpus_chunk_size: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Array form of :func:`semantic_search`: ``(ids, scores)``, each ``(queries, top_k)``, best first.

    Slots beyond the corpus size hold id ``-1`` and score ``-inf``.
    """
    return _top_k_over_chunks(
        as_matrix(queries, "queries"),
        as_matrix(corpus, "corpus"),
        top_k,
        query_chunk_size,
        corpus_chunk_size,
        score_function,
        False,
    )


def _top_k_over_chunks(
    queries: np.ndarray,
    corpus: np.ndarray,
    k: int,
    query_chunk: int,
    corpus_chunk: int,
    score: ScoreFunction,
    normalize_corpus: bool,
) -> tuple[np.ndarray, np.ndarray]:
    n_queries = queries.shape[0]  # shape, not len(): SciPy sparse rows too
    k = min(k, corpus.shape[0])  # a top_k past the corpus (10**9): the corpus, not a (Q, top_k) allocation
    best_ids = np.full((n_queries, k), -1, dtype=np.int64)  # (Q, k)
    best_scores = np.full((n_queries, k), -np.inf, dtype=np.float32)  # (Q, k)
    # Corpus chunks outside: each is prepared (normalized) once and merged into every query's running top-k.
    for c0 in range(0, corpus.shape[0], corpus_chunk):
        block = corpus[c0 : c0 + corpus_chunk]
        if normalize_corpus:
            block = normalize(block)
        for q0 in range(0, n_queries, query_chunk):
            scores = np.asarray(score(queries[q0 : q0 + query_chunk], block), dtype=np.float32)  # (q, c)
            ids, vals = top_k_rows(scores, k)
            merged_ids = np.concatenate([best_ids[q0 : q0 + query_chunk], ids + c0], axis=1)
            merged_vals = np.concatenate([best_scores[q0 : q0 + query_chunk], vals], axis=1)
            rows = top_k_positions(merged_vals, merged_ids, k)
            best_ids[q0 : q0 + query_chunk] = np.take_along_axis(merged_ids, rows, axis=1)
            best_scores[q0 : q0 + query_chunk] = np.take_along_axis(merged_vals, rows, axis=1)
    return best_ids, best_scores


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column ids and values of the ``k`` largest entries of each row of ``scores`` ``(n, m)``, best first.

    Ties go to the lower column id. Fewer than ``k`` columns give ``(n, m)`` results.
    """
    ids = np.broadcast_to(np.arange(scores.shape[1], dtype=np.int64), scores.shape)
    rows = top_k_positions(scores, ids, k)
    return np.take_along_axis(ids, rows, axis=1), np.take_along_axis(scores, rows, axis=1)


def top_k_positions(scores: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Positions (per row) of the ``k`` best ``scores``, sorted by score descending, then id ascending; a NaN
    score (a NaN embedding's) ranks above every number, as torch.topk ranks it under sentence-transformers."""
    n, m = scores.shape
    # cheap pre-selection (no NaN); the boundary value's ties are all kept so the id tie-break stays exact
    if k < m and not np.isnan(scores).any():
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]  # (n, 1) k-th largest
        keep = scores >= kth
        width = int(keep.sum(axis=1).max()) if n else 0
        if width < m:
            candidates = np.argsort(~keep, axis=1, kind="stable")[:, :width]  # kept positions first
            order = _sort_desc(
                np.take_along_axis(scores, candidates, 1), np.take_along_axis(ids, candidates, 1)
            )
            return np.take_along_axis(candidates, order, axis=1)[:, :k]
    return _sort_desc(scores, ids)[:, :k]


def _sort_desc(scores: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Per-row order by score descending then id ascending (ids ``-1`` mark empty slots, scores ``-inf``)."""
    big = np.iinfo(np.int64).max
    tie_ids = np.where(ids < 0, big, ids)
    keys: tuple[np.ndarray, ...] = (tie_ids, -scores.astype(np.float64))
    nan = np.isnan(scores)
    if nan.any():  # NaN first (lexsort's last key is its first)
        keys = (*keys, ~nan)
    return np.lexsort(keys, axis=1)


def paraphrase_mining_embeddings(
    embeddings: np.ndarray,
    query_chunk_size: int = 5000,
    corpus_chunk_size: int = 100_000,
    max_pairs: int = 500_000,
    top_k: int = 100,
    score_function: str | ScoreFunction = cos_sim,
) -> list[list[float | int]]:
    """The most similar pairs among ``embeddings``: ``[score, i, j]`` lists with ``i < j``, best first.

    Each text contributes its ``top_k`` nearest other texts (found chunk by chunk, never an ``n x n``
    matrix); pairs are deduplicated and the ``max_pairs`` best are kept. Memory: one score block plus
    ``max_pairs + query_chunk_size * top_k`` candidate pairs.
    """
    check_dense(embeddings, "paraphrase_mining")  # a sparse tensor, which sentence-transformers cannot slice
    for name, value in (
        ("query_chunk_size", query_chunk_size),
        ("corpus_chunk_size", corpus_chunk_size),
    ):
        check_positive_int(name, value)
    if top_k != 0 or isinstance(top_k, bool):
        check_positive_int("top_k", top_k)
    if not isinstance(max_pairs, int) or isinstance(max_pairs, bool) or max_pairs < 0:
        raise InputError(f"max_pairs must be an integer >= 0, got {max_pairs!r}")
    if max_pairs == 0 or top_k == 0:  # no pairs or no neighbours asked for: none, as sentence-transformers
        return []
    if is_sparse_input(embeddings):  # a list of a SparseEncoder's rows: scored sparsely, by row numbers
        rows = _sparse_rows(embeddings, "embeddings")
        emb, score = np.arange(rows.shape[0]), sparse_row_scores(rows, rows, score_function)
    else:
        emb = as_matrix(embeddings, "embeddings")
        score = resolve_score_function(score_function, is_tensor(embeddings))
    n = len(emb)
    kept_keys = np.empty(0, dtype=np.int64)  # pair (i, j), i < j, as i * n + j
    kept_scores = np.empty(0, dtype=np.float32)
    for q0 in range(0, n, query_chunk_size):
        queries = emb[q0 : q0 + query_chunk_size]
        # top_k + 1 so that dropping the query itself still leaves top_k neighbours
        ids, vals = _top_k_over_chunks(queries, emb, top_k + 1, len(queries), corpus_chunk_size, score, False)
        rows = np.arange(q0, q0 + len(queries))[:, None]
        not_self = (ids != rows) & (ids >= 0)
        # keep the first top_k non-self neighbours of each row
        keep = not_self & (np.cumsum(not_self, axis=1) <= top_k)
        i = np.broadcast_to(rows, ids.shape)[keep]
        j = ids[keep]
        keys = np.minimum(i, j) * n + np.maximum(i, j)
        # earlier candidates first, so a pair keeps the score of the first time it was seen (as in ST)
        kept_keys = np.concatenate([kept_keys, keys])
        kept_scores = np.concatenate([kept_scores, vals[keep].astype(np.float32)])
        kept_keys, first = np.unique(kept_keys, return_index=True)
        kept_scores = kept_scores[first]
        if len(kept_keys) > max_pairs:
            best = top_k_positions(kept_scores[None, :], kept_keys[None, :], max_pairs)[0]
            kept_keys, kept_scores = kept_keys[best], kept_scores[best]
    order = _sort_desc(kept_scores[None, :], kept_keys[None, :])[0]
    return [[float(s), int(k // n), int(k % n)] for k, s in zip(kept_keys[order], kept_scores[order])]


def community_detection(
    embeddings: np.ndarray,
    threshold: float = 0.75,
    min_community_size: int = 10,
    batch_size: int = 1024,
    show_progress_bar: bool = False,
) -> list[list[int]]:
    """Groups of texts whose cosine similarity to a central text is at least ``threshold``.

    Returns communities of at least ``min_community_size`` members, largest first, no text in two; each
    list starts with its central text, then the others by decreasing similarity to it. Memory: one
    ``(batch_size, n)`` score block. ``show_progress_bar`` shows one over the score blocks.
    """
    check_dense(embeddings, "community_detection")
    emb = as_matrix(embeddings, "embeddings")
    check_positive_int("min_community_size", min_community_size)
    check_positive_int("batch_size", batch_size)
    n = len(emb)
    if n < min_community_size or n == 0:
        return []
    emb = normalize(emb)
    limit = np.float32(threshold)  # compared in float32, like the scores
    found: list[tuple[int, np.ndarray]] = []  # (center, members by decreasing similarity)
    starts = range(0, n, batch_size)
    with progress_bar(len(starts), desc="Finding clusters", unit="batch", show=show_progress_bar) as bar:
        for start in starts:
            scores = emb[start : start + batch_size] @ emb.T  # (b, n)
            close = scores >= limit
            for row in np.flatnonzero(close.sum(axis=1) >= min_community_size):
                members = np.flatnonzero(close[row])
                members = members[np.argsort(-scores[row, members], kind="stable")]
                found.append((start + int(row), members))
            bar.update()
    found.sort(key=lambda item: len(item[1]), reverse=True)  # stable: equal sizes keep center order
    used = np.zeros(n, dtype=bool)
    communities = []
    for center, members in found:
        if used[center]:
            continue
        free = members[~used[members]]
        if len(free) >= min_community_size:
            community = [center] + free[free != center].tolist()
            communities.append(community)
            used[community] = True
    return sorted(communities, key=len, reverse=True)


# ---------------------------------------------------------------------------------------------- checks


def as_matrix(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` as a float32 ``(n, d)`` array (a 1-D vector becomes one row); anything else is an InputError."""
    array = np.asarray(as_numpy(x))
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise InputError(f"{name} must be a numeric array, got dtype {array.dtype}.")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InputError(f"{name} must be a (n, d) array or one (d,) vector, got shape {array.shape}.")
    return array.astype(np.float32, copy=False)


def _check_same_width(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[1] != b.shape[1]:
        raise EmbeddingShapeError(
            f"Embedding dimensions differ: {a.shape[1]} and {b.shape[1]}: embed both with one model."
        )
