"""Evaluators on slices of the real data (../shared/data), against sentence-transformers' own."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import DATA

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def read(path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


@pytest.fixture(scope="module")
def scifact():
    """20 SciFact training claims and a corpus of their cited abstracts plus 20 others, each document
    repeated under new ids (BEIR corpora hold such duplicates), only the copies marked relevant."""
    corpus = {d: f"{title} {text}" for d, title, text in read(DATA / "scifact" / "corpus.tsv")}
    queries = dict(read(DATA / "scifact" / "queries-train.tsv"))
    relevant: dict[str, set] = {}
    for query, doc, _ in read(DATA / "scifact" / "qrels-train.tsv"):
        relevant.setdefault(query, set()).add(doc)
    chosen = sorted(relevant)[:20]
    docs = sorted({d for q in chosen for d in relevant[q]} | set(sorted(corpus)[:20]))
    subset = {d: corpus[d] for d in docs if d in corpus}
    copied = list(subset)
    for d in copied:
        subset[f"{d}-copy"] = subset[d]
    # the copy is the relevant one: a tie broken the wrong way moves the relevant document down
    relevant = {q: {f"{d}-copy" if d in copied else d for d in relevant[q]} for q in chosen}
    return {q: queries[q] for q in chosen}, subset, relevant


@pytest.mark.parametrize("chunk", [20, 64, 70, 50000])
def test_retrieval_keeps_exact_ties_of_duplicate_documents(scifact, default_model, st_default_model, chunk):
    """Given corpus embeddings with repeated rows, both libraries rank tied documents by ascending id,
    whatever chunk of the corpus each copy is scored in."""
    from sentence_transformers.evaluation import InformationRetrievalEvaluator as Reference

    from sbert.evaluation import InformationRetrievalEvaluator

    queries, corpus, relevant = scifact
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((len(corpus), 384)).astype(np.float32)
    ids = list(corpus)
    for i, d in enumerate(ids):  # each copy gets its original's row
        if d.endswith("-copy"):
            embeddings[i] = embeddings[ids.index(d.removesuffix("-copy"))]
    options = {"corpus_chunk_size": chunk, "ndcg_at_k": [3, 100], "accuracy_at_k": [1, 2], "map_at_k": [100]}
    import torch

    theirs = Reference(queries, corpus, relevant, **options)(
        st_default_model, corpus_embeddings=torch.from_numpy(embeddings)
    )
    ours = InformationRetrievalEvaluator(queries, corpus, relevant, **options)(
        default_model, corpus_embeddings=torch.from_numpy(embeddings)
    )
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=1e-6), key
