"""Models whose architecture lives in their folder (config.json ``auto_map``, ``trust_remote_code=True``):
nomic-bert, jina-bert, gte "new", ... Offline stand-ins: a BERT subclass whose forward changes the outputs,
once under a model_type transformers does not know and once under "bert" (as jina-embeddings-v2's config
says), compared with sentence-transformers on the same folders."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import build_tiny_bert
from custom_code_models import write_custom_folder

import sbert

TEXTS = ["hello world", "a quick test of the custom model", "x"]
PAIRS = [("hello world", "a quick test"), ("x", "the custom model")]
MODEL_TYPES = ["tiny_custom_bert", "bert"]


def _custom_folder(base, folder, model_type: str, *, classifier: bool = False):
    """``base``'s weights and tokenizer under the custom classes (a classifier: a fresh head too)."""
    name = "TinyForSequenceClassification" if classifier else "TinyModel"
    config = write_custom_folder(base, folder, model_type, name)
    if classifier:
        import torch
        from safetensors.torch import save_file
        from transformers import BertConfig, BertForSequenceClassification

        config |= {"id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}}
        torch.manual_seed(0)
        model = BertForSequenceClassification(BertConfig.from_dict(config))
        weights = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
        (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    """model_type -> (sentence-transformers folder, cross-encoder folder), both written with
    sentence-transformers / transformers, never loaded by sbert before the tests copy them."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling

    root = tmp_path_factory.mktemp("remote_code")
    base = build_tiny_bert(root / "base")
    folders = {}
    for model_type in MODEL_TYPES:
        hf = _custom_folder(base, root / model_type / "hf", model_type)
        options = {"trust_remote_code": True}
        transformer = Transformer(str(hf), model_args=options, config_args=options)
        pooling = Pooling(transformer.get_embedding_dimension(), "mean")
        SentenceTransformer(modules=[transformer, pooling, Normalize()]).save(str(root / model_type / "st"))
        classifier = _custom_folder(base, root / model_type / "ce", model_type, classifier=True)
        folders[model_type] = (root / model_type / "st", classifier)
    return folders


def _copy(folder, tmp_path, name="model"):
    return shutil.copytree(folder, tmp_path / name)


def _st_embeddings(folder, **options):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), **options).encode(TEXTS)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize("backend", ["auto", "torch", "onnx"])
def test_custom_architecture_matches_sentence_transformers(custom, tmp_path, model_type, backend):
    folder = _copy(custom[model_type][0], tmp_path)
    expected = _st_embeddings(folder, trust_remote_code=True)
    model = sbert.SentenceTransformer(folder, trust_remote_code=True, backend=backend)
    np.testing.assert_allclose(model.encode(TEXTS), expected, atol=1e-5)
    if backend == "auto":
        assert model.backend == "torch"  # no graph traced unasked; the graph builder knows plain BERT only


def test_untrusted_custom_architecture_is_refused_even_with_a_cached_graph(custom, tmp_path):
    folder = _copy(custom["tiny_custom_bert"][0], tmp_path)
    sbert.SentenceTransformer(folder, trust_remote_code=True, backend="onnx")  # caches a traced graph
    for backend in ("auto", "onnx", "torch"):
        with pytest.raises(sbert.ModelLoadError, match=r"trust_remote_code=True"):
            sbert.SentenceTransformer(folder, backend=backend)


def test_untrusted_known_model_type_runs_the_library_class_as_sentence_transformers(custom, tmp_path):
    """Without trust, a config naming "bert" loads transformers' BertModel (its auto_map unused), in
    sentence-transformers as in sbert, whatever graph a trusted load cached before."""
    folder = _copy(custom["bert"][0], tmp_path)
    expected = _st_embeddings(folder)
    sbert.SentenceTransformer(folder, trust_remote_code=True, backend="onnx")  # caches the custom trace
    for backend in ("onnx", "auto", "torch"):
        model = sbert.SentenceTransformer(folder, backend=backend)
        np.testing.assert_allclose(model.encode(TEXTS), expected, atol=1e-5)
    trusted = sbert.SentenceTransformer(folder, trust_remote_code=True, backend="onnx")
    np.testing.assert_allclose(
        trusted.encode(TEXTS), _st_embeddings(folder, trust_remote_code=True), atol=1e-5
    )


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_saved_custom_model_keeps_its_code_and_loads_in_sentence_transformers(custom, tmp_path, backend):
    folder = _copy(custom["tiny_custom_bert"][0], tmp_path)
    out = tmp_path / "saved"
    sbert.SentenceTransformer(folder, trust_remote_code=True, backend=backend).save(out)
    assert {"configuration_tiny.py", "modeling_tiny.py"} <= {p.name for p in out.iterdir()}
    np.testing.assert_allclose(
        _st_embeddings(out, trust_remote_code=True), _st_embeddings(folder, trust_remote_code=True), atol=1e-6
    )


@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize("backend", ["auto", "torch", "onnx"])
def test_custom_cross_encoder_matches_sentence_transformers(custom, tmp_path, model_type, backend):
    from sentence_transformers import CrossEncoder

    folder = _copy(custom[model_type][1], tmp_path)
    expected = CrossEncoder(str(folder), trust_remote_code=True).predict(PAIRS)
    model = sbert.CrossEncoder(folder, trust_remote_code=True, backend=backend)
    np.testing.assert_allclose(model.predict(PAIRS), expected, atol=1e-5)


def test_untrusted_custom_cross_encoder_is_refused_even_with_a_cached_graph(custom, tmp_path):
    folder = _copy(custom["tiny_custom_bert"][1], tmp_path)
    sbert.CrossEncoder(folder, trust_remote_code=True, backend="onnx")
    for backend in ("auto", "onnx"):
        with pytest.raises(sbert.ModelLoadError, match=r"trust_remote_code=True"):
            sbert.CrossEncoder(folder, backend=backend)
