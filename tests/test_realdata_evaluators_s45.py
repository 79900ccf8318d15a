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


@pytest.fixture(scope="module")
def repeated_rows(scifact) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of corpus embeddings in which each copy gets its original's row: dense random rows, and
    rows of one +-1 entry (a different axis for each original).

    sentence-transformers scores each chunk with a float32 matrix product, whose last bit depends on the
    CPU's kernel for the chunk's width (on AVX2 a 4-document last chunk rounds otherwise than a 20-document
    one), so dense copies tie in its scores on some CPUs only. With one +-1 entry per row each score is an
    entry of the normalized query, exact in float32 whatever the kernel: the copies tie in both libraries."""
    ids = list(scifact[1])
    originals = [ids.index(d.removesuffix("-copy")) for d in ids]
    rng = np.random.default_rng(0)
    dense = rng.standard_normal((len(ids), 384)).astype(np.float32)[originals]
    one_hot = np.zeros_like(dense)
    axes = rng.choice(384, size=len(ids), replace=False)[originals]
    one_hot[np.arange(len(ids)), axes] = rng.choice([-1.0, 1.0], size=len(ids))[originals]
    return dense, one_hot


OPTIONS = {"ndcg_at_k": [3, 100], "accuracy_at_k": [1, 2], "map_at_k": [100]}


def sbert_results(scifact, model, embeddings: np.ndarray, chunk: int) -> dict[str, float]:
    import torch

    from sbert.evaluation import InformationRetrievalEvaluator

    evaluator = InformationRetrievalEvaluator(*scifact, corpus_chunk_size=chunk, **OPTIONS)
    return evaluator(model, corpus_embeddings=torch.from_numpy(embeddings))


@pytest.fixture(scope="module")
def dense_in_one_chunk(scifact, repeated_rows, default_model) -> dict[str, float]:
    return sbert_results(scifact, default_model, repeated_rows[0], 50000)


@pytest.mark.parametrize("chunk", [20, 64, 70, 50000])
def test_retrieval_keeps_exact_ties_of_duplicate_documents(
    scifact, repeated_rows, dense_in_one_chunk, default_model, st_default_model, chunk
):
    """Given corpus embeddings with repeated rows, both libraries rank tied documents by ascending id,
    whatever chunk of the corpus each copy is scored in."""
    import torch
    from sentence_transformers.evaluation import InformationRetrievalEvaluator as Reference

    dense, one_hot = repeated_rows
    theirs = Reference(*scifact, corpus_chunk_size=chunk, **OPTIONS)(
        st_default_model, corpus_embeddings=torch.from_numpy(one_hot)
    )
    ours = sbert_results(scifact, default_model, one_hot, chunk)
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=1e-6), key
    # sbert scores in float64 rounded to float32, so dense copies tie too, in any chunk
    assert sbert_results(scifact, default_model, dense, chunk) == dense_in_one_chunk
