"""MaxSim, the late-interaction score of multi-vector (ColBERT-style) embeddings, as sentence-transformers'
``util.maxsim`` family computes it: for a query and a document, the sum over the query's tokens of the
largest dot product with any of the document's tokens.

Inputs are token embeddings: a ``(batch, tokens, dim)`` tensor or array with an optional ``(batch, tokens)``
mask (default: its rows that are not all zero), a list of ``(tokens_i, dim)`` items (padded here, the
padding masked), or one ``(tokens, dim)`` item (a batch of one). Masked query tokens add nothing; masked
document tokens are never the maximum; a document without a real token scores ``EMPTY_DOCUMENT_SCORE``.
Scores are float32 (half precision is accumulated in float32), computed in chunks of at most
``chunk_elements`` elements, on ``device`` (default: the documents'), and returned on the documents'
device. Needs torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import InputError, log_once
from ._st_loggers import ST_SIMILARITY

DEFAULT_CHUNK_ELEMENTS = 100_000_000  # about 400 MB of float32 per chunk, as sentence-transformers budgets
# The score of a document without any real token (all masked), below every real document's, as
# sentence-transformers scores it (a -inf would poison a loss's softmax).
EMPTY_DOCUMENT_SCORE = -1e9


def maxsim(
    a: Any,
    b: Any,
    a_mask: Any = None,
    b_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = False,
    device: Any = None,
) -> Any:
    """``(len(a), len(b))`` MaxSim scores of every query in ``a`` against every document in ``b``."""
    import torch

    queries, query_mask, documents, document_mask, device = _inputs(a, b, a_mask, b_mask, device)
    if len(queries):
        note_empty_documents(document_mask)
    budget = chunk_elements or DEFAULT_CHUNK_ELEMENTS
    per_pair = queries.shape[1] * documents.shape[1] + queries.shape[1] * queries.shape[2]
    query_step = max(1, min(len(queries), budget // max(1, per_pair)))
    rows = []
    for q in range(0, len(queries), query_step):
        q_emb = queries[q : q + query_step].to(device, torch.float32)
        q_mask = query_mask[q : q + query_step].to(device)
        document_step = max(1, budget // max(1, len(q_emb) * per_pair))
        scores = [
            _scores(
                q_emb,
                q_mask,
                documents[d : d + document_step].to(device, torch.float32),
                document_mask[d : d + document_step].to(device),
            )
            for d in range(0, len(documents), document_step)
        ]
        rows.append(torch.cat(scores, dim=1) if scores else q_emb.new_zeros((len(q_emb), 0)))
    result = torch.cat(rows) if rows else torch.zeros((0, len(documents)), device=device)
    if length_normalize:
        result = result / _query_lengths(query_mask, result.device)[:, None]
    return result.to(documents.device)


def maxsim_pairwise(
    a: Any,
    b: Any,
    a_mask: Any = None,
    b_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = False,
    device: Any = None,
) -> Any:
    """``(len(a),)`` MaxSim scores of ``a[i]`` against ``b[i]``."""
    import torch

    queries, query_mask, documents, document_mask, device = _inputs(a, b, a_mask, b_mask, device)
    if len(queries) != len(documents):
        raise InputError(
            f"maxsim_pairwise scores a[i] against b[i]: a holds {len(queries)} items, b {len(documents)}; "
            "give as many of each (maxsim scores every pair of two collections)."
        )
    note_empty_documents(document_mask)
    budget = chunk_elements or DEFAULT_CHUNK_ELEMENTS
    per_pair = (
        queries.shape[1] * (documents.shape[1] + queries.shape[2]) + documents.shape[1] * queries.shape[2]
    )
    step = max(1, budget // max(1, per_pair))
    parts = []
    for i in range(0, len(queries), step):
        q_emb, q_mask = queries[i : i + step].to(device, torch.float32), query_mask[i : i + step].to(device)
        d_emb, d_mask = (
            documents[i : i + step].to(device, torch.float32),
            document_mask[i : i + step].to(device),
        )
        similarity = torch.einsum("ntd,nsd->nts", q_emb, d_emb).masked_fill(
            ~d_mask[:, None, :], float("-inf")
        )
        best = similarity.max(dim=2).values  # (n, query tokens)
        score = torch.where(q_mask, best, torch.zeros_like(best)).sum(dim=1)
        parts.append(score.masked_fill(~d_mask.any(dim=1), EMPTY_DOCUMENT_SCORE))
    result = torch.cat(parts) if parts else torch.zeros(0, device=device)
    if length_normalize:
        result = result / _query_lengths(query_mask, result.device)
    return result.to(documents.device)


def mean_maxsim(
    a: Any,
    b: Any,
    a_mask: Any = None,
    b_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = True,
    device: Any = None,
) -> Any:
    """:func:`maxsim` divided by each query's real token count (scores comparable across queries)."""
    return maxsim(a, b, a_mask, b_mask, chunk_elements, length_normalize, device)


def mean_maxsim_pairwise(
    a: Any,
    b: Any,
    a_mask: Any = None,
    b_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = True,
    device: Any = None,
) -> Any:
    """:func:`maxsim_pairwise` divided by each query's real token count."""
    return maxsim_pairwise(a, b, a_mask, b_mask, chunk_elements, length_normalize, device)


def stack_padded_token_embeddings(embeddings: list[Any], masks: list[Any]) -> tuple[Any, Any]:
    """``(B, T_i, D)`` token embeddings and ``(B, T_i)`` masks stacked on ``dim=1``, each padded to the
    longest ``T``: ``(B, N, T, D)`` and ``(B, N, T)``."""
    import torch

    embeddings, masks = _pad_tokens(embeddings, masks)
    return torch.stack(embeddings, dim=1), torch.stack(masks, dim=1)


def cat_padded_token_embeddings(embeddings: list[Any], masks: list[Any]) -> tuple[Any, Any]:
    """``(B_i, T_i, D)`` token-embedding chunks and ``(B_i, T_i)`` masks concatenated on ``dim=0``, each
    padded to the longest ``T``: ``(sum B_i, T, D)`` and ``(sum B_i, T)``."""
    import torch

    embeddings, masks = _pad_tokens(embeddings, masks)
    return torch.cat(embeddings, dim=0), torch.cat(masks, dim=0)


def _pad_tokens(embeddings: list[Any], masks: list[Any]) -> tuple[list[Any], list[Any]]:
    import torch.nn.functional as F

    longest = max(e.size(1) for e in embeddings)
    if any(e.size(1) != longest for e in embeddings):
        embeddings = [F.pad(e, (0, 0, 0, longest - e.size(1))) for e in embeddings]
        masks = [F.pad(m, (0, longest - m.size(1))) for m in masks]
    return list(embeddings), list(masks)


def _inputs(a: Any, b: Any, a_mask: Any, b_mask: Any, device: Any) -> tuple[Any, Any, Any, Any, Any]:
    """Queries and documents padded with their masks, and the device to score on (default: the
    documents')."""
    import torch

    queries, query_mask = _padded(a, a_mask, "a")
    documents, document_mask = _padded(b, b_mask, "b")
    _check_widths(queries, documents)
    return queries, query_mask, documents, document_mask, torch.device(device) if device else documents.device


def _scores(queries: Any, query_mask: Any, documents: Any, document_mask: Any) -> Any:
    """``(q, d)`` MaxSim of a chunk of queries against a chunk of documents."""
    import torch

    similarity = torch.einsum("qtd,nsd->qnts", queries, documents)
    similarity = similarity.masked_fill(~document_mask[None, :, None, :], float("-inf"))
    best = similarity.max(dim=3).values  # (q, n, query tokens)
    scores = torch.where(query_mask[:, None, :], best, torch.zeros_like(best)).sum(dim=2)
    return scores.masked_fill(~document_mask.any(dim=1)[None, :], EMPTY_DOCUMENT_SCORE)


def _query_lengths(query_mask: Any, device: Any) -> Any:
    """Each query's real token count (1 at least: an all-masked query scores 0, not NaN)."""
    import torch

    return query_mask.sum(dim=1).clamp(min=1).to(device, dtype=torch.float32)


def _padded(items: Any, mask: Any, name: str) -> tuple[Any, Any]:
    """``items`` as a ``(B, T, D)`` tensor and a ``(B, T)`` boolean mask of its real tokens."""
    import torch

    if isinstance(items, (list, tuple)):
        rows = [_tensor(item, f"{name}[{i}]") for i, item in enumerate(items)]
        if any(row.ndim != 2 for row in rows):
            raise InputError(
                f"{name}: each item of a list must be one (tokens, dim) matrix of token embeddings."
            )
        if not rows:
            return torch.zeros((0, 0, 0)), torch.zeros((0, 0), dtype=torch.bool)
        longest, width = max(len(r) for r in rows), rows[0].shape[1]
        padded = rows[0].new_zeros((len(rows), longest, width))
        real = torch.zeros((len(rows), longest), dtype=torch.bool, device=rows[0].device)
        for i, row in enumerate(rows):
            padded[i, : len(row)], real[i, : len(row)] = row, True
        if mask is not None:
            given = (
                [torch.as_tensor(m, device=real.device).bool() for m in mask]
                if isinstance(mask, (list, tuple))
                else mask
            )
            for i, row_mask in enumerate(given):
                real[i, : len(row_mask)] &= torch.as_tensor(row_mask, device=real.device).bool()
        return padded, real
    tensor = _tensor(items, name)
    if tensor.ndim == 2:  # one item: a batch of one
        tensor = tensor[None]
        mask = None if mask is None else torch.as_tensor(mask).reshape(1, -1)
    if tensor.ndim != 3:
        raise InputError(
            f"{name}: expected token embeddings of shape (batch, tokens, dim), a list of (tokens, dim) "
            f"items or one (tokens, dim) item; got shape {tuple(tensor.shape)}."
        )
    if mask is None:  # all-zero token rows are padding, as sentence-transformers reads a padded tensor
        return tensor, tensor.any(dim=-1)
    real = torch.as_tensor(mask, device=tensor.device).bool()
    if tuple(real.shape) != tuple(tensor.shape[:2]):
        raise InputError(
            f"{name}_mask has shape {tuple(real.shape)}; it must be (batch, tokens) = "
            f"{tuple(tensor.shape[:2])}."
        )
    return tensor, real


def _tensor(value: Any, name: str) -> Any:
    import torch

    if torch.is_tensor(value):
        return value
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{name}: expected numbers (token embeddings), got {array.dtype}.")
    return torch.from_numpy(np.ascontiguousarray(array))


def _check_widths(queries: Any, documents: Any) -> None:
    if queries.numel() and documents.numel() and queries.shape[2] != documents.shape[2]:
        raise InputError(
            f"a's token embeddings are {queries.shape[2]} wide, b's {documents.shape[2]}: they must come "
            "from the same model."
        )


def note_empty_documents(document_mask: Any) -> None:
    """Log (once per process, in sentence-transformers' words and on its logger) that a document has no token
    to score. Only for a mask on the CPU: reading a GPU mask would wait for the device on every call."""
    if getattr(getattr(document_mask, "device", None), "type", "cpu") != "cpu":  # numpy's device is "cpu"
        return
    if not document_mask.any(axis=-1).all():
        log_once(
            "Encountered documents without any scoreable token during multi-vector similarity scoring, "
            "e.g. because MultiVectorMask (via keep_only_token_ids or skiplist_words) masked out every "
            "token, or because a document embedding has zero token vectors. These documents score "
            f"about {EMPTY_DOCUMENT_SCORE:.0e} (before any normalization), ranking them below every "
            "real document.",
            ST_SIMILARITY,
        )


def maxsim_arrays(a: Any, b: Any, *, length_normalize: bool = False, pairwise: bool = False) -> np.ndarray:
    """:func:`maxsim` (:func:`maxsim_pairwise` with ``pairwise``) of lists of ``(tokens_i, dim)`` numpy
    arrays (or one array), in numpy: what a MultiVectorEncoder on backend="onnx" scores where torch is not
    installed. Same rules: a document without tokens scores ``EMPTY_DOCUMENT_SCORE``."""
    queries, documents = (_array_items(x) for x in (a, b))
    if any(item.ndim != 2 for item in [*queries, *documents]):
        raise InputError("maxsim: each item must be one (tokens, dim) matrix of token embeddings.")
    widths = sorted({item.shape[1] for item in [*queries, *documents] if item.size})
    if len(widths) > 1:
        raise InputError(f"maxsim: token embeddings of widths {widths}: they must come from the same model.")
    if pairwise and len(queries) != len(documents):
        raise InputError(
            f"maxsim_pairwise needs as many queries as documents, got {len(queries)} and {len(b)}."
        )

    if queries:
        note_empty_documents(np.array([[len(document) > 0] for document in documents], dtype=bool))

    def score(query: np.ndarray, document: np.ndarray) -> float:
        total = EMPTY_DOCUMENT_SCORE if not len(document) else 0.0
        if len(document) and len(query):
            total = float((query @ document.T).max(axis=1).sum())
        return total / max(1, len(query)) if length_normalize else total

    if pairwise:
        return np.array([score(q, d) for q, d in zip(queries, documents)], dtype=np.float32)
    return np.array([[score(q, d) for d in documents] for q in queries], dtype=np.float32).reshape(
        len(queries), len(documents)
    )


def _array_items(x: Any) -> list[np.ndarray]:
    """The ``(tokens, dim)`` items of one matrix, a list of them, or a padded ``(n, tokens, dim)`` array
    (whose all-zero rows are padding, as :func:`maxsim` reads a padded tensor without a mask)."""
    if getattr(x, "ndim", 0) == 2:
        return [np.asarray(x, dtype=np.float32)]
    if getattr(x, "ndim", 0) == 3:
        return [item[item.any(axis=-1)] for item in np.asarray(x, dtype=np.float32)]
    return [np.asarray(item, dtype=np.float32) for item in x]
