"""Translation matching: is each sentence's nearest neighbour among the translations its own?"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._st_loggers import ST_TRANSLATION
from .base import Evaluator, as_torch, check_lengths


class TranslationEvaluator(Evaluator):
    """Accuracy of finding each sentence's translation by cosine similarity, both ways.

    ``source_sentences[i]`` and ``target_sentences[i]`` are translations of each other. A source counts
    as right when its most similar target is its translation (or a target with the same text), and the
    other way round. Keys ``src2trg_accuracy``, ``trg2src_accuracy`` and ``mean_accuracy`` (primary); the
    CSV columns are ``src2trg`` and ``trg2src``. ``print_wrong_matches=True`` prints each source whose
    nearest target is wrong, with its five nearest targets.

    Example::

        from sbert import SentenceTransformer
        from sbert.evaluation import TranslationEvaluator
        evaluator = TranslationEvaluator(["Hello", "Thank you"], ["Hallo", "Danke"], name="en-de")
        evaluator(SentenceTransformer("./multilingual"))["en-de_mean_accuracy"]
    """

    csv_stem = "translation_evaluation"
    main_metric = "mean_accuracy"
    st_logger = ST_TRANSLATION
    st_heading = "Evaluating translation matching Accuracy of the model on the {name} dataset{when}:"

    def __init__(
        self,
        source_sentences: Sequence[str],
        target_sentences: Sequence[str],
        show_progress_bar: bool = False,
        batch_size: int = 16,
        name: str = "",
        print_wrong_matches: bool = False,
        write_csv: bool = True,
        truncate_dim: int | None = None,
    ) -> None:
        check_lengths(
            f"TranslationEvaluator({name})",
            source_sentences=source_sentences,
            target_sentences=target_sentences,
        )
        self.source_sentences, self.target_sentences = list(source_sentences), list(target_sentences)
        self.show_progress_bar, self.batch_size, self.name = show_progress_bar, batch_size, name
        self.print_wrong_matches = print_wrong_matches
        self.write_csv = write_csv
        self.truncate_dim = truncate_dim

    def embed_inputs(self, model: Any, sentences: Sequence[str], **kwargs: Any) -> list[Any]:
        """sentence-transformers' embedding step, which a subclass overrides or calls: one tensor per text
        (numpy rows without torch), as there."""
        found = super().embed_inputs(model, sentences, **kwargs)
        # a sparse evaluator's tensor gives its sparse rows, as there
        return list(found if sys.modules.get("torch") is None else as_torch(found))

    def compute(self, model: Any) -> dict[str, float]:
        sources = self.embed_column(model, self.source_sentences)
        targets = self.embed_column(model, self.target_sentences)
        scores = self.score_matrix(sources, targets, "cosine")  # (n, n), float32 as there
        src2trg = _matched(scores, self.target_sentences)
        trg2src = _matched(scores.T, self.source_sentences)
        if self.print_wrong_matches:
            self.print_wrong(scores, src2trg)
        results = {"src2trg_accuracy": src2trg.mean(), "trg2src_accuracy": trg2src.mean()}
        results["mean_accuracy"] = (results["src2trg_accuracy"] + results["trg2src_accuracy"]) / 2
        return results

    def result_lines(self, results: dict[str, float]) -> list[str]:
        return [
            f"Accuracy src2trg: {results['src2trg_accuracy'] * 100:.2f}",
            f"Accuracy trg2src: {results['trg2src_accuracy'] * 100:.2f}",
        ]

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        return {"src2trg": results["src2trg_accuracy"], "trg2src": results["trg2src_accuracy"]}

    def csv_header_columns(self) -> list[str]:
        return ["src2trg", "trg2src"]

    def print_wrong(self, scores: np.ndarray, right: np.ndarray) -> None:
        for i in np.flatnonzero(~right):
            best = int(np.argmax(scores[i]))
            print(f"\nIncorrect  : Source {i} is most similar to target {best} instead of target {i}")
            print("Source     :", self.source_sentences[i])
            print("Pred Target:", self.target_sentences[best], f"(Score: {scores[i, best]:.4f})")
            print("True Target:", self.target_sentences[i], f"(Score: {scores[i, i]:.4f})")
            for j in np.argsort(-scores[i], kind="stable")[:5]:
                print("\t", j, f"(Score: {scores[i, j]:.4f})", self.target_sentences[j])


def _matched(scores: np.ndarray, candidates: list[str]) -> np.ndarray:
    """``(n,)`` bools: row i's most similar candidate has the text of candidate i (duplicates count)."""
    nearest = np.argmax(scores, axis=1)
    return np.array([candidates[j] == candidates[i] for i, j in enumerate(nearest)], dtype=bool)
