"""XTR scores (Lee et al. 2023, "Rethinking the Role of Token Retrieval in Multi-Vector Retrieval"), as
sentence-transformers' ``multi_vector_encoder.scoring`` computes them: each query token keeps only its
``top_k`` best matches among all the batch's document tokens (as if retrieved from an index); a document's
score is the sum over query tokens of their best retrieved match in it, divided by ``Z``, the number of query
tokens that retrieved any of its tokens. A document none of whose tokens was retrieved scores 0; one
without any real token scores ``EMPTY_DOCUMENT_SCORE``.
"""

from __future__ import annotations

from typing import Any

import torch

from ..._errors import InputError
from ..._maxsim import note_empty_documents
from .scoring import as_tensor

EMPTY_DOCUMENT_SCORE = -1e9  # sentence-transformers' score of a document without a real token


def xtr_scores(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    top_k: int = 256,
    chunk_elements: int | None = None,
) -> torch.Tensor:
    """``(Q, Q_doc * N)`` XTR scores of ``(Q, q_tokens, dim)`` queries against ``(Q_doc, N, d_tokens, dim)``
    document groups, query-major as :func:`~sbert.multi_vector_encoder.scoring.colbert_scores`. Masks
    default to the non-zero token rows; ``chunk_elements`` bounds the similarity matmul's chunks (the
    scores do not change)."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k <= 0:
        raise InputError(f"top_k must be a positive integer, got {top_k!r}.")
    queries, documents = _floating(as_tensor(queries_embeddings)), _floating(as_tensor(documents_embeddings))
    n_queries, query_tokens, width = queries.shape
    n_documents = documents.shape[0] * documents.shape[1]
    document_tokens = documents.shape[2]
    documents = documents.reshape(n_documents, document_tokens, width)
    real = (
        documents.any(dim=-1) if documents_mask is None else documents_mask.reshape(n_documents, -1)
    ).bool()
    query_real = (queries.any(dim=-1) if queries_mask is None else queries_mask).bool()
    # (Q, q_tokens, docs * d_tokens): every query token against every document token, padding at the minimum
    similarity = _similarities(queries.reshape(-1, width), documents, real, chunk_elements)
    similarity = similarity.view(n_queries, query_tokens, n_documents * document_tokens)
    lowest = torch.finfo(similarity.dtype).min
    values, indices = similarity.topk(min(top_k, similarity.shape[-1]), dim=-1, sorted=False)
    retrieved = torch.full_like(similarity, lowest).scatter_(-1, indices, values)
    # which documents each query token retrieved a real token of (padding retrievals go to a spare slot)
    owner = torch.where(real.reshape(-1)[indices], indices // document_tokens, n_documents)
    hit = torch.zeros(n_queries, query_tokens, n_documents + 1, dtype=torch.bool, device=indices.device)
    hit = hit.scatter_(-1, owner, True)[..., :n_documents] & query_real.unsqueeze(-1)
    best = retrieved.view(n_queries, query_tokens, n_documents, document_tokens).max(dim=-1).values.float()
    best = best.masked_fill(~hit, 0.0)  # a match not retrieved counts 0 (XTR's imputation)
    scores = best.sum(dim=1) / hit.float().sum(dim=1).clamp(min=1)
    note_empty_documents(real)
    return scores.masked_fill(~real.any(dim=-1), EMPTY_DOCUMENT_SCORE)


def xtr_kd_scores(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    top_k: int = 256,
    chunk_elements: int | None = None,
) -> torch.Tensor:
    """``(Q, N)``: each query's XTR scores of its own ``N`` documents (retrieval still over the whole
    batch), for distillation."""
    documents = as_tensor(documents_embeddings)
    n_queries, per_query = documents.shape[:2]
    scores = xtr_scores(queries_embeddings, documents, queries_mask, documents_mask, top_k, chunk_elements)
    device = scores.device
    columns = torch.arange(n_queries, device=device)[:, None] * per_query + torch.arange(
        per_query, device=device
    )
    return scores.gather(1, columns)


def xtr_scores_pairwise(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    top_k: int = 256,
    chunk_elements: int | None = None,
) -> torch.Tensor:
    """``(B,)`` XTR scores of ``(query_i, document_i)``; the retrieval runs over all the batch's documents,
    so a pair's score depends on the others when ``top_k`` is below their token count."""
    documents = as_tensor(documents_embeddings)
    if documents.ndim == 3:
        documents = documents.unsqueeze(1)
    if documents_mask is not None and documents_mask.ndim == 2:
        documents_mask = documents_mask.unsqueeze(1)
    scores = xtr_kd_scores(queries_embeddings, documents, queries_mask, documents_mask, top_k, chunk_elements)
    return scores.squeeze(-1)


class XTRScores:
    """:func:`xtr_scores` with its ``top_k`` and ``chunk_elements`` kept: a loss's ``similarity_fct``."""

    def __init__(self, top_k: int = 256, *, chunk_elements: int | None = None) -> None:
        self.top_k = top_k
        self.chunk_elements = chunk_elements

    def get_config_dict(self) -> dict[str, int | None]:
        return {"top_k": self.top_k, "chunk_elements": self.chunk_elements}

    def __call__(
        self,
        queries_embeddings: Any,
        documents_embeddings: Any,
        queries_mask: Any = None,
        documents_mask: Any = None,
    ) -> torch.Tensor:
        return xtr_scores(
            queries_embeddings,
            documents_embeddings,
            queries_mask,
            documents_mask,
            self.top_k,
            self.chunk_elements,
        )


class XTRKDScores(XTRScores):
    """:func:`xtr_kd_scores` with its ``top_k`` and ``chunk_elements`` kept (each query's own ``(Q, N)``)."""

    def __call__(
        self,
        queries_embeddings: Any,
        documents_embeddings: Any,
        queries_mask: Any = None,
        documents_mask: Any = None,
    ) -> torch.Tensor:
        return xtr_kd_scores(
            queries_embeddings,
            documents_embeddings,
            queries_mask,
            documents_mask,
            self.top_k,
            self.chunk_elements,
        )


def _floating(tensor: torch.Tensor) -> torch.Tensor:
    """Quantized (integer) embeddings as float32: the padding fill needs a floating type."""
    return tensor if tensor.is_floating_point() else tensor.float()


def _similarities(
    queries: torch.Tensor, documents: torch.Tensor, real: torch.Tensor, chunk_elements: int | None
) -> torch.Tensor:
    """``(Q * q_tokens, docs, d_tokens)`` dot products, padding tokens at the dtype's minimum, computed in
    chunks of documents of about ``chunk_elements`` elements each."""
    n_documents, document_tokens, width = documents.shape
    per_document = (queries.shape[0] + width) * document_tokens
    step = n_documents if chunk_elements is None else max(1, chunk_elements // max(1, per_document))
    chunks = []
    for start in range(0, n_documents, step):
        part = documents[start : start + step]
        scores = (queries @ part.reshape(-1, width).T).view(queries.shape[0], len(part), document_tokens)
        chunks.append(scores.masked_fill(~real[start : start + step], torch.finfo(scores.dtype).min))
    return torch.cat(chunks, dim=1)
