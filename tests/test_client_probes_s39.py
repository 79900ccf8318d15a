"""Calls of infinity-emb's ``SentenceTransformerPatched`` (``features = model.tokenize(texts)``, then
``util.batch_to_device`` and ``model.forward(features)`` under ``torch.no_grad()``, the features dict then
holding the token embeddings) and of turftopic's ``encode_chunks`` (the same, reading
``output_features["token_embeddings"]`` of every position), and of pymilvus' ``CrossEncoderRerankFunction``
(``CrossEncoder(model_name=..., device="", default_activation_function=None)``: its default device is the
empty string), written out here without the libraries and compared with sentence-transformers on the same
folder."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import classic_pooling

import sbert

TEXTS = ["a cat sat on the mat", "x", "", "the river runs " * 6]


@pytest.fixture(scope="module")
def folder(tiny_st_factory):
    return str(tiny_st_factory(classic_pooling(32, "mean")))


def _both(folder, cls="SentenceTransformer", **options):
    import sentence_transformers as st

    return [getattr(lib, cls)(folder, **options) for lib in (st, sbert)]


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
@pytest.mark.parametrize("call", ["model", "first_module"])
def test_infinity_tokenize_then_forward_gives_every_position_as_sentence_transformers(folder, mode, call):
    """A caller's own forward gets the encoder's hidden states at padded positions too, as
    sentence-transformers gives them (sbert's encode may skip them; a caller reading them may not)."""
    import torch
    from sentence_transformers import util as st_util

    import sbert.util

    outputs = []
    for model, util in zip(_both(folder), (st_util, sbert.util)):
        features = util.batch_to_device(model.tokenize(TEXTS), model.device)
        with getattr(torch, mode)():
            out = model.forward(features) if call == "model" else model[1](model[0](features))
        outputs.append((features, out))
    (their_features, theirs), (our_features, ours) = outputs
    assert ours is our_features and theirs is their_features  # updated in place, as there
    padded = ~their_features["attention_mask"].bool()
    assert padded.any()
    for name in ("token_embeddings", "sentence_embedding"):
        torch.testing.assert_close(ours[name], theirs[name], atol=1e-5, rtol=1e-4)
    # turftopic's encode_chunks: the mean of a window of rows, read without the mask
    window = theirs["token_embeddings"][1, :6].mean(axis=0)
    torch.testing.assert_close(ours["token_embeddings"][1, :6].mean(axis=0), window, atol=1e-5, rtol=1e-4)


def test_encode_after_a_callers_forward_still_equals_sentence_transformers(folder):
    import torch

    results = []
    for model in _both(folder):
        with torch.no_grad():
            model.forward(model.tokenize(TEXTS))
        results.append((model.encode(TEXTS), model.encode(TEXTS, output_value="token_embeddings")))
    (theirs, their_tokens), (ours, our_tokens) = results
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    for a, b in zip(our_tokens, their_tokens):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("cls", ["SentenceTransformer", "CrossEncoder"])
@pytest.mark.parametrize("device", ["", "foo", " cpu", "CPU"])
def test_pymilvus_empty_device_fails_as_in_sentence_transformers(folder, cls, device):
    """pymilvus' reranker passes ``device=""`` by default: sentence-transformers fails there with torch's
    RuntimeError (the device string does not parse), and so does sbert (still its InputError too)."""
    import sentence_transformers as st

    with pytest.raises(RuntimeError) as theirs:
        getattr(st, cls)(folder, device=device)
    with pytest.raises(RuntimeError) as ours:
        getattr(sbert, cls)(folder, device=device)
    assert isinstance(ours.value, sbert.InputError) and not isinstance(theirs.value, sbert.InputError)
    assert repr(device) in str(ours.value)
