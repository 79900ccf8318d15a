"""``CrossEncoder.predict`` with keyword arguments the model does not use: sentence-transformers 6.3 hands its
``**kwargs`` to modules that ignore them and scores as usual (a wrapper passing ``encode``'s keywords to
``predict`` runs there), while ``rank`` refuses them with a TypeError in both."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import build_tiny_classifier

from sbert import CrossEncoder

PAIRS = [("a cat sat on the mat", "a dog ran"), ("red car", "the car is red and fast")]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("predict_keywords") / "classifier")


def test_predict_ignores_unused_keywords_as_sentence_transformers(classifier, caplog, monkeypatch):
    from sentence_transformers import CrossEncoder as Reference

    ours, ref = CrossEncoder(str(classifier)), Reference(str(classifier), device="cpu")
    monkeypatch.setattr("sbert._errors._LOGGED", set())
    extra = {"normalize_embeddings": True, "foo": 1}
    with caplog.at_level(logging.WARNING, logger="sbert"):
        scores = ours.predict(PAIRS, **extra)
    np.testing.assert_allclose(scores, ref.predict(PAIRS, **extra), atol=1e-5)
    np.testing.assert_allclose(scores, ours.predict(PAIRS), atol=1e-6)
    assert any("['foo', 'normalize_embeddings']" in r.getMessage() for r in caplog.records)
    with pytest.raises(TypeError, match="unexpected keyword"):
        ref.rank("a cat", ["a dog", "red car"], foo=1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        ours.rank("a cat", ["a dog", "red car"], foo=1)
