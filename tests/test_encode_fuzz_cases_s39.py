"""Cases the differential fuzzer of session 39 found (sbert vs sentence-transformers on the dense API and
``util``), each compared with sentence-transformers on the same input."""

from __future__ import annotations

import numpy as np
import pytest
import sentence_transformers.util as st_util  # a test dependency: if missing, fail, do not skip
import torch
from conftest import classic_pooling
from sentence_transformers import SentenceTransformer as ReferenceModel

from sbert import SentenceTransformer, util

TEXTS = ["the cat sat on the mat", "a dog", "he plays guitar music in the house"]


@pytest.fixture(scope="module")
def models(tiny_st_factory):
    folder = tiny_st_factory(classic_pooling(32, "mean"))
    return ReferenceModel(str(folder), device="cpu"), SentenceTransformer(folder, device="cpu")


@pytest.mark.parametrize("precision", ["int8", "uint8", "binary", "ubinary"])
@pytest.mark.parametrize("inputs", [TEXTS, TEXTS[0]])
def test_token_embeddings_are_quantized_as_sentence_transformers(models, precision, inputs):
    """encode(output_value="token_embeddings", precision=...) quantizes every text's token matrix on one set
    of ranges and returns numpy arrays (sbert refused it: "Token embeddings come in float32 only")."""
    reference, model = models
    expected = reference.encode(inputs, output_value="token_embeddings", precision=precision)
    got = model.encode(inputs, output_value="token_embeddings", precision=precision)
    expected, got = ([expected], [got]) if isinstance(inputs, str) else (expected, got)
    assert type(got) is type(expected)
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        assert type(ours) is type(theirs) is np.ndarray
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        # codes at a bucket's edge may round the other way on float noise: at most one step, rarely
        assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= (1 if precision.endswith("int8") else 0)


@pytest.mark.parametrize("precision", ["int8", "uint8", "binary", "ubinary"])
def test_all_outputs_with_a_precision_fail_with_the_error_type_of_sentence_transformers(models, precision):
    """output_value=None with a quantized precision: sentence-transformers cannot quantize feature dicts and
    fails (a ValueError for int8/uint8, a TypeError for binary/ubinary); sbert's refusal is both kinds, so
    the caller's ``except`` catches it either way (it was an InputError, a ValueError only)."""
    reference, model = models
    with pytest.raises(Exception) as expected:
        reference.encode(TEXTS, output_value=None, precision=precision)
    with pytest.raises(type(expected.value)):
        model.encode(TEXTS, output_value=None, precision=precision)


PAIRWISE = ["pairwise_cos_sim", "pairwise_dot_score", "pairwise_manhattan_sim", "pairwise_euclidean_sim"]


@pytest.mark.parametrize("name", PAIRWISE)
@pytest.mark.parametrize("convert", [np.asarray, torch.from_numpy])
@pytest.mark.parametrize("shapes", [((8,), (3, 8)), ((3, 8), (8,)), ((1, 8), (3, 8))])
def test_pairwise_scores_broadcast_one_vector_as_sentence_transformers(name, convert, shapes):
    """One vector against n rows: sentence-transformers broadcasts it (n scores); sbert refused the shapes."""
    rng = np.random.default_rng(0)
    a, b = (convert(rng.standard_normal(shape).astype(np.float32)) for shape in shapes)
    expected = getattr(st_util, name)(a, b)
    got = getattr(util, name)(a, b)
    assert type(got) is type(expected) and got.dtype == expected.dtype and got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("function", ["cosine", "dot", "euclidean", "manhattan"])
def test_model_similarity_pairwise_broadcasts_as_sentence_transformers(models, function):
    reference, model = models
    a, b = model.encode(TEXTS[0]), model.encode(TEXTS)
    reference.similarity_fn_name = model.similarity_fn_name = function
    try:
        expected = reference.similarity_pairwise(a, b)
        got = model.similarity_pairwise(a, b)
    finally:
        reference.similarity_fn_name = model.similarity_fn_name = "cosine"
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("convert", [np.asarray, torch.from_numpy])
def test_truncate_embeddings_past_the_width_keeps_every_dimension(convert):
    """util.truncate_embeddings(x, dim) with dim above the width slices as sentence-transformers does (all
    dimensions kept); sbert raised "Cannot truncate embeddings of shape (2, 4) to 100 dimensions"."""
    x = convert(np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32))
    expected = st_util.truncate_embeddings(x, 100)
    got = util.truncate_embeddings(x, 100)
    assert type(got) is type(expected) and tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


@pytest.mark.parametrize("convert", [np.asarray, torch.from_numpy])
def test_semantic_search_top_k_zero_finds_nothing_as_sentence_transformers(convert):
    """top_k=0: one empty hit list per query there; sbert raised "top_k must be a positive integer, got 0"."""
    rng = np.random.default_rng(2)
    queries, corpus = (convert(rng.standard_normal(shape).astype(np.float32)) for shape in ((3, 8), (5, 8)))
    assert util.semantic_search(queries, corpus, top_k=0) == st_util.semantic_search(queries, corpus, top_k=0)
