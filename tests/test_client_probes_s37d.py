"""Calls of agno (``SentenceTransformerEmbedder``: ``SentenceTransformer(model_name_or_path=...)`` then
``encode(text, prompt=..., normalize_embeddings=...)``; ``SentenceTransformerReranker``:
``CrossEncoder(model_name_or_path=..., model_kwargs=...)`` then ``predict([[query, doc], ...])``) and
deepchecks (``calculate_builtin_embeddings``: ``SentenceTransformer(name, device=None).encode(text_array)``),
written out here without the libraries and compared with sentence-transformers 6.3 itself."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_tiny_classifier, classic_pooling

import sbert

PAIRS = [["cat", "cats are pets"], ["cat", "stocks fell today"], ["cat", "a cat sat"]]


@pytest.fixture(scope="module")
def embedder(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("probes-s37d") / "ce")


# The loading keywords a caller's option dicts may repeat: sentence-transformers merges the caller's
# model_kwargs / config_kwargs over its own hub keywords (trust_remote_code among them), so they win.
REPEATED = [
    {"model_kwargs": {"trust_remote_code": True}},
    {"model_kwargs": {"trust_remote_code": False}, "trust_remote_code": True},
    {"config_kwargs": {"trust_remote_code": True}},
    {"model_kwargs": {"use_safetensors": True, "output_loading_info": False}},
]


@pytest.mark.parametrize("options", REPEATED, ids=lambda o: str(o))
def test_option_dicts_may_repeat_loading_keywords_as_sentence_transformers(options, embedder, classifier):
    """agno's reranker hands its ``model_kwargs`` to ``CrossEncoder(model_name_or_path=...,
    model_kwargs=...)``; a ``trust_remote_code`` (or ``use_safetensors``) there loads in sentence-transformers
    6.3, where the caller's dicts are merged over its own keywords: it was a TypeError (multiple values)
    here."""
    import sentence_transformers as st

    theirs = st.CrossEncoder(model_name_or_path=str(classifier), device="cpu", **options)
    ours = sbert.CrossEncoder(model_name_or_path=str(classifier), **options)
    np.testing.assert_allclose(ours.predict(PAIRS), theirs.predict(PAIRS), atol=1e-5)
    texts = [text for _, text in PAIRS]
    theirs = st.SentenceTransformer(model_name_or_path=str(embedder), device="cpu", **options)
    ours = sbert.SentenceTransformer(model_name_or_path=str(embedder), **options)
    np.testing.assert_allclose(ours.encode(texts), theirs.encode(texts), atol=1e-5)


@pytest.mark.parametrize("options", REPEATED[:3], ids=lambda o: str(o))
def test_sparse_encoder_option_dicts_may_repeat_trust_remote_code(options, masked_lm):
    import sentence_transformers as st

    texts = [text for _, text in PAIRS]
    theirs = st.SparseEncoder(str(masked_lm), device="cpu", **options).encode(texts).to_dense()
    ours = sbert.SparseEncoder(str(masked_lm), **options).encode(texts).to_dense()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-4)


def test_a_repeated_config_in_model_kwargs_is_still_a_type_error(embedder):
    """The config object is the loader's own in both: a second one is refused, as there."""
    with pytest.raises(TypeError, match="config"):
        sbert.SentenceTransformer(str(embedder), model_kwargs={"config": None})
