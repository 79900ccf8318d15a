"""ColBERT (MaxSim) scores in the layouts the multi-vector losses take, as sentence-transformers'
``multi_vector_encoder.scoring`` gives them: every query against stacked per-query document groups
(``colbert_scores``), matched pairs (``colbert_scores_pairwise``) and each query's own group
(``colbert_kd_scores``), and their MeanMaxSim versions (divided by each query's real token count).

Queries are ``(Q, q_tokens, dim)`` with a ``(Q, q_tokens)`` mask, document groups ``(Q_doc, N, d_tokens,
dim)`` with a ``(Q_doc, N, d_tokens)`` mask; scores are float32. The MaxSim itself is :mod:`sbert._maxsim`
(or a model's ``similarity`` / ``similarity_pairwise``, which the losses score with by default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ... import _maxsim


def as_tensor(value: Any) -> torch.Tensor:
    """Embeddings as a tensor (a list of equal-shape tensors stacked, arrays converted)."""
    if torch.is_tensor(value):
        return value
    if isinstance(value, (list, tuple)) and value and torch.is_tensor(value[0]):
        return torch.stack(list(value))
    return torch.as_tensor(np.asarray(value))


def group_scores(
    score_documents: Callable[..., torch.Tensor],
    queries: Any,
    documents: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool | None = None,
) -> torch.Tensor:
    """``(Q, Q_doc * N)`` scores with ``score_documents`` (``maxsim``'s keywords), query-major: column
    ``j * N + n`` is document ``n`` of group ``j``. ``length_normalize=None``: the callable's default."""
    queries, documents = as_tensor(queries), as_tensor(documents)
    groups, per_group = documents.shape[:2]
    normalization = {} if length_normalize is None else {"length_normalize": length_normalize}
    columns = [
        score_documents(
            queries,
            documents[:, n],
            a_mask=queries_mask,
            b_mask=None if documents_mask is None else documents_mask[:, n],
            chunk_elements=chunk_elements,
            **normalization,
        )
        for n in range(per_group)
    ]
    return torch.stack(columns, dim=2).reshape(-1, groups * per_group)


def own_group_scores(
    score_pairs: Callable[..., torch.Tensor],
    queries: Any,
    documents: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool | None = None,
) -> torch.Tensor:
    """``(Q, N)`` scores of each query against its own group of ``N`` documents, with ``score_pairs``
    (``maxsim_pairwise``'s keywords)."""
    queries, documents = as_tensor(queries), as_tensor(documents)
    normalization = {} if length_normalize is None else {"length_normalize": length_normalize}
    columns = [
        score_pairs(
            queries,
            documents[:, n],
            a_mask=queries_mask,
            b_mask=None if documents_mask is None else documents_mask[:, n],
            chunk_elements=chunk_elements,
            **normalization,
        )
        for n in range(documents.shape[1])
    ]
    return torch.stack(columns, dim=1)


def pair_scores(
    score_pairs: Callable[..., torch.Tensor],
    queries: Any,
    documents: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool | None = None,
) -> torch.Tensor:
    """``(B,)`` scores of matched ``(query_i, document_i)`` pairs with ``score_pairs``."""
    normalization = {} if length_normalize is None else {"length_normalize": length_normalize}
    return score_pairs(
        queries,
        documents,
        a_mask=queries_mask,
        b_mask=documents_mask,
        chunk_elements=chunk_elements,
        **normalization,
    )


def colbert_scores(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = False,
) -> torch.Tensor:
    """``(Q, Q_doc * N)`` MaxSim scores of every query against every document of the stacked groups
    (query-major: query ``i``'s positive is column ``i * N`` when the groups are the queries' own)."""
    return group_scores(
        _maxsim.maxsim,
        queries_embeddings,
        documents_embeddings,
        queries_mask,
        documents_mask,
        chunk_elements,
        length_normalize,
    )


def colbert_scores_pairwise(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = False,
) -> torch.Tensor:
    """``(B,)`` MaxSim scores of ``(query_i, document_i)`` (``(B, q_tokens, dim)`` and ``(B, d_tokens,
    dim)``)."""
    return pair_scores(
        _maxsim.maxsim_pairwise,
        queries_embeddings,
        documents_embeddings,
        queries_mask,
        documents_mask,
        chunk_elements,
        length_normalize,
    )


def colbert_kd_scores(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = False,
) -> torch.Tensor:
    """``(B, N)`` MaxSim scores of each query against its own ``N`` candidates (``(B, N, d_tokens, dim)``),
    for distillation from a teacher's scores of the same candidates."""
    return own_group_scores(
        _maxsim.maxsim_pairwise,
        queries_embeddings,
        documents_embeddings,
        queries_mask,
        documents_mask,
        chunk_elements,
        length_normalize,
    )


def mean_colbert_scores(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = True,
) -> torch.Tensor:
    """:func:`colbert_scores` divided by each query's real token count (MeanMaxSim)."""
    return colbert_scores(
        queries_embeddings,
        documents_embeddings,
        queries_mask,
        documents_mask,
        chunk_elements,
        length_normalize,
    )


def mean_colbert_scores_pairwise(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = True,
) -> torch.Tensor:
    """:func:`colbert_scores_pairwise` divided by each query's real token count (MeanMaxSim)."""
    return colbert_scores_pairwise(
        queries_embeddings,
        documents_embeddings,
        queries_mask,
        documents_mask,
        chunk_elements,
        length_normalize,
    )


def mean_colbert_kd_scores(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    chunk_elements: int | None = None,
    length_normalize: bool = True,
) -> torch.Tensor:
    """:func:`colbert_kd_scores` divided by each query's real token count (MeanMaxSim)."""
    return colbert_kd_scores(
        queries_embeddings,
        documents_embeddings,
        queries_mask,
        documents_mask,
        chunk_elements,
        length_normalize,
    )
