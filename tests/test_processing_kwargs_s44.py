"""Per-call ``processing_kwargs`` beyond a max length (padding side, pad_to_multiple_of, the "common" entry,
truncation off, ...), side by side with sentence-transformers 6.3 on the tiny BERT."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from conftest import classic_pooling

TEXTS = ["hello world", "a much longer sentence here with many words in it ok", "b", "the cat sat on the mat"]
OPTIONS = [
    {"text": {"padding_side": "left"}},
    {"common": {"padding_side": "left"}},
    {"text": {"pad_to_multiple_of": 8}},
    {"text": {"truncation": False}},
    {"text": {"add_special_tokens": False}},
    {"common": {"max_length": 4}},
]


@pytest.fixture(scope="module", params=["mean", "cls", "lasttoken"])
def pair(request, tiny_st_factory):
    import sentence_transformers as st

    import sbert

    folder = str(tiny_st_factory(classic_pooling(32, request.param)))
    return st.SentenceTransformer(folder, device="cpu"), sbert.SentenceTransformer(folder)


@pytest.mark.parametrize("processing", OPTIONS, ids=str)
def test_encode_takes_tokenizer_options(pair, processing):
    reference, ours = pair
    for batch_size in (2, 32):
        expected = reference.encode(TEXTS, processing_kwargs=processing, batch_size=batch_size)
        got = ours.encode(TEXTS, processing_kwargs=processing, batch_size=batch_size)
        np.testing.assert_allclose(got, expected, atol=1e-6)
    expected = reference.encode_query(TEXTS, processing_kwargs=processing, prompt="query: ")
    np.testing.assert_allclose(
        ours.encode_query(TEXTS, processing_kwargs=processing, prompt="query: "), expected, atol=1e-6
    )


def test_left_padding_changes_last_token_embeddings(pair):
    reference, ours = pair
    left = {"text": {"padding_side": "left"}}
    # the option matters for this model (absolute positions move), and sbert follows it
    assert not np.allclose(reference.encode(TEXTS, processing_kwargs=left), reference.encode(TEXTS))
    np.testing.assert_allclose(
        ours.encode(TEXTS, processing_kwargs=left), reference.encode(TEXTS, processing_kwargs=left), atol=1e-6
    )


@pytest.mark.parametrize("processing", OPTIONS[:3], ids=str)
def test_preprocess_features(pair, processing):
    reference, ours = pair
    for method in ("preprocess", "tokenize"):
        expected = getattr(reference, method)(TEXTS, processing_kwargs=processing)
        got = getattr(ours, method)(TEXTS, processing_kwargs=processing)
        assert sorted(got) == sorted(expected)
        for key, value in expected.items():
            assert torch.equal(got[key], value) if torch.is_tensor(value) else got[key] == value


def test_unknown_entry_ignored_with_a_log(pair, caplog):
    reference, ours = pair
    key = f"bogus{id(ours)}"  # logged once per process: a key of this model's own
    processing = {key: {"x": 1}, "text": {"padding_side": "left"}}
    with caplog.at_level(logging.WARNING, logger="sentence_transformers"):
        got = ours.encode(TEXTS, processing_kwargs=processing)
    np.testing.assert_allclose(got, reference.encode(TEXTS, processing_kwargs=processing), atol=1e-6)
    assert any(key in record.getMessage() for record in caplog.records)


def test_unpadded_batch_is_a_value_error(pair):
    reference, ours = pair
    with pytest.raises(ValueError):
        reference.encode(TEXTS, processing_kwargs={"text": {"padding": False}})
    with pytest.raises(ValueError):
        ours.encode(TEXTS, processing_kwargs={"text": {"padding": False}})
