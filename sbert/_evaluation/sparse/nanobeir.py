"""Retrieval on several BEIR sets with sparse embeddings: sentence-transformers' ``SparseNanoBEIREvaluator``,
on local BEIR folders as :class:`~sbert.NanoBEIREvaluator` reads them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..._checks import check_positive_int
from ..._st_loggers import ST_SPARSE_NANOBEIR
from ..._st_signature import st_order, st_positional
from ..base import log_lines
from ..nanobeir import NanoBEIREvaluator
from .base import mean_flops, refuse_truncate_dim, sparsity_lines, with_max_active_dims
from .retrieval import SparseInformationRetrievalEvaluator


@st_positional(*st_order(NanoBEIREvaluator, sparse=True), keywords=("dataset_names",))
class SparseNanoBEIREvaluator(NanoBEIREvaluator):
    """:class:`~sbert.NanoBEIREvaluator` for a :class:`~sbert.sparse_encoder.SparseEncoder`: one
    :class:`SparseInformationRetrievalEvaluator` per BEIR folder (or hub NanoBEIR set), each set's metrics
    and sparsity under its name (``scifact_dot_ndcg@10``, ``scifact_query_active_dims``), and their
    aggregate: ``NanoBEIR_mean_dot_ndcg@10`` (primary), ... . The aggregate's ``query_*`` and ``corpus_*``
    sparsity statistics are weighted by each set's number of queries and documents, and its ``avg_flops`` is
    that of all sets' queries and documents together, as sentence-transformers computes them.

    With ``max_active_dims``, the names of the sets and of the aggregate end in ``_<max_active_dims>``
    (``NanoMSMARCO_64``, ``NanoBEIR_mean_64``), as there.

    Args:
        folders: BEIR folders or hub NanoBEIR set names, as for :class:`~sbert.NanoBEIREvaluator`.
        max_active_dims: keep this many largest weights per embedding (default: the model's setting).
        options: :class:`~sbert.NanoBEIREvaluator`'s other keywords (``dataset_names``, ``split``,
            ``names``, ``max_queries``, ``max_corpus``, ``batch_size``, the cut-offs, ``aggregate_fn``,
            ``aggregate_key``, ``score_functions``, prompts, ``write_csv``, ``write_predictions``); not
            ``truncate_dim``.

    Example::

        from sbert.sparse_encoder import SparseEncoder
        from sbert.sparse_encoder.evaluation import SparseNanoBEIREvaluator

        evaluator = SparseNanoBEIREvaluator(["data/scifact", "data/nfcorpus"], max_queries=50)
        results = evaluator(SparseEncoder("naver/splade-cocondenser-ensembledistil"))
        results[evaluator.primary_metric], results["NanoBEIR_mean_avg_flops"]
    """

    information_retrieval_class = SparseInformationRetrievalEvaluator
    evaluators: list[SparseInformationRetrievalEvaluator]

    def __init__(
        self,
        folders: Sequence[str | os.PathLike] | None = None,
        *,
        max_active_dims: int | None = None,
        **options: Any,
    ) -> None:
        refuse_truncate_dim(self, options.get("truncate_dim"))
        check_positive_int("max_active_dims", max_active_dims, optional=True)
        self.max_active_dims = max_active_dims
        self.sparsity_stats: dict[str, float] = {}
        super().__init__(folders, **options)

    def size_options(self, truncate_dim: int | None) -> tuple[str, dict[str, Any]]:
        suffix = f"_{self.max_active_dims}" if self.max_active_dims is not None else ""
        return suffix, {"max_active_dims": self.max_active_dims}

    def aggregate_more(self, model: Any) -> dict[str, float]:
        """The sets' sparsity weighted by their sizes, and the FLOPS of all their queries and documents."""
        sizes = {
            "query": [len(e.queries) for e in self.evaluators],
            "corpus": [len(e.corpus) for e in self.evaluators],
        }
        stats = {}
        for key in self.evaluators[0].sparsity_stats:
            if key != "avg_flops":
                weights = sizes[key.split("_")[0]]
                values = [e.sparsity_stats[key] for e in self.evaluators]
                stats[key] = sum(v * w for v, w in zip(values, weights)) / sum(weights)
        counts = {group: sum(e.count_vectors[group] for e in self.evaluators) for group in sizes}
        stats["avg_flops"] = mean_flops(
            counts["query"], sum(sizes["query"]), counts["corpus"], sum(sizes["corpus"])
        )
        self.sparsity_stats = stats
        return stats

    def log_st_results(self, results: dict[str, float]) -> None:
        super().log_st_results(results)  # the aggregate without its sparsity, then the sparsity
        log_lines(ST_SPARSE_NANOBEIR, sparsity_lines(self.sparsity_stats))

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        return {**super().csv_columns(results), **self.sparsity_stats}

    def get_config_dict(self) -> dict[str, Any]:
        return with_max_active_dims(super().get_config_dict(), self.max_active_dims)
