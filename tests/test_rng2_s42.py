"""Torch's global random stream after loading a CrossEncoder, SparseEncoder or MultiVectorEncoder is
sentence-transformers' (tests/test_rng_s42.py: SentenceTransformer): code that seeds, loads, then draws gets
the same numbers on every backend, and the torch modules sbert builds later (a model on ONNX moving to
torch) draw nothing, as sentence-transformers built them at load."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from conftest import build_tiny_classifier
from test_multi_vector_legacy import CHECKPOINTS as LEGACY_COLBERT

import sbert

PAIRS = [("a cat", "the cat sat on the mat"), ("a dog", "the weather is nice")]


def _draws_after(step, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    step()
    return torch.rand(8)


def _assert_same_stream(ours: torch.Tensor, reference: torch.Tensor) -> None:
    torch.testing.assert_close(ours, reference, rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------- CrossEncoder


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("rng2-ce") / "ce", num_labels=2)


@pytest.mark.parametrize("backend", ["auto", "onnx", "torch"])
def test_cross_encoder_load_leaves_sentence_transformers_stream(cross_encoder, backend):
    from sentence_transformers import CrossEncoder as Reference

    reference = _draws_after(lambda: Reference(str(cross_encoder), device="cpu"))
    ours = _draws_after(lambda: sbert.CrossEncoder(str(cross_encoder), device="cpu", backend=backend))
    _assert_same_stream(ours, reference)


@pytest.mark.parametrize(
    "step",
    [
        lambda model: list(model.parameters()),
        lambda model: model.model,
        lambda model: model[0],
        lambda model: model.train(),
    ],
    ids=["parameters", "model", "getitem", "train"],
)
@pytest.mark.parametrize("backend", ["auto", "onnx"])
def test_cross_encoder_torch_model_built_later_draws_nothing(cross_encoder, backend, step):
    """sentence-transformers built it at load; sbert on ONNX builds it at the first torch access."""
    model = sbert.CrossEncoder(str(cross_encoder), device="cpu", backend=backend)
    model.predict(PAIRS)
    expected = _draws_after(lambda: None, seed=5)
    _assert_same_stream(_draws_after(lambda: step(model), seed=5), expected)
    model.predict(PAIRS)  # after moving to torch ("auto"): still nothing drawn
    _assert_same_stream(_draws_after(lambda: model.predict(PAIRS), seed=5), expected)


# ------------------------------------------------------------------------- SparseEncoder, MultiVectorEncoder


def _sparse_modules(name: str, bert: Path, masked_lm: Path) -> list:
    from sentence_transformers.base.modules import Router, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from sentence_transformers.sparse_encoder import modules as sm

    if name == "splade":
        return [sm.MLMTransformer(str(masked_lm)), sm.SpladePooling("max")]
    if name == "inference-free":
        document = Transformer(str(masked_lm), transformer_task="fill-mask")
        query = sm.SparseStaticEmbedding(tokenizer=document.tokenizer, frozen=False)
        return [
            Router.for_query_document(
                query_modules=[query], document_modules=[document, sm.SpladePooling("max")]
            )
        ]
    return [Transformer(str(bert)), Pooling(32, "mean"), sm.SparseAutoEncoder(32, hidden_dim=64, k=8)]


def _multi_vector_modules(bert: Path) -> list:
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask

    dense = Dense(32, 16, activation_function=torch.nn.Identity(), module_input_name="token_embeddings")
    return [Transformer(str(bert)), dense, MultiVectorMask(), Normalize(module_input_name="token_embeddings")]


@pytest.fixture(scope="module")
def folders(tiny_bert, masked_lm, tmp_path_factory) -> dict:
    from sentence_transformers import MultiVectorEncoder, SparseEncoder

    root = tmp_path_factory.mktemp("rng2")
    made = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecated MLMTransformer
        torch.manual_seed(1)
        for name in ("splade", "inference-free", "csr"):
            modules = _sparse_modules(name, tiny_bert, masked_lm)
            SparseEncoder(modules=modules, device="cpu").save(str(root / name))
            made[name] = root / name
    MultiVectorEncoder(modules=_multi_vector_modules(tiny_bert), device="cpu").save(str(root / "colbert"))
    made["colbert"] = root / "colbert"
    for name in ("pylate-3", "pylate-st6", "stanford"):
        made[name] = LEGACY_COLBERT[name][0](root / name)
    return made


SPARSE_CASES = [(name, backend) for name in ("splade", "inference-free") for backend in ("onnx", "torch")]
SPARSE_CASES.append(("csr", "torch"))  # sbert runs CSR models on torch only
MULTI_VECTOR_CASES = [
    (name, backend)
    for name in ("colbert", "pylate-3", "pylate-st6", "stanford")
    for backend in ("onnx", "torch")
]


@pytest.mark.parametrize(
    ("kind", "name", "backend"),
    [("SparseEncoder", *case) for case in SPARSE_CASES]
    + [("MultiVectorEncoder", *case) for case in MULTI_VECTOR_CASES],
)
def test_load_leaves_sentence_transformers_stream(folders, kind, name, backend):
    import sentence_transformers

    path = str(folders[name])
    reference = _draws_after(lambda: getattr(sentence_transformers, kind)(path, device="cpu"))
    ours = _draws_after(lambda: getattr(sbert, kind)(path, device="cpu", backend=backend))
    _assert_same_stream(ours, reference)


@pytest.mark.parametrize(("kind", "name"), [("SparseEncoder", "splade"), ("MultiVectorEncoder", "colbert")])
def test_encoding_on_onnx_draws_nothing(folders, kind, name):
    """On ONNX these classes build no torch modules after loading: encoding and parameters() draw nothing."""
    model = getattr(sbert, kind)(str(folders[name]), device="cpu", backend="onnx")
    expected = _draws_after(lambda: None, seed=5)

    def use() -> None:
        model.encode(["a cat", "the weather is nice"])
        list(model.parameters())

    _assert_same_stream(_draws_after(use, seed=5), expected)


# ------------------------------------------------------------------- the draws at load read no module weights


@pytest.mark.parametrize("kind", ["Dense", "Dense-residual", "CNN", "LSTM", "WordWeights", "csr"])
def test_load_draws_read_no_weights(kind, folders, tiny_bert, tmp_path, monkeypatch):
    """A model without torch modules draws as sentence-transformers' constructors by building those layers
    from the modules' configs: no second read of their weights (a GloVe table is 400k x 300)."""
    import safetensors.torch
    from sentence_transformers import SentenceTransformer, SparseEncoder
    from test_rng_s42 import _reference_modules

    from sbert._format.layout import read_modules
    from sbert._modules.global_rng import draw_as_loaded

    if kind == "csr":
        folder, reference_class = folders["csr"], SparseEncoder
    else:
        folder, reference_class = tmp_path / kind, SentenceTransformer
        torch.manual_seed(1)
        SentenceTransformer(modules=_reference_modules(kind, tiny_bert), device="cpu").save(str(folder))
    reference = _draws_after(lambda: reference_class(str(folder), device="cpu"))

    def refuse(*args, **kwargs):
        raise AssertionError("a module's weights were read")

    for owner, name in ((safetensors.torch, "load_file"), (safetensors.torch, "load"), (torch, "load")):
        monkeypatch.setattr(owner, name, refuse)
    entries = read_modules(folder)
    _assert_same_stream(_draws_after(lambda: draw_as_loaded(folder, entries)), reference)
