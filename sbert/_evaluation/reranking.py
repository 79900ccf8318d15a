"""Evaluators of cross-encoders (anything with ``predict(pairs)``): score correlation, pair
classification, reranking, and a bi-encoder's top-k reranked on a BEIR-style set.

Names, metric keys and definitions follow ``sentence_transformers.cross_encoder.evaluation`` (tests compare
them); as every sbert evaluator, scores are reported as there (fractions) and thresholds as raw model scores.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import InputError, InputTypeError, warn_at_caller
from .._search.fusion import reciprocal_rank_fusion
from .._st_loggers import (
    ST_CROSS_ENCODER_CLASSIFICATION,
    ST_CROSS_ENCODER_CORRELATION,
    ST_CROSS_ENCODER_RERANKING,
)
from .._st_signature import st_positional
from . import metrics
from .base import Evaluator, check_lengths, count_summary
from .retrieval import InformationRetrievalEvaluator


def predict(
    model: Any,
    pairs: Sequence[Sequence[str]],
    batch_size: int,
    show_progress_bar: bool | None = False,
    prompt_name: str | None = None,
) -> np.ndarray:
    """The model's scores of ``pairs`` (``(n,)`` or ``(n, labels)``) by its ``predict`` (which puts it in
    eval mode and leaves it so, as sentence-transformers' evaluators leave it); ``prompt_name``: one of the
    model's prompts before each query (sentence-transformers' option)."""
    pairs = [tuple(p) for p in pairs]
    options = {"prompt_name": prompt_name} if prompt_name is not None else {}
    scores = model.predict(pairs, batch_size=batch_size, show_progress_bar=show_progress_bar, **options)
    return np.asarray(scores)


def first_scores(
    where: str,
    model: Any,
    pairs: Sequence[Sequence[str]],
    batch_size: int,
    show_progress_bar: bool | None,
    prompt_name: str | None = None,
) -> np.ndarray:
    """``(n,)``: each pair's score, the relevance score of a one-label reranker. A model that gives several
    scores per pair cannot rank documents: refused (``where`` names the evaluator), a ``TypeError`` as
    sentence-transformers' ranking of the 2-D scores raises."""
    scores = predict(model, pairs, batch_size, show_progress_bar, prompt_name).reshape(len(pairs), -1)
    if scores.shape[1] != 1:
        raise InputTypeError(
            f"{where}: the model gives {scores.shape[1]} scores per pair; ranking needs 1 (a reranker with "
            "num_labels=1)."
        )
    return scores[:, 0]


def _pairs(where: str, sentence_pairs: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    out = []
    for i, pair in enumerate(sentence_pairs):
        if len(pair) != 2 or not all(isinstance(text, str) for text in pair):
            raise InputError(f"{where}: sentence_pairs[{i}] must be two texts, got {pair!r}.")
        out.append((pair[0], pair[1]))
    return out


class ScoredPairsEvaluator(Evaluator):
    """The base of the evaluators on pairs with one gold value each: the checked pairs and options."""

    example_fields = ("texts", "label")  # sentence-transformers' from_input_examples
    csv_names: dict[str, str] = {}  # result key -> sentence-transformers' CSV column, in its order

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        return {column: results[key] for key, column in self.csv_names.items() if key in results}

    def csv_header_columns(self) -> list[str]:
        return list(self.csv_names.values())

    def __init__(
        self,
        sentence_pairs: Sequence[Sequence[str]],
        gold: Sequence[Any],
        name: str,
        batch_size: int,
        show_progress_bar: bool | None,
    ):
        where = f"{type(self).__name__}({name})"
        check_lengths(where, sentence_pairs=sentence_pairs, gold=gold)
        self.sentence_pairs = _pairs(where, sentence_pairs)
        self.name, self.batch_size = name, batch_size
        if show_progress_bar is None:  # as sentence-transformers: a bar where its logger shows INFO records
            level = logging.getLogger(self.st_logger).getEffectiveLevel()
            show_progress_bar = level in (logging.INFO, logging.DEBUG)
        self.show_progress_bar = bool(show_progress_bar)


@st_positional(
    "sentence_pairs", "scores", "name", "prompt_name", "batch_size", "show_progress_bar", "write_csv"
)
class CrossEncoderCorrelationEvaluator(ScoredPairsEvaluator):
    """Pearson and Spearman correlation of the predicted score of each pair with a gold score.

    Keys ``pearson`` and ``spearman`` (primary). Scores may be on any scale.

    Example::

        from sbert import CrossEncoder
        from sbert.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator
        evaluator = CrossEncoderCorrelationEvaluator(
            [("A man plays guitar.", "A man plays music."), ("A cat sleeps.", "A dog runs.")], [4.6, 0.4],
            name="sts-dev",
        )
        evaluator(CrossEncoder("./my-reranker"))  # {"sts-dev_pearson": ..., "sts-dev_spearman": ...}
    """

    main_metric = "spearman"
    # sentence-transformers' file name, kept by subclasses (its deprecated CECorrelationEvaluator too)
    csv_stem = "CrossEncoderCorrelationEvaluator"
    csv_names = {"pearson": "Pearson_Correlation", "spearman": "Spearman_Correlation"}
    st_logger = ST_CROSS_ENCODER_CORRELATION
    st_heading = "CrossEncoderCorrelationEvaluator: Evaluating the model on {name} dataset{when}:"

    def result_lines(self, results: dict[str, float]) -> list[str]:
        return [f"Correlation:\tPearson: {results['pearson']:.4f}\tSpearman: {results['spearman']:.4f}"]

    def __init__(
        self,
        sentence_pairs: Sequence[Sequence[str]],
        scores: Sequence[float],
        name: str = "",
        *,
        prompt_name: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        write_csv: bool = True,
    ) -> None:
        super().__init__(sentence_pairs, scores, name, batch_size, show_progress_bar)
        self.scores = np.asarray(scores, dtype=np.float64)
        self.write_csv, self.prompt_name = write_csv, prompt_name

    def compute(self, model: Any) -> dict[str, float]:
        pairs, batch_size, progress = self.sentence_pairs, self.batch_size, self.show_progress_bar
        predicted = predict(model, pairs, batch_size, progress, self.prompt_name)
        predicted = predicted.astype(np.float64)
        if predicted.ndim != 1:
            raise InputError(
                f"{self.describe()}: the model gives {predicted.shape[1]} scores per pair; need 1."
            )
        pearson, spearman = metrics.correlations(predicted, self.scores, self.describe())
        return {"pearson": pearson, "spearman": spearman}


class CrossEncoderClassificationEvaluator(ScoredPairsEvaluator):
    """Classification of pairs by the model's scores (thresholds are raw scores).

    With one output (binary labels 0/1) the best accuracy and F1 thresholds are searched on the data:
    ``accuracy``, ``accuracy_threshold``, ``f1``, ``f1_threshold``, ``precision``, ``recall``,
    ``average_precision`` (primary). With several outputs the predicted class is the argmax:
    ``f1_macro`` (primary), ``f1_micro``, ``f1_weighted``.

    Example::

        evaluator = CrossEncoderClassificationEvaluator(
            [("A man eats.", "Someone eats."), ("A man eats.", "Nobody eats.")], [0, 2], name="nli-dev"
        )
        evaluator(CrossEncoder("./my-nli-model"))["nli-dev_f1_macro"]
    """

    # None until a call (sentence-transformers' has no primary_metric before one; a model's outputs decide)
    st_primary_from_call = True
    # sentence-transformers' file name, kept by subclasses (its deprecated CEF1Evaluator, ... too)
    csv_stem = "CrossEncoderClassificationEvaluator"
    BINARY_CSV = {
        "accuracy": "Accuracy",
        "accuracy_threshold": "Accuracy_Threshold",
        "f1": "F1",
        "f1_threshold": "F1_Threshold",
        "precision": "Precision",
        "recall": "Recall",
        "average_precision": "Average_Precision",
    }
    CLASSES_CSV = {"f1_macro": "Macro_F1", "f1_micro": "Micro_F1", "f1_weighted": "Weighted_F1"}
    st_logger = ST_CROSS_ENCODER_CLASSIFICATION
    st_heading = "CrossEncoderClassificationEvaluator: Evaluating the model on {name} dataset{when}:"

    def result_lines(self, results: dict[str, float]) -> list[str]:
        if "f1_macro" in results:
            return [
                f"Macro F1:           {results['f1_macro'] * 100:.2f}",
                f"Micro F1:           {results['f1_micro'] * 100:.2f}",
                f"Weighted F1:        {results['f1_weighted'] * 100:.2f}",
            ]
        return [
            f"Accuracy:          {results['accuracy'] * 100:.2f}\t"
            f"(Threshold: {results['accuracy_threshold']:.4f})",
            f"F1:                {results['f1'] * 100:.2f}\t(Threshold: {results['f1_threshold']:.4f})",
            f"Precision:         {results['precision'] * 100:.2f}",
            f"Recall:            {results['recall'] * 100:.2f}",
            f"Average Precision: {results['average_precision'] * 100:.2f}",
        ]

    @property
    def csv_names(self) -> dict[str, str]:  # type: ignore[override]
        return self.BINARY_CSV if self.main_metric == "average_precision" else self.CLASSES_CSV

    def __init__(
        self,
        sentence_pairs: Sequence[Sequence[str]],
        labels: Sequence[int],
        *,
        name: str = "",
        prompt_name: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        write_csv: bool = True,
        **kwargs: Any,
    ) -> None:
        if kwargs:  # sentence-transformers takes and ignores them (the older evaluators' threshold, ...)
            warn_at_caller(f"{type(self).__name__} ignores {sorted(kwargs)}, as sentence-transformers does.")
        super().__init__(sentence_pairs, labels, name, batch_size, show_progress_bar)
        self.labels = np.asarray(labels).astype(np.int64)
        self.write_csv, self.prompt_name = write_csv, prompt_name
        self.main_metric = "average_precision"  # f1_macro once a model with several labels is seen

    def compute(self, model: Any) -> dict[str, float]:
        pairs, batch_size, progress = self.sentence_pairs, self.batch_size, self.show_progress_bar
        predicted = predict(model, pairs, batch_size, progress, self.prompt_name)
        if predicted.ndim == 1 or predicted.shape[1] == 1:
            self.main_metric = "average_precision"
            return self._binary(predicted.reshape(-1).astype(np.float64))
        self.main_metric = "f1_macro"
        return dict(f1_scores(self.labels, predicted.argmax(1)))

    def _binary(self, scores: np.ndarray) -> dict[str, float]:
        if not np.isin(self.labels, (0, 1)).all():
            raise InputError(f"{self.describe()}: a model with one output needs labels 0 and 1.")
        accuracy, accuracy_threshold = metrics.best_accuracy_threshold(scores, self.labels)
        f1, precision, recall, f1_threshold = metrics.best_f1_threshold(scores, self.labels)
        return {
            "accuracy": accuracy,
            "accuracy_threshold": accuracy_threshold,
            "f1": f1,
            "f1_threshold": f1_threshold,
            "precision": precision,
            "recall": recall,
            "average_precision": metrics.average_precision(scores, self.labels),
        }


def ranking_csv_columns(results: dict[str, float], at_k: int) -> dict[str, Any]:
    """A reranking evaluator's CSV row as sentence-transformers writes it: ``MAP``, ``MRR@k``, ``NDCG@k``
    (the column names alone, values None, for empty ``results``)."""
    keys = {"MAP": "map", f"MRR@{at_k}": f"mrr@{at_k}", f"NDCG@{at_k}": f"ndcg@{at_k}"}
    return {column: results.get(key) for column, key in keys.items()}


def f1_scores(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Macro, micro and support-weighted F1 over the classes seen in either array (scikit-learn's)."""
    classes = np.union1d(labels, predicted)
    true_positive = np.array([np.sum((predicted == c) & (labels == c)) for c in classes], dtype=np.float64)
    predicted_count = np.array([np.sum(predicted == c) for c in classes], dtype=np.float64)
    support = np.array([np.sum(labels == c) for c in classes], dtype=np.float64)
    denominator = predicted_count + support
    f1 = np.divide(2 * true_positive, denominator, out=np.zeros_like(denominator), where=denominator > 0)
    return {
        "f1_macro": float(f1.mean()),
        "f1_micro": float(true_positive.sum() / len(labels)),  # single-label: micro F1 is accuracy
        "f1_weighted": float((f1 * support).sum() / support.sum()),
    }


def ndcg_at_k(relevance: np.ndarray, scores: np.ndarray, k: int, positives: int | None = None) -> float:
    """NDCG@k of one ranking by ``scores``, tied scores sharing their gain (scikit-learn's ``dcg_score``).
    ``positives``: how many relevant documents exist, including any the ranking missed (binary relevance):
    the ideal ranking has that many first; default: the relevant ones in ``relevance``."""
    relevance = np.asarray(relevance, dtype=np.float64)
    discount = 1 / np.log2(np.arange(len(relevance)) + 2)
    discount[k:] = 0
    if positives is None:
        ideal = float(np.sort(relevance)[::-1] @ discount)
    else:
        ideal = float((1 / np.log2(np.arange(min(positives, k)) + 2)).sum())
    if ideal == 0:
        return 0.0
    _, group, counts = np.unique(-np.asarray(scores), return_inverse=True, return_counts=True)
    gain = np.zeros(len(counts))
    np.add.at(gain, group.reshape(-1), relevance)
    ends = np.cumsum(counts) - 1
    group_discount = np.diff(np.r_[0.0, np.cumsum(discount)[ends]])
    return float((gain / counts * group_discount).sum() / ideal)


@st_positional(
    "samples",
    "at_k",
    "always_rerank_positives",
    "name",
    "prompt_name",
    "batch_size",
    "show_progress_bar",
    "write_csv",
    "mrr_at_k",
)
class CrossEncoderRerankingEvaluator(Evaluator):
    """Reranking: each query's documents sorted by the model's score; MAP, MRR@k, NDCG@k (primary).

    ``samples``: dicts with ``query``, ``positive`` (a text or a list) and either ``negative`` (a list) or
    ``documents`` (a first-stage ranking, best first, that may contain the positives). With ``documents``
    the ranking as given is scored too (``base_map``, ``base_mrr@k``, ``base_ndcg@k``), and
    ``always_rerank_positives=False`` reranks only the positives the documents contain (a realistic
    figure) instead of adding every positive (the default, which makes 100 reachable); positives the
    documents lack then count as never found in NDCG and MAP (sentence-transformers 6.3's scoring).

    Example::

        samples = [{"query": "capital of France", "positive": ["Paris is its capital."],
                    "negative": ["Cats purr.", "Berlin is in Germany."]}]
        CrossEncoderRerankingEvaluator(samples, name="dev")(CrossEncoder("./my-reranker"))["dev_ndcg@10"]
    """

    # sentence-transformers' file name, kept by subclasses (its deprecated CERerankingEvaluator too)
    csv_stem = "CrossEncoderRerankingEvaluator"
    st_logger = ST_CROSS_ENCODER_RERANKING
    st_heading = "CrossEncoderRerankingEvaluator: Evaluating the model on the {name} dataset{when}:"

    def __init__(
        self,
        samples: Sequence[Mapping[str, Any]] | Mapping[Any, Mapping[str, Any]],
        at_k: int = 10,
        always_rerank_positives: bool = True,
        name: str = "",
        prompt_name: str | None = None,
        *,
        batch_size: int = 64,
        show_progress_bar: bool = False,
        write_csv: bool = True,
        mrr_at_k: int | None = None,
    ) -> None:
        at_k = mrr_at_k if mrr_at_k is not None else at_k  # sentence-transformers' deprecated name of at_k
        self.prompt_name = prompt_name
        self.samples = list(samples.values()) if isinstance(samples, Mapping) else list(samples)
        if not self.samples:
            raise InputError(f"{type(self).__name__}({name}): no samples to evaluate on.")
        for i, sample in enumerate(self.samples):
            if "query" not in sample or "positive" not in sample:
                raise InputError(f"{type(self).__name__}: samples[{i}] needs 'query' and 'positive' keys.")
            if ("negative" in sample) == ("documents" in sample):
                raise InputError(
                    f"{type(self).__name__}: samples[{i}] needs exactly one of 'negative' and 'documents'."
                )
        self.at_k, self.always_rerank_positives = at_k, always_rerank_positives
        self.name, self.batch_size, self.write_csv = name, batch_size, write_csv
        self.show_progress_bar = bool(show_progress_bar)
        self.main_metric = f"ndcg@{at_k}"

    def get_config_dict(self) -> dict[str, Any]:
        # sentence-transformers' card: at_k, and the rerank option where it applies (samples with documents)
        config: dict[str, Any] = {"at_k": self.at_k}
        if "documents" in self.samples[0]:
            config["always_rerank_positives"] = self.always_rerank_positives
        return config

    def candidates(self, sample: Mapping[str, Any]) -> tuple[list[str], list[int], list[int] | None, int]:
        """The documents to score, their relevance, the relevance of the given ranking (or None), and how
        many positives the sample has."""
        positive = [sample["positive"]] if isinstance(sample["positive"], str) else list(sample["positive"])
        if sample.get("documents") is None:
            negative = list(sample["negative"])
            return positive + negative, [1] * len(positive) + [0] * len(negative), None, len(positive)
        documents = list(sample["documents"])
        base = [int(doc in positive) for doc in documents]
        if not self.always_rerank_positives:
            return documents, base, base, len(positive)
        docs = positive + [doc for doc in documents if doc not in positive]
        return docs, [1] * len(positive) + [0] * (len(docs) - len(positive)), base, len(positive)

    def ranking_scores(
        self, relevance: Sequence[int], scores: np.ndarray, positives: int
    ) -> tuple[float, float, float]:
        """(MRR@k, NDCG@k, AP) of one ranking; 0 when no document is relevant. Positives the ranking lacks
        (``positives`` counts them) lower NDCG and AP as never found, as sentence-transformers 6.3 scores."""
        retrieved = int(sum(relevance))
        if retrieved == 0:
            return 0.0, 0.0, 0.0
        positives = max(positives, retrieved)
        relevant = np.asarray(relevance)
        order = np.argsort(scores, kind="stable")[::-1][: self.at_k]
        hits = np.flatnonzero(relevant[order])
        mrr = 1 / (hits[0] + 1) if len(hits) else 0.0
        ndcg = ndcg_at_k(relevant, scores, self.at_k, positives)
        return mrr, ndcg, metrics.average_precision(scores, relevant) * retrieved / positives

    def compute_metrics(
        self, y_true: Sequence[int], y_pred: Sequence[float], num_positives: int | None = None
    ) -> tuple[float, float, float]:
        """sentence-transformers' name for :meth:`ranking_scores`: (MRR@k, NDCG@k, AP) of one ranking of
        relevance ``y_true`` by scores ``y_pred``, ``num_positives`` counting the positives it lacks.

        The values come as sentence-transformers 6.3 returns them: the int ``0`` for all three when nothing
        is relevant, MRR a float (the int ``0`` when no positive is in the top k), NDCG a numpy float, and
        AP a numpy float when ``sum(y_true)`` is a numpy number (a numpy ``y_true``), else a float."""
        retrieved = sum(y_true)
        if retrieved == 0:
            return 0, 0, 0
        mrr, ndcg, ap = self.ranking_scores(y_true, np.asarray(y_pred, dtype=np.float64), num_positives or 0)
        ap_type = np.float64 if isinstance(retrieved, np.generic) else float
        return (float(mrr) if mrr else 0), np.float64(ndcg), ap_type(ap)

    def compute(self, model: Any) -> dict[str, float]:
        prepared = [(sample["query"], *self.candidates(sample)) for sample in self.samples]
        pairs = [(query, doc) for query, docs, relevance, *_ in prepared if sum(relevance) for doc in docs]
        options = (self.batch_size, self.show_progress_bar, self.prompt_name)
        scores = first_scores(self.describe(), model, pairs, *options) if pairs else None
        found, base, offset = [], [], 0
        for _, docs, relevance, base_relevance, positives in prepared:
            if sum(relevance):
                found.append(self.ranking_scores(relevance, scores[offset : offset + len(docs)], positives))
                offset += len(docs)
            else:
                found.append((0.0, 0.0, 0.0))
            if base_relevance is not None:  # the given order: strictly decreasing scores
                given = np.arange(len(base_relevance), 0, -1)
                base.append(self.ranking_scores(base_relevance, given, positives))
        results = self._means(found, "")
        if base:
            results.update(self._means(base, "base_"))
        return results

    @property
    def csv_file(self) -> str:
        return super().csv_file.replace("_results.csv", f"_results_@{self.at_k}.csv")

    def result_lines(self, results: dict[str, float]) -> list[str]:
        positives, negatives = [], []
        for sample in self.samples:
            _, relevance, _, count = self.candidates(sample)
            positives.append(count)
            negatives.append(len(relevance) - sum(relevance))
        lines = [
            f"Queries: {len(self.samples)}\tPositives: {count_summary(positives)}\t"
            f"Negatives: {count_summary(negatives)}"
        ]
        return lines + reranked_lines(results, self.at_k)

    def csv_header_columns(self) -> list[str]:
        # the given order's base_ metrics are returned, not written
        return list(ranking_csv_columns({}, self.at_k))

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        return ranking_csv_columns(results, self.at_k)

    def card_metrics(self, results: dict[str, float]) -> dict[str, Any]:
        return reranked_card_metrics(results, self.at_k)

    def _means(self, found: list[tuple[float, float, float]], prefix: str) -> dict[str, float]:
        mrr, ndcg, ap = (float(np.mean(column)) for column in zip(*found))
        return {f"{prefix}map": ap, f"{prefix}mrr@{self.at_k}": mrr, f"{prefix}ndcg@{self.at_k}": ndcg}


def reranked_card_metrics(results: dict[str, float], at_k: int) -> dict[str, Any]:
    """A reranking's card metrics as sentence-transformers 6.3's cross-encoder evaluators keep them: with
    the given order's ``base_`` metrics, the reranked MAP, MRR@k and NDCG@k each with its change over that
    order (``"0.4167 (-0.0833)"``, which the front matter reads as 0.4167); without, the results."""
    if "base_map" not in results:
        return results
    metrics = ("map", f"mrr@{at_k}", f"ndcg@{at_k}")
    return {m: f"{results[m]:.4f} ({results[m] - results['base_' + m]:+.4f})" for m in metrics}


FUSIONS = (None, "rrf")  # how RetrieveRerankEvaluator may also combine the two rankings


class RetrieveRerankEvaluator(Evaluator):
    """A bi-encoder's top-k reranked by a cross-encoder, on a BEIR-style set (queries, corpus, qrels).

    ``retriever`` (a SentenceTransformer) ranks the corpus for each query; the reranker scores each query
    with its ``top_k`` documents and sorts them again. Both rankings are scored the same way as
    :class:`InformationRetrievalEvaluator` (binary relevance, every judged document counted): ``ndcg@10``
    (primary), ``mrr@10``, ``map@{top_k}``, ``recall@{top_k}`` for the reranking, and the same keys with
    ``base_`` for the retriever alone, so the two figures sit side by side. ``fusion="rrf"`` adds the keys
    with ``fused_``: the retriever's and the reranker's orders combined by reciprocal rank fusion (k=60).
    """

    def __init__(
        self,
        queries: Mapping[str, str],
        corpus: Mapping[str, str],
        relevant_docs: Mapping[str, Iterable[str] | Mapping[str, float]],
        retriever: Any,
        *,
        top_k: int = 100,
        name: str = "",
        batch_size: int = 32,
        show_progress_bar: bool | None = False,
        fusion: str | None = None,
    ) -> None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise InputError(f"top_k must be a positive integer, got {top_k!r}.")
        if fusion not in FUSIONS:
            raise InputError(f"fusion must be one of {FUSIONS}, got {fusion!r}.")
        self.fusion = fusion
        self.ks = {"mrr_at_k": (10,), "ndcg_at_k": (10,), "accuracy_at_k": (1,), "map_at_k": (top_k,)}
        self.ks["precision_recall_at_k"] = (top_k,)
        self.search = InformationRetrievalEvaluator(
            queries,
            corpus,
            relevant_docs,
            batch_size=batch_size,
            show_progress_bar=show_progress_bar,
            **self.ks,
        )
        self.top_k = min(top_k, len(self.search.corpus))
        self.retriever, self.name, self.batch_size = retriever, name, batch_size
        self.show_progress_bar = show_progress_bar  # None: on long work, as encode and predict
        self.main_metric = "ndcg@10"
        self.retrieved: list[list[str]] | None = None  # the retriever's ranking, computed once

    def compute(self, model: Any) -> dict[str, float]:
        if self.retrieved is None:
            self.retrieved = [ids[: self.top_k] for ids in self.search.rank(self.retriever)]
        text = dict(zip(self.search.corpus_ids, self.search.corpus))
        pairs = [(q, text[d]) for q, ids in zip(self.search.queries, self.retrieved) for d in ids]
        scores = first_scores(self.describe(), model, pairs, self.batch_size, self.show_progress_bar)
        reranked, offset = [], 0
        for ids in self.retrieved:
            order = np.argsort(
                -scores[offset : offset + len(ids)], kind="stable"
            )  # ties keep retriever order
            reranked.append([ids[i] for i in order])
            offset += len(ids)
        rankings = [("", reranked), ("base_", self.retrieved)]
        if self.fusion == "rrf":
            fused = [reciprocal_rank_fusion([ids, order]) for ids, order in zip(self.retrieved, reranked)]
            rankings.append(("fused_", fused))
        results = {}
        for prefix, ranking in rankings:
            found = metrics.ranking_metrics(ranking, self.search.relevant, **self.ks)
            results.update({prefix + key: value for key, value in found.items() if "accuracy" not in key})
        return results


def reranked_lines(results: dict[str, float], at_k: int) -> list[str]:
    """sentence-transformers' INFO lines of a reranking's MAP, MRR@k and NDCG@k (percent), each after the
    given order's (``base_`` metrics) where the results have it."""
    k, pad = at_k, " " * len(str(at_k))
    keys = (("MAP:" + pad + "   ", "map"), (f"MRR@{k}:  ", f"mrr@{k}"), (f"NDCG@{k}: ", f"ndcg@{k}"))
    if "base_map" not in results:
        return [f"{label}{results[key] * 100:.2f}" for label, key in keys]
    lines = [f"{pad}       Base  -> Reranked"]
    return lines + [
        f"{label}{results['base_' + key] * 100:.2f} -> {results[key] * 100:.2f}" for label, key in keys
    ]
