"""Architectures real sentence-transformers models use beyond the BERT family, compared with
sentence-transformers on the same tiny random folders: GPT-2 style configs (``n_embd``) and BLOOM configs
written before ``hidden_size`` (``n_embed``), whose width sentence-transformers reads through transformers'
attribute names; OPT's projected width. (SPLADE and ColBERT models of families sbert's torch-free graphs do
not write, ModernBERT's, are compared on ONNX in test_traced_token_graphs_s38.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import classic_pooling, copy_tokenizer_files, write_st_folder

import sbert

TEXTS = ["a cat sat on the mat", "the river runs fast", "x"]


def _with_tokenizer(model, tiny_bert: Path, folder: Path) -> Path:
    model.eval().save_pretrained(folder, safe_serialization=True)
    copy_tokenizer_files(tiny_bert, folder)
    return folder


def _vocab(tiny_bert: Path) -> int:
    return json.loads((tiny_bert / "config.json").read_text())["vocab_size"]


@pytest.fixture(scope="module")
def gpt2_st(tiny_bert, tmp_path_factory) -> Path:
    """A GPT-2 encoder (width in ``n_embd``) with weighted-mean pooling, as SGPT-style models are saved."""
    import torch
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=_vocab(tiny_bert),
        n_embd=32,
        n_layer=2,
        n_head=2,
        n_positions=64,
        bos_token_id=2,
        eos_token_id=3,
    )
    root = tmp_path_factory.mktemp("gpt2")
    encoder = _with_tokenizer(GPT2Model(config), tiny_bert, root / "hf")
    return write_st_folder(encoder, root / "st", classic_pooling(32, "weightedmean"))


@pytest.fixture(scope="module")
def bloom_n_embed_st(tiny_bert, tmp_path_factory) -> Path:
    """A BLOOM encoder whose config.json names its width ``n_embed``, as bigscience's checkpoints do."""
    import torch
    from transformers import BloomConfig, BloomModel

    torch.manual_seed(0)
    config = BloomConfig(vocab_size=_vocab(tiny_bert), hidden_size=32, n_layer=2, n_head=2)
    root = tmp_path_factory.mktemp("bloom")
    encoder = _with_tokenizer(BloomModel(config), tiny_bert, root / "hf")
    saved = json.loads((encoder / "config.json").read_text())
    saved["n_embed"] = saved.pop("hidden_size")
    (encoder / "config.json").write_text(json.dumps(saved))
    return write_st_folder(encoder, root / "st", classic_pooling(32, "mean"))


@pytest.mark.parametrize("name", ["gpt2_st", "bloom_n_embed_st"])
def test_decoder_widths_read_as_sentence_transformers_reads_them(name, request, tmp_path):
    import sentence_transformers as st

    folder = str(request.getfixturevalue(name))
    reference = st.SentenceTransformer(folder, device="cpu")
    ours = sbert.SentenceTransformer(folder, device="cpu", backend="torch")
    assert ours.get_embedding_dimension() == reference.get_embedding_dimension() == 32
    expected = reference.encode(TEXTS)
    np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-5)
    ours.save(str(tmp_path / "saved"))
    again = st.SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    np.testing.assert_allclose(again.encode(TEXTS), expected, atol=1e-5)


def test_plain_opt_folder_projected_width_on_onnx(tiny_bert, tmp_path):
    """OPT's decoder projects its hidden states to ``word_embed_proj_dim`` (facebook/opt-350m): a plain
    folder's mean pooling has that width, as sentence-transformers reads it, and the ONNX graph agrees."""
    import sentence_transformers as st
    import torch
    from transformers import OPTConfig, OPTModel

    torch.manual_seed(0)
    config = OPTConfig(
        vocab_size=_vocab(tiny_bert),
        hidden_size=32,
        word_embed_proj_dim=16,
        ffn_dim=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=64,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
    )
    folder = str(_with_tokenizer(OPTModel(config), tiny_bert, tmp_path / "opt"))
    reference = st.SentenceTransformer(folder, device="cpu")
    ours = sbert.SentenceTransformer(folder, device="cpu", backend="onnx")
    assert ours.get_embedding_dimension() == reference.get_embedding_dimension() == 16
    np.testing.assert_allclose(ours.encode(TEXTS), reference.encode(TEXTS), atol=1e-5)
