"""Client-library probes of session 45: the sentence-transformers code paths that libraries take once sbert's
models pass ``isinstance(model, sentence_transformers.SentenceTransformer)``.

BERTopic 0.17 and KeyBERT 0.9 (``SentenceTransformerBackend``), haystack 3.4 (``SASEvaluator``), setfit 1.2,
llama-index, chromadb, txtai and LangChain ran alike with both libraries' models; these tests replay the
calls they make. LangChain's ``HuggingFaceEmbeddings(multi_process=True)`` stops the pool through
sentence-transformers' class (``sentence_transformers.SentenceTransformer.stop_multi_process_pool(pool)``),
which knows nothing of the copy sbert's workers load a changed model from: the copy goes with the pool."""

from __future__ import annotations

import gc
import glob
import tempfile
import warnings

import numpy as np
import pytest
from scipy.special import expit

import sbert

TEXTS = ["A plane is taking off.", "A man is playing a flute.", "A woman slices an onion.", "guitar music"]


def _pool_copies() -> set[str]:
    return set(glob.glob(f"{tempfile.gettempdir()}/sbert-pool-*"))


@pytest.mark.slow
def test_a_pool_stopped_by_sentence_transformers_takes_its_copy_along(dropout_free_st):
    import sentence_transformers

    reference = sentence_transformers.SentenceTransformer(str(dropout_free_st), device="cpu")
    model = sbert.SentenceTransformer(str(dropout_free_st), device="cpu")
    model[0]  # a module handed out: the workers load a copy saved now
    before = _pool_copies()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # "Implicitly cleaning up <TemporaryDirectory ...>"
        warnings.simplefilter("ignore", DeprecationWarning)  # encode_multi_process's, as in ST
        pool = model.start_multi_process_pool(["cpu"])
        assert len(_pool_copies() - before) == 1
        embeddings = model.encode_multi_process(TEXTS, pool)
        sentence_transformers.SentenceTransformer.stop_multi_process_pool(pool)  # LangChain's call
        del pool
        gc.collect()
    assert _pool_copies() == before
    np.testing.assert_allclose(embeddings, reference.encode(TEXTS), atol=1e-5)


def test_haystack_sas_call_pattern(dropout_free_st):
    """``SASEvaluator.run``: ``encode(convert_to_tensor=True)`` then sentence-transformers' ``util.cos_sim``
    on each pair of rows."""
    import sentence_transformers
    from sentence_transformers import util

    def scores(model):
        first = model.encode(TEXTS, batch_size=2, convert_to_tensor=True)
        second = model.encode(TEXTS[::-1], batch_size=2, convert_to_tensor=True)
        return [float(util.cos_sim(a, b).cpu().squeeze().numpy()) for a, b in zip(first, second)]

    model = sbert.SentenceTransformer(str(dropout_free_st), device="cpu")
    assert isinstance(model, sentence_transformers.SentenceTransformer)
    reference = sentence_transformers.SentenceTransformer(str(dropout_free_st), device="cpu")
    np.testing.assert_allclose(scores(model), scores(reference), atol=1e-5)


def test_haystack_sas_cross_encoder_call_pattern(tmp_path):
    """``SASEvaluator.run`` with a cross-encoder: ``predict(pairs, batch_size=..., convert_to_numpy=True)``,
    then ``expit`` where a score passes 1."""
    import sentence_transformers
    from conftest import build_tiny_classifier

    folder = build_tiny_classifier(tmp_path / "ce")
    pairs = list(zip(TEXTS, TEXTS[::-1]))

    def scores(model):
        values = model.predict(pairs, batch_size=2, convert_to_numpy=True)
        assert isinstance(values, np.ndarray)
        return expit(values) if (values > 1).any() else values

    model = sbert.CrossEncoder(str(folder), device="cpu")
    assert isinstance(model, sentence_transformers.CrossEncoder)
    reference = sentence_transformers.CrossEncoder(str(folder), device="cpu")
    np.testing.assert_allclose(scores(model), scores(reference), atol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"show_progress_bar": False},  # BERTopic's SentenceTransformerBackend.embed
        {"batch_size": 3, "normalize_embeddings": True, "show_progress_bar": False},  # KeyBERT's, with kwargs
        {"convert_to_numpy": True, "normalize_embeddings": True},  # chromadb's embedding function
    ],
    ids=["bertopic", "keybert", "chromadb"],
)
def test_backend_encode_call_patterns(dropout_free_st, kwargs):
    import sentence_transformers

    model = sbert.SentenceTransformer(str(dropout_free_st), device="cpu")
    reference = sentence_transformers.SentenceTransformer(str(dropout_free_st), device="cpu")
    ours, theirs = model.encode(TEXTS, **kwargs), reference.encode(TEXTS, **kwargs)
    assert type(ours) is type(theirs) and ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    single = model.encode(TEXTS[0], **kwargs)
    np.testing.assert_allclose(single, reference.encode(TEXTS[0], **kwargs), atol=1e-5)
