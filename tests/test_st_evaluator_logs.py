"""sentence-transformers 6.3's INFO lines of an evaluation (heading, results, a sparse evaluator's sparsity
lines, the multi-vector distillation and the reciprocal-rank-fusion tables, the NanoBEIR evaluators' headings,
per-set lines and aggregates), SparseEncoder's "Detected MLM architecture" notice and MultiVectorEncoder's "No
ColBERT checkpoint detected" one: the same records (logger name, level, words, numbers as formatted there)
from sbert."""

from __future__ import annotations

import importlib
import logging

import pytest
from conftest import build_tiny_classifier, without_dropout

import sbert

S1 = ["a sunny day outside", "the cat sat on the mat", "a man plays guitar", "the dog runs fast"]
S2 = ["it is sunny", "a cat on a mat", "someone plays music", "a slow dog"]
QUERIES = {"q1": "a sunny day", "q2": "the cat sat"}
CORPUS = {
    "d1": "a sunny day outside",
    "d2": "the cat sat on the mat",
    "d3": "a man plays guitar",
    "d4": "dog",
}
RELEVANT = {"q1": {"d1"}, "q2": {"d2", "d4"}}
SAMPLES = [
    {"query": "a sunny day", "positive": ["a sunny day outside"], "negative": ["the cat sat", "dog runs"]},
    {"query": "the cat", "positive": ["the cat sat on the mat", "a cat"], "negative": ["a man plays guitar"]},
]
KS = {
    "mrr_at_k": [2],
    "ndcg_at_k": [2],
    "accuracy_at_k": [1, 2],
    "precision_recall_at_k": [1],
    "map_at_k": [2],
}


def evaluation(library, module: str):
    return importlib.import_module(f"{library.__name__}.{module}")


def binary(library, folders):
    model = library.SentenceTransformer(str(folders["st"]), device="cpu")
    evaluator = evaluation(library, "sentence_transformer.evaluation").BinaryClassificationEvaluator(
        S1, S2, [1, 1, 0, 0], name="b"
    )
    evaluator(model, epoch=1, steps=3)


def retrieval(library, folders):
    model = library.SentenceTransformer(str(folders["st"]), device="cpu")
    evaluation(library, "sentence_transformer.evaluation").InformationRetrievalEvaluator(
        QUERIES, CORPUS, RELEVANT, name="ir", **KS
    )(model)


def sequential(library, folders):
    model = library.SentenceTransformer(str(folders["st"]), device="cpu")
    ev = evaluation(library, "sentence_transformer.evaluation")
    parts = [
        ev.TranslationEvaluator(S1, S2, name="tr", truncate_dim=16),
        ev.RerankingEvaluator(SAMPLES, name="rr", at_k=2),
        ev.TripletEvaluator(S1, S2, S2[::-1], name="tri"),
    ]
    ev.SequentialEvaluator(parts)(model, epoch=2)


def cross_encoder(library, folders):
    model = library.CrossEncoder(str(folders["ce"]), device="cpu")
    ev = evaluation(library, "cross_encoder.evaluation")
    ev.CrossEncoderRerankingEvaluator(SAMPLES, name="rr", at_k=2)(model)
    ev.CrossEncoderClassificationEvaluator(list(zip(S1, S2)), [1, 1, 0, 0], name="cls")(model)


def sparse(library, folders):
    model = library.SparseEncoder(str(folders["mlm"]), device="cpu")  # logs the MLM notice
    ev = evaluation(library, "sparse_encoder.evaluation")
    ev.SparseInformationRetrievalEvaluator(QUERIES, CORPUS, RELEVANT, name="sir", **KS)(model)
    ev.SparseTripletEvaluator(S1, S2, S2[::-1], name="st")(model)


def multi_vector(library, folders):
    library.MultiVectorEncoder(str(folders["bert"]), device="cpu")  # logs the new-projection notice
    model = library.MultiVectorEncoder(str(folders["mv"]), device="cpu")
    ev = evaluation(library, "multi_vector_encoder.evaluation")
    scores = [[0.9, 0.1, 0.3], [0.2, 0.8, 0.5]]
    ev.MultiVectorDistillationEvaluator(S1[:2], [S2[:3], S2[1:]], scores, name="kd")(model, epoch=1, steps=2)


def fusion(library, folders):
    dense = [dict(s, query_id=str(i), documents=s["negative"] + s["positive"]) for i, s in enumerate(SAMPLES)]
    sparse = [dict(s, documents=s["documents"][::-1]) for s in dense]
    evaluation(library, "sparse_encoder.evaluation").ReciprocalRankFusionEvaluator(dense, sparse, at_k=2)()


def fusion_written(library, folders):
    # with write_predictions and an output path ST also logs where the fused rankings went
    dense = [dict(s, query_id=str(i), documents=s["negative"] + s["positive"]) for i, s in enumerate(SAMPLES)]
    sparse = [dict(s, documents=s["documents"][::-1]) for s in dense]
    ev = evaluation(library, "sparse_encoder.evaluation")
    ev.ReciprocalRankFusionEvaluator(dense, sparse, at_k=2, write_predictions=True)(
        output_path=str(folders["out"])
    )


@pytest.fixture(scope="module")
def folders(dropout_free_st, masked_lm, tiny_bert, tmp_path_factory):
    import sentence_transformers

    ce = without_dropout(build_tiny_classifier(tmp_path_factory.mktemp("ce") / "ce"))
    mv = tmp_path_factory.mktemp("mv") / "mv"  # one projection for both libraries (a new one is random)
    sentence_transformers.MultiVectorEncoder(str(tiny_bert), device="cpu").save(str(mv))
    out = tmp_path_factory.mktemp("out")
    return {"st": dropout_free_st, "mlm": masked_lm, "ce": ce, "bert": tiny_bert, "mv": mv, "out": out}


def records(flow, library, folders) -> list[tuple[str, int, str]]:
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            if record.name.startswith(("sentence_transformers.", "sbert")) and "model from" not in record.msg:
                seen.append((record.name, record.levelno, record.getMessage()))

    root, handler = logging.getLogger(), Keep(logging.INFO)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        flow(library, folders)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return seen


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")  # torch, in ST's run
@pytest.mark.parametrize(
    "flow", [binary, retrieval, sequential, cross_encoder, sparse, multi_vector, fusion, fusion_written]
)
def test_evaluation_records_are_sentence_transformers(flow, folders):
    import sentence_transformers

    theirs = records(flow, sentence_transformers, folders)
    assert any("evaluation" in name for name, _, _ in theirs)
    assert all(name.startswith("sentence_transformers.") for name, _, _ in theirs)
    assert records(flow, sbert, folders) == theirs


# NanoBEIR's hub sets, offline: datasets.load_dataset answers every split with these (the second set has a
# document less, so the average corpus size is not whole)
NANO_SETS = ["scifact", "NFCorpus"]
BM25 = {"q1": ["d2", "d1", "d3"], "q2": ["d4", "d1"], "q3": ["d1", "d3"]}


def tiny_nanobeir(path, subset, split):
    import datasets

    docs = dict(list((CORPUS | {"d5": "she eats food"}).items())[: 5 if split == "NanoSciFact" else 4])
    queries = QUERIES | {"q3": "guitar music"}
    if subset in ("corpus", "queries"):
        rows = docs if subset == "corpus" else queries
        return datasets.Dataset.from_dict({"_id": list(rows), "text": list(rows.values())})
    if subset == "qrels":
        pairs = [(q, d) for q, ds in (RELEVANT | {"q3": {"d3"}}).items() for d in sorted(ds)]
        return datasets.Dataset.from_dict(
            {"query-id": [q for q, _ in pairs], "corpus-id": [d for _, d in pairs]}
        )
    return datasets.Dataset.from_dict({"query-id": list(BM25), "corpus-ids": list(BM25.values())})


def nano_dense(library, folders):
    model = library.SentenceTransformer(str(folders["st"]), device="cpu")
    functions = {"dot": library.util.dot_score, "cos": library.util.cos_sim}
    ev = evaluation(library, "sentence_transformer.evaluation")
    options = {"write_csv": False, "truncate_dim": 16, "score_functions": functions}
    ev.NanoBEIREvaluator(NANO_SETS, **options, **KS)(model, epoch=1, steps=3)


def nano_cross_encoder(library, folders):
    model = library.CrossEncoder(str(folders["ce"]), device="cpu")
    ev = evaluation(library, "cross_encoder.evaluation")
    ev.CrossEncoderNanoBEIREvaluator(NANO_SETS, rerank_k=2, at_k=2, write_csv=False)(model, epoch=2)


def nano_sparse(library, folders):
    model = library.SparseEncoder(str(folders["mlm"]), device="cpu")
    ev = evaluation(library, "sparse_encoder.evaluation")
    ev.SparseNanoBEIREvaluator(NANO_SETS, max_active_dims=8, write_csv=False, **KS)(model)


def nano_multi_vector(library, folders):
    model = library.MultiVectorEncoder(str(folders["mv"]), device="cpu")
    ev = evaluation(library, "multi_vector_encoder.evaluation")
    ev.MultiVectorNanoBEIREvaluator(NANO_SETS, name="mv", write_csv=False, **KS)(model)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
@pytest.mark.parametrize("flow", [nano_dense, nano_cross_encoder, nano_sparse, nano_multi_vector])
def test_nanobeir_records_are_sentence_transformers(flow, folders, monkeypatch):
    import datasets
    import sentence_transformers

    monkeypatch.setattr(datasets, "load_dataset", tiny_nanobeir)
    theirs = records(flow, sentence_transformers, folders)
    assert any("Evaluating Nano" in line or "Evaluating mv_Nano" in line for _, _, line in theirs)
    assert records(flow, sbert, folders) == theirs
