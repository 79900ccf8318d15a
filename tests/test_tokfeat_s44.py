"""A DistilBERT or MPNet folder whose tokenizer is a ``BertTokenizer`` (named in tokenizer_config.json, or a
DistilBERT naming no class, which AutoTokenizer loads as one) has ``token_type_ids`` in its features, as
sentence-transformers 6.3 gives them, though the encoder's forward never reads them: ``preprocess`` /
``tokenize`` keys and values, ``encode(output_value=None)``'s dicts and what a hook on the model sees,
for SentenceTransformer, CrossEncoder, SparseEncoder and MultiVectorEncoder on torch and ONNX; the numbers
stay sentence-transformers'."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import build_tiny_bert, copy_tokenizer_files, with_tokenizer_class

import sbert

TEXTS = ["a cat sits on the mat", "hello world"]
PAIRS = [("a cat sits", "the dog runs far away"), ("hello", "world is big")]
TASKS = {"st": "AutoModel", "ce": "AutoModelForSequenceClassification", "sparse": "AutoModelForMaskedLM"}
# (family, the class tokenizer_config.json names: None names none)
CASES = [("distilbert", None), ("distilbert", "BertTokenizer"), ("mpnet", "BertTokenizer"), ("mpnet", None)]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """(family, task, class) -> a tiny Hugging Face folder with the tiny BERT's WordPiece files."""
    import torch
    import transformers

    root = tmp_path_factory.mktemp("tokfeat")
    bert = build_tiny_bert(root / "tiny-bert")
    vocab = json.loads((bert / "config.json").read_text())["vocab_size"]
    made = {}

    def make(family: str, task: str, name: str | None):
        key = (family, task, name)
        if key not in made:
            folder = root / f"{family}-{task}-{name}"
            folder.mkdir()
            copy_tokenizer_files(bert, folder)
            if family == "distilbert":
                sizes = {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64}
                config = transformers.DistilBertConfig(vocab_size=vocab, max_position_embeddings=72, **sizes)
            else:
                sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2}
                config = transformers.MPNetConfig(
                    vocab_size=vocab, max_position_embeddings=72, intermediate_size=64, **sizes
                )
            config.num_labels = 1
            torch.manual_seed(3)
            getattr(transformers, TASKS[task]).from_config(config).eval().save_pretrained(folder)
            made[key] = with_tokenizer_class(folder, name)
        return made[key]

    return make


def _same_features(ours, reference) -> None:
    """The same keys in the same order, and equal values."""
    assert list(ours) == list(reference)
    for key, value in reference.items():
        if key == "modality":
            assert ours[key] == value
        else:
            np.testing.assert_array_equal(np.asarray(ours[key]), np.asarray(value))


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tokenize's deprecation notice
        return call(*args, **kwargs)


def _hooked_keys(model, call, *args) -> list[str]:
    """The feature keys a forward pre-hook on the model sees in ``call(*args)``."""
    seen: list[str] = []
    handle = model.register_forward_pre_hook(lambda module, inputs: seen.extend(inputs[0]))
    try:
        call(*args)
    finally:
        handle.remove()
    return seen


@pytest.mark.parametrize(("family", "name"), CASES)
def test_sentence_transformer(folders, family, name):
    from sentence_transformers import SentenceTransformer

    folder = str(folders(family, "st", name))
    reference = SentenceTransformer(folder)
    ours = sbert.SentenceTransformer(folder)
    _same_features(ours.preprocess(TEXTS), reference.preprocess(TEXTS))
    _same_features(_quiet(ours.tokenize, TEXTS), _quiet(reference.tokenize, TEXTS))
    _same_features(ours[0].preprocess(TEXTS), reference[0].preprocess(TEXTS))
    expected = reference.encode(TEXTS)
    np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-6)
    for got, want in zip(ours.encode(TEXTS, output_value=None), reference.encode(TEXTS, output_value=None)):
        assert list(got) == list(want)
        np.testing.assert_allclose(got["token_embeddings"], want["token_embeddings"], atol=1e-6)
        np.testing.assert_array_equal(got["input_ids"], want["input_ids"])
    tokens = ours.encode(TEXTS, output_value="token_embeddings")
    for got, want in zip(tokens, reference.encode(TEXTS, output_value="token_embeddings")):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-6)
    assert _hooked_keys(ours, ours.encode, TEXTS) == _hooked_keys(reference, reference.encode, TEXTS)
    onnx = sbert.SentenceTransformer(folder, backend="onnx")
    _same_features(onnx.preprocess(TEXTS), reference.preprocess(TEXTS))
    np.testing.assert_allclose(onnx.encode(TEXTS), expected, atol=1e-6)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize(("family", "name"), CASES)
def test_cross_encoder(folders, family, name, backend):
    from sentence_transformers import CrossEncoder

    folder = str(folders(family, "ce", name))
    reference = CrossEncoder(folder)
    ours = sbert.CrossEncoder(folder, backend=backend)
    np.testing.assert_allclose(ours.predict(PAIRS), reference.predict(PAIRS), atol=1e-5)
    _same_features(ours.preprocess(PAIRS), reference.preprocess(PAIRS))
    _same_features(_quiet(ours.tokenize, PAIRS), _quiet(reference.tokenize, PAIRS))
    if backend == "torch":
        assert _hooked_keys(ours, ours.predict, PAIRS) == _hooked_keys(reference, reference.predict, PAIRS)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize(("family", "name"), CASES)
def test_sparse_encoder(folders, family, name, backend):
    from sentence_transformers import SparseEncoder

    folder = str(folders(family, "sparse", name))
    reference = SparseEncoder(folder)
    ours = sbert.SparseEncoder(folder, backend=backend)
    expected = reference.encode(TEXTS, convert_to_tensor=True).to_dense().numpy()
    got = ours.encode(TEXTS, convert_to_tensor=True).to_dense().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    _same_features(ours.preprocess(TEXTS), reference.preprocess(TEXTS))
    if backend == "torch":
        assert _hooked_keys(ours, ours.encode, TEXTS) == _hooked_keys(reference, reference.encode, TEXTS)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize(("family", "name"), CASES)
def test_multi_vector_encoder(folders, family, name, backend):
    from sentence_transformers import MultiVectorEncoder

    folder = folders(family, "st", name)
    saved = folder.parent / f"{folder.name}-multi-vector"
    if not saved.exists():  # the random projection a plain folder gets, saved once by sentence-transformers
        MultiVectorEncoder(str(folder), device="cpu").save(str(saved))
        with_tokenizer_class(saved, name)  # its save names the class it loaded
    reference = MultiVectorEncoder(str(saved), device="cpu")
    ours = sbert.MultiVectorEncoder(str(saved), device="cpu", backend=backend)
    assert list(ours.preprocess(TEXTS)) == list(reference.preprocess(TEXTS))
    for got, expected in zip(ours.encode(TEXTS), reference.encode(TEXTS)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), atol=1e-5)
