"""Embedding models of encoder-decoder families (sentence-t5, gtr-t5, mT5, umT5): sentence-transformers
loads their encoder class (``T5EncoderModel``, ...), so a folder it saved holds no decoder and a full
encoder-decoder checkpoint loads with its decoder left out. sbert loads, encodes and saves them as it does."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import sentence_transformers as st
import torch
import transformers
from conftest import copy_tokenizer_files
from safetensors import safe_open
from sentence_transformers.sentence_transformer import modules as st_models

import sbert

TEXTS = ["a man plays guitar", "the cat sat on the mat", "hello", "they eat food in a big house today"]
FAMILIES = {"t5": "T5", "mt5": "MT5", "umt5": "UMT5"}


def _config(family: str, tiny_bert):
    vocab = json.loads((tiny_bert / "config.json").read_text())["vocab_size"]
    return getattr(transformers, f"{FAMILIES[family]}Config")(
        vocab_size=vocab, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, pad_token_id=0,
        decoder_start_token_id=0, initializer_factor=2.0,
    )  # fmt: skip


def _copy_tokenizer(tiny_bert, folder) -> None:
    copy_tokenizer_files(tiny_bert, folder)


@pytest.fixture(scope="module")
def t5_folders(tiny_bert, tmp_path_factory):
    """family -> (an ST folder saved by sentence-transformers: encoder + mean pooling + Dense + Normalize,
    a plain Hugging Face folder of the full encoder-decoder model)."""
    folders = {}
    for family, prefix in FAMILIES.items():
        root = tmp_path_factory.mktemp(family)
        torch.manual_seed(0)
        full = getattr(transformers, f"{prefix}Model")(_config(family, tiny_bert)).eval()
        full.save_pretrained(root / "full")
        _copy_tokenizer(tiny_bert, root / "full")
        transformer = st_models.Transformer(str(root / "full"), max_seq_length=32)
        dense = st_models.Dense(32, 24, bias=False, activation_function=torch.nn.Identity())
        modules = [transformer, st_models.Pooling(32, "mean"), dense, st_models.Normalize()]
        st.SentenceTransformer(modules=modules, device="cpu").save(str(root / "st"))
        folders[family] = (root / "st", root / "full")
    return folders


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_sentence_t5_folder_encodes_as_sentence_transformers(t5_folders, family, backend):
    folder, _ = t5_folders[family]
    expected = st.SentenceTransformer(str(folder), device="cpu").encode(TEXTS)
    model = sbert.SentenceTransformer(str(folder), device="cpu", backend=backend)
    np.testing.assert_allclose(model.encode(TEXTS), expected, atol=1e-6)
    if backend == "torch":
        assert type(model[0].auto_model).__name__ == f"{FAMILIES[family]}EncoderModel"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_full_checkpoint_loads_its_encoder_as_sentence_transformers(t5_folders, family):
    """A plain encoder-decoder folder (no modules.json): the encoder under mean pooling, decoder left out."""
    _, full = t5_folders[family]
    expected = st.SentenceTransformer(str(full), device="cpu").encode(TEXTS)
    model = sbert.SentenceTransformer(str(full), device="cpu")
    np.testing.assert_allclose(model.encode(TEXTS), expected, atol=1e-6)
    assert type(model[0].auto_model).__name__ == f"{FAMILIES[family]}EncoderModel"


def test_saved_t5_model_holds_the_encoder_only_and_loads_in_sentence_transformers(t5_folders, tmp_path):
    folder, _ = t5_folders["t5"]
    sbert.SentenceTransformer(str(folder), device="cpu").save(str(tmp_path / "saved"))
    with safe_open(str(tmp_path / "saved" / "model.safetensors"), "np") as weights:
        names = list(weights.keys())
    assert names and not any(name.startswith("decoder.") for name in names)
    config = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert config["architectures"] == ["T5EncoderModel"]
    expected = st.SentenceTransformer(str(folder), device="cpu").encode(TEXTS)
    reloaded = st.SentenceTransformer(str(tmp_path / "saved"), device="cpu").encode(TEXTS)
    np.testing.assert_allclose(reloaded, expected, atol=1e-6)


def test_encoder_class_attributes_are_restored_after_loading(t5_folders):
    before = transformers.T5EncoderModel.__dict__.get("_keys_to_ignore_on_load_unexpected")
    sbert.SentenceTransformer(str(t5_folders["t5"][1]), device="cpu")
    assert transformers.T5EncoderModel.__dict__.get("_keys_to_ignore_on_load_unexpected") == before


def test_model_card_transformers_usage_loads_the_encoder_class_and_matches_encode(t5_folders, tmp_path):
    """The card's plain-transformers snippet, run as written: ``AutoModel`` would build T5's decoder too and
    fail without decoder inputs, so it names ``T5EncoderModel``."""
    folder, _ = t5_folders["t5"]
    model = sbert.SentenceTransformer(str(folder), device="cpu")
    model._model_card_text = None  # a new card, not the loaded README.md (untrained: kept)
    model.save(str(tmp_path / "saved"), model_name=str(tmp_path / "saved"))
    readme = (tmp_path / "saved" / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    snippet = next(block for block in blocks if "AutoTokenizer" in block)
    assert "T5EncoderModel.from_pretrained" in snippet and "sbert" not in snippet
    snippet = snippet.replace(
        'sentences = ["This is an example sentence", "Each sentence is converted"]', f"sentences = {TEXTS!r}"
    )
    namespace: dict = {}
    exec(compile(snippet, "<model card>", "exec"), namespace)
    np.testing.assert_allclose(namespace["sentence_embeddings"].numpy(), model.encode(TEXTS), atol=1e-5)
