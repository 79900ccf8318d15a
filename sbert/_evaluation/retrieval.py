"""Information retrieval: queries searched against a corpus, scored against relevance judgements."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_positive_int
from .._errors import InputError
from .._io.atomic import atomic_write_bytes
from .._progress import tracked
from .._similarity import SimilarityFunction
from .._st_loggers import ST_INFORMATION_RETRIEVAL
from .._st_signature import st_positional
from . import metrics
from .base import Evaluator


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
    st_logger = ST_INFORMATION_RETRIEVAL
    st_heading = "Information Retrieval Evaluation of the model on the {name} dataset{when}:"

    def __init__(
        self,
        queries: Mapping[str, str],
        corpus: Mapping[str, str],
        relevant_docs: Mapping[str, Iterable[str] | Mapping[str, float]],
        *,
        name: str = "",
        batch_size: int = 64,
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
        self.queries = [queries[q] for q in queries if relevant.get(str(q))]
        self.corpus_ids = [str(d) for d in corpus]
        self.corpus = list(corpus.values())
        unknown = {d for q in self.query_ids for d in relevant[q]} - set(self.corpus_ids)
        if unknown:
            raise InputError(
                f"InformationRetrievalEvaluator({name}): relevance judgements name documents not in the "
                f"corpus, e.g. {sorted(unknown)[:3]}."
            )
        self.relevant = [relevant[q] for q in self.query_ids]
        self.show_progress_bar, self.write_csv = show_progress_bar, write_csv
        check_positive_int("corpus_chunk_size", corpus_chunk_size)
        self.corpus_chunk_size = corpus_chunk_size  # documents embedded and scored at a time
        # each document's place in the ids' ascending order: ties in score go to the lowest id
        self.id_ranks = np.argsort(np.argsort(self.corpus_ids, kind="stable"), kind="stable")
        # sentence-transformers' prompts and truncation, passed to encode
        self.query_options = {
            "prompt": query_prompt,
            "prompt_name": query_prompt_name,
            "truncate_dim": truncate_dim,
        }
        self.corpus_options = {
            "prompt": corpus_prompt,
            "prompt_name": corpus_prompt_name,
            "truncate_dim": truncate_dim,
        }
        self.ks = {
            "mrr_at_k": mrr_at_k,
            "ndcg_at_k": ndcg_at_k,
            "accuracy_at_k": accuracy_at_k,
            "precision_recall_at_k": precision_recall_at_k,
            "map_at_k": map_at_k,
        }
        self.max_k = max(max(v) for v in self.ks.values())
        self.main_metric = f"cosine_ndcg@{max(ndcg_at_k)}"
        self.name, self.batch_size = name, batch_size
        self.score_functions = _checked_functions(score_functions, name)
        self.main_score_function = (
            SimilarityFunction(main_score_function).value if main_score_function is not None else None
        )
        self.write_predictions = write_predictions
        self.corpus_override: tuple[Any, Any] = (None, None)  # a call's corpus_model, corpus_embeddings
        self.predictions: dict[str, list[list[tuple[str, float]]]] = {}  # the last call's, by function

    def rank(self, model: Any) -> list[list[str]]:
        """For each query, the ids of its top documents, best first (by the first scoring function)."""
        ranked = next(iter(self.search(model).values()))
        return [[doc for doc, _ in hits] for hits in ranked]

    def search(self, model: Any) -> dict[str, list[list[tuple[str, float]]]]:
        """For each scoring function, each query's top ``(document id, score)`` pairs, best first. The corpus
        is embedded and scored ``corpus_chunk_size`` documents at a time, under sentence-transformers'
        "Corpus Chunks" bar; each chunk's best documents are merged into the queries' running top k."""
        queries = self.embed_texts(model, self.queries, role="query", **self.query_options)
        functions = self.score_functions or {model.similarity_fn_name: model.similarity_fn_name}
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
                    found = (np.broadcast_to(np.asarray(rows), scores.shape), scores)
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

    def top_k(self, documents: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's ``max_k`` best of ``documents`` (corpus positions) by score, ties by ascending id."""
        order = np.lexsort((self.id_ranks[documents], -scores), axis=-1)[:, : self.max_k]
        return np.take_along_axis(documents, order, axis=1), np.take_along_axis(scores, order, axis=1)

    def embed_corpus(self, model: Any, rows: range) -> Any:
        """The embeddings of the corpus's ``rows``, by the call's ``corpus_model`` or ``model``."""
        corpus_model = self.corpus_override[0] or model
        texts = self.corpus[rows.start : rows.stop]
        return self.embed_texts(corpus_model, texts, role="document", **self.corpus_options)

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
        """sentence-transformers' retrieval evaluator works its primary metric out again when the model's
        similarity function, which ranks the corpus without ``score_functions``, is new to it (so on the
        first call); a primary metric chosen after that, or with ``score_functions``, is kept."""
        if self.score_functions is not None:
            return False
        function = getattr(model, "similarity_fn_name", None) or "cosine"
        fresh = self.__dict__.get("_model_function") != function
        self.__dict__["_model_function"] = function
        return fresh

    @property
    def truncate_dim(self) -> int | None:
        return self.query_options["truncate_dim"]

    def result_lines(self, results: dict[str, float]) -> list[str]:
        lines = [f"Queries: {len(self.queries)}", f"Corpus: {len(self.corpus)}\n"]
        for function in sorted(self.predictions):
            lines.append(f"Score-Function: {function}")
            lines += retrieval_lines(results, self.ks, function)
        return lines

    def compute(self, model: Any) -> dict[str, float]:
        self.predictions = self.search(model)
        results = {}
        for function, ranked in self.predictions.items():
            found = metrics.ranking_metrics(
                [[d for d, _ in hits] for hits in ranked], self.relevant, **self.ks
            )
            results.update({f"{function}_{key}": value for key, value in found.items()})
        k = max(self.ks["ndcg_at_k"])
        main = self.main_score_function or max(self.predictions, key=lambda f: results[f"{f}_ndcg@{k}"])
        self.main_metric = f"{main}_ndcg@{k}"  # the best function's, where none is named (as ST)
        return results

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
        try:
            results = super().__call__(model, output_path, epoch, steps)
        finally:
            self.corpus_override = (None, None)
        if self.write_predictions and output_path is not None:
            self.write_prediction_files(Path(output_path))
        return results

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        return retrieval_csv_columns(results, self.ks, self.predictions)

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


def retrieval_lines(
    results: Mapping[str, float], ks: Mapping[str, Sequence[int]], function: str
) -> list[str]:
    """sentence-transformers' INFO lines of one function's retrieval ``results`` (keys ``cosine_ndcg@10``)."""
    r = {key.removeprefix(function + "_"): value for key, value in results.items()}
    lines = [f"Accuracy@{k}: {r[f'accuracy@{k}'] * 100:.2f}%" for k in ks["accuracy_at_k"]]
    lines += [f"Precision@{k}: {r[f'precision@{k}'] * 100:.2f}%" for k in ks["precision_recall_at_k"]]
    lines += [f"Recall@{k}: {r[f'recall@{k}'] * 100:.2f}%" for k in ks["precision_recall_at_k"]]
    for name, option in (("MRR", "mrr_at_k"), ("NDCG", "ndcg_at_k"), ("MAP", "map_at_k")):
        lines += [f"{name}@{k}: {r[f'{name.lower()}@{k}']:.4f}" for k in ks[option]]
    return lines


def aggregate_retrieval_lines(
    results: Mapping[str, float], ks: Mapping[str, Sequence[int]], function: str
) -> list[str]:
    """sentence-transformers' INFO lines of one function's aggregated NanoBEIR ``results``: as
    :func:`retrieval_lines` but in its CSV columns' order (Precision@k and Recall@k in turn)."""
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


def _relevant_set(docs: Iterable[str] | Mapping[str, float]) -> set[str]:
    if isinstance(docs, Mapping):
        return {str(d) for d, score in docs.items() if float(score) > 0}
    return {str(d) for d in docs}
