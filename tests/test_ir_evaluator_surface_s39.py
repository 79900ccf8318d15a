"""The subclassing surface of sentence-transformers' InformationRetrievalEvaluator, as sbert offers it.

Subclasses in public repositories read its attributes (``queries_ids``, ``relevant_docs``, ``ndcg_at_k``,
``score_function_names``, ``csv_headers``, ...), override ``compute_metrics(queries_result_list)`` (to merge
passages into documents, or write their own report), ``compute_all_metrics`` (to mask hits or embed in
their own way, with ``embed_inputs`` and ``compute_metrics``), ``embed_inputs``, ``output_scores`` or
``compute_dcg_at_k``, call ``compute_metrics`` on their own hits, and pick a primary metric in ``__init__``
only where it is still None. Each test runs the same subclass on both libraries and compares the results
(atol 1e-5), the CSV files and what the overrides were called with.
"""

from __future__ import annotations

import csv
import importlib
import logging
from pathlib import Path

import numpy as np
import pytest

import sbert

QUERIES = {"q1": "a sunny day", "q2": "the cat sat", "q3": "guitar music", "q4": "no judgement"}
CORPUS = {
    "d1": "a sunny day outside",
    "d2": "the cat sat on the mat",
    "d3": "a man plays guitar",
    "d4": "dog",
    "d5": "it rains all day",
    "d6": "music from a guitar",
}
RELEVANT = {"q1": {"d1", "d5"}, "q2": {"d2"}, "q3": {"d3", "d6"}}
KS = {"mrr_at_k": [3], "ndcg_at_k": [2, 3], "accuracy_at_k": [1, 2], "precision_recall_at_k": [1, 3]}
KS["map_at_k"] = [3]


def libraries():
    import sentence_transformers

    return sbert, sentence_transformers


def evaluation(library):
    return importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")


def model_of(library, folder):
    return library.SentenceTransformer(str(folder), device="cpu")


def read_csvs(folder: Path) -> dict[str, list[list[str]]]:
    return {
        p.name: list(csv.reader(p.read_text(encoding="utf-8").splitlines())) for p in folder.rglob("*.csv")
    }


def assert_same_results(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    np.testing.assert_allclose(list(ours.values()), [theirs[k] for k in ours], atol=1e-5)


def assert_same_csvs(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name][0] == theirs[name][0]
        for mine, reference in zip(ours[name][1:], theirs[name][1:], strict=True):
            np.testing.assert_allclose(np.float64(mine), np.float64(reference), atol=1e-5)


def assert_same_nested(ours: dict, theirs: dict) -> None:
    """``{function: {"ndcg@k": {k: value}}}`` (compute_all_metrics) or ``{"ndcg@k": {k: value}}``."""
    assert ours.keys() == theirs.keys()
    for key in ours:
        if isinstance(theirs[key], dict):
            assert_same_nested(ours[key], theirs[key])
        else:
            np.testing.assert_allclose(float(ours[key]), float(theirs[key]), atol=1e-5)


def run_both(make, folder, tmp_path, calls=2):
    """``make(library)`` → an evaluator; each called ``calls`` times with an output folder."""
    found = {}
    for library in libraries():
        evaluator = make(library)
        model = model_of(library, folder)
        out = tmp_path / library.__name__
        results = [evaluator(model, str(out), epoch=e, steps=5) for e in range(calls)]
        found[library.__name__] = evaluator, results, read_csvs(out)
    ours, theirs = found["sbert"], found["sentence_transformers"]
    for mine, reference in zip(ours[1], theirs[1]):
        assert_same_results(mine, reference)
    assert_same_csvs(ours[2], theirs[2])
    return ours[0], theirs[0]


ATTRIBUTES = [
    "queries_ids",
    "queries",
    "corpus_ids",
    "corpus",
    "relevant_docs",
    "corpus_chunk_size",
    "mrr_at_k",
    "ndcg_at_k",
    "accuracy_at_k",
    "precision_recall_at_k",
    "map_at_k",
    "score_function_names",
    "csv_headers",
    "csv_file",
    "query_prompt",
    "query_prompt_name",
    "corpus_prompt",
    "corpus_prompt_name",
    "batch_size",
    "show_progress_bar",
    "truncate_dim",
    "write_csv",
    "write_predictions",
    "name",
    "primary_metric",
]


@pytest.mark.parametrize("functions", [False, True])
def test_the_attributes_subclasses_read(dropout_free_st, functions):
    found = {}
    for library in libraries():
        options = dict(KS, name="dev", batch_size=3, query_prompt="query: ", truncate_dim=16)
        if functions:
            options["score_functions"] = {"dot": library.util.dot_score, "cos": library.util.cos_sim}
            options["main_score_function"] = "cosine"
        evaluator = evaluation(library).InformationRetrievalEvaluator(QUERIES, CORPUS, RELEVANT, **options)
        before = {a: getattr(evaluator, a) for a in ATTRIBUTES}
        evaluator(model_of(library, dropout_free_st))
        after = {a: getattr(evaluator, a) for a in ATTRIBUTES}
        main = evaluator.main_score_function
        found[library.__name__] = before, after, sorted(evaluator.score_functions), main
    ours, theirs = found["sbert"], found["sentence_transformers"]
    for moment in (0, 1):
        for attribute in ATTRIBUTES:
            assert ours[moment][attribute] == theirs[moment][attribute], (moment, attribute)
    assert ours[0]["primary_metric"] is None  # worked out by the first call, as there
    assert ours[2] == theirs[2]
    if functions:
        assert type(ours[3]).__name__ == type(theirs[3]).__name__ == "SimilarityFunction"
        assert ours[3].value == theirs[3].value == "cosine"
    else:
        assert ours[3] is theirs[3] is None


def test_compute_metrics_overridden_to_merge_passages(dropout_free_st, tmp_path):
    """The pattern of a public subclass: passages mapped to their documents, each document scored by its
    best passage, then the parent's metrics on the documents."""
    seen = {}

    def make(library):
        base = evaluation(library).InformationRetrievalEvaluator

        class PassagesToDocuments(base):
            def compute_metrics(self, queries_result_list):
                first = queries_result_list[0][0]
                seen[library.__name__] = (
                    type(queries_result_list).__name__,
                    len(queries_result_list),
                    sorted(first),
                    type(first["corpus_id"]).__name__,
                    type(first["score"]).__name__,
                    type(self.relevant_docs).__name__,
                )
                merged = []
                for hits in queries_result_list:
                    best = {}
                    for hit in hits:
                        document = "d" + str((int(hit["corpus_id"][1:]) + 1) // 2)
                        best[document] = max(best.get(document, -1e9), hit["score"])
                    merged.append([{"corpus_id": d, "score": s} for d, s in best.items()])
                return super().compute_metrics(merged)

        relevant = {"q1": {"d1"}, "q2": {"d1"}, "q3": {"d2", "d3"}}
        return PassagesToDocuments(QUERIES, CORPUS, relevant, name="merged", **KS)

    run_both(make, dropout_free_st, tmp_path)
    assert seen["sbert"] == seen["sentence_transformers"]


def test_compute_all_metrics_overridden_to_mask_hits(dropout_free_st, tmp_path):
    """A subclass that embeds with ``embed_inputs``, masks excluded documents and ranks itself, then reads
    the metrics of ``compute_metrics`` (the shape ``__call__`` expects back: function → metric → k)."""
    seen = {}

    def make(library):
        base = evaluation(library).InformationRetrievalEvaluator
        util = library.util

        class Masked(base):
            def compute_all_metrics(self, model, corpus_model=None, corpus_embeddings=None, output_path=None):
                queries = self.embed_inputs(
                    model, self.queries, encode_fn_name="query", prompt=self.query_prompt
                )
                documents = self.embed_inputs(model, self.corpus, encode_fn_name="document")
                seen[library.__name__] = (type(queries).__name__, tuple(queries.shape), output_path is None)
                scores = util.cos_sim(queries, documents)
                scores[:, self.corpus_ids.index("d4")] = -1.0
                ranked = [
                    [{"corpus_id": self.corpus_ids[i], "score": float(row[i])} for i in range(len(row))]
                    for row in scores
                ]
                return {"cosine": self.compute_metrics(ranked)}

        return Masked(QUERIES, CORPUS, RELEVANT, name="masked", **KS)

    ours, theirs = run_both(make, dropout_free_st, tmp_path)
    assert ours.primary_metric == theirs.primary_metric
    assert seen["sbert"] == seen["sentence_transformers"]


def test_compute_all_metrics_extended_by_a_subclass(dropout_free_st, tmp_path):
    """``super().compute_all_metrics`` called with the call's arguments, its nested scores read and extended
    before ``__call__`` flattens them (and writes the CSV row from them)."""
    seen = {}

    def make(library):
        base = evaluation(library).InformationRetrievalEvaluator

        class Extended(base):
            def compute_all_metrics(self, model, corpus_model=None, corpus_embeddings=None, output_path=None):
                scores = super().compute_all_metrics(
                    model,
                    corpus_model=corpus_model,
                    corpus_embeddings=corpus_embeddings,
                    output_path=output_path,
                )
                seen.setdefault(library.__name__, []).append(
                    (sorted(scores), sorted(scores["cosine"]), sorted(scores["cosine"]["ndcg@k"]))
                )
                scores["cosine"]["ndcg@k"][3] = 1.0 - scores["cosine"]["ndcg@k"][3]
                return scores

        return Extended(QUERIES, CORPUS, RELEVANT, name="ext", write_predictions=True, **KS)

    run_both(make, dropout_free_st, tmp_path)
    assert seen["sbert"] == seen["sentence_transformers"]


def test_compute_metrices_is_compute_all_metrics(dropout_free_st):
    found = {}
    for library in libraries():
        evaluator = evaluation(library).InformationRetrievalEvaluator(QUERIES, CORPUS, RELEVANT, **KS)
        evaluator(model_of(library, dropout_free_st))  # the model's score function, as a call resolves it
        found[library.__name__] = evaluator.compute_metrices(model_of(library, dropout_free_st))
    assert_same_nested(found["sbert"], found["sentence_transformers"])


def test_embed_inputs_overridden(dropout_free_st, tmp_path):
    seen = {}

    def make(library):
        base = evaluation(library).InformationRetrievalEvaluator

        class Normalized(base):
            def embed_inputs(
                self, model, sentences, encode_fn_name=None, prompt_name=None, prompt=None, **kwargs
            ):
                seen.setdefault(library.__name__, []).append(
                    (encode_fn_name, prompt_name, prompt, len(sentences))
                )
                return super().embed_inputs(
                    model, [s.upper() for s in sentences], encode_fn_name, prompt_name, prompt, **kwargs
                )

        return Normalized(QUERIES, CORPUS, RELEVANT, name="upper", corpus_prompt="doc: ", **KS)

    run_both(make, dropout_free_st, tmp_path)
    assert seen["sbert"] == seen["sentence_transformers"]


def test_compute_dcg_and_output_scores_overridden(dropout_free_st, tmp_path, caplog):
    seen = {}

    def make(library):
        base = evaluation(library).InformationRetrievalEvaluator

        class Linear(base):
            @staticmethod
            def compute_dcg_at_k(relevances, k):
                return sum(r / (i + 1) for i, r in enumerate(relevances[:k]))

            def output_scores(self, scores):
                seen.setdefault(library.__name__, []).append(sorted(scores))

        return Linear(QUERIES, CORPUS, RELEVANT, name="lin", **KS)

    with caplog.at_level(logging.INFO):
        run_both(make, dropout_free_st, tmp_path)
    assert seen["sbert"] == seen["sentence_transformers"]


def test_compute_metrics_called_on_own_hits(dropout_free_st):
    """A script that ranks by itself and reads only ``compute_metrics`` (and the static DCG)."""
    found = {}
    rng = np.random.default_rng(0)
    ranked = [
        [{"corpus_id": d, "score": float(s)} for d, s in zip(CORPUS, rng.random(len(CORPUS)))]
        for _ in range(3)
    ]
    for library in libraries():
        ev = evaluation(library).InformationRetrievalEvaluator
        evaluator = ev(QUERIES, CORPUS, RELEVANT, **KS)
        found[library.__name__] = evaluator.compute_metrics(ranked), ev.compute_dcg_at_k([1, 0, 1, 1], 3)
    assert_same_nested(found["sbert"][0], found["sentence_transformers"][0])
    np.testing.assert_allclose(found["sbert"][1], found["sentence_transformers"][1], atol=1e-12)


@pytest.mark.parametrize("functions", [False, True])
def test_a_primary_metric_set_only_when_none(dropout_free_st, tmp_path, functions):
    """``if self.primary_metric is None: self.primary_metric = ...`` in ``__init__``."""

    def make(library):
        base = evaluation(library).InformationRetrievalEvaluator

        class MapPrimary(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                if self.primary_metric is None:
                    self.primary_metric = "cos_map@3"

        options = dict(KS, name="dev")
        if functions:
            options["score_functions"] = {"cos": library.util.cos_sim, "dot": library.util.dot_score}
        return MapPrimary(QUERIES, CORPUS, RELEVANT, **options)

    ours, theirs = run_both(make, dropout_free_st, tmp_path)
    assert ours.primary_metric == theirs.primary_metric


def test_given_corpus_embeddings_reach_an_overridden_compute_all_metrics(dropout_free_st):
    seen = {}
    found = {}
    for library in libraries():
        base = evaluation(library).InformationRetrievalEvaluator

        class Recording(base):
            tag = library.__name__

            def compute_all_metrics(self, model, corpus_model=None, corpus_embeddings=None, output_path=None):
                seen[self.tag] = (corpus_model is None, tuple(corpus_embeddings.shape), output_path)
                return super().compute_all_metrics(model, corpus_model, corpus_embeddings, output_path)

        model = model_of(library, dropout_free_st)
        given = model.encode_document(list(CORPUS.values()), convert_to_tensor=True)
        found[library.__name__] = Recording(QUERIES, CORPUS, RELEVANT, **KS)(model, corpus_embeddings=given)
    assert_same_results(found["sbert"], found["sentence_transformers"])
    assert seen["sbert"] == seen["sentence_transformers"]


def test_a_sparse_subclass_with_its_own_steps(sparse_splade_folder, tmp_path):
    """SparseInformationRetrievalEvaluator inherits the surface: a subclass's ``embed_inputs`` (calling
    the parent's, so the sparsity is still counted) and ``compute_metrics``."""
    seen = {}
    found = {}
    for library in libraries():
        base = importlib.import_module(f"{library.__name__}.sparse_encoder.evaluation")
        base = base.SparseInformationRetrievalEvaluator

        class Recording(base):
            tag = library.__name__

            def embed_inputs(
                self, model, sentences, encode_fn_name=None, prompt_name=None, prompt=None, **kwargs
            ):
                found_ = super().embed_inputs(model, sentences, encode_fn_name, prompt_name, prompt, **kwargs)
                seen.setdefault(self.tag, []).append((encode_fn_name, len(sentences), found_.is_sparse))
                return found_

            def compute_metrics(self, queries_result_list):
                seen.setdefault(self.tag, []).append(len(queries_result_list))
                return super().compute_metrics(queries_result_list)

        model = library.SparseEncoder(str(sparse_splade_folder), device="cpu")
        out = tmp_path / library.__name__
        evaluator = Recording(QUERIES, CORPUS, RELEVANT, name="sp", **KS)
        found[library.__name__] = evaluator(model, str(out)), read_csvs(out), evaluator.primary_metric
    ours, theirs = found["sbert"], found["sentence_transformers"]
    assert_same_results(ours[0], theirs[0])
    assert_same_csvs(ours[1], theirs[1])
    assert ours[2] == theirs[2]
    assert seen["sbert"] == seen["sentence_transformers"]
