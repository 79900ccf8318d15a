"""Hybrid search by reciprocal rank fusion of a dense and a sparse retriever's rankings:
sentence-transformers' ``ReciprocalRankFusionEvaluator``. It scores rankings computed beforehand (e.g. the
prediction files of two retrieval evaluators): no model, no torch."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..._errors import InputError, MissingFieldError
from ..._io.atomic import atomic_write_bytes
from ..._progress import tracked
from ..._search.fusion import fused_order, rrf_scores
from ..._st_loggers import ST_RECIPROCAL_RANK_FUSION
from .. import metrics
from ..base import Evaluator, append_csv_row, count_summary, log_lines
from ..reranking import ndcg_at_k

RETRIEVERS = ("dense", "sparse", "fusion")


class ReciprocalRankFusionEvaluator(Evaluator):
    """MAP, MRR@k and NDCG@k (primary) of a dense ranking, a sparse ranking, and their reciprocal rank fusion,
    per query, averaged: ``dense_map``, ``dense_mrr@10``, ``dense_ndcg@10``, ``sparse_...``, and ``map``,
    ``mrr@10``, ``ndcg@10`` for the fusion. MAP and NDCG count every known positive, also those neither
    retriever returned.

    A document's fused score is the sum, over the retrievers that returned it, of ``1 / (rrf_k + rank)``;
    ties keep the dense ranking's order, then the sparse one's.

    Called with no model, as sentence-transformers calls it: ``evaluator(output_path, epoch, steps)``; it
    writes ``ReciprocalRankFusion_evaluation_<name>_results.csv`` there, and with ``write_predictions`` the
    fused rankings (``..._predictions.jsonl``, one JSON line per query).

    Args:
        dense_samples, sparse_samples: one dict per query, in the same order: ``query_id``, ``query``,
            ``positive`` (a document or a list of them) and ``documents`` (the ranking, best first).
        at_k: the cut-off of MRR and NDCG (MAP reads the whole ranking).
        rrf_k: the constant of the fusion formula.

    Example::

        dense = [{"query_id": "q1", "query": "a", "positive": ["d1"], "documents": ["d2", "d1", "d3"]}]
        sparse = [{"query_id": "q1", "query": "a", "positive": ["d1"], "documents": ["d1", "d3", "d2"]}]
        ReciprocalRankFusionEvaluator(dense, sparse, name="hybrid")()["hybrid_ndcg@10"]
    """

    st_logger = ST_RECIPROCAL_RANK_FUSION

    def __init__(
        self,
        dense_samples: Sequence[Mapping[str, Any]],
        sparse_samples: Sequence[Mapping[str, Any]],
        at_k: int = 10,
        rrf_k: int = 60,
        name: str = "",
        batch_size: int = 32,
        show_progress_bar: bool = False,
        write_csv: bool = True,
        write_predictions: bool = False,
    ) -> None:
        _check_samples(dense_samples, sparse_samples)
        self.dense_samples, self.sparse_samples = list(dense_samples), list(sparse_samples)
        self.at_k, self.rrf_k, self.name = at_k, rrf_k, name
        self.batch_size, self.show_progress_bar = batch_size, show_progress_bar
        self.write_csv, self.write_predictions = write_csv, write_predictions
        self.main_metric = f"ndcg@{at_k}"
        self.fused: list[dict[str, Any]] = []  # the last call's fused rankings

    @property
    def default_csv_file(self) -> str:
        return f"ReciprocalRankFusion_evaluation{'_' + self.name if self.name else ''}_results.csv"

    @property
    def predictions_file(self) -> str:
        return self.csv_file.replace("_results.csv", "_predictions.jsonl")

    def __call__(  # type: ignore[override]
        self, output_path: str | os.PathLike | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        when = self.st_when(epoch, steps)
        heading = f"ReciprocalRankFusionEvaluator: Evaluating hybrid search on the {self.name} dataset{when}:"
        log_lines(self.st_logger, [heading, f"Processing {len(self.dense_samples)} samples"])
        results = self.compute()
        self.log_st_results(results)
        if output_path is not None:
            Path(output_path).mkdir(parents=True, exist_ok=True)
            if self.write_csv:
                append_csv_row(
                    self.csv_path(output_path), {"epoch": epoch, "steps": steps, **self.csv_columns(results)}
                )
            if self.write_predictions and self.fused:
                text = "".join(json.dumps(row) + "\n" for row in self.fused)
                path = os.path.join(output_path, self.predictions_file)
                atomic_write_bytes(Path(path), text.encode("utf-8"), durable=False)
                log_lines(self.st_logger, [f"Wrote fused ranking predictions to {path}"])
        self.settle_primary()
        return {self.key(metric): value for metric, value in results.items()}

    def compute(self, model: Any = None) -> dict[str, float]:
        """The three retrievers' mean metrics over the queries (``model`` is not used)."""
        found: dict[str, list[tuple[float, float, float]]] = {retriever: [] for retriever in RETRIEVERS}
        self.fused = []
        pairs = zip(self.dense_samples, self.sparse_samples)
        show, total = bool(self.show_progress_bar), len(self.dense_samples)
        for dense, sparse in tracked(pairs, desc="Evaluating", show=show, total=total):
            positive = [dense["positive"]] if isinstance(dense["positive"], str) else list(dense["positive"])
            fused = fused_order(rrf_scores([dense["documents"], sparse["documents"]], self.rrf_k))
            for retriever, ranking in zip(RETRIEVERS, (dense["documents"], sparse["documents"], fused)):
                relevant = [int(document in positive) for document in ranking]
                found[retriever].append(
                    self.compute_metrics(relevant, np.arange(len(ranking), 0, -1), len(positive))
                )
            if self.write_predictions:
                row = {"query_id": dense["query_id"], "query": dense["query"], "positive": positive}
                self.fused.append({**row, "documents": fused})
        results = {}
        for retriever, scores in found.items():
            prefix = "" if retriever == "fusion" else f"{retriever}_"
            mrr, ndcg, ap = (float(np.mean(column)) for column in zip(*scores))
            results.update(
                {f"{prefix}map": ap, f"{prefix}mrr@{self.at_k}": mrr, f"{prefix}ndcg@{self.at_k}": ndcg}
            )
        return results

    def result_lines(self, results: dict[str, float]) -> list[str]:
        """sentence-transformers' table of the three retrievers' metrics."""
        positives = [1 if isinstance(d["positive"], str) else len(d["positive"]) for d in self.dense_samples]
        rule, k = "=" * 75, self.at_k
        lines = [f"Queries: {len(positives)}\tPositives: {count_summary(positives)}", rule]
        lines += [
            f"{'Metric':<7} | {'Dense':^8} | {'Sparse':^8} | {'Fusion':^8} | {'Gain vs Dense':^13} | "
            f"{'Gain vs Sparse':^14} |",
            "-" * 75,
        ]
        for label, metric in (
            ("MAP    ", "map"),
            (f"MRR@{k:<3}", f"mrr@{k}"),
            (f"NDCG@{k:<2}", f"ndcg@{k}"),
        ):
            dense, sparse, fusion = (results[f"{p}{metric}"] for p in ("dense_", "sparse_", ""))
            lines.append(
                f"{label} | {dense:>8.2%} | {sparse:>8.2%} | {fusion:>8.2%} | {fusion - dense:>+13.2%} | "
                f"{fusion - sparse:>+14.2%} |"
            )
        return [*lines, rule]

    def compute_metrics(
        self, y_true: Sequence[int], y_pred: Sequence[float], num_positives: int | None = None
    ) -> tuple[float, float, float]:
        """``(mrr, ndcg, ap)`` of one ranking: relevance ``y_true`` of documents scored ``y_pred``;
        ``num_positives`` counts the relevant documents, those the ranking missed too (default: the ones
        in it). sentence-transformers' helper, with its argument names."""
        labels, scores = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred)
        retrieved = int(labels.sum())
        if retrieved == 0:
            return 0.0, 0.0, 0.0
        positives = max(num_positives or 0, retrieved)
        ap = metrics.average_precision(scores, labels) * retrieved / positives
        if self.at_k == 0:
            return 0.0, 0.0, ap
        hits = np.flatnonzero(labels[np.argsort(scores)[::-1][: self.at_k]])
        mrr = 1 / (hits[0] + 1) if len(hits) else 0.0
        return float(mrr), ndcg_at_k(labels, scores, self.at_k, positives), ap

    def csv_header_columns(self) -> list[str]:
        names = ("MAP", f"MRR@{self.at_k}", f"NDCG@{self.at_k}")
        return [f"{retriever.capitalize()}_{name}" for retriever in RETRIEVERS for name in names]

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        """sentence-transformers' columns: ``Dense_MAP``, ``Dense_MRR@k``, ..., ``Fusion_NDCG@k``."""
        columns = {}
        for retriever in RETRIEVERS:
            prefix = "" if retriever == "fusion" else f"{retriever}_"
            for name in ("MAP", f"MRR@{self.at_k}", f"NDCG@{self.at_k}"):
                columns[f"{retriever.capitalize()}_{name}"] = results[prefix + name.lower()]
        return columns

    def get_config_dict(self) -> dict[str, Any]:
        return {"at_k": self.at_k, "rrf_k": self.rrf_k, "write_predictions": self.write_predictions}


def _check_samples(dense: Sequence[Mapping[str, Any]], sparse: Sequence[Mapping[str, Any]]) -> None:
    if len(dense) != len(sparse):
        raise InputError(
            f"Dense samples ({len(dense)}) and sparse samples ({len(sparse)}) must have the same length: one "
            "per query, in the same order."
        )
    for i, (first, second) in enumerate(zip(dense, sparse)):
        missing = [
            key
            for key in ("query_id", "query", "positive", "documents")
            if key not in first or key not in second
        ]
        if missing:
            # query_id is checked up front there (a ValueError); the others are read later (a KeyError)
            kind = InputError if missing[0] == "query_id" else MissingFieldError
            raise kind(
                f"Sample at index {i} missing {missing[0]!r} field (each needs query_id, query, positive, "
                "documents)."
            )
        if first["query_id"] != second["query_id"]:
            raise InputError(f"Query ID mismatch at index {i}: {first['query_id']} != {second['query_id']}")
