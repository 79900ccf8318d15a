"""SparseEncoder model-level options against sentence-transformers 6.3, run side by side on the same tiny
folder: ``decode``'s type error, ``sparsity`` of a CSR-layout tensor, the chunk-size notices of a pipeline
without SpladePooling, and the sparse retrieval evaluator's CSV header attribute."""

from __future__ import annotations

import logging

import pytest

TEXTS = ["The weather is nice!", "It's sunny outside", "hello world a b c"]


@pytest.fixture(scope="module")
def splade_pair(masked_lm):
    import sentence_transformers

    import sbert

    return sentence_transformers.SparseEncoder(str(masked_lm)), sbert.SparseEncoder(str(masked_lm))


@pytest.mark.parametrize("bad", [[1, 2, 3], "numpy"])
def test_decode_of_a_non_tensor_says_what_sentence_transformers_says(splade_pair, bad):
    import numpy as np

    reference, model = splade_pair
    bad = np.zeros((1, 3)) if bad == "numpy" else bad
    messages = []
    for encoder in (reference, model):
        with pytest.raises(TypeError) as caught:
            encoder.decode(bad)
        messages.append(str(caught.value))
    assert messages[1] == messages[0]


def test_sparsity_of_a_csr_layout_tensor_as_sentence_transformers(splade_pair):
    reference, model = splade_pair
    dense = model.encode(TEXTS, convert_to_sparse_tensor=False)
    expected = reference.sparsity(dense.to_sparse_csr())
    assert model.sparsity(dense.to_sparse_csr()) == pytest.approx(expected)
    assert model.sparsity(dense) == pytest.approx(expected)


def _chunk_size_notices(model, caplog, recwarn):
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        got = model.splade_pooling_chunk_size
        model.splade_pooling_chunk_size = 4
    logged = [record.getMessage() for record in caplog.records]
    warned = [str(w.message) for w in recwarn if "chunk_size" in str(w.message)]
    recwarn.clear()
    return got, logged, warned


def test_chunk_size_without_splade_pooling_is_logged_as_sentence_transformers(tiny_bert, caplog, recwarn):
    import sentence_transformers

    import sbert

    reference = sentence_transformers.SparseEncoder(str(tiny_bert))  # CSR: no SpladePooling
    model = sbert.SparseEncoder(str(tiny_bert))
    expected = _chunk_size_notices(reference, caplog, recwarn)
    assert expected[1]  # sentence-transformers logs both the read and the write
    assert _chunk_size_notices(model, caplog, recwarn) == expected


@pytest.mark.parametrize("score_functions", [False, True])
def test_sparse_retrieval_csv_headers_as_sentence_transformers(splade_pair, score_functions, tmp_path):
    from sentence_transformers import util
    from sentence_transformers.sparse_encoder.evaluation import (
        SparseInformationRetrievalEvaluator as Reference,
    )

    from sbert.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

    queries = {"q1": "weather nice", "q2": "sunny"}
    corpus = {f"d{i}": text for i, text in enumerate(TEXTS)}
    relevant = {"q1": {"d0"}, "q2": {"d1"}}
    options = {"score_functions": {"dot": util.dot_score}} if score_functions else {}
    headers = []
    for evaluator_class, model, folder in zip(
        (Reference, SparseInformationRetrievalEvaluator), splade_pair, ("st", "sb")
    ):
        evaluator = evaluator_class(queries, corpus, relevant, **options)
        before = list(evaluator.csv_headers)
        (tmp_path / folder).mkdir()
        evaluator(model, output_path=str(tmp_path / folder))
        csv = (tmp_path / folder / "Information-Retrieval_evaluation_results.csv").read_text()
        headers.append((before, list(evaluator.csv_headers), csv.splitlines()[0]))
    assert headers[1] == headers[0]
