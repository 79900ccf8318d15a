"""Sparse-encoder utilities against sentence-transformers 6.3, run side by side: the reciprocal rank fusion
evaluator's errors for a sample without one of its fields."""

from __future__ import annotations

import pytest


def _sample(**fields):
    sample = {"query_id": "q", "query": "query", "positive": ["a"], "documents": ["a", "b"]}
    sample.update(fields)
    return {key: value for key, value in sample.items() if value is not None}


def _raised(evaluator_class, dense, sparse):
    """The exception constructing and running the evaluator raises."""
    with pytest.raises(Exception) as caught:
        evaluator_class(dense, sparse, write_csv=False)()
    return caught.value


@pytest.mark.parametrize("field", ["query_id", "query", "positive", "documents"])
def test_rrf_sample_missing_a_field_raises_as_sentence_transformers(field):
    from sentence_transformers.sparse_encoder.evaluation import ReciprocalRankFusionEvaluator as Reference

    from sbert.sparse_encoder.evaluation import ReciprocalRankFusionEvaluator

    dense, sparse = _sample(**{field: None}), _sample()
    expected = _raised(Reference, [dense], [sparse])
    got = _raised(ReciprocalRankFusionEvaluator, [dense], [sparse])
    # sentence-transformers checks query_id up front (a ValueError) and meets the others when it reads them
    # (a KeyError): code catching either still catches sbert's error, which names the field
    assert isinstance(got, type(expected))
    assert field in str(got)


@pytest.mark.parametrize("at_k", [0, 1, 2, 10])
@pytest.mark.parametrize(
    ("dense_docs", "sparse_docs", "positive"),
    [
        (["positive"], ["positive"], ["positive", "unretrieved"]),
        (["irrelevant", "positive"], ["positive", "irrelevant"], ["positive", "unretrieved"]),
        ([], ["irrelevant"], ["unretrieved"]),
        (["p1", "n"], ["p2", "n"], ["p1", "p2"]),
        (["a", "b"], ["c", "d"], ["d"]),  # a tie in the fused scores
    ],
)
def test_rrf_missing_positives_and_ties_as_sentence_transformers(
    at_k, dense_docs, sparse_docs, positive, tmp_path
):
    from sentence_transformers.sparse_encoder.evaluation import ReciprocalRankFusionEvaluator as Reference

    from sbert.sparse_encoder.evaluation import ReciprocalRankFusionEvaluator

    dense, sparse = (
        _sample(documents=dense_docs, positive=positive),
        _sample(documents=sparse_docs, positive=positive),
    )
    runs = []
    for evaluator_class, folder in (
        (Reference, tmp_path / "st"),
        (ReciprocalRankFusionEvaluator, tmp_path / "sb"),
    ):
        folder.mkdir()
        evaluator = evaluator_class([dense], [sparse], at_k=at_k, write_csv=False, write_predictions=True)
        runs.append((evaluator(output_path=str(folder)), (folder / evaluator.predictions_file).read_text()))
    (expected, expected_predictions), (got, got_predictions) = runs
    assert got.keys() == expected.keys()
    assert got == pytest.approx(expected, abs=1e-12)
    assert got_predictions == expected_predictions
