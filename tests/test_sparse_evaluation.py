"""The sparse evaluators (``sbert.sparse_encoder.evaluation``) against sentence-transformers' own, on a tiny
random SPLADE model: the same metric keys (with the evaluator's name), values within 1e-5, the same primary
metric, and the same CSV files (names, header, values) in ``output_path``."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import WORDS, random_sentences, rerank_samples

# torch's one-time notices, raised by sentence-transformers' own sparse similarity code
pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

TOL = 1e-5
FOUR = ["cosine", "dot", "euclidean", "manhattan"]


@pytest.fixture(scope="module")
def models(sparse_splade_folder):
    """The same SPLADE folder (saved by sentence-transformers) loaded by sbert and by sentence-transformers;
    about 18 of its 99 dimensions active per text, so that few scores tie and max_active_dims cuts."""
    from sentence_transformers import SparseEncoder as Reference

    from sbert.sparse_encoder import SparseEncoder

    folder = sparse_splade_folder
    return SparseEncoder(str(folder), device="cpu"), Reference(str(folder), device="cpu")


def texts(n, seed):
    return random_sentences(WORDS, n, seed)


def retrieval_set(seed, queries=8, documents=30):
    rng = np.random.default_rng(seed)
    corpus = {f"d{i}": text for i, text in enumerate(texts(documents, seed))}
    questions = {f"q{i}": text for i, text in enumerate(texts(queries, seed + 1))}
    relevant = {q: set(rng.choice(list(corpus), size=rng.integers(1, 4), replace=False)) for q in questions}
    return questions, corpus, relevant


CASES = {
    "similarity": (
        "SparseEmbeddingSimilarityEvaluator",
        lambda: (texts(24, 1), texts(24, 2), list(np.linspace(0, 5, 24))),
        {"name": "sts"},
    ),
    "similarity-four": (
        "SparseEmbeddingSimilarityEvaluator",
        lambda: (texts(24, 1), texts(24, 2), list(np.linspace(0, 5, 24))),
        {"similarity_fn_names": FOUR, "main_similarity": "cosine", "max_active_dims": 12},
    ),
    "binary": (
        "SparseBinaryClassificationEvaluator",
        lambda: (texts(30, 3), texts(30, 4), [i % 2 for i in range(30)]),
        {"name": "pairs", "similarity_fn_names": FOUR},
    ),
    "triplet": (
        "SparseTripletEvaluator",
        lambda: (texts(20, 5), texts(20, 6), texts(20, 7)),
        {"name": "tri", "max_active_dims": 10},
    ),
    "translation": ("SparseTranslationEvaluator", lambda: (texts(20, 8), texts(20, 9)), {"name": "en-de"}),
    "reranking": ("SparseRerankingEvaluator", lambda: (rerank_samples(),), {"name": "rr", "at_k": 3}),
    "reranking-one-by-one": (
        "SparseRerankingEvaluator",
        lambda: (rerank_samples(),),
        {"use_batched_encoding": False},
    ),
    "retrieval": ("SparseInformationRetrievalEvaluator", lambda: retrieval_set(10), {"name": "ir"}),
    "retrieval-cut": (
        "SparseInformationRetrievalEvaluator",
        lambda: retrieval_set(12),
        {"max_active_dims": 6, "ndcg_at_k": [3, 10], "corpus_chunk_size": 7},
    ),
}


def build(kind, package, models):
    """The evaluator of ``kind`` from sbert (``package`` "sbert") or sentence-transformers, its teacher (for
    the MSE evaluator) the model of that library."""
    import importlib

    module = importlib.import_module(f"{package}.sparse_encoder.evaluation")
    if kind == "mse":
        teacher = models[0] if package == "sbert" else models[1]
        return module.SparseMSEEvaluator(texts(20, 20), texts(20, 21), teacher_model=teacher, name="mse")
    name, data, options = CASES[kind]
    return getattr(module, name)(*data(), **options)


def assert_same_results(mine, ours, ref, theirs):
    assert set(mine) == set(ref), set(mine) ^ set(ref)
    for key, value in mine.items():
        assert value == pytest.approx(float(ref[key]), abs=TOL), key
    assert ours.primary_metric == theirs.primary_metric and ours.primary_metric in mine


def read_csvs(folder):
    return {
        path.name: list(csv.reader(path.read_text().splitlines())) for path in sorted(folder.glob("*.csv"))
    }


def assert_same_csvs(mine, theirs):
    """The same files, headers and rows (numbers within TOL)."""
    mine, theirs = read_csvs(mine), read_csvs(theirs)
    assert set(mine) == set(theirs) and mine
    for name, rows in theirs.items():
        assert mine[name][0] == rows[0], name
        assert len(mine[name]) == len(rows)
        for got, expected in zip(mine[name][1:], rows[1:]):
            assert [float(x) for x in got] == pytest.approx([float(x) for x in expected], abs=TOL), name


@pytest.mark.parametrize("kind", [*CASES, "mse"])
def test_sparse_evaluators_match_sentence_transformers(models, kind, tmp_path):
    ours_model, their_model = models
    ours, theirs = build(kind, "sbert", models), build(kind, "sentence_transformers", models)
    mine = ours_model.evaluate(ours, tmp_path / "ours")
    ref = their_model.evaluate(theirs, str(tmp_path / "theirs"))
    assert_same_results(mine, ours, ref, theirs)
    assert ours.csv_file == theirs.csv_file
    assert_same_csvs(tmp_path / "ours", tmp_path / "theirs")
    assert ours.get_config_dict() == theirs.get_config_dict()
    stats = [key for key in mine if key.endswith("active_dims")]
    assert stats and all(0 < mine[key] < ours_model.get_embedding_dimension() for key in stats)


def test_progress_bars_as_sentence_transformers(models, bars):
    """Retrieval's "Corpus Chunks" bar (its corpus_chunk_size), the one-at-a-time reranking's "Samples" and
    rank fusion's "Evaluating": drawn with show_progress_bar as sentence-transformers draws them."""
    from sentence_transformers.sentence_transformer.evaluation import information_retrieval, reranking
    from sentence_transformers.sparse_encoder import evaluation as theirs
    from sentence_transformers.sparse_encoder.evaluation import reciprocal_rank_fusion

    from sbert.sparse_encoder import evaluation as ours

    bars.watch(information_retrieval, "trange")
    bars.watch(reranking, "module")
    bars.watch(reciprocal_rank_fusion)
    for module, model in ((ours, models[0]), (theirs, models[1])):
        options = {"show_progress_bar": True, "write_csv": False}
        module.SparseInformationRetrievalEvaluator(*retrieval_set(12), corpus_chunk_size=7, **options)(model)
        module.SparseRerankingEvaluator(rerank_samples(), use_batched_encoding=False, **options)(model)
        module.ReciprocalRankFusionEvaluator(*rankings(), **options)()
    expected = [("Corpus Chunks", 5, True), ("Samples", 6, True), ("Evaluating", 4, True)]
    assert bars.ours == bars.theirs == expected


def test_max_active_dims_cuts_every_embedding(models):
    from sbert.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

    results = SparseInformationRetrievalEvaluator(*retrieval_set(12), max_active_dims=5)(models[0])
    assert results["query_active_dims"] <= 5 and results["corpus_active_dims"] <= 5


@pytest.mark.parametrize("layout", ["sparse", "dense"])
def test_retrieval_on_given_corpus_embeddings_matches_sentence_transformers(models, layout):
    """``corpus_embeddings`` (sparse or dense, passed by position as there) stand for the corpus: its
    sparsity and FLOPS are theirs."""
    import importlib

    found = []
    for model, package in zip(models, ("sbert", "sentence_transformers")):
        module = importlib.import_module(f"{package}.sparse_encoder.evaluation")
        queries, corpus, relevant = retrieval_set(14)
        evaluator = module.SparseInformationRetrievalEvaluator(queries, corpus, relevant, write_csv=False)
        given = model.encode_document(list(corpus.values()), max_active_dims=4)
        given = given.to_dense() if layout == "dense" else given
        found.append((evaluator(model, None, -1, -1, None, given), evaluator))
    assert_same_results(*found[0], *found[1])
    assert found[0][0]["corpus_active_dims"] <= 4 < found[0][0]["query_active_dims"]


def write_beir(folder, queries, corpus, relevant):
    folder.mkdir(parents=True)
    (folder / "corpus.tsv").write_text("id\ttext\n" + "".join(f"{d}\t{t}\n" for d, t in corpus.items()))
    (folder / "queries-test.tsv").write_text(
        "id\ttext\n" + "".join(f"{q}\t{t}\n" for q, t in queries.items())
    )
    rows = "".join(f"{q}\t{d}\t1\n" for q, docs in relevant.items() for d in sorted(docs))
    (folder / "qrels-test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)


@pytest.mark.parametrize("max_active_dims", [None, 8])
def test_sparse_nanobeir_on_folders_matches_sentence_transformers_on_the_hub_sets(
    models, tmp_path, monkeypatch, max_active_dims
):
    """sbert reads BEIR folders named as the hub's sets; sentence-transformers reads the same sets from a stub
    of the hub: the same per-set and aggregated metrics, sparsity (weighted by set size) and CSV files."""
    from sentence_transformers.sentence_transformer.evaluation.nano_beir import NanoBEIREvaluator
    from sentence_transformers.sparse_encoder.evaluation import SparseNanoBEIREvaluator as Reference

    from sbert.sparse_encoder.evaluation import SparseNanoBEIREvaluator

    sets = {
        "MSMARCO": retrieval_set(40, queries=6, documents=20),
        "NQ": retrieval_set(50, queries=9, documents=35),
    }
    for name, data in sets.items():
        write_beir(tmp_path / "data" / f"Nano{name}", *data)

    def load(self, subset, split, required_columns):
        queries, corpus, relevant = sets[split.removeprefix("Nano")]
        if subset == "qrels":
            return [{"query-id": q, "corpus-id": d} for q, docs in relevant.items() for d in sorted(docs)]
        return [
            {"_id": key, "text": text} for key, text in (queries if subset == "queries" else corpus).items()
        ]

    monkeypatch.setattr(NanoBEIREvaluator, "_load_dataset_subset_split", load)
    options = {"max_active_dims": max_active_dims, "ndcg_at_k": [5, 10]}
    ours = SparseNanoBEIREvaluator(
        [tmp_path / "data" / "NanoMSMARCO", tmp_path / "data" / "NanoNQ"], **options
    )
    theirs = Reference(dataset_names=["msmarco", "nq"], **options)
    mine = ours(models[0], tmp_path / "ours")
    ref = theirs(models[1], str(tmp_path / "theirs"))
    assert_same_results(mine, ours, ref, theirs)
    assert_same_csvs(tmp_path / "ours", tmp_path / "theirs")
    assert ours.get_config_dict()["max_active_dims"] if max_active_dims else True


def rankings():
    """Dense and sparse rankings with positives in both, in one, and in neither (a missing positive)."""
    dense = [
        {"query_id": "q1", "query": "a", "positive": ["d1"], "documents": ["d1", "d2", "d3"]},
        {"query_id": "q2", "query": "b", "positive": ["e1", "e9"], "documents": ["e2", "e1", "e3", "e4"]},
        {"query_id": "q3", "query": "c", "positive": "f1", "documents": ["f2", "f3"]},
        {"query_id": "q4", "query": "d", "positive": ["g1", "g2"], "documents": ["g3", "g2"]},
    ]
    sparse = [
        {**dense[0], "documents": ["d2", "d1", "d4"]},
        {**dense[1], "documents": ["e1", "e5", "e2"]},
        {**dense[2], "documents": ["f3", "f1"]},
        {**dense[3], "documents": ["g1", "g4", "g3"]},
    ]
    return dense, sparse


@pytest.mark.parametrize("options", [{"name": "hybrid"}, {"at_k": 2, "rrf_k": 1}, {"at_k": 0}])
def test_reciprocal_rank_fusion_matches_sentence_transformers(tmp_path, options):
    from sentence_transformers.sparse_encoder.evaluation import ReciprocalRankFusionEvaluator as Reference

    from sbert.sparse_encoder.evaluation import ReciprocalRankFusionEvaluator

    ours = ReciprocalRankFusionEvaluator(*rankings(), write_predictions=True, **options)
    theirs = Reference(*rankings(), write_predictions=True, **options)
    mine, ref = ours(tmp_path / "ours", 1, 5), theirs(str(tmp_path / "theirs"), 1, 5)
    assert_same_results(mine, ours, ref, theirs)
    assert_same_csvs(tmp_path / "ours", tmp_path / "theirs")
    assert (
        ours.predictions_file == theirs.predictions_file
        and ours.get_config_dict() == theirs.get_config_dict()
    )
    predictions = [(tmp_path / side / ours.predictions_file).read_text() for side in ("ours", "theirs")]
    assert [json.loads(line) for line in predictions[0].splitlines()] == [
        json.loads(line) for line in predictions[1].splitlines()
    ]


def test_sentence_transformers_paths_and_sbert_s_evaluator_api(models):
    """Its module-per-file and module-per-class paths import; the evaluators are sbert evaluators (a
    SequentialEvaluator runs them, as the trainer does)."""
    from sbert import SequentialEvaluator
    from sbert.sparse_encoder.evaluation import SparseTripletEvaluator
    from sbert.sparse_encoder.evaluation.sparse_triplet import SparseTripletEvaluator as by_file
    from sbert.sparse_encoder.evaluation.SparseTripletEvaluator import SparseTripletEvaluator as by_class

    assert by_class is by_file is SparseTripletEvaluator
    evaluator = SparseTripletEvaluator(texts(6, 1), texts(6, 2), texts(6, 3), name="t")
    results = SequentialEvaluator([evaluator])(models[0])
    assert results["sequential_score"] == results[evaluator.primary_key] == results["t_dot_accuracy"]


def test_bad_arguments_name_the_fix():
    from sbert import InputError
    from sbert.sparse_encoder.evaluation import (
        ReciprocalRankFusionEvaluator,
        SparseInformationRetrievalEvaluator,
        SparseTripletEvaluator,
    )

    with pytest.raises(InputError, match="max_active_dims"):
        SparseTripletEvaluator(["a"], ["b"], ["c"], truncate_dim=8)
    with pytest.raises(InputError, match="max_active_dims must be a positive integer"):
        SparseInformationRetrievalEvaluator(*retrieval_set(1), max_active_dims=0)
    dense, sparse = rankings()
    with pytest.raises(InputError, match="same length"):
        ReciprocalRankFusionEvaluator(dense, sparse[:2])
    with pytest.raises(InputError, match="Query ID mismatch"):
        ReciprocalRankFusionEvaluator(dense, sparse[::-1])
