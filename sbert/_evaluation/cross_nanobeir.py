"""sentence-transformers' ``CrossEncoderNanoBEIREvaluator``: a reranker scored on the hub's NanoBEIR sets,
each query's BM25 top ``rerank_k`` (the dataset's ``bm25`` subset) reranked by the model, per set and
aggregated over the sets.

Each set is one :class:`CrossEncoderRerankingEvaluator` named ``Nano<Set>_R<rerank_k>`` (its ``map``,
``mrr@k``, ``ndcg@k`` and the BM25 order's ``base_`` metrics); the aggregate of each metric over the sets is
``NanoBEIR_R<rerank_k>_<aggregate_key>_<metric>``, its ``ndcg@k`` the primary metric.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._st_loggers import ST_CROSS_ENCODER_NANOBEIR
from .base import Evaluator, append_csv_row, log_lines, note_evaluator_results, record_results
from .nanobeir import (
    NANOBEIR_DATASET,
    NANOBEIR_SETS,
    check_nanobeir_names,
    evaluating,
    load_nanobeir_subset,
    loading,
    nanobeir_split,
)
from .reranking import CrossEncoderRerankingEvaluator, reranked_card_metrics, reranked_lines

# sentence-transformers leaves these out by default: argument retrieval is a different task
NOT_BY_DEFAULT = ("arguana", "touche2020")


class CrossEncoderNanoBEIREvaluator(Evaluator):
    """Reranking of BM25's top ``rerank_k`` on NanoBEIR sets (all but ArguAna and Touche2020 by default),
    read from ``dataset_id`` with ``datasets`` (online, cached, or a local copy of the dataset).

    Example::

        from sbert import CrossEncoder
        from sbert.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator
        evaluator = CrossEncoderNanoBEIREvaluator(["msmarco", "nfcorpus"], rerank_k=100)
        results = evaluator(CrossEncoder("./my-reranker"))
        results[evaluator.primary_metric]  # NanoBEIR_R100_mean_ndcg@10
    """

    st_logger = ST_CROSS_ENCODER_NANOBEIR
    st_heading = "NanoBEIR Evaluation of the model on {evaluator.dataset_names} dataset{when}:"

    def __init__(
        self,
        dataset_names: Sequence[str] | None = None,
        dataset_id: str = NANOBEIR_DATASET,
        rerank_k: int = 100,
        at_k: int = 10,
        always_rerank_positives: bool = True,
        prompt_name: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        write_csv: bool = True,
        aggregate_fn: Callable[[list[float]], float] = np.mean,
        aggregate_key: str = "mean",
    ) -> None:
        if dataset_names is None:
            dataset_names = [name for name in NANOBEIR_SETS if name not in NOT_BY_DEFAULT]
        self.dataset_names = list(dataset_names)
        check_nanobeir_names(self.dataset_names)
        self.dataset_id, self.rerank_k, self.at_k = dataset_id, rerank_k, at_k
        self.always_rerank_positives, self.prompt_name = always_rerank_positives, prompt_name
        self.batch_size, self.show_progress_bar, self.write_csv = batch_size, show_progress_bar, write_csv
        self.aggregate_fn, self.aggregate_key = aggregate_fn, aggregate_key
        self.name = f"NanoBEIR_R{rerank_k:d}_{aggregate_key}"
        self.main_metric = f"ndcg@{at_k}"
        options = {
            "at_k": at_k,
            "always_rerank_positives": always_rerank_positives,
            "prompt_name": prompt_name,
        }
        options |= {"batch_size": batch_size, "show_progress_bar": show_progress_bar, "write_csv": write_csv}
        self.evaluators = [
            CrossEncoderRerankingEvaluator(
                self._samples(name), name=f"Nano{NANOBEIR_SETS[name.lower()]}_R{rerank_k}", **options
            )
            for name in loading(self.dataset_names)
        ]

    def _samples(self, name: str) -> list[dict[str, Any]]:
        """A set's reranking samples: each BM25 row's query, its relevant documents and its first
        ``rerank_k`` candidates, as texts."""
        split = nanobeir_split(name)
        corpus_rows = load_nanobeir_subset(self.dataset_id, "corpus", split, ("_id", "text"))
        corpus = dict(zip(corpus_rows["_id"], corpus_rows["text"]))
        query_rows = load_nanobeir_subset(self.dataset_id, "queries", split, ("_id", "text"))
        queries = dict(zip(query_rows["_id"], query_rows["text"]))
        relevant: dict[str, dict[str, None]] = {}
        for row in load_nanobeir_subset(self.dataset_id, "qrels", split, ("query-id", "corpus-id")):
            ids = row["corpus-id"] if isinstance(row["corpus-id"], list) else [row["corpus-id"]]
            relevant.setdefault(row["query-id"], {}).update(dict.fromkeys(ids))
        return [
            {
                "query": queries[row["query-id"]],
                "positive": [corpus[doc] for doc in relevant.get(row["query-id"], {})],
                "documents": [corpus[doc] for doc in row["corpus-ids"][: self.rerank_k]],
            }
            for row in load_nanobeir_subset(self.dataset_id, "bm25", split, ("query-id", "corpus-ids"))
        ]

    def __call__(
        self, model: Any, output_path: str | os.PathLike | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        results: dict[str, float] = {}
        per_metric: dict[str, list[float]] = {}
        self.log_st_heading(epoch, steps)
        for evaluator in evaluating(self.evaluators, self.show_progress_bar):
            log_lines(ST_CROSS_ENCODER_NANOBEIR, [f"Evaluating {evaluator.name}"])
            for key, value in evaluator(model, output_path, epoch, steps).items():
                results[key] = value
                per_metric.setdefault(key[len(evaluator.name) + 1 :], []).append(value)
            log_lines(ST_CROSS_ENCODER_NANOBEIR, [""])
        aggregated = {metric: float(self.aggregate_fn(values)) for metric, values in per_metric.items()}
        self.log_st_results(aggregated)
        if output_path is not None and self.write_csv:
            row = {"epoch": epoch, "steps": steps, "MAP": aggregated["map"]}
            row |= {f"MRR@{self.at_k}": aggregated[f"mrr@{self.at_k}"]}
            row |= {f"NDCG@{self.at_k}": aggregated[f"ndcg@{self.at_k}"]}
            append_csv_row(self.csv_path(output_path), row)
        reranked = ("map", f"mrr@{self.at_k}", f"ndcg@{self.at_k}")
        record_results(model, {self.key(metric): aggregated[metric] for metric in reranked})
        card = reranked_card_metrics(aggregated, self.at_k)  # "0.4167 (-0.0833)", as sentence-transformers
        card = {self.key(metric): value for metric, value in card.items()}
        note_evaluator_results(model, self, card, epoch, steps)
        self.settle_primary()
        return results | {self.key(metric): value for metric, value in aggregated.items()}

    def result_lines(self, results: dict[str, float]) -> list[str]:
        return ["CrossEncoderNanoBEIREvaluator: Aggregated Results:", *reranked_lines(results, self.at_k)]

    @property
    def default_csv_file(self) -> str:
        return f"NanoBEIR_evaluation_{self.aggregate_key}_results.csv"

    def csv_header_columns(self) -> list[str]:
        return ["MAP", f"MRR@{self.at_k}", f"NDCG@{self.at_k}"]

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "dataset_names": self.dataset_names,
            "dataset_id": self.dataset_id,
            "rerank_k": self.rerank_k,
            "at_k": self.at_k,
            "always_rerank_positives": self.always_rerank_positives,
        }
