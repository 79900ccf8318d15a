"""Reranking and translation matching with sparse embeddings: sentence-transformers' SparseReranking and
SparseTranslation evaluators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..._st_loggers import ST_SPARSE_RERANKING, ST_SPARSE_TRANSLATION
from ..._st_signature import st_positional
from ..embedding_reranking import RerankingEvaluator
from ..translation import TranslationEvaluator
from .base import SparseEvaluator


@st_positional(
    "samples",
    "at_k",
    "name",
    "write_csv",
    "similarity_fct",
    "batch_size",
    "show_progress_bar",
    "use_batched_encoding",
    "max_active_dims",
    "mrr_at_k",
)
class SparseRerankingEvaluator(SparseEvaluator, RerankingEvaluator):
    """:class:`~sbert.evaluation.RerankingEvaluator` for a :class:`~sbert.sparse_encoder.SparseEncoder`: each
    query's positives and negatives ranked by the sparse embeddings' similarity (MAP, MRR@k, NDCG@k,
    primary), plus ``query_active_dims``, ``query_sparsity_ratio``, ``corpus_active_dims`` and
    ``corpus_sparsity_ratio`` (the documents'), averaged over the embedding calls as sentence-transformers
    does (one of each, or one per sample with ``use_batched_encoding=False``).

    Args:
        samples: dicts with ``query``, ``positive`` and ``negative``, as for the dense evaluator.
        max_active_dims: keep this many largest weights per embedding (default: the model's setting).
        options: :class:`~sbert.evaluation.RerankingEvaluator`'s other keywords (``at_k``, ``name``,
            ``similarity_fct``, called on sparse tensors, ``batch_size``, ...); not ``truncate_dim``.

    Example::

        samples = [{"query": "capital of France", "positive": ["Paris is its capital."],
                    "negative": ["Cats purr.", "Berlin is in Germany."]}]
        SparseRerankingEvaluator(samples, name="dev")(SparseEncoder("naver/splade-v3"))["dev_ndcg@10"]
    """

    st_sparse_logger = ST_SPARSE_RERANKING

    def __init__(
        self,
        samples: Sequence[Mapping[str, Any]] | Mapping[Any, Mapping[str, Any]],
        *,
        max_active_dims: int | None = None,
        **options: Any,
    ) -> None:
        self.start_sparse(max_active_dims, options)
        super().__init__(samples, **options)

    sparsity_groups = ("query", "corpus")

    def embed_inputs(self, model: Any, sentences: Sequence[str], *args: Any, **kwargs: Any) -> list[Any]:
        """As the dense evaluator's, as a list of sparse rows, as sentence-transformers' returns them."""
        return list(super().embed_inputs(model, sentences, *args, **kwargs))

    def stats_group(self, role: str | None) -> str:
        return "corpus" if role == "document" else "query"

    def similarity_inputs(self, query: Any, documents: Any) -> tuple[Any, Any]:
        """As sentence-transformers hands them to a ``similarity_fct``: the documents as a list of sparse rows
        (its ``embed_inputs``' list, sliced), the query a row, or a list of one where each sample is
        embedded on its own."""
        return (list(query) if query.dim() == 2 else query), list(documents)


@st_positional(
    "source_sentences",
    "target_sentences",
    "show_progress_bar",
    "batch_size",
    "name",
    "print_wrong_matches",
    "write_csv",
    "max_active_dims",
)
class SparseTranslationEvaluator(SparseEvaluator, TranslationEvaluator):
    """:class:`~sbert.evaluation.TranslationEvaluator` for a :class:`~sbert.sparse_encoder.SparseEncoder`:
    how often a sentence's most cosine-similar sparse embedding among the translations is its own
    (``src2trg_accuracy``, ``trg2src_accuracy``, ``mean_accuracy``, primary), plus ``active_dims`` and
    ``sparsity_ratio`` averaged over the two sides.

    Args:
        source_sentences, target_sentences: the translations, aligned.
        max_active_dims: keep this many largest weights per embedding (default: the model's setting).
        options: :class:`~sbert.evaluation.TranslationEvaluator`'s other keywords (``name``,
            ``batch_size``, ``print_wrong_matches``, ...); not ``truncate_dim``.

    Example::

        evaluator = SparseTranslationEvaluator(["Hello", "Thank you"], ["Hallo", "Danke"], name="en-de")
        evaluator(SparseEncoder("./multilingual-splade"))["en-de_mean_accuracy"]
    """

    st_sparse_logger = ST_SPARSE_TRANSLATION

    def __init__(
        self,
        source_sentences: Sequence[str],
        target_sentences: Sequence[str],
        *,
        max_active_dims: int | None = None,
        **options: Any,
    ) -> None:
        self.start_sparse(max_active_dims, options)
        super().__init__(source_sentences, target_sentences, **options)
