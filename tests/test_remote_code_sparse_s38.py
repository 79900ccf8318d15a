"""SparseEncoder and MultiVectorEncoder on model folders whose architecture lives in the folder (config.json
``auto_map``, ``trust_remote_code=True``): backend="onnx" traces the folder's code (the graph builder would
write transformers' plain BERT), caches it apart from an untrusted load's graph, and gives the numbers of
the torch backend and of sentence-transformers. Offline stand-ins: BERT subclasses whose forward changes the
outputs, once under a model_type transformers does not know and once under "bert" (as jina's configs say)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert, build_tiny_masked_lm
from custom_code_models import write_custom_folder

import sbert

TEXTS = ["hello world", "a quick test of the custom model", "x"]
MODEL_TYPES = ["tiny_custom_bert", "bert"]
TRUST = {"trust_remote_code": True}


def _custom_folder(base, folder, model_type: str, architecture: str):
    """``base``'s weights and tokenizer under the custom classes."""
    write_custom_folder(base, folder, model_type, architecture)
    return folder


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    """model_type -> (SPLADE folder: a plain custom masked-LM, multi-vector folder saved by
    sentence-transformers around the custom encoder)."""
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer

    root = tmp_path_factory.mktemp("remote_code_sparse")
    mlm = build_tiny_masked_lm(root / "mlm")
    bert = build_tiny_bert(root / "bert")
    folders = {}
    for model_type in MODEL_TYPES:
        splade = _custom_folder(mlm, root / model_type / "splade", model_type, "TinyForMaskedLM")
        encoder = _custom_folder(bert, root / model_type / "encoder", model_type, "TinyModel")
        torch.manual_seed(1)
        transformer = Transformer(str(encoder), model_kwargs=TRUST, config_kwargs=TRUST)
        dense = Dense(32, 16, bias=False, module_input_name="token_embeddings")
        modules = [transformer, dense, Normalize(module_input_name="token_embeddings")]
        MultiVectorEncoder(modules=modules, device="cpu").save(str(root / model_type / "mv"))
        folders[model_type] = (splade, root / model_type / "mv")
    return folders


def _copy(folder, tmp_path, name="model"):
    return shutil.copytree(folder, tmp_path / name)


def _st_sparse(folder, **options):
    from sentence_transformers import SparseEncoder

    return (
        SparseEncoder(str(folder), device="cpu", **options).encode(TEXTS, convert_to_tensor=True).to_dense()
    )


def _dense(embeddings):
    return (embeddings.to_dense() if embeddings.is_sparse else embeddings).numpy()


def _traced(folder, kind: str) -> dict:
    (meta,) = (folder / "onnx" / "sbert" / kind).rglob("sbert_export.json")
    return json.loads(meta.read_text())


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_custom_masked_lm_splade_matches_torch_and_sentence_transformers(custom, tmp_path, model_type):
    folder = _copy(custom[model_type][0], tmp_path)
    expected = _st_sparse(folder, **TRUST).numpy()
    for backend in ("torch", "onnx"):
        model = sbert.SparseEncoder(folder, backend=backend, **TRUST)
        np.testing.assert_allclose(_dense(model.encode(TEXTS)), expected, atol=1e-5)
    meta = _traced(folder, "sparse")
    assert meta.get("traced") and not meta.get("built")  # the folder's code, not plain BERT's graph


def test_untrusted_bert_splade_runs_the_library_class_whatever_was_cached(custom, tmp_path):
    """Untrusted, "bert" loads transformers' BertForMaskedLM (auto_map unused), in sentence-transformers as
    in sbert, on a cache the trusted load traced into, and the trusted load gets its trace back."""
    folder = _copy(custom["bert"][0], tmp_path)
    trusted_expected = _st_sparse(folder, **TRUST).numpy()
    plain_expected = _st_sparse(folder).numpy()
    assert not np.allclose(trusted_expected, plain_expected, atol=1e-3)
    sbert.SparseEncoder(folder, backend="onnx", **TRUST)
    for backend in ("onnx", "torch"):
        model = sbert.SparseEncoder(folder, backend=backend)
        np.testing.assert_allclose(_dense(model.encode(TEXTS)), plain_expected, atol=1e-5)
    trusted = sbert.SparseEncoder(folder, backend="onnx", **TRUST)
    np.testing.assert_allclose(_dense(trusted.encode(TEXTS)), trusted_expected, atol=1e-5)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_custom_encoder_multi_vector_matches_torch_and_sentence_transformers(custom, tmp_path, model_type):
    from sentence_transformers import MultiVectorEncoder

    folder = _copy(custom[model_type][1], tmp_path)
    expected = MultiVectorEncoder(str(folder), device="cpu", **TRUST).encode(TEXTS)
    for backend in ("torch", "onnx"):
        ours = sbert.MultiVectorEncoder(folder, backend=backend, **TRUST).encode(TEXTS)
        for a, b in zip(ours, expected):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
    meta = _traced(folder, "multi_vector")
    assert meta.get("traced") and not meta.get("built")


def test_untrusted_custom_masked_lm_is_refused_even_with_a_traced_graph(custom, tmp_path):
    folder = _copy(custom["tiny_custom_bert"][0], tmp_path)
    sbert.SparseEncoder(folder, backend="onnx", **TRUST)  # caches the trace of the folder's code
    for backend in ("onnx", "torch"):
        with pytest.raises(sbert.ModelLoadError, match=r"trust_remote_code=True"):
            sbert.SparseEncoder(folder, backend=backend)
