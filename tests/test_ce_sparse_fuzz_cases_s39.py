"""CrossEncoder and SparseEncoder differences a seeded differential fuzzer found against sentence-transformers
6.3 (session 39): each case compared with sentence-transformers on the same input, on both backends where a
model runs."""

from __future__ import annotations

import warnings

import pytest
import torch
from conftest import build_tiny_classifier

TOL = 1e-5


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("fuzz-ce") / "labels1", num_labels=1)


@pytest.fixture(scope="module")
def sparse_embeddings(masked_lm):
    """Sparse COO embeddings of a tiny SPLADE model, made by sentence-transformers (shared by both sides)."""
    from sentence_transformers import SparseEncoder as Reference

    model = Reference(str(masked_lm), device="cpu")
    queries = model.encode_query(["a cat on the mat", "who drove to the stadium", "red car"])
    documents = model.encode_document(["the cat sat on the mat", "he drove fast", "a big red car", "music"])
    assert queries.is_sparse and documents.is_sparse
    return queries, documents


def quietly(call):
    """sentence-transformers' sparse helpers, without the UserWarnings torch raises inside them (sparse
    invariant checks, CSR in beta): warnings are errors in this suite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call()


def raised(call):
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("batch_size", [0, -1])
def test_one_text_checks_batch_size_as_sentence_transformers(classifier, backend, batch_size):
    """predict("text", batch_size=0): sentence-transformers checks batch_size before reading the inputs, so a
    text scored alone is refused as a list of pairs is (sbert scored it)."""
    from sentence_transformers import CrossEncoder as Reference

    from sbert import CrossEncoder

    ours, reference = CrossEncoder(classifier, backend=backend), Reference(str(classifier), device="cpu")
    expected = raised(lambda: reference.predict("the man plays music", batch_size=batch_size))
    got = raised(lambda: ours.predict("the man plays music", batch_size=batch_size))
    assert isinstance(got, type(expected)) and "batch_size" in str(got)


@pytest.mark.parametrize("inputs", [5, 2.5])
def test_predict_of_a_number_is_a_value_error_as_sentence_transformers(classifier, inputs):
    """predict(5): sentence-transformers' ValueError ("Unsupported input type: int"), not Python's TypeError
    from iterating a number."""
    from sentence_transformers import CrossEncoder as Reference

    from sbert import CrossEncoder

    expected = raised(lambda: Reference(str(classifier), device="cpu").predict(inputs))
    got = raised(lambda: CrossEncoder(classifier).predict(inputs))
    assert isinstance(got, type(expected)), (type(got), type(expected))
    assert type(inputs).__name__ in str(got)


@pytest.mark.parametrize("row", [None, 0])
def test_normalize_embeddings_keeps_sparse_tensors_sparse(sparse_embeddings, row):
    """util.normalize_embeddings of a SparseEncoder's COO tensor (2-D, or one 1-D row) is a sparse COO tensor
    of the same shape and dtype, as sentence-transformers returns it (sbert gave a dense one)."""
    from sentence_transformers import util as reference_util

    from sbert import util

    embeddings = sparse_embeddings[1] if row is None else sparse_embeddings[1][row]
    expected = quietly(lambda: reference_util.normalize_embeddings(embeddings))
    got = util.normalize_embeddings(embeddings)
    assert got.layout == expected.layout == torch.sparse_coo
    assert got.shape == expected.shape and got.dtype == expected.dtype
    torch.testing.assert_close(got.to_dense(), expected.to_dense(), atol=TOL, rtol=0)
    assert got.coalesce()._nnz() == expected.coalesce()._nnz()


def test_semantic_search_takes_lists_of_sparse_rows(sparse_embeddings):
    """util.semantic_search of lists of 1-D sparse tensors (``list(model.encode(...))``) finds what
    sentence-transformers finds (sbert raised torch's "can't convert Sparse layout tensor to numpy")."""
    from sentence_transformers import util as reference_util

    from sbert import util

    queries, documents = sparse_embeddings
    for top_k in (1, 2, 10):
        expected = quietly(lambda k=top_k: reference_util.semantic_search(queries, documents, top_k=k))
        got = util.semantic_search(list(queries), list(documents), top_k=top_k)
        assert [[hit["corpus_id"] for hit in hits] for hits in got] == [
            [hit["corpus_id"] for hit in hits] for hits in expected
        ]
        for hits, reference_hits in zip(got, expected):
            for hit, reference_hit in zip(hits, reference_hits):
                assert hit["score"] == pytest.approx(reference_hit["score"], abs=TOL)
        # one 1-D sparse query against a list of rows too
        assert util.semantic_search(queries[0], list(documents), top_k=top_k) == util.semantic_search(
            queries[0], documents, top_k=top_k
        )


@pytest.mark.parametrize("documents", [["the cat sat", "a dog ran", "music"], []])
def test_rank_top_k_zero_gives_no_hits_as_sentence_transformers(classifier, documents):
    """Code such as ``rank(query, docs, top_k=min(k, len(docs)))`` asks for none when there are none."""
    import sentence_transformers

    import sbert

    results = [
        lib.CrossEncoder(str(classifier), device="cpu").rank("a cat", documents, top_k=0)
        for lib in (sentence_transformers, sbert)
    ]
    assert results[1] == results[0] == []
