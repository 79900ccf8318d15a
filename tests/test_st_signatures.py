"""The signatures client code reads off the model classes' methods, as sentence-transformers 6.3 has them.

Libraries look before they call: ``"chunk_size" in inspect.signature(model.encode).parameters``,
``{k: v for k, v in kwargs.items() if k in sig.parameters}``, or they pass arguments by position. Every name
sentence-transformers' method has must be in sbert's, its positional parameters in the same order (so a
positional call means the same), and positional calls must give sentence-transformers' numbers."""

from __future__ import annotations

import inspect
import logging

import numpy as np
import pytest
import sentence_transformers as st
import torch
from conftest import build_tiny_classifier, classic_pooling

import sbert

TEXTS = ["a dog runs in the park", "the cat sat on the mat", "red car drives fast"]
PAIRS = [("a dog", "a dog runs in the park"), ("a cat", "red car drives fast"), ("sun", "it is sunny")]
METHODS = {
    "SentenceTransformer": ["encode", "encode_query", "encode_document"],
    "SparseEncoder": ["encode", "encode_query", "encode_document"],
    "MultiVectorEncoder": ["encode", "encode_query", "encode_document"],
    "CrossEncoder": ["predict", "rank"],
}
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def positional(signature: inspect.Signature) -> list[str]:
    return [name for name, p in signature.parameters.items() if p.kind in POSITIONAL]


@pytest.mark.parametrize(
    ("kind", "method"), [(kind, method) for kind, methods in METHODS.items() for method in methods]
)
def test_methods_declare_sentence_transformers_parameters_in_its_order(kind, method):
    want = inspect.signature(getattr(getattr(st, kind), method))
    got = inspect.signature(getattr(getattr(sbert, kind), method))
    assert set(want.parameters) - {"kwargs"} <= set(got.parameters)
    takes_kwargs = inspect.Parameter.VAR_KEYWORD
    if any(p.kind is takes_kwargs for p in want.parameters.values()):
        assert any(p.kind is takes_kwargs for p in got.parameters.values())
    # a positional call binds each value to the same name; sbert's own options come after, by keyword
    assert positional(got)[: len(positional(want))] == positional(want)
    for name in positional(want)[1:]:  # the defaults a caller reads (batch_size: see below)
        if not (kind == "SentenceTransformer" and name == "batch_size"):
            assert got.parameters[name].default == want.parameters[name].default, name


def test_encode_batch_size_default_is_sbert_automatic():
    """sbert's ``batch_size=None`` picks the batch by precision and device (64 texts and a token budget on a
    CPU); sentence-transformers' 32 would be a slower default with the same numbers."""
    assert inspect.signature(sbert.SentenceTransformer.encode).parameters["batch_size"].default is None


@pytest.fixture(scope="module")
def models(tiny_st_factory, tmp_path_factory, masked_lm):
    embedder = str(tiny_st_factory(classic_pooling(32, "mean")))
    classifier = str(build_tiny_classifier(tmp_path_factory.mktemp("sigs") / "ce"))
    return {
        "SentenceTransformer": (sbert.SentenceTransformer(embedder), st.SentenceTransformer(embedder)),
        "CrossEncoder": (sbert.CrossEncoder(classifier), st.CrossEncoder(classifier)),
        "SparseEncoder": (sbert.SparseEncoder(str(masked_lm)), st.SparseEncoder(str(masked_lm))),
    }


def dense(value):
    value = torch.as_tensor(np.asarray(value) if isinstance(value, list) else value)
    return value.to_dense() if value.is_sparse else value


@pytest.mark.parametrize("method", ["encode", "encode_query", "encode_document"])
def test_positional_encode_calls_give_sentence_transformers_results(models, method):
    ours, ref = models["SentenceTransformer"]
    # inputs, prompt_name, prompt, batch_size, show_progress_bar, output_value, precision, convert_to_numpy,
    # convert_to_tensor
    args = (TEXTS, None, "query: ", 2, False, "sentence_embedding", "float32", True, True)
    got, want = getattr(ours, method)(*args), getattr(ref, method)(*args)
    assert isinstance(got, torch.Tensor)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    # ..., device, normalize_embeddings, truncate_dim
    args = (TEXTS, None, None, 8, None, "sentence_embedding", "float32", True, False, None, True, 16)
    got, want = getattr(ours, method)(*args), getattr(ref, method)(*args)
    assert got.shape == (3, 16)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("method", ["encode", "encode_query", "encode_document"])
def test_positional_sparse_calls_give_sentence_transformers_results(models, method):
    ours, ref = models["SparseEncoder"]
    # inputs, prompt_name, prompt, batch_size, show_progress_bar, convert_to_tensor, convert_to_sparse_tensor
    args = (TEXTS, None, None, 2, False, True, False)
    got, want = getattr(ours, method)(*args), getattr(ref, method)(*args)
    assert not got.is_sparse
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_positional_predict_and_rank_give_sentence_transformers_results(models):
    ours, ref = models["CrossEncoder"]
    args = (PAIRS, None, None, 8)  # inputs, prompt_name, prompt, batch_size
    np.testing.assert_allclose(ours.predict(*args), ref.predict(*args), atol=1e-5)
    # ..., show_progress_bar, activation_fn, apply_softmax, convert_to_numpy, convert_to_tensor
    args = (PAIRS, None, None, 2, False, torch.nn.Identity(), False, True, True)
    torch.testing.assert_close(ours.predict(*args), ref.predict(*args), atol=1e-5, rtol=1e-4)
    docs = [doc for _, doc in PAIRS]
    args = ("a dog", docs, 2, True, None, None, 8)  # top_k, return_documents, prompts, batch_size
    got, want = ours.rank(*args), ref.rank(*args)
    assert [r["corpus_id"] for r in got] == [r["corpus_id"] for r in want]
    assert [r["text"] for r in got] == [r["text"] for r in want]


@pytest.mark.parametrize(
    ("kind", "method"),
    [
        ("SentenceTransformer", "encode"),
        ("SentenceTransformer", "encode_query"),
        ("SparseEncoder", "encode_document"),
        ("CrossEncoder", "predict"),
    ],
)
def test_older_sentences_keyword_works_and_yields_to_inputs(models, kind, method, monkeypatch, caplog):
    """``sentences=`` is taken for ``inputs`` (logged once, sentence-transformers' words); given beside
    ``inputs=`` it is dropped, as sentence-transformers' ``deprecated_kwargs`` drops it."""
    ours, ref = models[kind]
    texts = PAIRS if kind == "CrossEncoder" else TEXTS
    other = PAIRS[:1] if kind == "CrossEncoder" else TEXTS[:1]
    monkeypatch.setattr("sbert._errors._LOGGED", set())
    with caplog.at_level(logging.WARNING):
        got = getattr(ours, method)(sentences=texts)
    assert "The `sentences` argument was renamed" in caplog.text
    want = getattr(ref, method)(sentences=texts)
    torch.testing.assert_close(dense(got), dense(want), atol=1e-5, rtol=1e-4)
    both = getattr(ours, method)(inputs=texts, sentences=other)
    torch.testing.assert_close(dense(both), dense(getattr(ref, method)(inputs=texts, sentences=other)))
    with pytest.raises(TypeError):
        getattr(ours, method)()
