"""The multi-vector evaluators (``sbert.multi_vector_encoder.evaluation``) against sentence-transformers' own,
on one tiny random BERT MultiVectorEncoder that sentence-transformers saved: the same metric keys (with the
evaluator's name), values within 1e-5, the same primary metric, and the same CSV files (names, header,
values) in ``output_path``; and sbert's errors for arguments sentence-transformers refuses."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import WORDS, build_tiny_bert, random_sentences, rerank_samples

TOL = 1e-5


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """sentence-transformers' default multi-vector pipeline around a tiny random BERT (with query and
    document prompts), loaded by sbert and by sentence-transformers."""
    import torch
    from sentence_transformers import MultiVectorEncoder as Reference

    from sbert.multi_vector_encoder import MultiVectorEncoder

    root = tmp_path_factory.mktemp("mv-eval")
    torch.manual_seed(0)
    prompts = {"query": "query: ", "document": "passage: "}
    Reference(str(build_tiny_bert(root / "bert")), device="cpu", prompts=prompts).save(str(root / "mv"))
    return MultiVectorEncoder(str(root / "mv"), device="cpu"), Reference(str(root / "mv"), device="cpu")


def texts(n, seed):
    return random_sentences(WORDS, n, seed)


def retrieval_set(seed, queries=8, documents=30):
    rng = np.random.default_rng(seed)
    corpus = {f"d{i}": text for i, text in enumerate(texts(documents, seed))}
    questions = {f"q{i}": text for i, text in enumerate(texts(queries, seed + 1))}
    relevant = {q: set(rng.choice(list(corpus), size=rng.integers(1, 4), replace=False)) for q in questions}
    return questions, corpus, relevant


def candidates(seed, queries=6, ways=4):
    rng = np.random.default_rng(seed)
    documents = [texts(ways, seed + 1 + i) for i in range(queries)]
    return texts(queries, seed), documents, rng.normal(size=(queries, ways)).round(3).tolist()


CASES = {
    "triplet": (
        "MultiVectorTripletEvaluator",
        lambda: (texts(20, 5), texts(20, 6), texts(20, 7)),
        {"name": "tri"},
    ),
    "triplet-both": (
        "MultiVectorTripletEvaluator",
        lambda: (texts(20, 5), texts(20, 6), texts(20, 7)),
        {"similarity_fn_names": ["maxsim", "meanmaxsim"], "margin": {"maxsim": 0.05}, "truncate_dim": 12},
    ),
    "reranking": ("MultiVectorRerankingEvaluator", lambda: (rerank_samples(),), {"name": "rr", "at_k": 3}),
    "reranking-one-by-one": (
        "MultiVectorRerankingEvaluator",
        lambda: (rerank_samples(),),
        {"use_batched_encoding": False},
    ),
    "retrieval": ("MultiVectorInformationRetrievalEvaluator", lambda: retrieval_set(10), {"name": "ir"}),
    "retrieval-options": (
        "MultiVectorInformationRetrievalEvaluator",
        lambda: retrieval_set(12),
        {
            "ndcg_at_k": [3, 10],
            "corpus_chunk_size": 7,
            "chunk_elements": 5000,
            "query_prompt": "find: ",
            "truncate_dim": 16,
            "write_predictions": True,
        },
    ),
    "distillation": (
        "MultiVectorDistillationEvaluator",
        lambda: candidates(40),
        {"name": "kd", "temperature": 0.5, "teacher_temperature": 2.0},
    ),
    "distillation-pairs": (
        "MultiVectorDistillationEvaluator",
        lambda: (texts(12, 50), texts(12, 51), list(np.linspace(0, 3, 12))),
        {},
    ),
}


def build(kind, package):
    import importlib

    module = importlib.import_module(f"{package}.multi_vector_encoder.evaluation")
    name, data, options = CASES[kind]
    return getattr(module, name)(*data(), **options)


def read_csvs(folder):
    return {
        path.name: list(csv.reader(path.read_text().splitlines())) for path in sorted(folder.glob("*.csv"))
    }


def assert_same(mine, ours, ref, theirs, folders):
    """The same keys and values (TOL), primary metric, and CSV files (headers, rows within TOL)."""
    assert set(mine) == set(ref), set(mine) ^ set(ref)
    for key, value in mine.items():
        assert value == pytest.approx(float(ref[key]), abs=TOL), key
    assert ours.primary_metric == theirs.primary_metric and ours.primary_metric in mine
    written, expected = (read_csvs(folder) for folder in folders)
    assert set(written) == set(expected) and written
    for name, rows in expected.items():
        assert written[name][0] == rows[0] and len(written[name]) == len(rows), name
        for got, want in zip(written[name][1:], rows[1:]):
            assert [float(x) for x in got] == pytest.approx([float(x) for x in want], abs=TOL), name


MEANMAXSIM = [("retrieval", "meanmaxsim"), ("reranking", "meanmaxsim"), ("distillation", "meanmaxsim")]


@pytest.mark.parametrize(("kind", "similarity"), [*((kind, "maxsim") for kind in CASES), *MEANMAXSIM])
def test_evaluators_match_sentence_transformers(models, kind, similarity, tmp_path):
    for model in models:
        model.similarity_fn_name = similarity
    ours, theirs = build(kind, "sbert"), build(kind, "sentence_transformers")
    try:
        mine = models[0].evaluate(ours, tmp_path / "ours")
        ref = models[1].evaluate(theirs, str(tmp_path / "theirs"))
        mine_again = ours(models[0], tmp_path / "ours", epoch=1, steps=5)  # a second CSV row
        theirs(models[1], str(tmp_path / "theirs"), epoch=1, steps=5)
    finally:
        for model in models:
            model.similarity_fn_name = "maxsim"
    assert mine_again == pytest.approx(mine, abs=TOL)
    assert_same(mine, ours, ref, theirs, (tmp_path / "ours", tmp_path / "theirs"))
    assert ours.get_config_dict() == theirs.get_config_dict()
    if kind == "retrieval-options":
        names = sorted(p.name for p in (tmp_path / "ours").glob("*.jsonl"))
        assert names == sorted(p.name for p in (tmp_path / "theirs").glob("*.jsonl")) and names


def test_own_scoring_functions_as_sentence_transformers(models, tmp_path):
    """score_functions and similarity_fct called on token embeddings, as sentence-transformers calls them."""
    from sentence_transformers import util as st_util
    from sentence_transformers.multi_vector_encoder import evaluation as theirs_module

    from sbert import util
    from sbert.multi_vector_encoder import evaluation

    data = retrieval_set(20)
    ours = evaluation.MultiVectorInformationRetrievalEvaluator(
        *data,
        score_functions={"meanmaxsim": util.mean_maxsim, "maxsim": util.maxsim},
        main_score_function="meanmaxsim",
    )
    theirs = theirs_module.MultiVectorInformationRetrievalEvaluator(
        *data,
        score_functions={"meanmaxsim": st_util.mean_maxsim, "maxsim": st_util.maxsim},
        main_score_function="meanmaxsim",
    )
    mine, ref = ours(models[0], tmp_path / "ours"), theirs(models[1], str(tmp_path / "theirs"))
    assert_same(mine, ours, ref, theirs, (tmp_path / "ours", tmp_path / "theirs"))

    def rerank(module, scorer):
        return module.MultiVectorRerankingEvaluator(rerank_samples(), similarity_fct=scorer, write_csv=False)

    ours, theirs = rerank(evaluation, util.mean_maxsim), rerank(theirs_module, st_util.mean_maxsim)
    mine, ref = ours(models[0]), theirs(models[1])
    assert mine == pytest.approx(ref, abs=TOL) and ours.primary_metric == theirs.primary_metric


def write_beir(folder, queries, corpus, relevant):
    folder.mkdir(parents=True)
    (folder / "corpus.tsv").write_text("id\ttext\n" + "".join(f"{d}\t{t}\n" for d, t in corpus.items()))
    (folder / "queries-test.tsv").write_text(
        "id\ttext\n" + "".join(f"{q}\t{t}\n" for q, t in queries.items())
    )
    rows = "".join(f"{q}\t{d}\t1\n" for q, docs in relevant.items() for d in sorted(docs))
    (folder / "qrels-test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)


@pytest.mark.parametrize("options", [{}, {"name": "dev", "truncate_dim": 16, "ndcg_at_k": [5, 10]}])
def test_nanobeir_on_folders_matches_sentence_transformers_on_the_hub_sets(
    models, tmp_path, monkeypatch, options
):
    """sbert reads BEIR folders named as the hub's sets; sentence-transformers reads the same sets from a stub
    of the hub: the same per-set and aggregated metrics, names and CSV files."""
    from sentence_transformers.multi_vector_encoder.evaluation import (
        MultiVectorNanoBEIREvaluator as Reference,
    )
    from sentence_transformers.sentence_transformer.evaluation.nano_beir import NanoBEIREvaluator

    from sbert.multi_vector_encoder.evaluation import MultiVectorNanoBEIREvaluator

    sets = {
        "MSMARCO": retrieval_set(40, queries=6, documents=20),
        "NQ": retrieval_set(50, queries=7, documents=25),
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
    ours = MultiVectorNanoBEIREvaluator(
        [tmp_path / "data" / "NanoMSMARCO", tmp_path / "data" / "NanoNQ"], **options
    )
    theirs = Reference(dataset_names=["msmarco", "nq"], **options)
    mine = ours(models[0], tmp_path / "ours")
    ref = theirs(models[1], str(tmp_path / "theirs"))
    assert_same(mine, ours, ref, theirs, (tmp_path / "ours", tmp_path / "theirs"))
    assert ours.name == theirs.name and ours.get_config_dict().get("name") == options.get("name")


def test_sentence_transformers_paths():
    from sentence_transformers.multi_vector_encoder import evaluation as theirs

    import sbert.multi_vector_encoder.evaluation as ours
    from sbert.multi_vector_encoder.evaluation.distillation import MultiVectorDistillationEvaluator
    from sbert.multi_vector_encoder.evaluation.nano_beir import MultiVectorNanoBEIREvaluator

    assert sorted(ours.__all__) == sorted(theirs.__all__)
    assert MultiVectorDistillationEvaluator is ours.MultiVectorDistillationEvaluator
    assert MultiVectorNanoBEIREvaluator is ours.MultiVectorNanoBEIREvaluator


def test_bad_arguments_name_the_fix():
    import functools

    from sbert import InputError, util
    from sbert.multi_vector_encoder import evaluation

    data = retrieval_set(1, queries=2, documents=4)
    with pytest.raises(InputError, match="partial"):
        evaluation.MultiVectorInformationRetrievalEvaluator(
            *data, score_functions={"maxsim": util.maxsim}, chunk_elements=100
        )

    def xtr_scores(a, b, k=3):
        return util.maxsim(a, b)

    with pytest.raises(InputError, match="XTR"):
        evaluation.MultiVectorInformationRetrievalEvaluator(
            *data, score_functions={"xtr": functools.partial(xtr_scores, k=2)}
        )
    with pytest.raises(InputError, match="maxsim"):
        evaluation.MultiVectorInformationRetrievalEvaluator(*data, main_score_function="cosine")
    with pytest.raises(InputError, match="expected names in"):
        evaluation.MultiVectorTripletEvaluator(["a"], ["b"], ["c"], similarity_fn_names=["cosine"])
    with pytest.raises(InputError, match="2-D"):
        evaluation.MultiVectorDistillationEvaluator(["a"], [["b", "c"]], [1.0])
    with pytest.raises(InputError, match="same length"):
        evaluation.MultiVectorDistillationEvaluator(["a", "b"], ["c"], [1.0])
    with pytest.raises(InputError, match="temperature"):
        evaluation.MultiVectorDistillationEvaluator(["a"], ["c"], [1.0], temperature=0)


def test_nanobeir_subclass_loading_its_own_sets_as_sentence_transformers(models):
    """sentence-transformers' ``_load_dataset`` hook: a subclass builds each named set's evaluator itself."""
    import importlib

    data = retrieval_set(60, queries=4, documents=10)
    results, evaluators = [], []
    for package, model in zip(("sbert", "sentence_transformers"), models):
        module = importlib.import_module(f"{package}.multi_vector_encoder.evaluation")

        class Stub(module.MultiVectorNanoBEIREvaluator):
            retrieval = module.MultiVectorInformationRetrievalEvaluator

            def _load_dataset(self, dataset_name, **options):
                return self.retrieval(*data, name=f"Nano{dataset_name}", **options)

        evaluators.append(Stub(dataset_names=["msmarco", "nq"], write_csv=False, truncate_dim=8))
        results.append(evaluators[-1](model))
    assert results[0] == pytest.approx(results[1], abs=TOL) and "NanoBEIR_mean_8_maxsim_ndcg@10" in results[0]
    assert evaluators[0].primary_metric == evaluators[1].primary_metric


def test_progress_bars_as_sentence_transformers(models, bars):
    """Retrieval's "Corpus Chunks" bar over its corpus_chunk_size rounds and the one-at-a-time reranking's
    "Samples", drawn with show_progress_bar as sentence-transformers draws them."""
    from sentence_transformers.multi_vector_encoder import evaluation as theirs
    from sentence_transformers.sentence_transformer.evaluation import information_retrieval, reranking

    from sbert.multi_vector_encoder import evaluation as ours

    bars.watch(information_retrieval, "trange")
    bars.watch(reranking, "module")
    for module, model in ((ours, models[0]), (theirs, models[1])):
        options = {"show_progress_bar": True, "write_csv": False}
        module.MultiVectorInformationRetrievalEvaluator(*retrieval_set(10), corpus_chunk_size=7, **options)(
            model
        )
        module.MultiVectorRerankingEvaluator(rerank_samples(), use_batched_encoding=False, **options)(model)
    assert bars.ours == bars.theirs == [("Corpus Chunks", 5, True), ("Samples", len(rerank_samples()), True)]
