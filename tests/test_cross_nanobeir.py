"""CrossEncoderNanoBEIREvaluator: a reranker on the hub's NanoBEIR sets (served offline here by a stand-in
for ``datasets.load_dataset``), read as sentence-transformers reads them (the same subsets and splits asked
for) and scored as its evaluator scores them: the same keys and values, CSV file and primary metric."""

from __future__ import annotations

import csv

import pytest
from conftest import build_tiny_classifier

DOCS = {
    "d1": "the cat sat on the mat",
    "d2": "a man plays guitar",
    "d3": "the red car is fast",
    "d4": "she is happy today",
    "d5": "they eat good food in the house",
    "d6": "the dog ran to the tree",
    "d7": "a woman plays music",
    "d8": "it is sunny outside",
}
QUERIES = {"q1": "a cat", "q2": "guitar music", "q3": "fast car", "q4": "happy woman", "q5": "the dog"}
QRELS = [("q1", "d1"), ("q2", "d2"), ("q2", "d7"), ("q3", "d3"), ("q4", "d4"), ("q5", "d6")]
BM25 = {  # each query's first-stage ranking, best first (some miss their positives)
    "q1": ["d8", "d1", "d2", "d3", "d5"],
    "q2": ["d7", "d4", "d1", "d6", "d5"],
    "q3": ["d5", "d4", "d2", "d1", "d8"],
    "q4": ["d4", "d7", "d2", "d3", "d1"],
    "q5": ["d1", "d2", "d3", "d5", "d6"],
}


@pytest.fixture
def hub_nanobeir(monkeypatch):
    """``datasets.load_dataset`` answering for NanoBEIR's subsets offline (the hub's columns); the sets'
    texts differ by split so that two sets score differently."""
    import datasets

    calls = []

    def load_dataset(path, subset, split):
        calls.append((path, subset, split))
        mark = "" if split == "NanoSciFact" else " again"
        if subset == "corpus":
            return datasets.Dataset.from_dict({"_id": list(DOCS), "text": [t + mark for t in DOCS.values()]})
        if subset == "queries":
            return datasets.Dataset.from_dict({"_id": list(QUERIES), "text": list(QUERIES.values())})
        if subset == "qrels":
            return datasets.Dataset.from_dict(
                {"query-id": [q for q, _ in QRELS], "corpus-id": [d for _, d in QRELS]}
            )
        return datasets.Dataset.from_dict({"query-id": list(BM25), "corpus-ids": list(BM25.values())})

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


@pytest.fixture(scope="module")
def reranker_path(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("ce") / "reranker", num_labels=1, seed=3)


@pytest.mark.parametrize(
    "options",
    [{}, {"rerank_k": 3, "at_k": 2, "always_rerank_positives": False, "aggregate_key": "median"}],
)
def test_scores_as_sentence_transformers(hub_nanobeir, reranker_path, tmp_path, options):
    import numpy as np
    from sentence_transformers.cross_encoder import CrossEncoder as Reference
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator as Theirs

    from sbert import CrossEncoder
    from sbert.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator

    if options.get("aggregate_key") == "median":
        options = {**options, "aggregate_fn": np.median}
    names = ["scifact", "NFCorpus"]
    theirs = Theirs(names, **options)
    expected = theirs(Reference(str(reranker_path), device="cpu"), str(tmp_path / "theirs"))
    their_calls, hub_nanobeir[:] = list(hub_nanobeir), []
    ours = CrossEncoderNanoBEIREvaluator(names, **options)
    got = ours(CrossEncoder(str(reranker_path)), str(tmp_path / "ours"))
    assert hub_nanobeir == their_calls  # NanoBEIR-en's corpus, queries, qrels and bm25 of each set
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-6), key
    assert ours.primary_metric == theirs.primary_metric
    assert ours.get_config_dict() == theirs.get_config_dict()
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == sorted(
        p.name for p in (tmp_path / "theirs").iterdir()
    )
    with open(tmp_path / "ours" / ours.csv_file) as mine, open(tmp_path / "theirs" / theirs.csv_file) as ref:
        mine_rows, ref_rows = list(csv.reader(mine)), list(csv.reader(ref))
    assert mine_rows[0] == ref_rows[0] == ours.csv_headers
    assert [float(x) for x in mine_rows[1]] == pytest.approx([float(x) for x in ref_rows[1]], abs=1e-6)


@pytest.mark.parametrize("show", [True, False])
def test_loading_and_evaluating_bars_as_sentence_transformers(hub_nanobeir, reranker_path, bars, show):
    """A bar while the sets load (always, cleared after) and one over the sets evaluated (with
    show_progress_bar), with sentence-transformers' descriptions and totals."""
    from sentence_transformers.cross_encoder import CrossEncoder as Reference
    from sentence_transformers.cross_encoder.evaluation import nano_beir

    from sbert import CrossEncoder
    from sbert.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator

    bars.watch(nano_beir)
    reference, model = Reference(str(reranker_path), device="cpu"), CrossEncoder(str(reranker_path))
    bars.clear()  # the models' loading bars
    options = {"show_progress_bar": show, "write_csv": False}
    nano_beir.CrossEncoderNanoBEIREvaluator(["scifact", "nfcorpus"], **options)(reference)
    CrossEncoderNanoBEIREvaluator(["scifact", "nfcorpus"], **options)(model)
    expected = [("Loading NanoBEIR datasets", 2, False)] + (
        [("Evaluating datasets", 2, True)] if show else []
    )
    assert bars.ours == bars.theirs == expected


def test_default_sets_and_bad_names_as_sentence_transformers(hub_nanobeir):
    from sbert import InputError
    from sbert.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator

    every = CrossEncoderNanoBEIREvaluator()
    assert len(every.evaluators) == 11 and "arguana" not in every.dataset_names
    assert every.evaluators[0].name == "NanoClimateFEVER_R100"
    with pytest.raises(InputError, match=r"Dataset\(s\) \['nosuch'\] are not valid NanoBEIR datasets"):
        CrossEncoderNanoBEIREvaluator(["nosuch"])
    with pytest.raises(InputError, match="dataset_names cannot be empty"):
        CrossEncoderNanoBEIREvaluator([])
