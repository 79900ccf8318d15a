"""A call's ``processing_kwargs`` token limit with a multi-process pool (``pool=`` or ``device=[...]``):
sentence-transformers' workers take the call's keywords to their own ``encode`` / ``predict``, so the limit
applies there too; sbert's workers get it the same way (it raised InputError before). The numbers equal
an in-process call with the same limit and sentence-transformers' own, for each model class."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_tiny_classifier

import sbert

TEXTS = ["the weather is lovely today and the cat sat on the mat all day long", "a cat", "what is on"] * 2
SHORT = {"processing_kwargs": {"text": {"max_length": 5}}}


def _assert_limited(pooled, here, reference, whole) -> None:
    np.testing.assert_allclose(pooled, here, rtol=0, atol=1e-6)
    np.testing.assert_allclose(pooled, reference, rtol=0, atol=1e-5)
    assert np.abs(pooled - whole).max() > 1e-3  # the limit cut these texts


def test_sentence_transformer_pool_takes_the_calls_limit(default_model_path):
    from sentence_transformers import SentenceTransformer as Reference

    model = sbert.SentenceTransformer(backend="onnx")
    pool = model.start_multi_process_pool(["cpu"])
    try:
        pooled = model.encode(TEXTS, pool=pool, chunk_size=2, **SHORT)
    finally:
        model.stop_multi_process_pool(pool)
    reference = Reference(str(default_model_path), device="cpu").encode(TEXTS, **SHORT)
    _assert_limited(pooled, model.encode(TEXTS, **SHORT), reference, model.encode(TEXTS))
    with pytest.raises(sbert.InputError, match="max_seq_length"):  # a limit on windows: still refused
        model.encode(TEXTS, chunk_tokens=16, **SHORT)


def test_sparse_encoder_pool_takes_the_calls_limit(masked_lm):
    from sentence_transformers import SparseEncoder as Reference

    model = sbert.SparseEncoder(str(masked_lm), backend="onnx")
    dense = {"convert_to_sparse_tensor": False}
    pooled = model.encode(TEXTS, device=["cpu"], **dense, **SHORT).numpy()
    reference = Reference(str(masked_lm), device="cpu").encode(TEXTS, **dense, **SHORT).numpy()
    here, whole = model.encode(TEXTS, **dense, **SHORT).numpy(), model.encode(TEXTS, **dense).numpy()
    _assert_limited(pooled, here, reference, whole)


def test_cross_encoder_pool_takes_the_calls_limit(tmp_path):
    from sentence_transformers import CrossEncoder as Reference

    folder = build_tiny_classifier(tmp_path / "ce")
    model = sbert.CrossEncoder(str(folder), backend="onnx")
    pairs = [(text, "a cat sat on the mat") for text in TEXTS]
    pooled = model.predict(pairs, device=["cpu"], **SHORT)
    reference = Reference(str(folder), device="cpu").predict(pairs, **SHORT)
    _assert_limited(pooled, model.predict(pairs, **SHORT), reference, model.predict(pairs))
