"""Retrieval with sparse embeddings: sentence-transformers' ``SparseInformationRetrievalEvaluator``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..._st_loggers import ST_SPARSE_INFORMATION_RETRIEVAL
from ..._st_signature import st_order, st_positional
from ..retrieval import InformationRetrievalEvaluator
from .base import SparseEvaluator, count_vector, mean_flops

SPARSITY_COLUMNS = (
    "query_active_dims",
    "query_sparsity_ratio",
    "corpus_active_dims",
    "corpus_sparsity_ratio",
)


@st_positional(*st_order(InformationRetrievalEvaluator, sparse=True))
class SparseInformationRetrievalEvaluator(SparseEvaluator, InformationRetrievalEvaluator):
    """:class:`~sbert.InformationRetrievalEvaluator` for a :class:`~sbert.sparse_encoder.SparseEncoder`:
    queries and corpus embedded as sparse tensors (each cut to ``max_active_dims`` weights when given, else
    the model's own cut), ranked by the model's similarity (``dot`` for SPLADE: keys ``dot_ndcg@10``,
    primary, ``dot_mrr@10``, ...) or each of ``score_functions`` (called on the sparse tensors).

    Besides the retrieval metrics it reports, as sentence-transformers does, ``query_active_dims`` and
    ``corpus_active_dims`` (mean non-zero weights per embedding), ``query_sparsity_ratio`` and
    ``corpus_sparsity_ratio`` (mean share of zeros), and ``avg_flops``: how many dimensions a query and a
    document share on average, the cost of scoring them with an inverted index. Those five are also the last
    columns of ``Information-Retrieval_evaluation_<name>_results.csv``.

    Args:
        queries, corpus, relevant_docs: as for :class:`~sbert.InformationRetrievalEvaluator`.
        max_active_dims: keep this many largest weights per embedding (default: the model's setting).
        batch_size: texts per batch (32, sentence-transformers' default).
        options: :class:`~sbert.InformationRetrievalEvaluator`'s other keywords (``name``, ``mrr_at_k``,
            ``ndcg_at_k``, ..., ``score_functions``, ``main_score_function``, prompts, ``write_predictions``,
            ``corpus_chunk_size``); not ``truncate_dim``.

    Example::

        from sbert.sparse_encoder import SparseEncoder
        from sbert.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

        evaluator = SparseInformationRetrievalEvaluator(
            {"q1": "capital of France"},
            {"d1": "Paris is the capital of France.", "d2": "Cats purr."},
            {"q1": {"d1"}},
            name="dev",
        )
        results = evaluator(SparseEncoder("naver/splade-cocondenser-ensembledistil"))
        results[evaluator.primary_metric], results["dev_avg_flops"]  # dev_dot_ndcg@10
    """

    st_sparse_logger = ST_SPARSE_INFORMATION_RETRIEVAL
    extra_csv_headers = (*SPARSITY_COLUMNS, "avg_flops")

    def __init__(
        self,
        queries: Mapping[str, str],
        corpus: Mapping[str, str],
        relevant_docs: Mapping[str, Iterable[str] | Mapping[str, float]],
        *,
        max_active_dims: int | None = None,
        batch_size: int = 32,
        **options: Any,
    ) -> None:
        self.start_sparse(max_active_dims, options)
        super().__init__(queries, corpus, relevant_docs, batch_size=batch_size, **options)

    def reset_sparsity(self) -> None:
        super().reset_sparsity()
        self.count_vectors: dict[str, Any] = {}
        self.call_lengths: dict[str, list[int]] = {}  # each embedding call's rows, by group

    @property
    def count_lengths(self) -> dict[str, int]:
        return {group: sum(lengths) for group, lengths in self.call_lengths.items()}

    def stats_group(self, role: str | None) -> str:
        return "corpus" if role == "document" else "query"

    def record(self, embeddings: Any, group: str) -> None:
        super().record(embeddings, group)
        counts = count_vector(embeddings)
        self.count_vectors[group] = (
            counts + self.count_vectors[group] if group in self.count_vectors else counts
        )
        self.call_lengths.setdefault(group, []).append(len(embeddings))

    def given_embeddings(self, embeddings: Any, model: Any) -> Any:
        embeddings = embeddings.detach().cpu()
        self.record(embeddings, "corpus")
        return embeddings

    def summarize_sparsity(self) -> dict[str, float]:
        """As every sparse evaluator's, but the corpus's chunks weighted by their rows, as
        sentence-transformers averages them."""
        stats = super().summarize_sparsity()
        lengths = self.call_lengths.get("corpus", [])
        for key in self.sparsity_calls.get("corpus", [{}])[0]:
            values = [call[key] for call in self.sparsity_calls["corpus"]]
            stats[f"corpus_{key}"] = sum(v * n for v, n in zip(values, lengths)) / sum(lengths)
        counts, rows = self.count_vectors, self.count_lengths
        stats["avg_flops"] = (
            mean_flops(counts["query"], rows["query"], counts["corpus"], rows["corpus"])
            if {"query", "corpus"} <= set(counts)
            else 0.0
        )
        return stats
