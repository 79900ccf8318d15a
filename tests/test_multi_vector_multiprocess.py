"""MultiVectorEncoder's multi-process encoding as sentence-transformers 6.3 has it:
``start_multi_process_pool``, ``encode(..., pool=pool, chunk_size=...)``, ``encode(..., device=[...])`` and
``stop_multi_process_pool``.
Each text's ``(tokens, dim)`` item comes back in input order, the same as one process gives (1e-6) and as
sentence-transformers' encode (1e-5), with the call's prompt, task, token pooling and truncation. One pool of
two CPU workers serves the module (worker start-up takes seconds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert
from test_multi_vector_onnx import DOCUMENTS, QUERIES, _reference_save

import sbert
from sbert.multi_vector_encoder.modules import HierarchicalTokenPooling

SAME = 1e-6  # against this process's encode
TOL = 1e-5  # against sentence-transformers'
TEXTS = DOCUMENTS * 2 + QUERIES  # 11 texts: several chunks per worker, out of length order


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("mv-pool")
    return _reference_save(build_tiny_bert(root / "bert"), root / "mv", query_length=16, document_length=12)


@pytest.fixture(scope="module")
def model_and_pool(folder):
    model = sbert.MultiVectorEncoder(str(folder), device="cpu")
    pool = model.start_multi_process_pool(["cpu", "cpu"])
    yield model, pool
    model.stop_multi_process_pool(pool)


def _assert_same(ours, theirs, tol):
    assert isinstance(ours, list) and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=tol, rtol=0)


@pytest.mark.filterwarnings("ignore:One or more queries filled")
@pytest.mark.slow
def test_pool_encodes_as_one_process_and_sentence_transformers(model_and_pool, folder):
    from sentence_transformers import MultiVectorEncoder

    model, pool = model_and_pool
    reference = MultiVectorEncoder(str(folder), device="cpu")
    for method in ("encode_query", "encode_document"):  # each task's prompt, length and mask in the workers
        for chunk_size in (None, 2):
            ours = getattr(model, method)(TEXTS, pool=pool, chunk_size=chunk_size)
            assert all(item.device.type == "cpu" for item in ours)
            _assert_same(ours, getattr(model, method)(TEXTS), SAME)
            _assert_same(ours, getattr(reference, method)(TEXTS), TOL)
    _assert_same(model.encode(TEXTS, pool=pool, prompt="x: "), reference.encode(TEXTS, prompt="x: "), TOL)
    single = model.encode_query(QUERIES[0], pool=pool)  # one string: one item
    assert isinstance(single, torch.Tensor) and single.shape == reference.encode_query(QUERIES[0]).shape
    assert model.encode(["a"][:0], pool=pool) == []


def test_pool_applies_the_call_options(model_and_pool):
    model, pool = model_and_pool
    pooling = HierarchicalTokenPooling(pool_factor=2)
    options = {"truncate_dim": 8, "token_pooling": pooling, "convert_to_numpy": True}
    # one chunk: pooled items are padded to their batch's longest, so the batches must be the same
    ours = model.encode_document(TEXTS, pool=pool, chunk_size=len(TEXTS), **options)
    assert all(isinstance(item, np.ndarray) and item.shape[1] == 8 for item in ours)
    _assert_same(ours, model.encode_document(TEXTS, **options), SAME)
    features = model.encode_query(QUERIES, pool=pool, output_value=None, chunk_size=len(QUERIES))
    expected = model.encode_query(QUERIES, output_value=None)
    assert [sorted(f) for f in features] == [sorted(f) for f in expected]
    for ours_item, theirs_item in zip(features, expected):
        _assert_same([ours_item["token_embeddings"]], [theirs_item["token_embeddings"]], SAME)
    with pytest.raises(ValueError, match="chunk_size"):
        model.encode(TEXTS, pool=pool, chunk_size=0)


def test_device_list_starts_a_pool_for_the_call(folder):
    from sentence_transformers import MultiVectorEncoder

    model = sbert.MultiVectorEncoder(str(folder), backend="onnx")
    ours = model.encode_document(DOCUMENTS, device=["cpu"])
    _assert_same(ours, MultiVectorEncoder(str(folder), device="cpu").encode_document(DOCUMENTS), TOL)
    assert model.encode_document([], device=["cpu", "cpu"]) == []


def test_what_the_workers_cannot_take_is_refused_before_sending(folder):
    """Options that cannot be pickled (a token pooling around a lambda) would be dropped by the queue's
    feeder thread and the call would wait for an answer that never comes: refused up front. A pool of a model
    on backend='onnx' runs on CPUs only: a GPU device is refused before any worker starts."""
    from sbert._multiprocess import encode_on_pool

    pool = {"processes": [None], "input": None, "output": None}  # never reached
    with pytest.raises(sbert.InputError, match="cannot be sent to the pool"):
        encode_on_pool(pool, ["a text"], None, {"token_pooling": lambda embeddings: embeddings})
    model = sbert.MultiVectorEncoder(str(folder), backend="onnx")
    with pytest.raises(sbert.InputError, match="runs on the CPU"):
        model.start_multi_process_pool(["cuda:0"])


def _change_settings(model):
    """Settings changed after loading: the Transformer's lengths and query expansion, the prompts and the
    default prompt, and the mask's words without ``resolve_with_tokenizer`` (its token ids stay the old
    words', in sentence-transformers too)."""
    model[0].query_length, model[0].document_length = 8, 6
    model[0].query_expansion = {"strategy": "fixed", "length": 7}
    model.prompts = {"query": "q: ", "document": "d: ", "other": "o: "}
    model.default_prompt_name = "other"
    next(module for module in model if "MultiVectorMask" in type(module).__name__).skiplist_words = ["the"]
    return model


@pytest.mark.filterwarnings("ignore:One or more queries filled")
@pytest.mark.parametrize("backend", ["onnx", "torch"])
@pytest.mark.slow
def test_workers_see_settings_changed_after_loading(folder, backend):
    """sentence-transformers' workers get the model as it is when the pool starts; sbert's load its folder (on
    ONNX) or a saved copy (on torch) and take the rest from the model: the pool gives what one process and
    sentence-transformers give after the same changes."""
    from sentence_transformers import MultiVectorEncoder

    reference = _change_settings(MultiVectorEncoder(str(folder), device="cpu"))
    model = _change_settings(sbert.MultiVectorEncoder(str(folder), device="cpu", backend=backend))
    pool = model.start_multi_process_pool(["cpu"])
    try:
        for method in ("encode_query", "encode_document", "encode"):
            ours = getattr(model, method)(TEXTS, pool=pool)
            _assert_same(ours, getattr(model, method)(TEXTS), SAME)
            _assert_same(ours, getattr(reference, method)(TEXTS), TOL)
    finally:
        model.stop_multi_process_pool(pool)
