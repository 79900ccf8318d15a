"""Evaluators users write by subclassing sentence-transformers' (patterns seen in public repositories): an
old-style ``SentenceEvaluator`` that names its own CSV file in ``__init__``, and a built-in evaluator whose
subclass picks its primary metric in ``__init__``. sbert gives what sentence-transformers 6.3 gives: the same
results, CSV files and primary metric, and so the same ``sequential_score`` where a SequentialEvaluator reads
that metric."""

from __future__ import annotations

import csv
import importlib
import os
from pathlib import Path

import numpy as np
import pytest

import sbert

S1 = ["a sunny day outside", "the cat sat on the mat", "a man plays guitar", "the dog runs fast", "red car"]
S2 = ["it is sunny", "a cat on a mat", "someone plays music", "a slow dog", "a blue bike"]
LABELS = [1, 1, 1, 0, 0]
SCORES = [0.9, 0.8, 0.7, 0.2, 0.1]
QUERIES = {"q1": "a sunny day", "q2": "the cat sat", "q3": "guitar music"}
CORPUS = {"d1": "a sunny day outside", "d2": "the cat sat on the mat", "d3": "a man plays guitar"}
CORPUS["d4"] = "dog"
RELEVANT = {"q1": {"d1"}, "q2": {"d2", "d4"}, "q3": {"d3"}}
KS = {"mrr_at_k": [2], "ndcg_at_k": [2], "accuracy_at_k": [1, 2], "precision_recall_at_k": [1]}
KS["map_at_k"] = [2]


def evaluation(library):
    return importlib.import_module(f"{library.__name__}.sentence_transformer.evaluation")


def libraries():
    import sentence_transformers

    return sbert, sentence_transformers


def read_csvs(folder: Path) -> dict[str, list[list[str]]]:
    files = folder.rglob("*.csv")
    return {p.name: list(csv.reader(p.read_text(encoding="utf-8").splitlines())) for p in files}


def assert_same_rows(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name][0] == theirs[name][0]  # header
        for mine, reference in zip(ours[name][1:], theirs[name][1:], strict=True):
            np.testing.assert_allclose(np.float64(mine), np.float64(reference), atol=1e-5)


def own_csv_evaluator(library):
    class TopOneAccuracy(evaluation(library).SentenceEvaluator):
        """Old style: no super().__init__, its own csv_file and csv_headers, a float returned."""

        def __init__(self, name=""):
            self.name = name
            self.csv_file = "top1_" + name + "_results.csv"
            self.csv_headers = ["epoch", "steps", "accuracy"]

        def __call__(self, model, output_path=None, epoch=-1, steps=-1):
            a, b = model.encode(S1), model.encode(S2)
            accuracy = float(np.mean(np.argmax(a @ b.T, axis=1) == np.arange(len(S1))))
            if output_path is not None:
                path = os.path.join(output_path, self.csv_file)
                new = not os.path.isfile(path)
                with open(path, "a", newline="", encoding="utf-8") as f:
                    if new:
                        csv.writer(f).writerow(self.csv_headers)
                    csv.writer(f).writerow([epoch, steps, accuracy])
            return accuracy

    return TopOneAccuracy("dev")


def test_a_subclass_names_its_own_csv_file(dropout_free_st, tmp_path):
    found = {}
    for library in libraries():
        evaluator = own_csv_evaluator(library)
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        out = tmp_path / library.__name__
        out.mkdir()
        scores = [evaluator(model, str(out), epoch=e, steps=3) for e in (0, 1)]
        found[library.__name__] = scores, read_csvs(out), evaluator.csv_file
    ours, theirs = found["sbert"], found["sentence_transformers"]
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6)
    assert ours[2] == theirs[2] == "top1_dev_results.csv"
    assert_same_rows(ours[1], theirs[1])


def chosen_primary(library, kind):
    """A built-in evaluator whose subclass picks its primary metric in ``__init__``, unprefixed."""
    ev = evaluation(library)
    base, args, options, metric = {
        "binary": (ev.BinaryClassificationEvaluator, (S1, S2, LABELS), {}, "cosine_f1"),
        "similarity": (ev.EmbeddingSimilarityEvaluator, (S1, S2, SCORES), {}, "pearson_cosine"),
        "triplet": (ev.TripletEvaluator, (S1, S2, S2[::-1]), {}, "cosine_accuracy"),
        "retrieval": (ev.InformationRetrievalEvaluator, (QUERIES, CORPUS, RELEVANT), KS, "cosine_mrr@2"),
        "retrieval_functions": (
            ev.InformationRetrievalEvaluator,
            (QUERIES, CORPUS, RELEVANT),
            {**KS, "score_functions": {"cos": library.util.cos_sim, "dot": library.util.dot_score}},
            "dot_mrr@2",
        ),
        "translation": (ev.TranslationEvaluator, (S1, S2), {}, "src2trg_accuracy"),
    }[kind]

    class Chosen(base):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.primary_metric = metric

    return Chosen(*args, name="dev", **options)


@pytest.mark.parametrize(
    "kind", ["binary", "similarity", "triplet", "retrieval", "retrieval_functions", "translation"]
)
def test_a_primary_metric_chosen_in_a_subclass(dropout_free_st, kind):
    found = {}
    for library in libraries():
        evaluator = chosen_primary(library, kind)
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        results = evaluator(model)
        again = evaluator(model)  # a second call keeps what the first settled
        sequential = evaluation(library).SequentialEvaluator([chosen_primary(library, kind)])(model)
        found[library.__name__] = results, evaluator.primary_metric, again, sequential
    ours, theirs = found["sbert"], found["sentence_transformers"]
    assert ours[1] == theirs[1] and ours[1] in ours[0]
    for mine, reference in zip((ours[0], ours[2], ours[3]), (theirs[0], theirs[2], theirs[3])):
        assert mine.keys() == reference.keys()
        np.testing.assert_allclose(list(mine.values()), list(reference.values()), atol=1e-5)


def test_a_bare_evaluator_subclass_starts_without_a_primary_metric_as_sentence_transformers():
    """``if self.primary_metric is None: self.primary_metric = ...`` (a common line in users' evaluators)
    applies in sbert as there; one the subclass sets reads back as set."""
    found = []
    for library in libraries():

        class Custom(evaluation(library).SentenceEvaluator):
            def __init__(self):
                super().__init__()
                found.append(self.primary_metric)
                if self.primary_metric is None:
                    self.primary_metric = "accuracy"
                found.append(self.primary_metric)

        Custom()
    assert found[:2] == found[2:] == [None, "accuracy"]


def test_every_evaluator_kind_takes_a_csv_file_a_subclass_sets(dropout_free_st, tmp_path):
    """Old-style subclasses name their CSV file in ``__init__``; the evaluators whose file name has its own
    pattern (the reranking one's ``_results_@k``, the distillation one's) take it too, and write there, as
    sentence-transformers' do."""
    for library in libraries():
        ev = evaluation(library)
        model = library.SentenceTransformer(str(dropout_free_st), device="cpu")
        samples = [{"query": "a sunny day", "positive": ["it is sunny"], "negative": ["a cat", "red car"]}]
        made = {
            "reranking": ev.RerankingEvaluator(samples, at_k=2, name="dev"),
            "mse": ev.MSEEvaluator(S1[:2], S2[:2], teacher_model=model, name="dev"),
        }
        out = tmp_path / library.__name__
        for kind, evaluator in made.items():
            default = evaluator.csv_file
            evaluator.csv_file = f"custom_{kind}.csv"
            evaluator(model, output_path=str(out))
            assert (out / f"custom_{kind}.csv").is_file() and not (out / default).exists()
