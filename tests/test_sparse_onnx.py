"""SparseEncoder(backend="onnx"): SPLADE models as one ONNX Runtime graph built from their files (no torch),
with sentence-transformers' torch SparseEncoder's numbers (within 1e-5), return types and options; cached
beside the dense exports; torch-free where torch is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import (
    BLOCK_TORCH,
    SENTENCES,
    build_tiny_bert,
    copy_tokenizer_files,
    onnx_cache_dir,
    tiny_family_config,
)

import sbert

TOL = 1e-5
PROMPTS = {"query": "query: ", "document": "passage: "}


@pytest.fixture(scope="module")
def folders(masked_lm, tmp_path_factory):
    """A plain masked-LM folder, sentence-transformers 6.3's save of it (with prompts), and a 5.x-style
    folder (MLMTransformer, sum pooling, log1p_relu, max_seq_length 24)."""
    from sentence_transformers import SparseEncoder as Reference

    root = tmp_path_factory.mktemp("sparse-onnx")
    plain = shutil.copytree(masked_lm, root / "plain")  # its own cache, apart from other tests' folder
    Reference(str(plain), device="cpu", prompts=PROMPTS).save(str(root / "st6"))
    old = shutil.copytree(root / "st6", root / "st5")
    prefix = "sentence_transformers.sparse_encoder.models."
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": prefix + "MLMTransformer"},
        {"idx": 1, "name": "1", "path": "1_SpladePooling", "type": prefix + "SpladePooling"},
    ]
    (old / "modules.json").write_text(json.dumps(modules))
    (old / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 24, "do_lower_case": False}))
    pooling = {
        "pooling_strategy": "sum",
        "activation_function": "log1p_relu",
        "word_embedding_dimension": None,
    }
    (old / "1_SpladePooling" / "config.json").write_text(json.dumps(pooling))
    return {"plain": plain, "st6": root / "st6", "st5": old}


def reference(path, **kwargs):
    from sentence_transformers import SparseEncoder

    return SparseEncoder(str(path), device="cpu", **kwargs)


def assert_same(got, expected) -> None:
    """Equal tensors (or lists of them): same layout, shape and dtype, values within TOL."""
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e)
        return
    assert got.layout == expected.layout and tuple(got.shape) == tuple(expected.shape)
    assert got.dtype == expected.dtype
    gap = (got.to_dense() - expected.to_dense()).abs().max().item() if got.numel() else 0.0
    assert gap <= TOL


@pytest.mark.parametrize("kind", ["plain", "st6", "st5"])
def test_encodes_as_sentence_transformers(folders, kind):
    ours = sbert.SparseEncoder(str(folders[kind]), backend="onnx")
    theirs = reference(folders[kind])
    assert ours.get_backend() == "onnx" and ours.device == "cpu"
    assert ours.max_seq_length == theirs.max_seq_length
    for options in ({}, {"convert_to_sparse_tensor": False}, {"max_active_dims": 3}, {"batch_size": 2}):
        assert_same(ours.encode(SENTENCES, **options), theirs.encode(SENTENCES, **options))
    assert_same(ours.encode(SENTENCES[0]), theirs.encode(SENTENCES[0]))
    # sentence-transformers knows the width (the vocabulary size) once it has pooled a batch; sbert at once
    assert ours.get_embedding_dimension() == theirs.get_embedding_dimension()
    rows = {"convert_to_tensor": False, "convert_to_sparse_tensor": False}
    assert_same(ours.encode(SENTENCES[:3], **rows), theirs.encode(SENTENCES[:3], **rows))
    assert_same(ours.encode_query(SENTENCES[:3]), theirs.encode_query(SENTENCES[:3]))
    assert_same(ours.encode_document(SENTENCES[:3]), theirs.encode_document(SENTENCES[:3]))
    assert_same(ours.encode([]), theirs.encode([]))
    embedded = ours.encode(SENTENCES[:3])
    assert ours.decode(embedded[0], top_k=3) == pytest.approx(theirs.decode(embedded[0], top_k=3))
    assert ours.sparsity(embedded) == theirs.sparsity(embedded)


def _masked_lm_of(kind: str, tiny_bert, folder):
    """A 2-layer random ``*ForMaskedLM`` of family ``kind`` with the tiny BERT's tokenizer, its vocabulary
    bias lowered so that many scores are zero."""
    import torch
    import transformers

    config = tiny_family_config(kind, tiny_bert)
    torch.manual_seed(5)
    model = transformers.AutoModelForMaskedLM.from_config(config).eval()
    with torch.no_grad():
        model.get_output_embeddings().bias.fill_(-0.3)
    model.save_pretrained(folder, safe_serialization=True)
    return copy_tokenizer_files(tiny_bert, folder)


@pytest.mark.parametrize("kind", ["roberta", "xlm-roberta", "distilbert", "mpnet"])
def test_encoder_families_as_sentence_transformers(kind, tiny_bert, tmp_path):
    folder = _masked_lm_of(kind, tiny_bert, tmp_path / kind)
    ours = sbert.SparseEncoder(str(folder), backend="onnx")
    expected = reference(folder).encode(SENTENCES, convert_to_sparse_tensor=False)
    assert (expected > 0).any()
    assert_same(ours.encode(SENTENCES, convert_to_sparse_tensor=False), expected)


def test_cached_beside_the_dense_exports(folders, monkeypatch):
    """The graph is built once into onnx/sbert/sparse/ (not onnx/model.onnx, other tools' file, nor the dense
    cache, which the same plain masked-LM folder gets as a SentenceTransformer), and built again when the
    weights change."""
    from sbert._backends.graph_builder import splade

    folder = folders["plain"]
    sbert.SparseEncoder(str(folder), backend="onnx")
    graph = onnx_cache_dir(folder) / "sparse" / "model.onnx"
    assert graph.is_file() and not (folder / "onnx" / "model.onnx").exists()
    built = []
    monkeypatch.setattr(splade, "splade_graph", lambda *a: built.append(a) or pytest.fail("rebuilt"))
    first = sbert.SparseEncoder(str(folder), backend="onnx").encode(SENTENCES)
    assert built == []
    dense = sbert.SentenceTransformer(str(folder), backend="onnx")
    assert dense.encode(SENTENCES[:2]).shape == (2, 32)
    assert_same(sbert.SparseEncoder(str(folder), backend="onnx").encode(SENTENCES), first)
    monkeypatch.undo()
    changed = shutil.copytree(folder, folder.parent / "changed")
    config = json.loads((changed / "config.json").read_text())
    (changed / "config.json").write_text(json.dumps({**config, "layer_norm_eps": 1e-3}))
    shutil.copytree(onnx_cache_dir(folder), onnx_cache_dir(changed), dirs_exist_ok=True)
    rebuilt = sbert.SparseEncoder(str(changed), backend="onnx").encode(
        SENTENCES, convert_to_sparse_tensor=False
    )
    assert_same(rebuilt, reference(changed).encode(SENTENCES, convert_to_sparse_tensor=False))


def test_encodes_without_torch(folders, tmp_path):
    """With torch, transformers and sentence-transformers unimportable: numpy outputs, the same numbers."""
    out = tmp_path / "out.npz"
    code = BLOCK_TORCH + (
        "import numpy as np\n"
        "from sbert import SparseEncoder\n"
        "model = SparseEncoder(sys.argv[1], backend='onnx')\n"
        "embedded = model.encode(sys.argv[3:], max_active_dims=4)\n"
        "rows = model.encode(sys.argv[3:5], convert_to_tensor=False)\n"
        "scores = model.similarity(embedded, embedded)\n"
        "np.savez(sys.argv[2], embedded=embedded, row=rows[1], scores=scores, empty=model.encode([]))\n"
        "print(model.decode(embedded[0], top_k=2))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    texts = [t for t in SENTENCES if t]
    done = subprocess.run(
        [sys.executable, "-c", code, str(folders["st6"]), str(out), *texts],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("[]")
    theirs = reference(folders["st6"])
    expected = theirs.encode(texts, max_active_dims=4, convert_to_sparse_tensor=False)
    arrays = np.load(out)
    assert arrays["embedded"].dtype == np.float32 and arrays["embedded"].shape == tuple(expected.shape)
    np.testing.assert_allclose(arrays["embedded"], expected.numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(arrays["row"], theirs.encode(texts[1]).to_dense().numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(arrays["scores"], theirs.similarity(expected, expected).numpy(), atol=TOL)
    assert arrays["empty"].shape == (0,)
    assert str(theirs.decode(expected[0], top_k=2)[0][0]) in done.stdout


def test_int8_file_name_runs_the_int8_graph(folders):
    """sentence-transformers' int8 file names (``model_kwargs={"file_name": "onnx/model_qint8_*.onnx"}``)
    run sbert's int8 SPLADE graph, cached beside the fp32 one: close to sentence-transformers' fp32
    vectors (cosine > 0.999 on the tiny model), not equal."""
    file_name = {"file_name": "onnx/model_qint8_avx512_vnni.onnx"}
    int8 = sbert.SparseEncoder(str(folders["st6"]), backend="onnx", model_kwargs=file_name)
    assert int8[0].runner.precision == "int8" and int8[0].runner.graph.name == "model_int8.onnx"
    got = int8.encode(SENTENCES, convert_to_sparse_tensor=False).numpy()
    expected = reference(folders["st6"]).encode(SENTENCES, convert_to_sparse_tensor=False).numpy()
    cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() > 0.999 and 0 < np.abs(got - expected).max() < 0.05


def test_refusals_name_the_fix(folders, tiny_bert, tmp_path):
    from sbert.sparse_encoder.models import MLMTransformer, SpladePooling

    path = str(folders["st6"])
    with pytest.raises(sbert.InputError, match="'torch' or 'onnx'"):
        sbert.SparseEncoder(path, backend="openvino")
    with pytest.raises(sbert.InputError, match="modules"):
        sbert.SparseEncoder(modules=[MLMTransformer(path), SpladePooling("max")], backend="onnx")
    with pytest.raises(sbert.InputError, match="torch backend only"):
        sbert.SparseEncoder(path, backend="onnx", model_kwargs={"attn_implementation": "eager"})
    with pytest.raises(sbert.InputError, match="CPU"):
        sbert.SparseEncoder(path, backend="onnx", model_kwargs={"provider": "CUDAExecutionProvider"})
    model = sbert.SparseEncoder(path, backend="onnx", model_kwargs={"file_name": "onnx/model.onnx"})
    with pytest.raises(sbert.InputError, match="backend='torch'"):
        model.train()
    # a dense encoder becomes a CSR model with a new, random head: on torch only (CSR models run on ONNX:
    # tests/test_sparse_onnx_csr_s49.py)
    with pytest.raises(sbert.InputError, match="backend='torch'"):
        sbert.SparseEncoder(str(build_tiny_bert(tmp_path / "bert")), backend="onnx")


def test_saved_folder_loads_in_sentence_transformers(folders, tmp_path):
    """Saving an ONNX-backed model writes the files its graph was built from, in sentence-transformers'
    layout: that library loads them (on torch) and encodes the same, prompts and pooling kept."""
    ours = sbert.SparseEncoder(str(folders["st5"]), backend="onnx", prompts={"query": "q: "})
    ours.save(str(tmp_path / "saved"))
    theirs = reference(tmp_path / "saved")
    assert theirs.prompts["query"] == "q: " and theirs.max_seq_length == 24
    assert_same(theirs.encode_query(SENTENCES), ours.encode_query(SENTENCES))
    again = sbert.SparseEncoder(str(tmp_path / "saved"), backend="onnx")
    assert_same(again.encode(SENTENCES), ours.encode(SENTENCES))
    for method in ("tokenize", "preprocess"):  # sentence-transformers' entries, in order, the modality named
        found, expected = getattr(ours, method)(SENTENCES[:2]), getattr(theirs, method)(SENTENCES[:2])
        assert list(found) == list(expected) and found["modality"] == "text", method
        assert found["input_ids"].tolist() == expected["input_ids"].tolist(), method


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_per_call_max_length_as_sentence_transformers(folders, backend):
    """sentence-transformers' per-call ``processing_kwargs`` token limit: that call's inputs are cut there;
    the model's own limit, and calls in other threads meanwhile, are unchanged."""
    from concurrent.futures import ThreadPoolExecutor

    model, expected = sbert.SparseEncoder(str(folders["st6"]), backend=backend), reference(folders["st6"])
    pairs = [["what is AI?", "AI is artificial intelligence."], ["a cat", "a cat sat on the mat all day"]]
    whole = model.encode(SENTENCES, convert_to_sparse_tensor=False)
    for text in ({"max_length": 4}, {"max_length": 6, "truncation": True, "padding": "max_length"}):
        short = {"processing_kwargs": {"text": text}}
        for inputs in (SENTENCES, pairs):
            assert_same(model.encode(inputs, **short), expected.encode(inputs, **short))
        cut = model.encode(SENTENCES, convert_to_sparse_tensor=False, **short)
        assert not np.allclose(cut.numpy(), whole.numpy(), atol=1e-3)  # the limit cut these texts
    assert_same(model.encode(SENTENCES), expected.encode(SENTENCES))  # the limit was those calls' only
    short = {"processing_kwargs": {"text": {"max_length": 4}}}
    calls = [short, {}] * 8
    one_by_one = [
        model.encode(SENTENCES, batch_size=2, convert_to_sparse_tensor=False, **o) for o in calls[:2]
    ]
    with ThreadPoolExecutor(4) as threads:
        found = list(
            threads.map(
                lambda options: model.encode(
                    SENTENCES, batch_size=2, convert_to_sparse_tensor=False, **options
                ),
                calls,
            )
        )
    for options, rows in zip(calls, found):
        np.testing.assert_array_equal(rows.numpy(), one_by_one[0 if options else 1].numpy())


def test_inference_free_splade_as_sentence_transformers(masked_lm, tmp_path):
    """A Router (SparseStaticEmbedding for queries, masked-LM and SpladePooling for documents) saved by
    sentence-transformers: queries in numpy, documents through the graph, routed by task as there."""
    import torch
    from sentence_transformers import SparseEncoder
    from sentence_transformers.base.modules import Router, Transformer
    from sentence_transformers.sparse_encoder.modules import SparseStaticEmbedding, SpladePooling

    from sbert._sparse.card import model_type

    document = Transformer(str(masked_lm), transformer_task="fill-mask")
    torch.manual_seed(0)
    weight = torch.rand(len(document.tokenizer.get_vocab()))
    query = SparseStaticEmbedding(tokenizer=document.tokenizer, weight=weight, frozen=True)
    router = Router.for_query_document([query], [document, SpladePooling("max")])
    SparseEncoder(modules=[router], device="cpu").save(str(tmp_path / "inference-free"))
    ours, theirs = (
        sbert.SparseEncoder(str(tmp_path / "inference-free"), backend="onnx"),
        reference(tmp_path / "inference-free"),
    )
    assert_same(ours.encode_query(SENTENCES), theirs.encode_query(SENTENCES))
    assert_same(ours.encode_document(SENTENCES), theirs.encode_document(SENTENCES))
    assert_same(ours.encode(SENTENCES, task="query"), theirs.encode(SENTENCES, task="query"))
    assert_same(ours.encode(SENTENCES), theirs.encode(SENTENCES))  # the default route: documents
    # a call's limit cuts the masked-LM route's texts; sentence-transformers' SparseStaticEmbedding reads none
    short = {"processing_kwargs": {"text": {"max_length": 4}}}
    on_torch = sbert.SparseEncoder(str(tmp_path / "inference-free"), backend="torch")
    for model in (ours, on_torch):
        assert_same(model.encode_query(SENTENCES, **short), theirs.encode_query(SENTENCES, **short))
        assert_same(model.encode_document(SENTENCES, **short), theirs.encode_document(SENTENCES, **short))
    for task in ("query", "document"):  # the features of either route, the call's limit handed on as there
        found = on_torch.preprocess(SENTENCES, task=task, **short)
        expected = theirs.preprocess(SENTENCES, task=task, **short)
        assert found["input_ids"].tolist() == expected["input_ids"].tolist(), task
    ours.max_seq_length = theirs.max_seq_length = 5
    assert_same(ours.encode_document(SENTENCES), theirs.encode_document(SENTENCES))
    assert_same(ours.encode_query(SENTENCES), theirs.encode_query(SENTENCES))
    features = ours.preprocess(SENTENCES[:2], task="query")
    expected = theirs.preprocess(SENTENCES[:2], task="query")
    assert features["input_ids"].tolist() == expected["input_ids"].tolist() and features["task"] == "query"
    scores = ours(features)["sentence_embedding"]
    np.testing.assert_allclose(scores, theirs(expected)["sentence_embedding"].numpy(), atol=TOL)
    with pytest.raises(sbert.InputError, match="No route found for task type 'passage'"):
        ours.encode(SENTENCES, task="passage")
    graphs = list((onnx_cache_dir(tmp_path / "inference-free") / "sparse").glob("*/model.onnx"))
    assert len(graphs) == 1
    # its card names the architecture as on torch (the ONNX stand-ins count as the modules they stand for)
    assert (
        ours.model_card_data.get("tags")
        == on_torch.model_card_data.get("tags")
        == theirs.model_card_data.tags
    )
    assert model_type(ours) == model_type(on_torch) == "Asymmetric Inference-free SPLADE Sparse Encoder"


def test_sentence_transformers_export_functions_take_it(folders, tmp_path):
    """sentence-transformers' export functions want a model loaded with backend="onnx": they trace its
    masked-LM (loaded on demand) into onnx/model_<suffix>.onnx, giving the logits that library's ONNX
    backend pools."""
    import onnxruntime
    from sentence_transformers import SparseEncoder

    from sbert.backend import export_dynamic_quantized_onnx_model

    folder = shutil.copytree(folders["st6"], tmp_path / "model")
    ours = sbert.SparseEncoder(str(folder), backend="onnx")
    export_dynamic_quantized_onnx_model(ours, "avx512_vnni", str(folder))
    session = onnxruntime.InferenceSession(str(folder / "onnx" / "model_qint8_avx512_vnni.onnx"))
    assert [o.name for o in session.get_outputs()] == ["logits"]
    features = ours.tokenize(SENTENCES[:2])
    (logits,) = session.run(None, {i.name: features[i.name] for i in session.get_inputs()})
    import torch

    model = SparseEncoder(str(folder), device="cpu")[0].auto_model
    expected = model(**{k: torch.from_numpy(v) for k, v in features.items() if k != "modality"}).logits
    assert logits.shape == tuple(expected.shape)
    assert np.corrcoef(logits.ravel(), expected.detach().numpy().ravel())[0, 1] > 0.99  # int8 weights
