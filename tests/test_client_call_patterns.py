"""Calls real client libraries of sentence-transformers make, written out here without the library (CI does
not install them), against sentence-transformers itself: same results, and no Python warning where
sentence-transformers gives none (a library's users may run with ``-W error``)."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch
from conftest import build_tiny_classifier

import sbert

QUERY = "the cat sat on the mat"
DOCUMENTS = ["a dog runs", "the cat sat on the mat", "red car fast", "she is happy", "the cat"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("clients") / "ce")


def haystack_ranker_model(cls, path):
    """haystack's SentenceTransformersSimilarityRanker.warm_up (sentence-transformers-haystack 2.0)."""
    return cls(
        model_name_or_path=str(path),
        device="cpu",
        token=None,
        trust_remote_code=False,
        model_kwargs=None,
        processor_kwargs=None,
        config_kwargs=None,
        backend="torch",
    )


def haystack_rank(model, activation_fn):
    """SentenceTransformersSimilarityRanker.run: ``rank`` with ``convert_to_numpy=True`` on every call."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return model.rank(
            query=QUERY,
            documents=DOCUMENTS,
            batch_size=2,
            activation_fn=activation_fn,
            convert_to_numpy=True,
            return_documents=False,
        )


@pytest.mark.parametrize("activation", [torch.nn.Sigmoid, torch.nn.Identity])
def test_haystack_similarity_ranker_rank_call_gives_no_warning(classifier, activation, caplog):
    from sentence_transformers import CrossEncoder as Reference

    ours = haystack_ranker_model(sbert.CrossEncoder, classifier)
    ref = haystack_ranker_model(Reference, classifier)
    with caplog.at_level(logging.WARNING, logger="sbert"):
        ranked = [haystack_rank(ours, activation()) for _ in range(2)]
    expected = haystack_rank(ref, activation())
    for result in ranked:
        assert [r["corpus_id"] for r in result] == [r["corpus_id"] for r in expected]
        assert [r["score"] for r in result] == pytest.approx([r["score"] for r in expected], abs=1e-5)
        assert all(type(r["score"]) is type(e["score"]) for r, e in zip(result, expected))
    notes = [r for r in caplog.records if "convert_to_numpy changes nothing" in r.getMessage()]
    assert len(notes) <= 1  # logged once per process, as sentence-transformers' warning_once
