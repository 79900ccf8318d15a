"""Calls of lancedb (its "sentence-transformers" embedding function and CrossEncoderReranker), dspy
(``dspy.Embedder(model.encode)``, ``dspy.retrievers.Embeddings``), mem0 (its huggingface embedder and
sentence-transformer reranker) and gptcache (``SBERT``, ``SbertCrossencoderEvaluation``), written out here
without the libraries and compared with sentence-transformers 6.3 itself."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import build_tiny_classifier, classic_pooling

import sbert

TEXTS = ["the cat sat on the mat", "a dog runs", "red car fast", "she is happy", "the cat"]


@pytest.fixture(scope="module")
def embedder(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("probes-s37") / "ce")


def prompt_records(caplog, load):
    """The messages about prompts a load logs (mem0 passes its config's ``model_kwargs``, prompts among
    them, to the constructor; a saved model's prompts are logged as well)."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        model = load()
    return model, [r.getMessage() for r in caplog.records if "prompt" in r.getMessage().lower()]


KINDS = ["SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder"]


@pytest.mark.parametrize("kind", KINDS)
def test_loading_prompts_logs_their_names_as_sentence_transformers(kind, request, caplog, tmp_path):
    """sentence-transformers logs a loaded model's non-empty prompt names at INFO, and lists ``prompts`` as
    its default names, the caller's, then the saved ones the caller left out."""
    import sentence_transformers as st

    fixture = {"SentenceTransformer": "embedder", "CrossEncoder": "classifier", "SparseEncoder": "masked_lm"}
    folder = str(request.getfixturevalue(fixture.get(kind, "tiny_bert")))
    theirs_class, ours_class = getattr(st, kind), getattr(sbert, kind)
    saved = tmp_path / "saved"
    theirs_class(folder, prompts={"saved": "s: ", "empty": ""}).save(str(saved))
    given = {"given": "g: ", "saved": "override: "}
    for path, prompts in ((folder, None), (folder, given), (str(saved), None), (str(saved), given)):
        ours, ours_logged = prompt_records(caplog, lambda p=path, g=prompts: ours_class(p, prompts=g))
        theirs, theirs_logged = prompt_records(caplog, lambda p=path, g=prompts: theirs_class(p, prompts=g))
        assert ours_logged == theirs_logged
        assert list(ours.prompts.items()) == list(theirs.prompts.items())


def test_predict_and_rank_take_a_per_call_max_length_as_sentence_transformers(classifier):
    """sentence-transformers 6.3 hands ``predict``'s keywords to its Transformer's ``preprocess``, which
    reads ``max_length`` as this call's token limit (its trainers' collators pass it so); ``rank`` refuses
    it. lancedb's CrossEncoderReranker forwards its own keywords to the constructor, where
    ``max_length`` sets the model's limit: the same numbers."""
    import sentence_transformers as st

    ours, theirs = sbert.CrossEncoder(str(classifier)), st.CrossEncoder(str(classifier), device="cpu")
    pairs = [(TEXTS[0], text * 3) for text in TEXTS]
    full = theirs.predict(pairs)
    cut = theirs.predict(pairs, max_length=8, batch_size=2)
    assert not np.allclose(full, cut, atol=1e-3)  # the limit cuts these pairs
    np.testing.assert_allclose(ours.predict(pairs, max_length=8, batch_size=2), cut, atol=1e-5)
    np.testing.assert_allclose(ours.predict(pairs[0], max_length=8), cut[0], atol=1e-5)
    np.testing.assert_allclose(
        sbert.CrossEncoder(str(classifier), max_length=8).predict(pairs),
        st.CrossEncoder(str(classifier), device="cpu", max_length=8).predict(pairs),
        atol=1e-5,
    )
    for model in (ours, theirs):  # rank takes no such keyword there
        with pytest.raises(TypeError, match="max_length"):
            model.rank(TEXTS[0], TEXTS, max_length=8)
