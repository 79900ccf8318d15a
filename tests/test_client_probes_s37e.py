"""Calls of pinecone-text (``SentenceTransformerEncoder``: ``SentenceTransformer(name, device=...)`` then
``encode(texts, show_progress_bar=False, convert_to_numpy=True).tolist()``), bert-extractive-summarizer
(``SBertEmbedding``: ``SentenceTransformer(name).to(torch.device(...))`` then ``encode(sentences)``) and
cherche (``retrieve.Encoder`` / ``rank.Encoder`` / ``rank.DPR`` take ``model.encode``, ``rank.CrossEncoder``
takes ``CrossEncoder.predict`` over lists of ``(query, document)`` tuples; ``utils.quantize(model)`` is
``torch.quantization.quantize_dynamic(model, {nn.Linear}, torch.qint8)``), written out here without the
libraries and compared with sentence-transformers 6.3 itself."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import build_tiny_classifier

import sbert

PAIRS = [
    ("paris", "Paris France is a city with many long streets and old museums"),
    ("cold", "x"),
    ("paris", "Madrid Spain sunny"),
]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("probes-s37e") / "ce")


def cherche_quantize(model):
    """cherche's ``utils.quantize``, as it is written there."""
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.ao.quantization's own deprecation
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(model, {torch.nn.Linear}, torch.qint8)


def test_cherche_quantizes_a_cross_encoder_as_sentence_transformers(classifier):
    """``utils.quantize(CrossEncoder(...))`` then ``rank.CrossEncoder(encoder=model.predict)``: torch's
    dynamic quantization sets the quantized layers through the model's ``_modules``, which
    sentence-transformers' CrossEncoder (an ``nn.Module``) has: an AttributeError here."""
    import sentence_transformers as st

    ref = st.CrossEncoder(str(classifier), device="cpu")
    ref_q = cherche_quantize(ref)
    ours = sbert.CrossEncoder(str(classifier))
    ours_q = cherche_quantize(ours)
    assert type(ours_q) is sbert.CrossEncoder
    for options in ({}, {"batch_size": 1}):
        expected = ref_q.predict(PAIRS, **options)
        assert np.abs(expected - ref.predict(PAIRS, **options)).max() > 1e-5  # the quantization shows
        np.testing.assert_allclose(ours_q.predict(PAIRS, **options), expected, atol=1e-6, rtol=0)
    assert dict(ours_q._modules).keys() == dict(ref_q._modules).keys()
    # the model quantized is a copy: the original scores as before
    np.testing.assert_allclose(ours.predict(PAIRS), ref.predict(PAIRS), atol=1e-5)


TEXTS = ["a cat sat on the mat with a very long tail and many more words", "x", "dogs bark"]


@pytest.fixture(scope="module")
def with_dense(tiny_st_factory):
    from conftest import classic_pooling

    return tiny_st_factory(classic_pooling(32, "mean"), dense={"in_features": 32, "out_features": 8})


def test_cherche_quantizes_a_model_with_a_dense_module_as_sentence_transformers(with_dense):
    """``utils.quantize(SentenceTransformer(...))`` of a model with a Dense module (distiluse, LaBSE): its
    ``linear`` becomes a dynamically quantized Linear, whose ``weight`` is a method; encode raised an
    AttributeError here (the Dense module read ``linear.weight.dtype``)."""
    import sentence_transformers as st

    ref_q = cherche_quantize(st.SentenceTransformer(str(with_dense), device="cpu"))
    ours_q = cherche_quantize(sbert.SentenceTransformer(str(with_dense)))
    for options in ({}, {"batch_size": 1}):
        np.testing.assert_allclose(ours_q.encode(TEXTS, **options), ref_q.encode(TEXTS, **options), atol=1e-6)


def test_a_quantized_multi_vector_encoder_as_sentence_transformers(with_dense):
    """The same for a MultiVectorEncoder, whose token-level Dense module is quantized with the encoder."""
    import sentence_transformers as st

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the folder's conversion notice
        ref_q = cherche_quantize(st.MultiVectorEncoder(str(with_dense), device="cpu"))
        ours_q = cherche_quantize(sbert.MultiVectorEncoder(str(with_dense)))
    for ours, expected in zip(ours_q.encode(TEXTS), ref_q.encode(TEXTS)):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(expected), atol=1e-6)
