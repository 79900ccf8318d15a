"""SparseEncoder's multi-process encoding as sentence-transformers 6.3 has it: ``start_multi_process_pool``,
``encode(..., pool=pool, chunk_size=...)``, ``encode(..., device=[...])`` and ``stop_multi_process_pool``.
The embeddings come back in input order on the CPU, sparse (or dense rows, as asked), the same as one process
gives and as sentence-transformers' pool gives, after settings changed on the loaded model
(``max_active_dims``, the prompts, ``max_seq_length``). One CPU worker per pool."""

from __future__ import annotations

import pytest
import torch

import sbert

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]

TOL = 1e-5
TEXTS = ["the cat sat on the mat", "a dog ran", "who plays guitar", "what is the weather today"] * 3


def _changed(model):
    model.max_active_dims = 7
    model.prompts = {"query": "q: ", "document": "d: "}
    model.max_seq_length = 6
    return model


def _dense(embeddings):
    return embeddings.to_dense() if embeddings.is_sparse else embeddings


@pytest.mark.slow
def test_pool_encodes_as_one_process_and_sentence_transformers(masked_lm):
    from sentence_transformers import SparseEncoder

    reference = _changed(SparseEncoder(str(masked_lm), device="cpu"))
    model = _changed(sbert.SparseEncoder(str(masked_lm), device="cpu"))
    pool = model.start_multi_process_pool(["cpu"])
    try:
        for method in ("encode_query", "encode"):
            ours = getattr(model, method)(TEXTS, pool=pool, chunk_size=5)
            assert ours.is_sparse and ours.device.type == "cpu" and ours.shape == (len(TEXTS), 99)
            torch.testing.assert_close(_dense(ours), _dense(getattr(model, method)(TEXTS)), atol=1e-6, rtol=0)
            theirs = getattr(reference, method)(TEXTS)
            torch.testing.assert_close(_dense(ours), _dense(theirs), atol=TOL, rtol=0)
        rows = model.encode(TEXTS, pool=pool, convert_to_tensor=False, convert_to_sparse_tensor=False)
        assert isinstance(rows, list) and len(rows) == len(TEXTS) and not rows[0].is_sparse
        assert model.encode(TEXTS[0], pool=pool).shape == (99,)
        assert model.encode([], pool=pool).shape == reference.encode([]).shape == (0,)
        with pytest.raises(ValueError, match="chunk_size"):
            model.encode(TEXTS, pool=pool, chunk_size=0)
    finally:
        model.stop_multi_process_pool(pool)


def test_onnx_device_list_starts_a_pool_for_the_call(masked_lm):
    """On ``backend="onnx"`` the workers load the model's folder (on the CPU: a GPU is refused) and take the
    settings changed since."""
    from sentence_transformers import SparseEncoder

    reference = _changed(SparseEncoder(str(masked_lm), device="cpu"))
    model = _changed(sbert.SparseEncoder(str(masked_lm), backend="onnx"))
    ours = model.encode_document(TEXTS, device=["cpu"], chunk_size=5)
    torch.testing.assert_close(_dense(ours), _dense(reference.encode_document(TEXTS)), atol=TOL, rtol=0)
    with pytest.raises(sbert.InputError, match="runs on the CPU"):
        model.start_multi_process_pool(["cuda:0"])
