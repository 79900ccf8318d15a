"""Pairs and triplets of texts with sparse embeddings: sentence-transformers' SparseEmbeddingSimilarity,
SparseBinaryClassification and SparseTriplet evaluators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..._errors import InputError
from ..._st_loggers import ST_SPARSE_BINARY_CLASSIFICATION, ST_SPARSE_EMBEDDING_SIMILARITY, ST_SPARSE_TRIPLET
from ..._st_signature import st_order, st_positional
from ..similarity import BinaryClassificationEvaluator, EmbeddingSimilarityEvaluator, TripletEvaluator
from .base import SparseEvaluator


class SparseColumnsEvaluator(SparseEvaluator):
    """The sparse side of the column evaluators: ``max_active_dims`` checked with the columns."""

    def __post_init__(self) -> None:
        self.start_sparse(self.max_active_dims)
        super().__post_init__()  # type: ignore[misc]


# the dense order without precision, max_active_dims where it has truncate_dim
@st_positional(*(n for n in st_order(EmbeddingSimilarityEvaluator, sparse=True) if n != "precision"))
@dataclass(eq=False, repr=False)
class SparseEmbeddingSimilarityEvaluator(SparseColumnsEvaluator, EmbeddingSimilarityEvaluator):
    """:class:`~sbert.EmbeddingSimilarityEvaluator` for a :class:`~sbert.sparse_encoder.SparseEncoder`:
    Pearson and Spearman correlation of the sparse embeddings' similarity (the model's, ``dot`` for SPLADE, or
    each of ``similarity_fn_names``) with the gold scores, plus ``active_dims`` (mean non-zero weights per
    embedding) and ``sparsity_ratio`` (mean share of zeros), averaged over the two columns.

    ``max_active_dims`` keeps that many largest weights per embedding (default: the model's setting).

    Example::

        evaluator = SparseEmbeddingSimilarityEvaluator(
            ["A man plays guitar.", "A cat sleeps."], ["A man plays music.", "A dog runs."], [4.6, 0.4],
            main_similarity="cosine", name="sts-dev",
        )
        evaluator(SparseEncoder("naver/splade-cocondenser-ensembledistil"))  # sts-dev_spearman_cosine, ...
    """

    st_sparse_logger = ST_SPARSE_EMBEDDING_SIMILARITY

    batch_size: int = field(default=16, kw_only=True)
    max_active_dims: int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.precision is not None:
            raise InputError(
                "SparseEmbeddingSimilarityEvaluator scores the sparse embeddings themselves: leave precision "
                "unset."
            )
        super().__post_init__()

    def embed(self, model: Any, *columns: Sequence[str], roles: Any = None, **options: Any) -> list[Any]:
        return self.embed_columns(model, columns, roles, [None] * len(columns))


@st_positional(*st_order(BinaryClassificationEvaluator, sparse=True))
@dataclass(eq=False, repr=False)
class SparseBinaryClassificationEvaluator(SparseColumnsEvaluator, BinaryClassificationEvaluator):
    """:class:`~sbert.BinaryClassificationEvaluator` for a :class:`~sbert.sparse_encoder.SparseEncoder`:
    accuracy, F1, precision, recall, AP and MCC of thresholding the sparse embeddings' similarity, plus
    ``active_dims`` and ``sparsity_ratio`` of the distinct texts' embeddings.

    ``max_active_dims`` keeps that many largest weights per embedding (default: the model's setting).

    Example::

        evaluator = SparseBinaryClassificationEvaluator(
            ["How old are you?", "Where is Paris?"], ["What is your age?", "How tall is Bob?"], [1, 0]
        )
        evaluator(SparseEncoder("naver/splade-cocondenser-ensembledistil"))["dot_ap"]
    """

    st_sparse_logger = ST_SPARSE_BINARY_CLASSIFICATION

    batch_size: int = field(default=32, kw_only=True)
    max_active_dims: int | None = field(default=None, kw_only=True)


@st_positional(*st_order(TripletEvaluator, sparse=True))
@dataclass(eq=False, repr=False)
class SparseTripletEvaluator(SparseColumnsEvaluator, TripletEvaluator):
    """:class:`~sbert.TripletEvaluator` for a :class:`~sbert.sparse_encoder.SparseEncoder`: how often the
    anchor's sparse embedding is more similar to the positive's than to the negative's, plus the sparsity of
    each column: ``anchor_active_dims``, ``anchor_sparsity_ratio``, ``positive_...``, ``negative_...``.

    ``max_active_dims`` keeps that many largest weights per embedding (default: the model's setting).

    Example::

        evaluator = SparseTripletEvaluator(["A man plays guitar."], ["Someone plays music."], ["A cat naps."])
        evaluator(SparseEncoder("naver/splade-cocondenser-ensembledistil"))["dot_accuracy"]
    """

    st_sparse_logger = ST_SPARSE_TRIPLET
    sparsity_groups = ("anchor", "positive", "negative")

    batch_size: int = field(default=16, kw_only=True)
    max_active_dims: int | None = field(default=None, kw_only=True)

    def embed(self, model: Any, *columns: Sequence[str], roles: Any = None, **options: Any) -> list[Any]:
        return self.embed_columns(model, columns, roles, ("anchor", "positive", "negative"))
