"""Reranking by embeddings: each query's candidate documents sorted by similarity to the query."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import InputError
from .._progress import tracked
from .._st_loggers import ST_RERANKING
from . import metrics
from .base import Evaluator, as_torch, count_summary
from .reranking import ndcg_at_k, ranking_csv_columns


class RerankingEvaluator(Evaluator):
    """Rerank each query's positives and negatives by similarity to the query: MAP, MRR@k and NDCG@k
    (primary).

    ``samples``: dicts (or a dict of dicts) with ``query``, ``positive`` and ``negative``, each of the last
    two a text or a list of texts; samples without a positive or without a negative are left out. Queries
    are embedded with the model's ``encode_query`` and documents with ``encode_document`` (their prompts),
    and scored with the model's similarity function, or ``similarity_fct`` (called as
    sentence-transformers calls it: on torch tensors, the query a vector). Keys ``map``, ``mrr@{at_k}``,
    ``ndcg@{at_k}``; the CSV, ``RerankingEvaluator_{name}_results_@{at_k}.csv``, has columns ``MAP``,
    ``MRR@{at_k}``, ``NDCG@{at_k}``. As in sentence-transformers, ``samples`` holds the samples as dicts
    with lists of texts, and a subclass may override ``compute_metrics`` (or its ``compute_metrics_batched``
    / ``compute_metrics_individual`` steps, each ``{"map", "mrr", "ndcg"}``) and ``embed_inputs``.

    Args:
        at_k: the cut-off of MRR and NDCG (``mrr_at_k``, its older name, wins when given).
        use_batched_encoding: embed all samples together (default) or one sample at a time (less memory).

    Example::

        from sbert import SentenceTransformer
        from sbert.evaluation import RerankingEvaluator
        samples = [{"query": "capital of France", "positive": ["Paris is its capital."],
                    "negative": ["Cats purr.", "Berlin is in Germany."]}]
        RerankingEvaluator(samples, name="dev")(SentenceTransformer())["dev_ndcg@10"]
    """

    csv_stem = "RerankingEvaluator"  # sentence-transformers' file name, its sparse subclass's too
    st_logger = ST_RERANKING
    st_heading = "RerankingEvaluator: Evaluating the model on the {name} dataset{when}:"

    def __init__(
        self,
        samples: Sequence[Mapping[str, Any]] | Mapping[Any, Mapping[str, Any]],
        at_k: int = 10,
        name: str = "",
        write_csv: bool = True,
        similarity_fct: Callable[[Any, Any], Any] | None = None,
        batch_size: int = 64,
        show_progress_bar: bool = False,
        use_batched_encoding: bool = True,
        truncate_dim: int | None = None,
        mrr_at_k: int | None = None,
    ) -> None:
        where = f"RerankingEvaluator({name})"
        samples = list(samples.values()) if isinstance(samples, Mapping) else list(samples)
        # sentence-transformers' form, which subclasses read: each sample a dict, its texts lists
        found = [_sample(sample, i, where) for i, sample in enumerate(samples)]
        self.samples = [sample for sample in found if sample["positive"] and sample["negative"]]
        if not self.samples:
            raise InputError(f"{where}: no sample has both a positive and a negative document to rank.")
        self.at_k = mrr_at_k if mrr_at_k is not None else at_k
        self.name, self.write_csv, self.similarity_fct = name, write_csv, similarity_fct
        self.batch_size, self.show_progress_bar = batch_size, show_progress_bar
        self.use_batched_encoding, self.truncate_dim = use_batched_encoding, truncate_dim
        self.main_metric = f"ndcg@{self.at_k}"

    def compute(self, model: Any) -> dict[str, float]:
        found = self.compute_metrics(model)  # a subclass's where it overrides it, as sentence-transformers
        k = self.at_k
        return {"map": found["map"], f"mrr@{k}": found["mrr"], f"ndcg@{k}": found["ndcg"]}

    def compute_metrics(self, model: Any) -> dict[str, float]:
        """sentence-transformers' step a subclass overrides: ``{"map", "mrr", "ndcg"}`` (MRR and NDCG at
        ``at_k``) by :meth:`compute_metrics_batched` or, with ``use_batched_encoding=False``,
        :meth:`compute_metrics_individual`."""
        if self.use_batched_encoding:
            return self.compute_metrics_batched(model)
        return self.compute_metrics_individual(model)

    def compute_metrics_batched(self, model: Any) -> dict[str, float]:
        """The metrics with every query embedded in one call and every document in another."""
        return self.ranking_metrics(model, [self.samples], batched=True)

    def compute_metrics_individual(self, model: Any) -> dict[str, float]:
        """The metrics with each sample embedded on its own (less memory), under a "Samples" bar."""
        groups = tracked([[s] for s in self.samples], desc="Samples", show=bool(self.show_progress_bar))
        return self.ranking_metrics(model, groups, batched=False)

    # sentence-transformers' older names, bound to the methods above as there: overriding one changes nothing
    compute_metrices = compute_metrics
    compute_metrices_batched = compute_metrics_batched
    compute_metrices_individual = compute_metrics_individual

    def ranking_metrics(self, model: Any, groups: Iterable[list[Any]], *, batched: bool) -> dict[str, float]:
        """MAP, MRR and NDCG averaged over the samples, each group of samples embedded together."""
        found = []
        for query, positive, documents in self.embedded(model, groups, batched=batched):
            scores = self.scores(model, query, documents)
            relevance = np.r_[np.ones(positive), np.zeros(len(documents) - positive)]
            ranked = relevance[np.argsort(-scores, kind="stable")[: self.at_k]]
            hits = np.flatnonzero(ranked)
            mrr = 1 / (hits[0] + 1) if len(hits) else 0.0
            ap = metrics.average_precision(scores, relevance)
            found.append((ap, mrr, ndcg_at_k(relevance, scores, self.at_k)))
        ap, mrr, ndcg = (float(np.mean(column)) for column in zip(*found))
        return {"map": ap, "mrr": mrr, "ndcg": ndcg}

    def result_lines(self, results: dict[str, float]) -> list[str]:
        positives = [len(sample["positive"]) for sample in self.samples]
        negatives = [len(sample["negative"]) for sample in self.samples]
        k = self.at_k
        return [
            f"Queries: {len(self.samples)} \t Positives: {count_summary(positives)} \t "
            f"Negatives: {count_summary(negatives)}",
            f"MAP: {results['map'] * 100:.2f}",
            f"MRR@{k}: {results[f'mrr@{k}'] * 100:.2f}",
            f"NDCG@{k}: {results[f'ndcg@{k}'] * 100:.2f}",
        ]

    def embedded(
        self, model: Any, groups: Iterable[list[Any]], *, batched: bool
    ) -> Iterator[tuple[Any, int, Any]]:
        """Per sample: the query's embedding as sentence-transformers hands it to ``similarity_fct`` (a row
        of the batch, or the one-row batch of a sample embedded on its own), its number of positives, its
        documents' embeddings (positives first)."""
        options = {"progress": batched, "truncate_dim": self.truncate_dim}

        def embed(texts: list[str], role: str) -> Any:  # a subclass's embed_inputs where it has one
            show = self.show_progress_bar if batched else False  # what sentence-transformers hands it
            found = self.embedded_by_user(model, texts, role, show_progress_bar=show)
            return found if found is not None else self.embed_texts(model, texts, role=role, **options)

        for group in groups:
            queries = embed([sample["query"] for sample in group], "query")
            documents = embed([text for sample in group for text in _documents(sample)], "document")
            offset = 0
            for i, sample in enumerate(group):
                end = offset + len(_documents(sample))
                query = self.take_rows(queries, [i])
                yield (
                    query[0] if batched else query,
                    len(sample["positive"]),
                    self.take_rows(documents, range(offset, end)),
                )
                offset = end

    def embed_inputs(
        self,
        model: Any,
        sentences: Sequence[str],
        encode_fn_name: str | None = None,
        show_progress_bar: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """sentence-transformers' embedding step, which a subclass overrides or calls: as every evaluator's
        (with the evaluator's bar where ``show_progress_bar``), as a torch tensor, as there."""
        kwargs["progress"] = bool(show_progress_bar)
        return as_torch(super().embed_inputs(model, sentences, encode_fn_name, **kwargs))

    def scores(self, model: Any, query: np.ndarray, documents: np.ndarray) -> np.ndarray:
        """``(n,)`` similarity of the query to each document."""
        if self.similarity_fct is None:
            return np.asarray(model.similarity(query, documents), dtype=np.float64).reshape(-1)
        import torch  # sentence-transformers' similarity_fct takes and returns tensors

        scores = self.similarity_fct(*self.similarity_inputs(query, documents))
        scores = scores.detach().cpu().numpy() if isinstance(scores, torch.Tensor) else np.asarray(scores)
        return (scores[0] if scores.ndim > 1 else scores).astype(np.float64)

    def similarity_inputs(self, query: Any, documents: Any) -> tuple[Any, Any]:
        """The query and documents as sentence-transformers hands them to a ``similarity_fct``: tensors."""
        import torch

        return torch.as_tensor(query), torch.as_tensor(documents)

    def get_config_dict(self) -> dict[str, Any]:
        return {"at_k": self.at_k, **super().get_config_dict()}  # as sentence-transformers' card lists it

    @property
    def default_csv_file(self) -> str:
        return super().default_csv_file.replace("_results.csv", f"_results_@{self.at_k}.csv")

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        return ranking_csv_columns(results, self.at_k)

    def csv_header_columns(self) -> list[str]:
        return list(ranking_csv_columns({}, self.at_k))


def _sample(sample: Mapping[str, Any], i: int, where: str) -> dict[str, Any]:
    """The sample with its positive and negative texts as lists, as sentence-transformers keeps it (a single
    text stands for a list of one)."""
    missing = [key for key in ("query", "positive", "negative") if key not in sample]
    if missing:
        raise InputError(
            f"{where}: samples[{i}] has no {missing[0]!r}; each needs query, positive, negative."
        )

    def texts(value: Any) -> list[str]:
        return [value] if isinstance(value, str) else list(value)

    return {**sample, "positive": texts(sample["positive"]), "negative": texts(sample["negative"])}


def _documents(sample: Mapping[str, Any]) -> list[str]:
    """A sample's texts to rank: its positives, then its negatives."""
    return [*sample["positive"], *sample["negative"]]
