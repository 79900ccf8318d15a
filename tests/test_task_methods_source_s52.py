"""``encode_query`` and ``encode_document`` have source texts of their own, as sentence-transformers' methods
do: dspy's Embedder keys its cache on ``inspect.getsource`` of the callable it is given, and one shared body
made ``Embedder(model.encode_query)`` return the embeddings an ``Embedder(model.encode_document)`` had cached
for the same texts (silently the wrong vectors where the prompts differ)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import sbert


@pytest.mark.parametrize("kind", ["SentenceTransformer", "SparseEncoder", "MultiVectorEncoder"])
def test_query_and_document_methods_have_their_own_source(kind):
    import sentence_transformers

    ours, theirs = getattr(sbert, kind), getattr(sentence_transformers, kind)
    assert inspect.getsource(theirs.encode_query) != inspect.getsource(theirs.encode_document)
    assert inspect.getsource(ours.encode_query) != inspect.getsource(ours.encode_document)
    assert ours.encode_query.__name__ == "encode_query" and ours.encode_document.__name__ == "encode_document"
    assert inspect.signature(ours.encode_query) == inspect.signature(ours.encode_document)


def test_a_cache_keyed_on_the_source_keeps_queries_and_documents_apart(default_model):
    """dspy's rule (the callable's source, then the texts) over the two methods of a model with prompts."""
    model = sbert.SentenceTransformer(default_model.folder, prompts={"query": "query: ", "document": ""})
    cache: dict = {}

    def embed(method, texts):
        key = (inspect.getsource(method), tuple(texts))
        return cache.setdefault(key, method(texts))

    texts = ["a cat sat on the mat", "rivers carry sand"]
    embed(model.encode_document, texts)
    queries = embed(model.encode_query, texts)
    np.testing.assert_array_equal(queries, model.encode_query(texts))
    assert not np.allclose(queries, model.encode_document(texts), atol=1e-3)
