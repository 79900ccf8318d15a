"""Per-call ``processing_kwargs`` beyond a max length (padding side, pad_to_multiple_of, the "common" entry,
truncation off, ...), side by side with sentence-transformers 6.3 on the tiny BERT."""

from __future__ import annotations

import logging
import uuid

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
    # logged once per process: a key no other test uses (an id() may repeat once an earlier model is freed)
    key = f"bogus{uuid.uuid4().hex}"
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


# ---------------------------------------------------------------- CrossEncoder and SparseEncoder
PAIRS = [
    ("hello world", "the cat sat on the mat"),
    ("b", "a much longer sentence here with many words"),
    ("a", "b"),
]
MORE = [*OPTIONS, {"text": {"truncation": "only_second", "max_length": 12}}, {"bogus": {"x": 1}}]


@pytest.fixture(scope="module")
def cross_pair(tmp_path_factory):
    import sentence_transformers as st
    from conftest import build_tiny_classifier

    import sbert

    folder = str(build_tiny_classifier(tmp_path_factory.mktemp("ce") / "ce"))
    return st.CrossEncoder(folder, device="cpu"), sbert.CrossEncoder(folder)


@pytest.fixture(scope="module")
def sparse_pair(masked_lm):
    import sentence_transformers as st

    import sbert

    return st.SparseEncoder(str(masked_lm), device="cpu"), sbert.SparseEncoder(str(masked_lm))


@pytest.mark.parametrize("processing", MORE, ids=str)
def test_cross_encoder_predict_takes_tokenizer_options(cross_pair, processing):
    reference, ours = cross_pair
    for batch_size in (2, 32):
        expected = reference.predict(PAIRS, processing_kwargs=processing, batch_size=batch_size, prompt="q: ")
        got = ours.predict(PAIRS, processing_kwargs=processing, batch_size=batch_size, prompt="q: ")
        np.testing.assert_allclose(got, expected, atol=1e-6)
    one = reference.predict(PAIRS[0], processing_kwargs=processing)
    np.testing.assert_allclose(ours.predict(PAIRS[0], processing_kwargs=processing), one, atol=1e-6)
    for method in ("preprocess", "tokenize"):
        expected = getattr(reference, method)(PAIRS, processing_kwargs=processing)
        got = getattr(ours, method)(PAIRS, processing_kwargs=processing)
        assert sorted(got) == sorted(expected)
        for key, value in expected.items():
            assert torch.equal(got[key], value) if torch.is_tensor(value) else got[key] == value


def test_cross_encoder_left_padding_keeps_the_backend(cross_pair):
    reference, ours = cross_pair
    left = {"text": {"padding_side": "left"}}
    backend, plain = ours.backend, ours.predict(PAIRS)
    assert not np.allclose(reference.predict(PAIRS, processing_kwargs=left), reference.predict(PAIRS))
    np.testing.assert_allclose(
        ours.predict(PAIRS, processing_kwargs=left),
        reference.predict(PAIRS, processing_kwargs=left),
        atol=1e-6,
    )
    assert ours.backend == backend  # the call's torch modules leave the default path as it was
    np.testing.assert_array_equal(ours.predict(PAIRS), plain)
    with pytest.raises(ValueError):
        reference.predict(PAIRS, processing_kwargs={"text": {"padding": False}})
    with pytest.raises(ValueError):
        ours.predict(PAIRS, processing_kwargs={"text": {"padding": False}})


@pytest.mark.parametrize("processing", [*OPTIONS, {"text": {"max_length": 5}}], ids=str)
def test_sparse_encoder_takes_tokenizer_options(sparse_pair, processing):
    reference, ours = sparse_pair
    for method, prompt in (("encode", None), ("encode_query", "query: "), ("encode_document", None)):
        for batch_size in (2, 32):
            options = {"processing_kwargs": processing, "batch_size": batch_size, "prompt": prompt}
            expected = getattr(reference, method)(TEXTS, convert_to_sparse_tensor=False, **options)
            got = getattr(ours, method)(TEXTS, convert_to_sparse_tensor=False, **options)
            np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-6)
    expected = reference.preprocess(TEXTS, processing_kwargs=processing, prompt="query: ")
    got = ours.preprocess(TEXTS, processing_kwargs=processing, prompt="query: ")
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert torch.equal(got[key], value) if torch.is_tensor(value) else got[key] == value


def test_sparse_left_padding_and_unknown_entry(sparse_pair, caplog):
    reference, ours = sparse_pair
    left = {"text": {"padding_side": "left"}}
    dense = {"convert_to_sparse_tensor": False, "batch_size": 2}
    assert not torch.allclose(
        reference.encode(TEXTS, processing_kwargs=left, **dense), reference.encode(TEXTS, **dense)
    )
    key = f"bogus{id(ours)}"
    with caplog.at_level(logging.WARNING, logger="sentence_transformers"):
        got = ours.encode(TEXTS, processing_kwargs={key: {}, **left}, **dense)
    torch.testing.assert_close(
        got, reference.encode(TEXTS, processing_kwargs=left, **dense), atol=1e-6, rtol=0
    )
    assert any(key in record.getMessage() for record in caplog.records)
