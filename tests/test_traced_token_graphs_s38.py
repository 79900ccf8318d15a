"""SparseEncoder (SPLADE) and MultiVectorEncoder (ColBERT) models of encoder families sbert's torch-free
graph builder does not write (ModernBERT, as lightonai/GTE-ModernColBERT-v1; DeBERTa-v2) on
``backend="onnx"``: traced with torch into the same cached graph, as the SentenceTransformer's ONNX path
does, and compared with sentence-transformers on torch on the same tiny random folders. The cached graph is
reused on the next load (no second trace, and no torch needed then), its int8 graph is quantized from the
trace, and without torch a fresh load names the extra that traces it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import BLOCK_TORCH, copy_tokenizer_files, onnx_cache_dir

import sbert

TOL = 1e-5
QUERIES = ["a cat sat on the mat", "x"]
DOCUMENTS = ["the river runs fast and the cat sleeps", "a quick brown fox", "mat"]
INT8 = {"file_name": "onnx/model_qint8_avx512.onnx"}  # sentence-transformers' int8 file name


def _config(family: str, vocab: int):
    from transformers import DebertaV2Config, ModernBertConfig

    small = {"vocab_size": vocab, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2}
    if family == "modernbert":
        ids = {"pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3, "cls_token_id": 2, "sep_token_id": 3}
        return ModernBertConfig(**small, num_hidden_layers=2, **ids)
    return DebertaV2Config(
        **small,
        num_hidden_layers=2,
        max_position_embeddings=64,
        relative_attention=True,
        position_buckets=16,
        pos_att_type=["p2c", "c2p"],
        pad_token_id=0,
    )


def _save(model, tiny_bert: Path, folder: Path) -> Path:
    model.eval().save_pretrained(folder, safe_serialization=True)
    copy_tokenizer_files(tiny_bert, folder)
    return folder


@pytest.fixture(scope="module", params=["modernbert", "deberta-v2"])
def family(request, tiny_bert, tmp_path_factory) -> dict[str, Path]:
    """A plain masked-LM folder (a SPLADE model) and a ColBERT model (Transformer, token Dense without bias,
    token Normalize) of one encoder family."""
    import torch
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from transformers import AutoModel, AutoModelForMaskedLM

    vocab = json.loads((tiny_bert / "config.json").read_text())["vocab_size"]
    root = tmp_path_factory.mktemp(request.param)
    torch.manual_seed(0)
    mlm = _save(AutoModelForMaskedLM.from_config(_config(request.param, vocab)), tiny_bert, root / "mlm")
    torch.manual_seed(1)
    encoder = _save(AutoModel.from_config(_config(request.param, vocab)), tiny_bert, root / "encoder")
    dense = Dense(
        32, 16, bias=False, activation_function=torch.nn.Identity(), module_input_name="token_embeddings"
    )
    modules = [Transformer(str(encoder)), dense, Normalize(module_input_name="token_embeddings")]
    MultiVectorEncoder(modules=modules, device="cpu").save(str(root / "colbert"))
    return {"mlm": mlm, "colbert": root / "colbert"}


def _fresh(folder: Path, tmp_path: Path) -> Path:
    """A copy of ``folder`` without sbert's graph cache."""
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("onnx"))
    return copy


def _meta(folder: Path, kind: str) -> dict:
    return json.loads((onnx_cache_dir(folder) / kind / "sbert_export.json").read_text())


def test_splade_traced_graph_matches_sentence_transformers_on_torch(family, tmp_path):
    from sentence_transformers import SparseEncoder

    folder = _fresh(family["mlm"], tmp_path)
    reference = SparseEncoder(str(folder), device="cpu")
    ours = sbert.SparseEncoder(str(folder), backend="onnx")
    for encode in ("encode_query", "encode_document"):
        texts = QUERIES if encode == "encode_query" else DOCUMENTS
        expected = getattr(reference, encode)(texts, convert_to_tensor=True).to_dense().numpy()
        got = getattr(ours, encode)(texts, convert_to_tensor=True).to_dense().numpy()
        np.testing.assert_allclose(got, expected, atol=TOL, rtol=0)
        assert (expected > 0).sum() > 0
    meta = _meta(folder, "sparse")
    assert meta["traced"] is True and meta["graphs"] == {"fp32": "model.onnx"}


def test_colbert_traced_graph_matches_sentence_transformers_on_torch(family, tmp_path):
    from sentence_transformers import MultiVectorEncoder

    folder = _fresh(family["colbert"], tmp_path)
    reference = MultiVectorEncoder(str(folder), device="cpu")
    ours = sbert.MultiVectorEncoder(str(folder), backend="onnx")
    for encode in ("encode_query", "encode_document"):
        texts = QUERIES if encode == "encode_query" else DOCUMENTS
        expected, got = getattr(reference, encode)(texts), getattr(ours, encode)(texts)
        assert [tuple(e.shape) for e in expected] == [tuple(g.shape) for g in got]
        for e, g in zip(expected, got):
            np.testing.assert_allclose(np.asarray(g), e.numpy(), atol=TOL, rtol=0)
    assert _meta(folder, "multi_vector")["traced"] is True


@pytest.mark.parametrize(
    "model_class, kind", [("SparseEncoder", "sparse"), ("MultiVectorEncoder", "multi_vector")]
)
def test_second_load_reuses_the_traced_graph(family, tmp_path, monkeypatch, model_class, kind):
    """No second trace: the cached graph is current (tracing is made to fail, and the file is the same)."""
    from sbert._backends import onnx_export

    folder = _fresh(family["mlm" if kind == "sparse" else "colbert"], tmp_path)
    first = getattr(sbert, model_class)(str(folder), backend="onnx").encode_document(DOCUMENTS)
    graph = onnx_cache_dir(folder) / kind / "model.onnx"
    identity = (graph.stat().st_ino, graph.read_bytes())  # a rewrite (atomic: a new file) changes it

    def no_trace(*args, **kwargs):
        raise AssertionError("traced again")

    monkeypatch.setattr(onnx_export, "trace_to_onnx", no_trace)
    again = getattr(sbert, model_class)(str(folder), backend="onnx").encode_document(DOCUMENTS)
    assert (graph.stat().st_ino, graph.read_bytes()) == identity
    for a, b in zip(
        first if kind == "multi_vector" else [first], again if kind == "multi_vector" else [again]
    ):
        np.testing.assert_array_equal(
            np.asarray(a.to_dense() if kind == "sparse" else a),
            np.asarray(b.to_dense() if kind == "sparse" else b),
        )


def test_int8_graphs_are_quantized_from_the_trace(family, tmp_path):
    folder = _fresh(family["mlm"], tmp_path)
    fp32 = sbert.SparseEncoder(str(folder), backend="onnx").encode_document(DOCUMENTS, convert_to_tensor=True)
    int8 = sbert.SparseEncoder(str(folder), backend="onnx", model_kwargs=INT8)
    quantized = int8.encode_document(DOCUMENTS, convert_to_tensor=True)
    assert _meta(folder, "sparse")["graphs"] == {"fp32": "model.onnx", "int8": "model_int8.onnx"}
    a, b = fp32.to_dense().numpy(), quantized.to_dense().numpy()
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() > 0.95, cosine

    colbert = _fresh(family["colbert"], tmp_path)
    tokens = sbert.MultiVectorEncoder(str(colbert), backend="onnx").encode_document(DOCUMENTS)
    int8_tokens = sbert.MultiVectorEncoder(str(colbert), backend="onnx", model_kwargs=INT8)
    for a, b in zip(tokens, int8_tokens.encode_document(DOCUMENTS)):
        assert float((a * b).sum(-1).mean()) > 0.95  # unit vectors: their mean cosine
    assert (onnx_cache_dir(colbert) / "multi_vector" / "model_int8.onnx").is_file()


def test_without_torch_a_traced_graph_runs_and_a_fresh_load_names_the_extra(family, tmp_path):
    cached = _fresh(family["mlm"], tmp_path / "cached")
    expected = sbert.SparseEncoder(str(cached), backend="onnx").encode_document(DOCUMENTS)
    fresh = _fresh(family["colbert"], tmp_path / "fresh")
    code = BLOCK_TORCH + (
        "import numpy as np, sbert\n"
        "cached, out, fresh, texts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]\n"
        "np.save(out, np.asarray(sbert.SparseEncoder(cached, backend='onnx').encode_document(texts)))\n"
        "try:\n"
        "    sbert.MultiVectorEncoder(fresh, backend='onnx')\n"
        "except sbert.BackendUnavailableError as e:\n"
        "    print('REFUSED', e)\n"
    )
    out = tmp_path / "scores.npy"
    args = [str(cached), str(out), str(fresh), *DOCUMENTS]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(out), expected.to_dense().numpy(), atol=TOL, rtol=0)
    assert "REFUSED" in done.stdout and "pip install 'sbert[torch]'" in done.stdout, done.stdout
    assert not (onnx_cache_dir(fresh) / "multi_vector" / "model.onnx").exists()
