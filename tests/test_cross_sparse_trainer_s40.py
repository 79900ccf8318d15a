"""CrossEncoderTrainer and SparseEncoderTrainer differences a seeded differential fuzzer of training
arguments, losses, data and evaluators found against sentence-transformers 6.3 (session 40): each case run by
both libraries on the same dropout-free tiny model and compared."""

from __future__ import annotations

import pytest
from conftest import WORDS, build_tiny_classifier

SAMPLES = [
    {"query": WORDS[i], "positive": [WORDS[i + 5]], "negative": WORDS[i + 10 : i + 12]} for i in range(4)
]


@pytest.fixture(scope="module")
def three_labels(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("ce-s40") / "labels3", num_labels=3)


def raised(call):
    with pytest.raises(Exception) as info:
        call()
    return info.value


def test_reranking_evaluator_refuses_a_several_label_model_as_sentence_transformers(three_labels):
    """CrossEncoderRerankingEvaluator of a 3-label CrossEncoder (e.g. an NLI model evaluated while training,
    or a reranking evaluator passed to its CrossEncoderTrainer): sentence-transformers cannot rank pairs by 3
    scores and raises a TypeError; sbert ranked them by the first label's score and reported metrics of it.
    Now refused, a TypeError too, with a message that names the evaluator and the label count."""
    from sentence_transformers.cross_encoder import CrossEncoder as Reference
    from sentence_transformers.cross_encoder import evaluation as reference_evaluation

    from sbert.cross_encoder import CrossEncoder
    from sbert.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    reference = reference_evaluation.CrossEncoderRerankingEvaluator(SAMPLES, name="dev")
    expected = raised(lambda: reference(Reference(str(three_labels), device="cpu")))
    got = raised(lambda: CrossEncoderRerankingEvaluator(SAMPLES, name="dev")(CrossEncoder(three_labels)))
    assert isinstance(got, type(expected)), (type(got), type(expected))
    assert "3 scores per pair" in str(got) and "CrossEncoderRerankingEvaluator(dev)" in str(got)
