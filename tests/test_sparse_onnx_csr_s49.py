"""SparseEncoder(backend="onnx") on CSR models (Transformer, Pooling, any Dense and Normalize, then a
SparseAutoEncoder): the dense part as the SentenceTransformer's graph (built without torch, or traced for
a family the builder does not write), the k-sparse code in numpy; sentence-transformers' torch
SparseEncoder's numbers (within 1e-5), its ``max_active_dims``, prompts, saved layout and card; torch-free
where torch is not installed. And a sparse model's card names its architecture on ONNX as on torch."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import BLOCK_TORCH, SENTENCES, build_tiny_encoder

import sbert

TOL = 1e-5
PROMPTS = {"query": "query: ", "document": "passage: "}
TEXTS = [t for t in SENTENCES if t]


def _save_csr(encoder, folder, *, pooling: str, head: list, sae: dict, seed: int):
    """sentence-transformers' save of ``[Transformer, Pooling, *head, SparseAutoEncoder(**sae)]`` with
    random (non-zero) biases, so every term of the code counts."""
    import torch
    from sentence_transformers import SparseEncoder
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from sentence_transformers.sparse_encoder.modules import SparseAutoEncoder

    torch.manual_seed(seed)
    transformer = Transformer(str(encoder))
    pooling = Pooling(transformer.get_embedding_dimension(), pooling, include_prompt=False)
    autoencoder = SparseAutoEncoder(**sae)
    with torch.no_grad():
        autoencoder.pre_bias.normal_(0, 0.1)
        autoencoder.latent_bias.normal_(0, 0.1)
    model = SparseEncoder(modules=[transformer, pooling, *head, autoencoder], device="cpu", prompts=PROMPTS)
    model.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def folders(tiny_bert, tmp_path_factory):
    """CSR models: mean pooling straight into the SparseAutoEncoder; CLS pooling, Dense and Normalize
    before a standardizing one (``normalize=True``); a data2vec-text encoder (traced: the graph builder
    does not write that family)."""
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize

    root = tmp_path_factory.mktemp("csr-onnx")
    dense = Dense(32, 24)  # tanh
    data2vec = build_tiny_encoder("data2vec-text", tiny_bert, root / "data2vec")
    mean = {"input_dim": 32, "hidden_dim": 128, "k": 8}
    standardized = {"input_dim": 24, "hidden_dim": 96, "k": 6, "normalize": True}
    return {
        "mean": _save_csr(tiny_bert, root / "mean", pooling="mean", head=[], seed=1, sae=mean),
        "dense": _save_csr(
            tiny_bert, root / "dense", pooling="cls", head=[dense, Normalize()], seed=2, sae=standardized
        ),
        "traced": _save_csr(data2vec, root / "traced", pooling="mean", head=[], seed=3, sae={**mean, "k": 5}),
    }


def reference(path):
    from sentence_transformers import SparseEncoder

    return SparseEncoder(str(path), device="cpu")


def _dense(x) -> np.ndarray:
    return (x.to_dense() if hasattr(x, "to_dense") else x).numpy()


@pytest.mark.parametrize("kind", ["mean", "dense", "traced"])
def test_encodes_as_sentence_transformers(folders, kind):
    ours, theirs = sbert.SparseEncoder(str(folders[kind]), backend="onnx"), reference(folders[kind])
    assert ours.get_backend() == "onnx" and repr(ours[-1]) == repr(theirs[-1])
    assert ours.get_embedding_dimension() == theirs.get_embedding_dimension()
    assert ours.max_active_dims == theirs.max_active_dims == theirs[-1].k
    for method in ("encode", "encode_query", "encode_document"):
        for active in (None, 2, 3 * theirs[-1].k):  # fewer and more latents than the model's k
            got = getattr(ours, method)(TEXTS, max_active_dims=active)
            expected = getattr(theirs, method)(TEXTS, max_active_dims=active)
            assert got.is_sparse and tuple(got.shape) == tuple(expected.shape), (method, active)
            np.testing.assert_allclose(_dense(got), _dense(expected), atol=TOL, rtol=0)
            counts = (_dense(got) != 0).sum(axis=1)
            assert counts.max() <= (active or theirs[-1].k), (method, active)
    row = ours.encode(TEXTS[1], convert_to_sparse_tensor=False)
    np.testing.assert_allclose(_dense(row), _dense(theirs.encode(TEXTS[1])), atol=TOL, rtol=0)
    with pytest.raises(sbert.InputError, match="hidden_dim"):
        ours.encode(TEXTS, max_active_dims=theirs[-1].hidden_dim + 1)


def test_encodes_without_torch(folders, tmp_path):
    """With torch, transformers and sentence-transformers unimportable: numpy outputs, the same numbers
    (the graph built here, in the child, from a fresh copy's files)."""
    out = tmp_path / "out.npz"
    code = BLOCK_TORCH + (
        "import numpy as np\n"
        "from sbert import SparseEncoder\n"
        "model = SparseEncoder(sys.argv[1], backend='onnx')\n"
        "np.savez(sys.argv[2], query=model.encode_query(sys.argv[3:]), few=model.encode(sys.argv[3:], "
        "max_active_dims=3))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    copy = shutil.copytree(folders["dense"], tmp_path / "copy", ignore=shutil.ignore_patterns("onnx"))
    done = subprocess.run(
        [sys.executable, "-c", code, str(copy), str(out), *TEXTS], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("[]")
    theirs, arrays = reference(folders["dense"]), np.load(out)
    np.testing.assert_allclose(arrays["query"], _dense(theirs.encode_query(TEXTS)), atol=TOL, rtol=0)
    np.testing.assert_allclose(
        arrays["few"], _dense(theirs.encode(TEXTS, max_active_dims=3)), atol=TOL, rtol=0
    )


def test_saved_folder_loads_in_sentence_transformers(folders, tmp_path):
    """Saving an ONNX-backed CSR model writes sentence-transformers' layout from the files its graph was
    built from (the SparseAutoEncoder's settings as set now): that library loads it and encodes the same."""
    ours = sbert.SparseEncoder(str(folders["dense"]), backend="onnx")
    ours[-1].k = 4
    ours.save(str(tmp_path / "saved"))
    theirs = reference(tmp_path / "saved")
    assert [type(m).__name__ for m in theirs] == [
        "Transformer",
        "Pooling",
        "Dense",
        "Normalize",
        "SparseAutoEncoder",
    ]
    assert theirs[-1].k == 4 and theirs.prompts == ours.prompts
    np.testing.assert_allclose(
        _dense(theirs.encode_query(TEXTS)), _dense(ours.encode_query(TEXTS)), atol=TOL, rtol=0
    )
    card = (tmp_path / "saved" / "README.md").read_text()
    assert "CSR Sparse Encoder" in card and "- csr" in card


def test_int8_graph_codes_the_int8_dense_part(folders):
    """``backend="onnx", model_kwargs={"file_name": ...int8...}``: the int8 graph of the dense part, coded
    by the same SparseAutoEncoder (each row keeps k latents, near the fp32 ones)."""
    name = {"file_name": "onnx/model_qint8_avx2.onnx"}
    int8 = sbert.SparseEncoder(str(folders["mean"]), backend="onnx", model_kwargs=name)
    fp32 = sbert.SparseEncoder(str(folders["mean"]), backend="onnx")
    assert int8[0].runner.precision == "int8" and int8[0].runner.graph.name == "model_int8.onnx"
    got, expected = _dense(int8.encode(TEXTS)), _dense(fp32.encode(TEXTS))
    assert ((got != 0).sum(axis=1) == 8).all()
    cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() > 0.9


def test_a_dense_folder_as_a_new_csr_model_is_refused_on_onnx(tiny_bert):
    """A plain encoder loads as a CSR model with a new, random SparseAutoEncoder (to train), on torch only."""
    with pytest.raises(sbert.InputError, match="backend='torch'"):
        sbert.SparseEncoder(str(tiny_bert), backend="onnx")


def test_card_names_the_architecture_on_onnx_as_on_torch(folders, masked_lm):
    """A sparse model's card (its model type and tags) is the same whichever backend loaded it."""
    from sbert._sparse.card import model_type

    for folder in (folders["mean"], masked_lm):
        onnx, torch = (sbert.SparseEncoder(str(folder), backend=b) for b in ("onnx", "torch"))
        theirs = reference(folder)
        assert model_type(onnx) == model_type(torch), folder
        assert (
            onnx.model_card_data.get("tags")
            == torch.model_card_data.get("tags")
            == theirs.model_card_data.tags
        )


def test_missing_or_corrupt_autoencoder_files_name_the_file(folders, tmp_path):
    """A SparseAutoEncoder without its safetensors weights, with a tensor of the wrong shape, or with a
    setting out of range: ModelLoadError naming the file and what is wrong, before any graph is built."""
    import json

    from safetensors.numpy import load_file, save_file

    def broken(name: str) -> tuple[str, object]:
        folder = shutil.copytree(folders["mean"], tmp_path / name, ignore=shutil.ignore_patterns("onnx"))
        return str(folder), folder / "2_SparseAutoEncoder"

    path, head = broken("no-weights")
    (head / "model.safetensors").unlink()
    with pytest.raises(sbert.ModelLoadError, match="no model.safetensors.*backend='torch'"):
        sbert.SparseEncoder(path, backend="onnx")
    path, head = broken("wrong-shape")
    tensors = load_file(str(head / "model.safetensors"))
    tensors["latent_bias"] = tensors["latent_bias"][:5]
    save_file(tensors, str(head / "model.safetensors"))
    with pytest.raises(sbert.ModelLoadError, match=r"latent_bias must have shape \(128,\), shape \(5,\)"):
        sbert.SparseEncoder(path, backend="onnx")
    path, head = broken("k-too-large")
    config = json.loads((head / "config.json").read_text())
    (head / "config.json").write_text(json.dumps({**config, "k": 500}))
    with pytest.raises(sbert.ModelLoadError, match="config.json.*k=500.*hidden_dim=128"):
        sbert.SparseEncoder(path, backend="onnx")
    path, head = broken("narrower")  # a consistent SparseAutoEncoder of 16-dim inputs after 32-dim ones
    (head / "config.json").write_text(json.dumps({**config, "input_dim": 16}))
    narrow = {"encoder.weight": np.ones((128, 16), np.float32), "pre_bias": np.zeros(16, np.float32)}
    save_file({**narrow, "latent_bias": np.zeros(128, np.float32)}, str(head / "model.safetensors"))
    with pytest.raises(sbert.ModelLoadError, match="input_dim=16.*32-dim"):
        sbert.SparseEncoder(path, backend="onnx")
    assert not list(tmp_path.glob("*/onnx")), "a graph was built for a model that cannot load"
