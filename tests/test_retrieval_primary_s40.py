"""The primary metric of the retrieval evaluators with several score functions and no main one, as
sentence-transformers fixes it: NanoBEIR's by the best *aggregated* NDCG (not its first set's), and every
retrieval evaluator's at its first call, kept by later calls (the metric a best checkpoint is picked by)."""

from __future__ import annotations

import random

import pytest
from conftest import build_tiny_bert, classic_pooling, write_st_folder

import sbert
from sbert import util
from sbert.evaluation import InformationRetrievalEvaluator, NanoBEIREvaluator

WORDS = "cat dog car red fast music guitar man woman plays sits mat tree river blue".split()
SETS = ["scifact", "nfcorpus", "arguana"]
# the sets' seeds and the model (of `folders`) for which the first set and the mean disagree on the best
# function (the NanoBEIR test checks that they still do)
SEEDS, MODEL = (0, 3, 9), 0


def retrieval_set(seed: int) -> tuple[dict, dict, dict]:
    """Seeded random queries, documents and two relevant documents per query."""
    rng = random.Random(seed)
    docs = {f"d{i}": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))) for i in range(30)}
    queries = {f"q{i}": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))) for i in range(10)}
    return queries, docs, {q: set(rng.sample(list(docs), 2)) for q in queries}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Tiny mean-pooling models of different random weights."""
    root = tmp_path_factory.mktemp("primary")
    return [
        write_st_folder(
            build_tiny_bert(root / f"bert{s}", seed=s), root / f"st{s}", classic_pooling(32, "mean")
        )
        for s in range(4)
    ]


def hub_sets(monkeypatch, seeds: dict[str, int]) -> None:
    """datasets.load_dataset answering for NanoBEIR's sets offline, one seeded random set per split."""
    import datasets

    def load_dataset(path, subset, split):
        queries, docs, relevant = retrieval_set(seeds[split])
        if subset == "corpus":
            return datasets.Dataset.from_dict({"_id": list(docs), "text": list(docs.values())})
        if subset == "queries":
            return datasets.Dataset.from_dict({"_id": list(queries), "text": list(queries.values())})
        pairs = [(q, d) for q, ds in relevant.items() for d in sorted(ds)]
        return datasets.Dataset.from_dict(
            {"query-id": [q for q, _ in pairs], "corpus-id": [d for _, d in pairs]}
        )

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)


def test_nanobeir_primary_metric_follows_the_best_aggregated_function(folders, monkeypatch):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import util as st_util
    from sentence_transformers.sentence_transformer.evaluation import NanoBEIREvaluator as ReferenceEvaluator

    hub_sets(monkeypatch, {"NanoSciFact": SEEDS[0], "NanoNFCorpus": SEEDS[1], "NanoArguAna": SEEDS[2]})
    options = {"dataset_names": SETS, "ndcg_at_k": [3]}
    theirs = ReferenceEvaluator(
        score_functions={"cosine": st_util.cos_sim, "dot": st_util.dot_score}, write_csv=False, **options
    )
    their_results = theirs(Reference(str(folders[MODEL]), device="cpu"))
    ours = NanoBEIREvaluator(score_functions={"cosine": util.cos_sim, "dot": util.dot_score}, **options)
    our_results = ours(sbert.SentenceTransformer(folders[MODEL]))
    for key, value in their_results.items():
        assert our_results[key] == pytest.approx(value, abs=1e-6), key
    # the case discriminates: the first set alone favours the other function than the mean over the sets
    first = max(["cosine", "dot"], key=lambda f: their_results[f"NanoSciFact_{f}_ndcg@3"])
    assert theirs.primary_metric != f"NanoBEIR_mean_{first}_ndcg@3"
    assert ours.primary_metric == theirs.primary_metric
    assert our_results[ours.primary_metric] == pytest.approx(their_results[theirs.primary_metric])


def test_retrieval_primary_metric_is_fixed_at_the_first_call(folders):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers import util as st_util
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator as ReferenceEvaluator,
    )

    queries, docs, relevant = retrieval_set(3)
    theirs = ReferenceEvaluator(
        queries,
        docs,
        relevant,
        name="dev",
        ndcg_at_k=[3],
        score_functions={"cosine": st_util.cos_sim, "dot": st_util.dot_score},
    )
    ours = InformationRetrievalEvaluator(
        queries,
        docs,
        relevant,
        name="dev",
        ndcg_at_k=[3],
        score_functions={"cosine": util.cos_sim, "dot": util.dot_score},
    )
    best = []
    for folder in folders:
        their_results = theirs(Reference(str(folder), device="cpu"))
        our_results = ours(sbert.SentenceTransformer(folder))
        assert our_results == pytest.approx(their_results, abs=1e-6)
        best.append(max(["cosine", "dot"], key=lambda f: their_results[f"dev_{f}_ndcg@3"]))
        assert ours.primary_metric == theirs.primary_metric == f"dev_{best[0]}_ndcg@3"
    assert len(set(best)) == 2  # a later model is best by the other function: the metric stays the first's
