"""Paraphrase mining: find the duplicate pairs in a collection of texts by embedding similarity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .._errors import InputError
from .._numeric import similarity_matrix
from .._search.exact import paraphrase_mining_embeddings
from .._st_loggers import ST_PARAPHRASE_MINING
from . import metrics
from .base import Evaluator, encode


class ParaphraseMiningEvaluator(Evaluator):
    """Mine the most similar pairs of ``sentences_map``'s texts and score them against known duplicates:
    average precision, and the F1, precision and recall of the best similarity threshold (the
    threshold a raw similarity).

    Each text's ``top_k`` nearest others are the candidate pairs (the ``max_pairs`` best kept), ranked by
    the model's similarity function; duplicates the mining misses lower recall and AP. Keys
    ``average_precision`` (primary), ``f1``, ``precision``, ``recall``, ``threshold`` (as in the CSV).

    Args:
        sentences_map: id → text.
        duplicates_list: pairs of ids that are duplicates; or
        duplicates_dict: ``{id1: {id2: True}}``, either direction enough.
        add_transitive_closure: also count as duplicates every two ids linked by a chain of duplicates.

    Example::

        from sbert import SentenceTransformer
        from sbert.evaluation import ParaphraseMiningEvaluator
        evaluator = ParaphraseMiningEvaluator(
            {"1": "How old are you?", "2": "What is your age?", "3": "Where is Paris?"}, [("1", "2")]
        )
        evaluator(SentenceTransformer())["average_precision"]
    """

    csv_stem = "paraphrase_mining_evaluation"
    main_metric = "average_precision"
    st_logger = ST_PARAPHRASE_MINING
    st_heading = "Paraphrase Mining Evaluation of the model on the {name} dataset{when}:"

    def __init__(
        self,
        sentences_map: Mapping[str, str],
        duplicates_list: Iterable[tuple[str, str]] | None = None,
        duplicates_dict: Mapping[str, Mapping[str, bool]] | None = None,
        add_transitive_closure: bool = False,
        query_chunk_size: int = 5000,
        corpus_chunk_size: int = 100000,
        max_pairs: int = 500000,
        top_k: int = 100,
        show_progress_bar: bool = False,
        batch_size: int = 16,
        name: str = "",
        write_csv: bool = True,
        truncate_dim: int | None = None,
    ) -> None:
        where = f"ParaphraseMiningEvaluator({name})"
        self.ids, self.sentences = list(sentences_map), list(sentences_map.values())
        if len(self.ids) < 2:
            raise InputError(f"{where}: sentences_map needs at least two texts to mine pairs from.")
        known = set(sentences_map)
        edges = _edges(duplicates_dict or {})  # a dict may link through ids outside the map, as there
        edges += [(a, b) for a, b in duplicates_list or () if a in known and b in known]
        if add_transitive_closure:
            edges = _closure(edges)
        pairs = (e for e in edges if e[0] != e[1] and e[0] in known and e[1] in known)
        self.duplicate_pairs = {frozenset(e) for e in pairs}
        # sentence-transformers' attributes: duplicates[id1][id2] (both directions), and their count
        self.duplicates: defaultdict[Any, defaultdict[Any, bool]] = defaultdict(lambda: defaultdict(bool))
        for a, b in (tuple(pair) for pair in self.duplicate_pairs):
            self.duplicates[a][b] = self.duplicates[b][a] = True
        if not self.duplicate_pairs:
            raise InputError(
                f"{where}: no pair of duplicates among sentences_map's ids; pass duplicates_list="
                "[(id1, id2), ...] or duplicates_dict={id1: {id2: True}} naming ids of sentences_map."
            )
        self.mining = {
            "query_chunk_size": query_chunk_size,
            "corpus_chunk_size": corpus_chunk_size,
            "max_pairs": max_pairs,
            "top_k": top_k,
        }
        self._add_transitive_closure = add_transitive_closure  # the method of that name is the closure
        self.show_progress_bar = show_progress_bar
        self.batch_size = batch_size
        self.truncate_dim = truncate_dim
        self.name, self.write_csv = name, write_csv

    def compute(self, model: Any) -> dict[str, float]:
        embeddings = encode(
            model, self.sentences, self.batch_size, self.show_progress_bar, truncate_dim=self.truncate_dim
        )
        function = getattr(model, "similarity_fn_name", None) or "cosine"
        pairs = paraphrase_mining_embeddings(
            embeddings, score_function=lambda a, b: similarity_matrix(a, b, function), **self.mining
        )
        self.candidate_pairs = len(pairs)
        scores = np.array([score for score, _, _ in pairs], dtype=np.float64)
        duplicate = self.duplicate_pairs
        labels = np.array([frozenset((self.ids[i], self.ids[j])) in duplicate for _, i, j in pairs])
        found = metrics.mined_pairs_metrics(scores, labels, self.total_num_duplicates)
        return dict(found)

    def result_lines(self, results: dict[str, float]) -> list[str]:
        return [
            f"Number of candidate pairs: {self.candidate_pairs}",
            f"Average Precision: {results['average_precision'] * 100:.2f}",
            f"Optimal threshold: {results['threshold']:.4f}",
            f"Precision: {results['precision'] * 100:.2f}",
            f"Recall: {results['recall'] * 100:.2f}",
            f"F1: {results['f1'] * 100:.2f}\n",
        ]

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        return {column: results[column] for column in self.csv_header_columns()}

    def csv_header_columns(self) -> list[str]:
        return ["precision", "recall", "f1", "threshold", "average_precision"]

    # sentence-transformers' attributes of the mining options
    query_chunk_size = property(lambda self: self.mining["query_chunk_size"])
    corpus_chunk_size = property(lambda self: self.mining["corpus_chunk_size"])
    max_pairs = property(lambda self: self.mining["max_pairs"])
    top_k = property(lambda self: self.mining["top_k"])

    @property
    def total_num_duplicates(self) -> int:
        """How many duplicate pairs there are (sentence-transformers' attribute)."""
        return len(self.duplicate_pairs)

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "add_transitive_closure": self._add_transitive_closure,
            "max_pairs": self.mining["max_pairs"],
            "top_k": self.mining["top_k"],
            **super().get_config_dict(),
        }

    @staticmethod
    def add_transitive_closure(graph: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
        """sentence-transformers' helper: ``graph`` (``{id1: {id2: True}}``) with every two ids linked by a
        chain of duplicates marked as duplicates too, in place."""
        for a, b in _closure(_edges(graph)):
            graph.setdefault(a, {})[b] = True
            graph.setdefault(b, {})[a] = True
        return graph


def _edges(graph: Mapping[str, Mapping[str, bool]]) -> list[tuple[str, str]]:
    return [(a, b) for a, row in graph.items() for b, same in row.items() if same]


def _closure(edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every pair of ids in one connected group of ``edges`` (the duplicates made transitive)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]  # path halving keeps the chains short
            x = parent[x]
        return x

    for a, b in edges:
        parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(root(x), []).append(x)
    return [(a, b) for group in groups.values() for i, a in enumerate(group) for b in group[i + 1 :]]
