"""Evaluator differences a seeded differential fuzzer found against sentence-transformers 6.3 (session 39):
each case runs sentence-transformers' evaluator of the same name on the same model folder and inputs, and
compares the returned metrics and the CSV files written to ``output_path``."""

from __future__ import annotations

import math
import os
import warnings

import pytest
from conftest import build_tiny_classifier, classic_pooling

TOL = 1e-5


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("fuzz-eval-ce") / "labels1", num_labels=1)


@pytest.fixture(scope="module")
def dense(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


def quietly(call):
    """sentence-transformers' evaluators, without the warnings scikit-learn and scipy raise on degenerate
    inputs, and their deprecation warnings: warnings are errors in this suite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


def same(got: dict, expected: dict) -> None:
    assert list(got) == list(expected)
    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(value, abs=TOL), key


PAIRS = [("the cat sat", "a dog"), ("red car", "music"), ("sunny", "the man plays")]


def test_binary_classification_average_precision_without_positives(dense, tmp_path):
    """Labels all 0: scikit-learn's average_precision_score, which sentence-transformers calls, gives 0.0
    (recall set to one, no positive to find); sbert gave nan."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.evaluation import (
        BinaryClassificationEvaluator as ReferenceEvaluator,
    )

    from sbert import SentenceTransformer
    from sbert.sentence_transformer.evaluation import BinaryClassificationEvaluator

    s1, s2 = [a for a, _ in PAIRS], [b for _, b in PAIRS]
    labels = [0, 0, 0]
    expected = quietly(lambda: ReferenceEvaluator(s1, s2, labels)(Reference(str(dense), device="cpu")))
    got = BinaryClassificationEvaluator(s1, s2, labels)(SentenceTransformer(dense))
    same(got, expected)
    assert got["cosine_ap"] == 0.0


def test_cross_encoder_classification_average_precision_without_positives(classifier):
    """The same for CrossEncoderClassificationEvaluator of a one-label model (sbert: nan)."""
    from sentence_transformers.cross_encoder import CrossEncoder as Reference
    from sentence_transformers.cross_encoder.evaluation import (
        CrossEncoderClassificationEvaluator as ReferenceEvaluator,
    )

    from sbert.cross_encoder import CrossEncoder
    from sbert.cross_encoder.evaluation import CrossEncoderClassificationEvaluator

    labels = [0, 0, 0]
    expected = quietly(lambda: ReferenceEvaluator(PAIRS, labels)(Reference(str(classifier), device="cpu")))
    got = CrossEncoderClassificationEvaluator(PAIRS, labels)(CrossEncoder(classifier))
    same(got, expected)


def test_cross_encoder_correlation_of_constant_gold_scores_is_nan(classifier):
    """Gold scores all equal: scipy's pearsonr, which sentence-transformers calls, gives nan (a constant
    input); sbert's Pearson divided rounding noise by rounding noise (-2e-16)."""
    from sentence_transformers.cross_encoder import CrossEncoder as Reference
    from sentence_transformers.cross_encoder.evaluation import (
        CrossEncoderCorrelationEvaluator as ReferenceEvaluator,
    )

    from sbert.cross_encoder import CrossEncoder
    from sbert.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator

    pairs = PAIRS * 2 + [("music mat sunny", "car dog fast")]
    scores = [1.9] * len(pairs)
    expected = quietly(lambda: ReferenceEvaluator(pairs, scores)(Reference(str(classifier), device="cpu")))
    got = CrossEncoderCorrelationEvaluator(pairs, scores)(CrossEncoder(classifier))
    assert math.isnan(expected["pearson"])
    same(got, expected)


@pytest.mark.parametrize(
    "old, current, data",
    [
        ("CEF1Evaluator", "CrossEncoderClassificationEvaluator", (PAIRS, [1, 0, 1])),
        ("CEBinaryAccuracyEvaluator", "CrossEncoderClassificationEvaluator", (PAIRS, [1, 0, 1])),
        ("CECorrelationEvaluator", "CrossEncoderCorrelationEvaluator", (PAIRS, [0.5, 0.1, 0.9])),
        (
            "CERerankingEvaluator",
            "CrossEncoderRerankingEvaluator",
            ([{"query": "cat", "positive": ["the cat sat"], "negative": ["red car", "music"]}],),
        ),
    ],
)
@pytest.mark.parametrize("name", ["", "dev"])
def test_old_cross_encoder_evaluator_names_write_the_current_csv_file(
    classifier, tmp_path, old, current, data, name
):
    """sentence-transformers' deprecated CE evaluators (CEF1Evaluator, ...) are subclasses whose CSV file
    keeps the current class's name ("CrossEncoderClassificationEvaluator_dev_results.csv"); sbert named it
    after the old class."""
    import sentence_transformers.cross_encoder.evaluation as reference_module
    from sentence_transformers.cross_encoder import CrossEncoder as Reference

    import sbert.cross_encoder.evaluation as module
    from sbert.cross_encoder import CrossEncoder

    reference = quietly(lambda: getattr(reference_module, old)(*data, name=name))
    quietly(lambda: reference(Reference(str(classifier), device="cpu"), output_path=str(tmp_path / "theirs")))
    ours = quietly(lambda: getattr(module, old)(*data, name=name))
    ours(CrossEncoder(classifier), output_path=str(tmp_path / "ours"))
    assert ours.csv_file == reference.csv_file and reference.csv_file.startswith(current)
    assert os.listdir(tmp_path / "ours") == os.listdir(tmp_path / "theirs") == [reference.csv_file]
    headers = [
        (tmp_path / side / reference.csv_file).read_text().splitlines()[0] for side in ("ours", "theirs")
    ]
    assert headers[0] == headers[1]


def test_a_correlation_of_one_pair_is_a_value_error_as_sentence_transformers(dense, classifier):
    """One scored pair: scipy refuses a correlation (``x`` and ``y`` must have length at least 2) inside
    sentence-transformers' STS and cross-encoder correlation evaluators; sbert raised nothing (nan)."""
    import sentence_transformers
    from sentence_transformers.cross_encoder.evaluation import (
        CrossEncoderCorrelationEvaluator as ReferenceCorrelation,
    )
    from sentence_transformers.sentence_transformer.evaluation import (
        EmbeddingSimilarityEvaluator as ReferenceSimilarity,
    )

    import sbert
    from sbert.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator
    from sbert.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    cases = [
        (
            ReferenceSimilarity(["a cat"], ["a dog"], [0.5]),
            sentence_transformers.SentenceTransformer(str(dense)),
        ),
        (EmbeddingSimilarityEvaluator(["a cat"], ["a dog"], [0.5]), sbert.SentenceTransformer(str(dense))),
        (ReferenceCorrelation(PAIRS[:1], [0.5]), sentence_transformers.CrossEncoder(str(classifier))),
        (CrossEncoderCorrelationEvaluator(PAIRS[:1], [0.5]), sbert.CrossEncoder(str(classifier))),
    ]
    for evaluator, model in cases:  # made without complaint, refused when run
        with pytest.raises(ValueError):
            quietly(lambda evaluator=evaluator, model=model: evaluator(model))
