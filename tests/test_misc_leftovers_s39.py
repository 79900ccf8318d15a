"""Small differences from sentence-transformers 6.3 left over from session 39's comparisons, each checked
against sentence-transformers on the same tiny offline models: the pair and triplet evaluators'
``similarity_fn_names`` before and after a call, sparse rows in paraphrase mining and the pairwise
similarities, and a model folder's own code files that import their siblings."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from conftest import WORDS, classic_pooling, random_sentences

import sbert

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]


def texts(n, seed):
    return random_sentences(WORDS, n, seed)


def quietly(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


# ---- 1. similarity_fn_names of the pair and triplet evaluators ---------------------------------------

STS = (texts(8, 1), texts(8, 2), list(np.linspace(0, 1, 8)))
BINARY = (texts(8, 1), texts(8, 2), [i % 2 for i in range(8)])
TRIPLETS = (texts(6, 3), texts(6, 4), texts(6, 5))

# case id -> (evaluator class, its data, options)
FUNCTION_CASES = {
    "similarity": ("EmbeddingSimilarityEvaluator", STS, {}),
    "similarity-main": ("EmbeddingSimilarityEvaluator", STS, {"main_similarity": "dot"}),
    "similarity-two": ("EmbeddingSimilarityEvaluator", STS, {"similarity_fn_names": ["dot", "cosine"]}),
    "similarity-both": (
        "EmbeddingSimilarityEvaluator",
        STS,
        {"similarity_fn_names": ["manhattan"], "main_similarity": "manhattan"},
    ),
    "binary": ("BinaryClassificationEvaluator", BINARY, {}),
    "binary-two": ("BinaryClassificationEvaluator", BINARY, {"similarity_fn_names": ["euclidean", "cosine"]}),
    "triplet": ("TripletEvaluator", TRIPLETS, {}),
    "triplet-main": ("TripletEvaluator", TRIPLETS, {"main_similarity_function": "dot"}),
    "triplet-one": ("TripletEvaluator", TRIPLETS, {"similarity_fn_names": ["manhattan"]}),
}


def function_names_seen(module_name, case, models) -> list:
    """``similarity_fn_names`` when built, after a call on ``models[0]`` and after one on ``models[1]``."""
    kind, data, options = FUNCTION_CASES[case]
    evaluator = getattr(importlib.import_module(module_name), kind)(*data, name="e", **options)
    seen = [evaluator.similarity_fn_names]
    for model in models:
        quietly(lambda model=model: evaluator(model))
        seen.append(evaluator.similarity_fn_names)
    return seen


@pytest.fixture(scope="module")
def dense_path(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


@pytest.mark.parametrize("case", FUNCTION_CASES)
def test_dense_evaluator_function_names(case, dense_path):
    """sentence-transformers holds [] (or main_similarity's name) until the first call, then the first
    model's function where none was given; the second model (dot) changes nothing."""
    from sentence_transformers import SentenceTransformer as Reference

    def models(cls):
        first, second = cls(str(dense_path), device="cpu"), cls(str(dense_path), device="cpu")
        second.similarity_fn_name = "dot"
        return first, second

    ours = function_names_seen(
        "sbert.sentence_transformer.evaluation", case, models(sbert.SentenceTransformer)
    )
    theirs = function_names_seen(
        "sentence_transformers.sentence_transformer.evaluation", case, models(Reference)
    )
    assert ours == theirs


@pytest.fixture(scope="module")
def sparse_folder(masked_lm, tmp_path_factory):
    from sentence_transformers import SparseEncoder as Reference

    folder = tmp_path_factory.mktemp("misc-sparse") / "splade"
    Reference(str(masked_lm), device="cpu").save(str(folder))
    return folder


@pytest.mark.parametrize("case", ["similarity", "binary-two", "triplet", "triplet-main"])
def test_sparse_evaluator_function_names(case, sparse_folder):
    from sentence_transformers import SparseEncoder as Reference

    from sbert.sparse_encoder import SparseEncoder

    def models(cls):
        first, second = cls(str(sparse_folder), device="cpu"), cls(str(sparse_folder), device="cpu")
        second.similarity_fn_name = "cosine"  # the SparseEncoder's own is dot
        return first, second

    kind, data, options = FUNCTION_CASES[case]
    FUNCTION_CASES[f"sparse-{case}"] = ("Sparse" + kind, data, options)
    ours = function_names_seen("sbert.sparse_encoder.evaluation", f"sparse-{case}", models(SparseEncoder))
    theirs = function_names_seen(
        "sentence_transformers.sparse_encoder.evaluation", f"sparse-{case}", models(Reference)
    )
    assert ours == theirs


# ---- 2. sparse rows in paraphrase mining; the angle similarity of one row against rows --------------


def sparse_rows_of(seed):
    import torch

    torch.manual_seed(seed)
    dense = torch.relu(torch.randn(7, 12))  # a SparseEncoder's kind of vectors: non-negative, many zeros
    return dense, [row.to_sparse() for row in dense]


@pytest.mark.parametrize("function", ["cos_sim", "dot_score"])
def test_paraphrase_mining_of_sparse_rows(function):
    """A list of sparse COO rows is mined as sentence-transformers mines it (a sparse 2-D tensor stays
    refused by both: tests/test_sparse_encoder.py)."""
    from sentence_transformers import util as st_util

    from sbert import util

    _, rows = sparse_rows_of(0)
    ours = util.paraphrase_mining_embeddings(rows, top_k=3, score_function=getattr(util, function))
    theirs = st_util.paraphrase_mining_embeddings(rows, top_k=3, score_function=getattr(st_util, function))
    assert [pair[1:] for pair in ours] == [pair[1:] for pair in theirs]
    np.testing.assert_allclose([p[0] for p in ours], [p[0] for p in theirs], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layout", ["dense", "sparse", "numpy"])
@pytest.mark.parametrize("one_first", [True, False])
def test_angle_similarity_of_one_row_against_rows(layout, one_first):
    import torch
    from sentence_transformers import util as st_util

    from sbert import util

    dense, _ = sparse_rows_of(1)
    one, rows = dense[:1], dense
    if layout == "sparse":
        one, rows = one.to_sparse(), rows.to_sparse()
    elif layout == "numpy":
        one, rows = one.numpy(), rows.numpy()
    pair = (one, rows) if one_first else (rows, one)
    theirs = st_util.pairwise_angle_sim(*pair)
    ours = util.pairwise_angle_sim(*pair)
    assert isinstance(ours, torch.Tensor) and ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)
