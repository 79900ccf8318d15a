"""Tokenization cases found by a side-by-side fuzz against sentence-transformers 6.3.

``do_lower_case: true`` in sentence_bert_config.json lowercases in the tokenizer's normalizer, as
sentence-transformers 6 adds ``Lowercase`` there: special-token text in the input (``[SEP]``, ``[MASK]``) is
still read as the special token, and ``model.tokenizer``'s own calls lowercase on every backend."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import build_tiny_bert, classic_pooling, write_st_folder

import sbert

TEXTS = [
    "HELLO [SEP] World",
    "the [MASK] cat [CLS] sits",
    "A Cat [PAD] on The MAT [UNK]",
    "",
    "DOG",
]


@pytest.fixture(scope="module")
def lowercasing_model(tmp_path_factory):
    """A cased tiny BERT in a sentence-transformers folder whose sentence_bert_config.json says
    ``do_lower_case: true``."""
    root = tmp_path_factory.mktemp("lowercase")
    folder = write_st_folder(
        build_tiny_bert(root / "bert", uncased=False), root / "st", classic_pooling(32, "mean")
    )
    settings = json.loads((folder / "sentence_bert_config.json").read_text())
    (folder / "sentence_bert_config.json").write_text(json.dumps({**settings, "do_lower_case": True}))
    return folder


@pytest.fixture(scope="module")
def reference(lowercasing_model):
    import sentence_transformers

    return sentence_transformers.SentenceTransformer(str(lowercasing_model), device="cpu")


def _ids(features) -> list:
    return features["input_ids"].tolist()


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_lowercasing_keeps_special_token_text(lowercasing_model, reference, backend):
    model = sbert.SentenceTransformer(str(lowercasing_model), backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert _ids(model.tokenize(TEXTS)) == _ids(reference.tokenize(TEXTS))
    expected = reference.encode(TEXTS)
    assert np.abs(model.encode(TEXTS) - expected).max() <= 1e-5
    assert (
        np.abs(
            model.encode(TEXTS, prompt="QUERY [SEP] ") - reference.encode(TEXTS, prompt="QUERY [SEP] ")
        ).max()
        <= 1e-5
    )
    # the tokenizer itself lowercases, as sentence-transformers' does
    assert model.tokenizer(TEXTS)["input_ids"] == reference.tokenizer(TEXTS)["input_ids"]


def test_lowercasing_token_embeddings(lowercasing_model, reference):
    model = sbert.SentenceTransformer(str(lowercasing_model), backend="torch")
    ours = model.encode(TEXTS, output_value="token_embeddings")
    theirs = reference.encode(TEXTS, output_value="token_embeddings")
    for a, b in zip(ours, theirs):
        assert np.asarray(a).shape == tuple(b.shape)
        assert np.abs(np.asarray(a) - b.numpy()).max() <= 1e-5


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("how", ["pad_token", "pad_token_id"])
def test_set_pad_token_pads_with_it(tiny_st_factory, backend, how):
    """``model.tokenizer.pad_token = ...`` (transformers' advice for a tokenizer without one) or
    ``pad_token_id = ...`` changes the id that padding writes, as there."""
    import sentence_transformers

    folder = str(tiny_st_factory(classic_pooling(32, "mean")))
    model = sbert.SentenceTransformer(folder, backend=backend)
    reference = sentence_transformers.SentenceTransformer(folder, device="cpu")
    value = "[MASK]" if how == "pad_token" else 4
    for tokenizer in (model.tokenizer, reference.tokenizer):
        setattr(tokenizer, how, value)
    assert (model.tokenizer.pad_token, model.tokenizer.pad_token_id) == (
        reference.tokenizer.pad_token,
        reference.tokenizer.pad_token_id,
    )
    texts = ["a cat sits on the mat", "hello", ""]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert _ids(model.tokenize(texts)) == _ids(reference.tokenize(texts))
    assert (
        model.tokenizer(texts, padding=True)["input_ids"]
        == reference.tokenizer(texts, padding=True)["input_ids"]
    )
    assert np.abs(model.encode(texts) - reference.encode(texts)).max() <= 1e-5
