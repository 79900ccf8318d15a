"""The sentence-transformers 6.3 methods and attributes that SparseEncoder and MultiVectorEncoder share with
its other models, as there: ``SUPPORTED_SIMILARITY_FN_NAMES``, ``model_card_data_class``, ``modalities``,
``supports``, ``is_singular_input``, ``processor``, ``dtype``, ``gradient_checkpointing_enable`` (and its 6.x
name ``activation_checkpointing_enable``), ``push_to_hub`` and ``save_to_hub``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert
from test_multi_vector_onnx import _reference_save

import sbert

pytestmark = [
    pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled:UserWarning"),
]


@pytest.fixture(scope="module")
def multi_vector(tmp_path_factory):
    root = tmp_path_factory.mktemp("mv-methods")
    return _reference_save(build_tiny_bert(root / "bert"), root / "mv")


@pytest.mark.parametrize("kind", ["SparseEncoder", "MultiVectorEncoder"])
def test_shared_methods_as_sentence_transformers(kind, masked_lm, multi_vector):
    import sentence_transformers

    folder = str(masked_lm if kind == "SparseEncoder" else multi_vector)
    theirs = getattr(sentence_transformers, kind)(folder, device="cpu")
    ours = getattr(sbert, kind)(folder, device="cpu")
    assert ours.SUPPORTED_SIMILARITY_FN_NAMES == theirs.SUPPORTED_SIMILARITY_FN_NAMES
    assert ours.model_card_data_class.__name__ == theirs.model_card_data_class.__name__
    assert ours.modalities == theirs.modalities == ["text"]
    assert [ours.supports(m) for m in ("text", "image")] == [theirs.supports(m) for m in ("text", "image")]
    inputs = ["a text", ["a", "b"], ("a",), np.array(["a", "b"]), [{"role": "user", "content": "hi"}]]
    assert [ours.is_singular_input(x) for x in inputs] == [theirs.is_singular_input(x) for x in inputs]
    assert ours.processor is ours.tokenizer
    assert ours.dtype == theirs.dtype == torch.float32
    for model in (ours, theirs):
        model.gradient_checkpointing_enable({"use_reentrant": False})
        assert model.transformers_model.is_gradient_checkpointing
    for name in ("push_to_hub", "save_to_hub", "activation_checkpointing_enable"):
        assert callable(getattr(ours, name))
    assert getattr(sbert, kind)(folder, backend="onnx").dtype is None  # an ONNX graph has no parameters
