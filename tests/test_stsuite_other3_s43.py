"""Parity found by running sentence-transformers' own test-suite scenarios (cross-encoder NanoBEIR, model
cards and trainers, sparse evaluators and trainer, multi-vector extras, batch-triplet losses; part 3 of
session 43) against both libraries on tiny local models."""

from __future__ import annotations

import numpy as np
import pytest

import sbert

RERANK_SAMPLES = [{"query": "q", "positive": ["p"], "negative": ["n"]}]


@pytest.mark.parametrize(
    ("y_true", "y_pred", "num_positives"),
    [
        ([0, 1, 0], [0.9, 0.8, 0.1], None),
        ([0, 1, 0], [0.9, 0.8, 0.1], 3),
        ([0, 0, 1, 0], [0.9, 0.8, 0.5, 0.5], None),  # the one positive ranked past at_k
        ([0, 0, 0], [1.0, 2.0, 3.0], None),  # nothing relevant
        ([1], [0.3], 3),
        (np.array([0, 1, 0]), np.array([0.9, 0.8, 0.1]), None),
        ([1, 1, 0], [0.5, 0.5, 0.5], 3),
    ],
)
def test_reranking_compute_metrics_returns_sentence_transformers_types(y_true, y_pred, num_positives):
    """CrossEncoderRerankingEvaluator.compute_metrics: the same (MRR, NDCG, AP) values and Python/numpy types
    as sentence-transformers 6.3 (an int 0 where nothing is relevant or no positive is in the top k)."""
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    ours = sbert.cross_encoder.evaluation.CrossEncoderRerankingEvaluator(RERANK_SAMPLES, at_k=2)
    theirs = CrossEncoderRerankingEvaluator(RERANK_SAMPLES, at_k=2)
    mine = ours.compute_metrics(y_true, y_pred, num_positives=num_positives)
    reference = theirs.compute_metrics(y_true, y_pred, num_positives=num_positives)
    assert type(mine) is type(reference)
    assert [type(value) for value in mine] == [type(value) for value in reference]
    np.testing.assert_allclose(mine, reference, atol=1e-12, rtol=0)
