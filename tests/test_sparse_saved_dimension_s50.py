"""A SPLADE folder whose SpladePooling config saves an ``embedding_dimension`` that is not the vocabulary's:
sentence-transformers 6.3 writes one when a model is built as its docs show
(``SpladePooling(embedding_dimension=transformer.get_embedding_dimension())`` of a fill-mask Transformer: the
hidden size). sentence-transformers reports that number from ``get_embedding_dimension()`` but encodes to the
vocabulary's width; so does sbert, on torch and on ONNX Runtime, in one process and on a pool (a sparse
tensor sized by the saved number would hold columns past its width)."""

from __future__ import annotations

import numpy as np
import pytest

TEXTS = ["The weather is nice!", "It's sunny outside", "the cat sat on the mat"]


@pytest.fixture(scope="module")
def folder(masked_lm, tmp_path_factory):
    from sentence_transformers.sparse_encoder import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import SpladePooling, Transformer

    transformer = Transformer(str(masked_lm), transformer_task="fill-mask", max_seq_length=32)
    hidden = transformer.get_embedding_dimension()  # the hidden size in 6.3, not the vocabulary's
    pooling = SpladePooling(pooling_strategy="max", embedding_dimension=hidden)
    out = tmp_path_factory.mktemp("splade-saved-dimension") / "splade"
    SparseEncoder(modules=[transformer, pooling], device="cpu").save(str(out))
    return out


@pytest.fixture(scope="module")
def reference(folder):
    from sentence_transformers import SparseEncoder

    model = SparseEncoder(str(folder), device="cpu")
    return model.get_embedding_dimension(), model.encode(TEXTS).to_dense().numpy()


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_encodes_to_the_vocabulary_and_reports_the_saved_dimension(folder, reference, backend):
    import sbert

    dimension, expected = reference
    assert dimension < expected.shape[1]  # the case under test: the saved number is not the output's width
    model = sbert.SparseEncoder(str(folder), device="cpu", backend=backend)
    assert model.get_embedding_dimension() == dimension
    embeddings = model.encode(TEXTS)
    assert embeddings.is_sparse and tuple(embeddings.shape) == expected.shape
    np.testing.assert_allclose(embeddings.to_dense().numpy(), expected, atol=1e-5, rtol=0)
    single = model.encode(TEXTS[2])
    assert tuple(single.shape) == (expected.shape[1],)
    np.testing.assert_allclose(single.to_dense().numpy(), expected[2], atol=1e-5, rtol=0)


@pytest.mark.slow
def test_a_pool_joins_chunks_at_the_vocabulary_width(folder, reference):
    import sbert

    _, expected = reference
    model = sbert.SparseEncoder(str(folder), device="cpu")
    pool = model.start_multi_process_pool(["cpu"])
    try:
        embeddings = model.encode(TEXTS, pool=pool, chunk_size=1)
    finally:
        model.stop_multi_process_pool(pool)
    assert tuple(embeddings.shape) == expected.shape
    np.testing.assert_allclose(embeddings.to_dense().numpy(), expected, atol=1e-5, rtol=0)
