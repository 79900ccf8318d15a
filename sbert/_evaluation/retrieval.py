"""Information retrieval: queries searched against a corpus, scored against relevance judgements."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_positive_int
from .._errors import InputError
from .._io.atomic import atomic_write_bytes
from .._progress import tracked
from .._similarity_function import SimilarityFunction
from .._st_loggers import ST_INFORMATION_RETRIEVAL
from .._st_signature import st_positional
from . import metrics
from .base import Evaluator, as_torch, log_lines, user_method

_LOGGER = logging.getLogger(__name__)


@st_positional(
    "queries",
    "corpus",
    "relevant_docs",
    "corpus_chunk_size",
    "mrr_at_k",
    "ndcg_at_k",
    "accuracy_at_k",
    "precision_recall_at_k",
    "map_at_k",
    "show_progress_bar",
    "batch_size",
    "name",
    "write_csv",
    "truncate_dim",
    "score_functions",
    "main_score_function",
    "query_prompt",
    "query_prompt_name",
    "corpus_prompt",
    "corpus_prompt_name",
    "write_predictions",
)
class InformationRetrievalEvaluator(Evaluator):
    """Search each query in the corpus and score the ranking: MRR@k, NDCG@k, Recall@k, Precision@k,
    Accuracy@k and MAP@k (binary relevance, as sentence-transformers and BEIR's recall report them).

    Documents are ranked by the model's similarity function (ties by ascending document id), or by each of
    ``score_functions``. Queries are embedded with ``encode_query`` and documents with ``encode_document``
    (their prompts and Router routes), as sentence-transformers does. Queries without a relevant document are
    skipped. Keys name the function, as sentence-transformers' do: ``cosine_ndcg@10`` (primary),
    ``cosine_mrr@10``, ``cosine_map@100``, ``cosine_recall@1``, ... .

    Args:
        queries: query id → text.
        corpus: document id → text.
        relevant_docs: query id → ids of the relevant documents (a set, or a dict of id → score > 0).
        score_functions: name → similarity function of two embedding matrices (``{"cos_sim": util.cos_sim,
            "dot_score": util.dot_score}``): each ranks the corpus and names its metrics; the primary metric
            is ``main_score_function``'s, else the best NDCG's. Default: the model's similarity function.
        corpus_chunk_size: documents embedded and scored at a time (50000), under a "Corpus Chunks" bar with
            ``show_progress_bar``, as in sentence-transformers; the metrics do not depend on it.
        write_predictions: with an ``output_path``, also write each query's top documents and scores to
            ``Information-Retrieval_evaluation_<name>_predictions_<function>.jsonl``.

    Subclasses get sentence-transformers' surface: its attributes (``queries_ids``, ``relevant_docs``,
    ``ndcg_at_k``, ``score_function_names``, ``csv_headers``, ...; ``primary_metric`` is None until the first
    call) and its steps, each called where it calls them once a subclass overrides it: ``compute_all_metrics``
    (alias ``compute_metrices``), ``embed_inputs``, ``compute_metrics(queries_result_list)``,
    ``compute_dcg_at_k``, ``output_scores``, ``get_corpus_id_ranks`` (which document of a chunk's score ties
    at its top-k cut enters the ranking). Without overrides the corpus is ranked and scored in numpy.

    Example::

        from sbert import InformationRetrievalEvaluator, SentenceTransformer
        evaluator = InformationRetrievalEvaluator(
            {"q1": "capital of France"},
            {"d1": "Paris is the capital of France.", "d2": "Cats purr."},
            {"q1": {"d1"}},
        )
        evaluator(SentenceTransformer())["cosine_ndcg@10"]
    """

    csv_stem = "Information-Retrieval_evaluation"
    main_metric = "cosine_ndcg@10"  # the model's similarity function's, once called
    st_primary_from_call = True  # None until a call works it out, as sentence-transformers'
    st_logger = ST_INFORMATION_RETRIEVAL
    st_heading = "Information Retrieval Evaluation of the model on the {name} dataset{when}:"
    extra_csv_headers: tuple[str, ...] = ()  # a subclass's columns after the metric columns

    def __init__(
        self,
        queries: Mapping[str, str],
        corpus: Mapping[str, str],
        relevant_docs: Mapping[str, Iterable[str] | Mapping[str, float]],
        *,
        name: str = "",
        batch_size: int = 32,
        mrr_at_k: Sequence[int] = (10,),
        ndcg_at_k: Sequence[int] = (10,),
        accuracy_at_k: Sequence[int] = (1, 3, 5, 10),
        precision_recall_at_k: Sequence[int] = (1, 3, 5, 10),
        map_at_k: Sequence[int] = (100,),
        show_progress_bar: bool | None = False,
        query_prompt: str | None = None,
        query_prompt_name: str | None = None,
        corpus_prompt: str | None = None,
        corpus_prompt_name: str | None = None,
        truncate_dim: int | None = None,
        write_csv: bool = True,
        corpus_chunk_size: int = 50000,
        score_functions: Mapping[str, Callable[[Any, Any], Any]] | None = None,
        main_score_function: str | None = None,
        write_predictions: bool = False,
    ) -> None:
        relevant = {str(q): _relevant_set(docs) for q, docs in relevant_docs.items()}
        self.query_ids = [str(q) for q in queries if relevant.get(str(q))]
        # the ids as the caller typed them (an int stays an int in the prediction files)
        self.given_ids = {"query": {str(q): q for q in queries}, "corpus": {str(d): d for d in corpus}}
        if not self.query_ids:
            raise InputError(f"InformationRetrievalEvaluator({name}): no query has a relevant document.")
        if not corpus:
            raise InputError(f"InformationRetrievalEvaluator({name}): the corpus is empty.")
        self.queries_ids = [self.given_ids["query"][q] for q in self.query_ids]  # sentence-transformers' name
        self.queries = [queries[q] for q in self.queries_ids]
        self.corpus_ids = [str(d) for d in corpus]
        self.corpus = list(corpus.values())
        unknown = {d for q in self.query_ids for d in relevant[q]} - set(self.corpus_ids)
        if unknown:  # counted as relevant and never retrieved, as sentence-transformers counts them
            _LOGGER.warning(
                "InformationRetrievalEvaluator(%s): relevance judgements name %d documents not in the corpus "
                "(e.g. %s); they count as relevant documents that are never retrieved.",
                name,
                len(unknown),
                sorted(unknown)[:3],
            )
        self.relevant_docs = relevant_docs  # as given, as sentence-transformers keeps them
        self.relevant = [relevant[q] for q in self.query_ids]
        self.show_progress_bar, self.write_csv = show_progress_bar, write_csv
        check_positive_int("corpus_chunk_size", corpus_chunk_size)
        self.corpus_chunk_size = corpus_chunk_size  # documents embedded and scored at a time
        # each document's place in the ids' ascending order (as given: 2 before 10): ties go to the lowest
        self.id_ranks = _ascending_ranks(list(self.given_ids["corpus"].values()))
        self._corpus_id_ranks: Any = None  # get_corpus_id_ranks' tensor, once asked for
        # sentence-transformers' attributes, which subclasses read and set; query_options, ks, ... read them
        self.query_prompt, self.query_prompt_name = query_prompt, query_prompt_name
        self.corpus_prompt, self.corpus_prompt_name = corpus_prompt, corpus_prompt_name
        self.truncate_dim = truncate_dim
        self.mrr_at_k, self.ndcg_at_k, self.map_at_k = list(mrr_at_k), list(ndcg_at_k), list(map_at_k)
        self.accuracy_at_k, self.precision_recall_at_k = list(accuracy_at_k), list(precision_recall_at_k)
        self.main_metric = f"cosine_ndcg@{max(ndcg_at_k)}"
        self.name, self.batch_size = name, batch_size
        self.score_functions = _checked_functions(score_functions, name)
        # without score_functions, each call ranks by its model's similarity (sentence-transformers' flag)
        self._score_functions_from_model = self.score_functions is None
        self.score_function_names = sorted(self.score_functions or ())
        self.main_score_function = (
            SimilarityFunction(main_score_function) if main_score_function is not None else None
        )
        self.csv_headers = ["epoch", "steps"]
        self._append_csv_headers(self.score_function_names)
        self.write_predictions = write_predictions
        if write_predictions:
            self.predictions_file = f"{self.csv_stem}{'_' + name if name else ''}_predictions.jsonl"
        self.corpus_override: tuple[Any, Any] = (None, None)  # a call's corpus_model, corpus_embeddings
        self.call_output_path: str | os.PathLike | None = None  # the call's output_path
        self.predictions: dict[str, list[list[tuple[str, float]]]] = {}  # the last call's, by function

    @property
    def ks(self) -> dict[str, list[int]]:
        """The cut-offs by option name (``ndcg_at_k``: ``[10]``, ...)."""
        return {
            "mrr_at_k": self.mrr_at_k,
            "ndcg_at_k": self.ndcg_at_k,
            "accuracy_at_k": self.accuracy_at_k,
            "precision_recall_at_k": self.precision_recall_at_k,
            "map_at_k": self.map_at_k,
        }

    @property
    def max_k(self) -> int:
        return max(max(v) for v in self.ks.values())

    @property
    def query_options(self) -> dict[str, Any]:
        """``encode`` options of the queries: their prompt and the truncation."""
        return {
            "prompt": self.query_prompt,
            "prompt_name": self.query_prompt_name,
            "truncate_dim": self.truncate_dim,
        }

    @property
    def corpus_options(self) -> dict[str, Any]:
        return {
            "prompt": self.corpus_prompt,
            "prompt_name": self.corpus_prompt_name,
            "truncate_dim": self.truncate_dim,
        }

    def _append_csv_headers(self, score_function_names: Sequence[str]) -> None:
        """sentence-transformers' CSV columns of ``score_function_names``, appended to ``csv_headers``."""
        for function in score_function_names:
            for option, names in CSV_COLUMNS:
                self.csv_headers += [f"{function}-{n}@{k}" for k in self.ks[option] for n in names]
        if score_function_names:  # a subclass's own columns (the sparse one's sparsity), after the metrics
            self.csv_headers += list(self.extra_csv_headers)

    def rank(self, model: Any) -> list[list[str]]:
        """For each query, the ids of its top documents, best first (by the first scoring function)."""
        ranked = next(iter(self.search(model).values()))
        return [[doc for doc, _ in hits] for hits in ranked]

    def search(self, model: Any) -> dict[str, list[list[tuple[str, float]]]]:
        """For each scoring function, each query's top ``(document id, score)`` pairs, best first. The corpus
        is embedded and scored ``corpus_chunk_size`` documents at a time, under sentence-transformers'
        "Corpus Chunks" bar; each chunk's best documents are merged into the queries' running top k."""
        queries = self.embed_role(model, self.queries, "query")
        if self._score_functions_from_model:  # the model's own, by name: the evaluator's numpy scoring
            functions: Mapping[str, Any] = {model.similarity_fn_name: model.similarity_fn_name}
        else:
            functions = self.score_functions or {}
        given = self.given_corpus(model)
        size, n = self.corpus_chunk_size, len(self.corpus)
        starts = range(0, n, size)
        best: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {}  # by function, by block of queries
        for start in tracked(starts, desc="Corpus Chunks", show=bool(self.show_progress_bar)):
            rows = range(start, min(start + size, n))
            documents = self.embed_corpus(model, rows) if given is None else self.take_rows(given, rows)
            for name, function in functions.items():
                kept = best.setdefault(name, {})
                for first in range(0, len(self.queries), 256):
                    block = self.take_rows(queries, range(first, min(first + 256, len(self.queries))))
                    scores = self.scores(function, block, documents)
                    found = self.chunk_candidates(rows, scores)
                    if first in kept:  # with the best of the chunks before
                        found = tuple(np.concatenate(pair, axis=1) for pair in zip(kept[first], found))
                    kept[first] = self.top_k(*found)
        return {
            name: [
                [(self.corpus_ids[i], float(score)) for i, score in zip(*row)]
                for ids, scores in blocks.values()
                for row in zip(ids, scores)
            ]
            for name, blocks in best.items()
        }

    def top_k(
        self, documents: np.ndarray, scores: np.ndarray, ranks: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's ``max_k`` best of ``documents`` (corpus positions) by score, ties by ascending id (by
        ``ranks``, a rank per corpus position, when given)."""
        ranks = self.id_ranks if ranks is None else ranks
        order = np.lexsort((ranks[documents], -scores), axis=-1)[:, : self.max_k]
        return np.take_along_axis(documents, order, axis=1), np.take_along_axis(scores, order, axis=1)

    def chunk_candidates(self, rows: range, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The corpus positions ``rows`` scored ``(q, len(rows))`` as candidates for the running top k: all
        of them, or, where a subclass overrides :meth:`get_corpus_id_ranks`, each query's best ``max_k`` of
        the chunk with score ties at the cut broken by its ranks, as sentence-transformers picks a chunk's
        candidates (the final order still goes by score, then id)."""
        documents = np.broadcast_to(np.asarray(rows), scores.shape)
        if not user_method(self, "get_corpus_id_ranks") or len(rows) <= self.max_k:
            return documents, scores
        ranks = np.asarray(self.get_corpus_id_ranks().cpu().numpy())
        return self.top_k(documents, scores, ranks)

    def get_corpus_id_ranks(self) -> Any:
        """sentence-transformers' ranks of the corpus ids: a ``torch.long`` tensor holding each document's
        place in the ascending order of the ids as given (``{2: ..., 10: ...}`` ranks 2 first), computed
        once and cached; score ties at a chunk's top-k cut go to the lower rank. A subclass may override
        it."""
        if self._corpus_id_ranks is None:
            import torch

            self._corpus_id_ranks = torch.as_tensor(self.id_ranks, dtype=torch.long)
        return self._corpus_id_ranks

    def embed_corpus(self, model: Any, rows: range) -> Any:
        """The embeddings of the corpus's ``rows``, by the call's ``corpus_model`` or ``model``."""
        corpus_model = self.corpus_override[0] or model
        return self.embed_role(corpus_model, self.corpus[rows.start : rows.stop], "document")

    def embed_role(self, model: Any, texts: Sequence[str], role: str) -> Any:
        """``texts`` embedded as queries or documents (``role``), through a subclass's ``embed_inputs``
        where it has one (then read as the evaluator reads embeddings), else the evaluator's own way."""
        options = self.query_options if role == "query" else self.corpus_options
        prompts = {"prompt_name": options["prompt_name"], "prompt": options["prompt"]}
        found = self.embedded_by_user(model, texts, role, **prompts)
        return found if found is not None else self.embed_texts(model, texts, role=role, **options)

    def embed_inputs(
        self,
        model: Any,
        sentences: Sequence[str],
        encode_fn_name: str | None = None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """sentence-transformers' embedding step, which subclasses override or call: ``sentences`` embedded
        by ``model.encode_query`` (``encode_fn_name="query"``), ``encode_document`` (``"document"``) or
        ``encode``, with the evaluator's batch size and truncation, as a torch tensor."""
        role = encode_fn_name if encode_fn_name in ("query", "document") else None
        options = {"prompt_name": prompt_name, "prompt": prompt, "truncate_dim": self.truncate_dim, **kwargs}
        return as_torch(self.embed_texts(model, sentences, role=role, **options))

    def given_corpus(self, model: Any) -> Any:
        """The corpus embeddings given to this call (``corpus_embeddings``) as the evaluator reads them, or
        None."""
        corpus_model, given = self.corpus_override
        if given is None:
            return None
        if len(given) != len(self.corpus):
            raise InputError(
                f"InformationRetrievalEvaluator({self.name}): corpus_embeddings has {len(given)} rows for a "
                f"corpus of {len(self.corpus)} documents; embed the corpus in the evaluator's order."
            )
        return self.given_embeddings(given, corpus_model or model)

    def given_embeddings(self, embeddings: Any, model: Any) -> Any:
        """Embeddings a caller computed (a torch tensor or an array) as this evaluator reads them."""
        if hasattr(embeddings, "detach"):
            embeddings = embeddings.detach().float().cpu().numpy()
        return np.asarray(embeddings, dtype=np.float32)

    def scores(self, function: str | Callable[[Any, Any], Any], queries: Any, documents: Any) -> np.ndarray:
        """``(q, n)`` scores: a function name's as the evaluator computes them, a caller's function on the
        embeddings (a torch result brought back to numpy)."""
        if isinstance(function, str):
            return self.score_matrix(queries, documents, function)
        scores = function(queries, documents)
        if hasattr(scores, "detach"):
            scores = scores.detach().float().cpu().numpy()
        return np.asarray(scores, dtype=np.float32)

    def st_resets_primary(self, model: Any) -> bool:
        """sentence-transformers' per-call resolution: without ``score_functions`` the model's similarity
        ranks the corpus, and when its name is new to the evaluator (so on the first call), the score
        function names, the CSV headers and the primary metric are worked out again."""
        if not self._score_functions_from_model:
            return False
        function = getattr(model, "similarity_fn_name", None) or "cosine"
        self.score_functions = {function: getattr(model, "similarity", function)}
        if self.score_function_names == [function]:
            return False
        self.score_function_names = [function]
        self.csv_headers = ["epoch", "steps"]
        self._append_csv_headers(self.score_function_names)
        return True

    def compute(self, model: Any) -> dict[str, float]:
        corpus_model, corpus_embeddings = self.corpus_override
        given = {"corpus_model": corpus_model, "corpus_embeddings": corpus_embeddings}
        scores = self.compute_all_metrics(
            model, output_path=self.call_output_path, **{k: v for k, v in given.items() if v is not None}
        )
        results = {
            f"{function}_{metric.replace('@k', f'@{k}')}": value
            for function, values in scores.items()
            for metric, by_k in values.items()
            for k, value in by_k.items()
        }
        self.main_metric = primary_ndcg(
            self, self.score_function_names, results, self.ndcg_at_k, self.main_score_function
        )
        return results

    def compute_all_metrics(
        self,
        model: Any,
        corpus_model: Any = None,
        corpus_embeddings: Any = None,
        output_path: str | os.PathLike | None = None,
    ) -> dict[str, dict[str, dict[int, float]]]:
        """sentence-transformers' step that subclasses override or call: rank the corpus for each query and
        score function (``corpus_model`` embeds the corpus, or ``corpus_embeddings`` stand for it), write
        the predictions files, log and return each function's metrics: ``{"cosine": {"ndcg@k": {10: ...},
        ...}}``."""
        previous = self.corpus_override
        self.corpus_override = (corpus_model, corpus_embeddings)
        try:
            self.predictions = self.search(model)
        finally:
            self.corpus_override = previous
        if self.write_predictions and output_path is not None:
            self.write_prediction_files(Path(output_path))
        self.log_st_lines([f"Queries: {len(self.queries)}", f"Corpus: {len(self.corpus)}\n"])
        # a subclass's compute_metrics (or DCG) gets sentence-transformers' hits; else the numpy metrics
        own = user_method(self, "compute_metrics") or user_method(self, "compute_dcg_at_k")
        scores = {
            function: self.compute_metrics(self.result_list(ranked)) if own else self.ranked_metrics(ranked)
            for function, ranked in self.predictions.items()
        }
        for function in self.score_function_names:
            if function in scores:
                self.log_st_lines([f"Score-Function: {function}"])
                self.output_scores(scores[function])
        return scores

    compute_metrices = compute_all_metrics  # sentence-transformers' older name (an alias there too)

    def result_list(self, ranked: list[list[tuple[str, float]]]) -> list[list[dict[str, Any]]]:
        """Ranked hits as sentence-transformers hands them to ``compute_metrics``: per query, ``{"corpus_id":
        <the id as given>, "score": <float>}`` best first."""
        ids = self.given_ids["corpus"]
        return [[{"corpus_id": ids[doc], "score": score} for doc, score in hits] for hits in ranked]

    def ranked_metrics(self, ranked: list[list[tuple[str, float]]]) -> dict[str, dict[int, float]]:
        """``compute_metrics``' result for sbert's own ranking, from the numpy metrics."""
        found = metrics.ranking_metrics([[d for d, _ in hits] for hits in ranked], self.relevant, **self.ks)
        return {
            f"{metric}@k": {k: found[f"{metric}@{k}"] for k in self.ks[option]}
            for metric, option in METRIC_OPTIONS
        }

    def compute_metrics(self, queries_result_list: list[list[dict[str, Any]]]) -> dict[str, dict[int, float]]:
        """sentence-transformers' metrics of one score function's hits (``queries_result_list``: per query
        of ``queries_ids``, dicts of ``corpus_id`` and ``score``), which subclasses override or call:
        ``{"accuracy@k": {1: ...}, "precision@k": ..., "recall@k", "ndcg@k", "mrr@k", "map@k"}``."""
        per_query: dict[str, dict[int, list[float]]] = {
            f"{metric}@k": {k: [] for k in self.ks[option]} for metric, option in METRIC_OPTIONS
        }
        for query_id, hits in zip(self.queries_ids, queries_result_list):
            # best first, ties by ascending id
            top = [hit["corpus_id"] for hit in sorted(hits, key=lambda x: (-x["score"], x["corpus_id"]))]
            relevant = self.relevant_docs[query_id]
            for k in self.accuracy_at_k:
                per_query["accuracy@k"][k].append(float(any(d in relevant for d in top[:k])))
            for k in self.precision_recall_at_k:
                correct = sum(d in relevant for d in top[:k])
                per_query["precision@k"][k].append(correct / k)
                per_query["recall@k"][k].append(correct / len(relevant))
            for k in self.mrr_at_k:
                rank = next((i for i, d in enumerate(top[:k]) if d in relevant), None)
                per_query["mrr@k"][k].append(0.0 if rank is None else 1.0 / (rank + 1))
            for k in self.ndcg_at_k:
                found = [1 if d in relevant else 0 for d in top[:k]]
                ideal = self.compute_dcg_at_k([1] * len(relevant), k)
                per_query["ndcg@k"][k].append(self.compute_dcg_at_k(found, k) / ideal)
            for k in self.map_at_k:
                correct, precisions = 0, 0.0
                for i, d in enumerate(top[:k]):
                    if d in relevant:
                        correct += 1
                        precisions += correct / (i + 1)
                per_query["map@k"][k].append(precisions / min(k, len(relevant)))
        return {
            metric: {k: float(np.mean(values)) for k, values in by_k.items()}
            for metric, by_k in per_query.items()
        }

    @staticmethod
    def compute_dcg_at_k(relevances: Sequence[float], k: int) -> float:
        """Discounted cumulative gain of the first ``k`` ``relevances`` (sentence-transformers' helper)."""
        return float(sum(r / np.log2(i + 2) for i, r in enumerate(relevances[:k])))

    def output_scores(self, scores: dict[str, dict[int, float]]) -> None:
        """Log one score function's metrics (``compute_metrics``' result) as sentence-transformers does."""
        lines = [f"Accuracy@{k}: {v * 100:.2f}%" for k, v in scores["accuracy@k"].items()]
        lines += [f"Precision@{k}: {v * 100:.2f}%" for k, v in scores["precision@k"].items()]
        lines += [f"Recall@{k}: {v * 100:.2f}%" for k, v in scores["recall@k"].items()]
        for name in ("MRR", "NDCG", "MAP"):
            lines += [f"{name}@{k}: {v:.4f}" for k, v in scores[f"{name.lower()}@k"].items()]
        self.log_st_lines(lines)

    def log_st_lines(self, lines: list[str]) -> None:
        if self.st_logger:
            log_lines(self.st_logger, lines)

    def __call__(
        self,
        model: Any,
        output_path: str | os.PathLike | None = None,
        epoch: int = -1,
        steps: int = -1,
        corpus_model: Any = None,
        corpus_embeddings: Any = None,
    ) -> dict[str, float]:
        """As every evaluator's call; ``corpus_model`` embeds the corpus in ``model``'s place, or
        ``corpus_embeddings`` (one row per document, in the corpus's order) stand for it, for this call."""
        self.corpus_override = (corpus_model, corpus_embeddings)
        self.call_output_path = output_path
        try:
            return super().__call__(model, output_path, epoch, steps)
        finally:
            self.corpus_override, self.call_output_path = (None, None), None

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        return retrieval_csv_columns(results, self.ks, self.score_function_names)

    def get_config_dict(self) -> dict[str, Any]:
        """``truncate_dim`` and the prompts that are set, as sentence-transformers' card lists them."""
        settings = {
            "truncate_dim": self.query_options["truncate_dim"],
            "query_prompt": self.query_options["prompt"],
            "query_prompt_name": self.query_options["prompt_name"],
            "corpus_prompt": self.corpus_options["prompt"],
            "corpus_prompt_name": self.corpus_options["prompt_name"],
        }
        return {key: value for key, value in settings.items() if value is not None}

    def write_prediction_files(self, folder: Path) -> None:
        """sentence-transformers' prediction files: one JSON line a query, its top documents and scores."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"Information-Retrieval_evaluation{'_' + self.name if self.name else ''}_predictions"
        for function, ranked in self.predictions.items():
            rows = [
                {
                    "query_id": self.given_ids["query"][query_id],
                    "query": query,
                    "results": [
                        {"corpus_id": self.given_ids["corpus"][doc], "score": score} for doc, score in hits
                    ],
                }
                for query_id, query, hits in zip(self.query_ids, self.queries, ranked)
            ]
            text = "".join(json.dumps(row) + "\n" for row in rows)
            atomic_write_bytes(folder / f"{stem}_{function}.jsonl", text.encode("utf-8"), durable=False)


# the metrics of sentence-transformers' compute_metrics, in its order, and the option of their cut-offs
METRIC_OPTIONS = (
    ("accuracy", "accuracy_at_k"),
    ("precision", "precision_recall_at_k"),
    ("recall", "precision_recall_at_k"),
    ("ndcg", "ndcg_at_k"),
    ("mrr", "mrr_at_k"),
    ("map", "map_at_k"),
)

# sentence-transformers' CSV columns of a retrieval evaluation, "<function>-<Name>@<k>", in its order
CSV_COLUMNS = (
    ("accuracy_at_k", ("Accuracy",)),
    ("precision_recall_at_k", ("Precision", "Recall")),
    ("mrr_at_k", ("MRR",)),
    ("ndcg_at_k", ("NDCG",)),
    ("map_at_k", ("MAP",)),
)


def retrieval_csv_columns(
    results: dict[str, float], ks: Mapping[str, Sequence[int]], functions: Iterable[str]
) -> dict[str, float]:
    """The CSV row of retrieval ``results`` (keys ``<function>_ndcg@10``, ...) as sentence-transformers
    writes it: each function's metrics, functions in name order, columns ``cosine-NDCG@10``, ..."""
    columns = {}
    for function in sorted(functions):
        for option, names in CSV_COLUMNS:
            for k in ks[option]:
                for name in names:
                    columns[f"{function}-{name}@{k}"] = results[f"{function}_{name.lower()}@{k}"]
    return columns


def aggregate_retrieval_lines(
    results: Mapping[str, float], ks: Mapping[str, Sequence[int]], function: str
) -> list[str]:
    """sentence-transformers' INFO lines of one function's aggregated NanoBEIR ``results``: as
    ``output_scores``' lines but in its CSV columns' order (Precision@k and Recall@k in turn)."""
    lines = []
    for option, names in CSV_COLUMNS:
        for k in ks[option]:
            for name in names:
                value = results[f"{function}_{name.lower()}@{k}"]
                percent = option in ("accuracy_at_k", "precision_recall_at_k")
                lines.append(f"{name}@{k}: {value * 100:.2f}%" if percent else f"{name}@{k}: {value:.4f}")
    return lines


def _checked_functions(functions: Any, name: str) -> dict[str, Callable[[Any, Any], Any]] | None:
    if functions is None:
        return None
    if (
        not isinstance(functions, Mapping)
        or not functions
        or not all(callable(f) for f in functions.values())
    ):
        raise InputError(
            f"InformationRetrievalEvaluator({name}): score_functions must map names to similarity functions, "
            "e.g. {'cos_sim': util.cos_sim}"
        )
    return dict(functions)


def primary_ndcg(
    evaluator: Any,
    functions: Sequence[str],
    results: Mapping[str, float],
    ndcg_at_k: Sequence[int],
    main_score_function: Any,
) -> str:
    """The metric a retrieval evaluator's primary metric follows, ``<function>_ndcg@<largest k>``: that of
    ``main_score_function``, else of the function in ``functions`` with the best such value in ``results``
    (the first on a tie) at ``evaluator``'s first call, kept by its later calls while still scored, as
    sentence-transformers fixes its primary metric once (a best checkpoint is then always picked by the
    same metric)."""
    k = max(ndcg_at_k)
    named = _function_name(main_score_function)
    if named:
        return f"{named}_ndcg@{k}"
    kept = evaluator.__dict__.get("_primary_function")
    if kept not in functions:
        kept = max(functions, key=lambda f: results[f"{f}_ndcg@{k}"])
        evaluator.__dict__["_primary_function"] = kept
    return f"{kept}_ndcg@{k}"


def _ascending_ranks(ids: Sequence[Any]) -> np.ndarray:
    """Each id's place in the ids' ascending order (``[10, 2]`` -> ``[1, 0]``); ids of types that do not
    compare with each other (``1`` and ``"a"``) by their text."""
    try:
        order = sorted(range(len(ids)), key=ids.__getitem__)
    except TypeError:
        order = sorted(range(len(ids)), key=lambda i: str(ids[i]))
    ranks = np.empty(len(ids), dtype=np.int64)
    ranks[order] = np.arange(len(ids))
    return ranks


def _function_name(function: Any) -> str | None:
    """A score function's name: a SimilarityFunction's value, or the name itself (None stays None)."""
    return getattr(function, "value", function)


def _relevant_set(docs: Iterable[str] | Mapping[str, float]) -> set[str]:
    if isinstance(docs, Mapping):
        return {str(d) for d, score in docs.items() if float(score) > 0}
    return {str(d) for d in docs}
