"""Information retrieval: queries searched against a corpus, scored against relevance judgements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import InputError
from .._numeric import similarity_matrix
from . import metrics
from .base import Evaluator, encode


class InformationRetrievalEvaluator(Evaluator):
    """Search each query in the corpus and score the ranking: MRR@k, NDCG@k, Recall@k, Precision@k,
    Accuracy@k and MAP@k (binary relevance, as sentence-transformers and BEIR's recall report them).

    Documents are ranked by the model's similarity function (ties by ascending document id). Queries without
    a relevant document are skipped. Keys name that function, as sentence-transformers' do:
    ``cosine_ndcg@10`` (primary), ``cosine_mrr@10``, ``cosine_map@100``, ``cosine_recall@1``, ... .

    Args:
        queries: query id → text.
        corpus: document id → text.
        relevant_docs: query id → ids of the relevant documents (a set, or a dict of id → score > 0).

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
        corpus_chunk_size: int | None = None,
    ) -> None:
        relevant = {str(q): _relevant_set(docs) for q, docs in relevant_docs.items()}
        self.query_ids = [str(q) for q in queries if relevant.get(str(q))]
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
        # sentence-transformers' prompts and truncation, passed to encode (corpus_chunk_size is accepted
        # for its callers: scores are computed 256 queries at a time whatever the corpus size)
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

    def rank(self, model: Any) -> list[list[str]]:
        """For each query, the ids of its top documents, best first."""
        queries = encode(model, self.queries, self.batch_size, self.show_progress_bar, **self.query_options)
        documents = encode(model, self.corpus, self.batch_size, self.show_progress_bar, **self.corpus_options)
        tie_break = np.argsort(np.argsort(self.corpus_ids, kind="stable"), kind="stable")  # rank of each id
        ranked = []
        for start in range(0, len(queries), 256):
            scores = similarity_matrix(queries[start : start + 256], documents, model.similarity_fn_name)
            for row in scores:
                order = np.lexsort((tie_break, -row))[: self.max_k]  # by score, then ascending id
                ranked.append([self.corpus_ids[i] for i in order])
        return ranked

    def compute(self, model: Any) -> dict[str, float]:
        function = model.similarity_fn_name
        self.main_metric = f"{function}_ndcg@{max(self.ks['ndcg_at_k'])}"
        found = metrics.ranking_metrics(self.rank(model), self.relevant, **self.ks)
        return {f"{function}_{key}": value for key, value in found.items()}


def _relevant_set(docs: Iterable[str] | Mapping[str, float]) -> set[str]:
    if isinstance(docs, Mapping):
        return {str(d) for d, score in docs.items() if float(score) > 0}
    return {str(d) for d in docs}
