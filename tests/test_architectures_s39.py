"""More transformers encoder families, compared with sentence-transformers on the same tiny random folders
(the tiny BERT's tokenizer, hidden 32, 2 layers): the torch backend on mixed-length batches (an empty text,
one cut at max_seq_length), the ONNX backend where a trace of the family runs at every shape (and the clear
error where it cannot), a few cross-encoders, and sbert's save read back by sentence-transformers.

Funnel, ConvBERT, FNet, Nyströmformer and BigBird give a text numbers that depend on the padding its batch
adds (pooling or convolving padded positions, a Fourier transform over them, the batch's width choosing
BigBird's attention), so only sentence-transformers' own batches give its numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import classic_pooling, copy_tokenizer_files, write_st_folder

import sbert

LONG = " ".join(["the cat sat on the mat and the dog ran fast"] * 12)  # cut at max_seq_length (48)
TEXTS = [
    "",
    "a cat sat on the mat",
    LONG,
    "x",
    "the river runs fast and the big red car drove to the stadium",
    "good",
]
# the last pair: most characters (sentence-transformers' batch order) but two tokens ([UNK] and "q")
PAIRS = [
    ("a cat sat", "the mat"),
    ("", "x"),
    ("the river runs fast", LONG),
    ("good", "bad dog"),
    ("z" * 300, "q"),
]

_BERT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
_TOKENS = {"pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3}
_DECODER = {**_BERT, **_TOKENS, "num_key_value_heads": 1, "max_position_embeddings": 128}
_SEQ2SEQ = {
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "decoder_start_token_id": 3,
    **_TOKENS,
}
# model_type -> (config values beyond the vocabulary, pooling mode)
FAMILIES = {
    "phi3": (_DECODER, "lasttoken"),
    "gemma": ({**_DECODER, "head_dim": 16}, "mean"),
    "gemma2": ({**_DECODER, "head_dim": 16}, "lasttoken"),
    "jetmoe": (
        {**_DECODER, "kv_channels": 16, "num_local_experts": 2, "num_experts_per_tok": 1},
        "lasttoken",
    ),
    "ernie": ({**_BERT, "max_position_embeddings": 128}, "cls"),
    "mobilebert": (
        {**_BERT, "embedding_size": 16, "intra_bottleneck_size": 16, "true_hidden_size": 16}
        | {"num_feedforward_networks": 1, "max_position_embeddings": 128},
        "mean",
    ),
    "funnel": (
        {
            "d_model": 32,
            "n_head": 2,
            "d_head": 16,
            "d_inner": 64,
            "block_sizes": [1, 1],
            "num_decoder_layers": 1,
        },
        "cls",
    ),
    "xlnet": ({"d_model": 32, "n_layer": 2, "n_head": 2, "d_inner": 64, "pad_token_id": 0}, "mean"),
    "longformer": (
        {**_BERT, "attention_window": 8, "max_position_embeddings": 160, "pad_token_id": 0},
        "mean",
    ),
    "big_bird": (
        {**_BERT, "max_position_embeddings": 128, "block_size": 4, "num_random_blocks": 2, "pad_token_id": 0},
        "mean",
    ),
    "roformer": ({**_BERT, "max_position_embeddings": 128, "embedding_size": 32}, "mean"),
    "xlm": (
        {"emb_dim": 32, "n_layers": 2, "n_heads": 2, "max_position_embeddings": 128, "pad_index": 0},
        "mean",
    ),
    "data2vec-text": ({**_BERT, "max_position_embeddings": 128, "pad_token_id": 0}, "mean"),
    "xmod": (
        {**_BERT, "max_position_embeddings": 128, "pad_token_id": 0, "languages": ["en_XX", "de_DE"]}
        | {"default_language": "en_XX"},
        "mean",
    ),
    "nystromformer": (
        {**_BERT, "max_position_embeddings": 128, "segment_means_seq_len": 64, "num_landmarks": 64},
        "mean",
    ),
    "squeezebert": (
        {**_BERT, "max_position_embeddings": 128, "embedding_size": 32, "q_groups": 2, "k_groups": 2}
        | {"v_groups": 2, "post_attention_groups": 2, "intermediate_groups": 2, "output_groups": 2},
        "mean",
    ),
    "convbert": (
        {**_BERT, "max_position_embeddings": 128, "embedding_size": 32, "conv_kernel_size": 3},
        "mean",
    ),
    "rembert": (
        {**_BERT, "max_position_embeddings": 128, "input_embedding_size": 16, "output_embedding_size": 16}
        | {"pad_token_id": 0},
        "cls",
    ),
    "megatron-bert": ({**_BERT, "max_position_embeddings": 128}, "mean"),
    "luke": (
        {**_BERT, "max_position_embeddings": 128, "entity_vocab_size": 10, "entity_emb_size": 16},
        "mean",
    ),
    "esm": (
        {**_BERT, "max_position_embeddings": 128, "pad_token_id": 0, "mask_token_id": 4}
        | {"position_embedding_type": "rotary"},
        "mean",
    ),
    "fnet": ({"hidden_size": 32, "num_hidden_layers": 2, "intermediate_size": 64, "pad_token_id": 0}, "mean"),
    "bart": ({**_SEQ2SEQ, "max_position_embeddings": 128}, "mean"),
    "mbart": ({**_SEQ2SEQ, "max_position_embeddings": 128}, "mean"),
    "led": (
        {**_SEQ2SEQ, "attention_window": 8}
        | {"max_encoder_position_embeddings": 128, "max_decoder_position_embeddings": 128},
        "mean",
    ),
}


def _build(kind: str, tiny_bert: Path, folder: Path, *, num_labels: int | None = None) -> Path:
    """A random ``kind`` model (a sequence classifier with ``num_labels``) with the tiny BERT's tokenizer."""
    import torch
    import transformers

    options, _ = FAMILIES[kind]
    vocab = json.loads((tiny_bert / "config.json").read_text())["vocab_size"]
    config = transformers.AutoConfig.for_model(kind, vocab_size=vocab, initializer_range=0.2, **options)
    config.architectures = []  # AutoModel reads it for families with two base classes (Funnel)
    task = transformers.AutoModel
    if num_labels is not None:
        config.num_labels, task = num_labels, transformers.AutoModelForSequenceClassification
    torch.manual_seed(3)
    task.from_config(config).eval().save_pretrained(folder, safe_serialization=True)
    copy_tokenizer_files(tiny_bert, folder)
    if kind == "xlnet":  # XLNet's tokenizer pads on the left: its classifier reads the last position
        tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
        (folder / "tokenizer_config.json").write_text(
            json.dumps({**tokenizer_config, "padding_side": "left"})
        )
    return folder


@pytest.fixture(scope="module")
def family_st(tiny_bert, tmp_path_factory):
    """``family_st(kind)``: a sentence-transformers folder around a random ``kind`` encoder (cached)."""
    cache: dict = {}

    def make(kind: str) -> str:
        if kind not in cache:
            root = tmp_path_factory.mktemp(kind)
            encoder = _build(kind, tiny_bert, root / "hf")
            pooling = classic_pooling(32, FAMILIES[kind][1])
            cache[kind] = str(write_st_folder(encoder, root / "st", pooling, normalize=kind == "ernie"))
        return cache[kind]

    return make


def _assert_same(ours: np.ndarray, expected: np.ndarray) -> None:
    assert ours.shape == expected.shape and ours.dtype == expected.dtype
    np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def st_vectors(family_st):
    """sentence-transformers' vectors of a family's folder: TEXTS in batches of 4, and one text alone."""
    import sentence_transformers as st

    cache: dict = {}

    def vectors(kind: str) -> tuple[np.ndarray, np.ndarray]:
        if kind not in cache:
            reference = st.SentenceTransformer(family_st(kind), device="cpu")
            cache[kind] = reference.encode(TEXTS, batch_size=4), reference.encode(TEXTS[1])
        return cache[kind]

    return vectors


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_torch_backend_matches_sentence_transformers(kind, family_st, st_vectors):
    ours = sbert.SentenceTransformer(family_st(kind), device="cpu", backend="torch")
    batch, single = st_vectors(kind)
    _assert_same(ours.encode(TEXTS, batch_size=4), batch)
    _assert_same(ours.encode(TEXTS[1]), single)


# Families whose traced graph cannot run at other shapes (Longformer and LED pad to their attention window,
# Funnel pools by halves, JetMoE routes tokens to experts, all in Python), has no ONNX operator (FNet's
# Fourier transform), or holds one of two attentions (BigBird's block-sparse, full on short inputs).
UNTRACEABLE = {"funnel", "longformer", "led", "jetmoe", "fnet", "big_bird"}


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_onnx_backend_matches_sentence_transformers_or_refuses(kind, family_st, st_vectors):
    folder = family_st(kind)
    if kind in UNTRACEABLE:
        with pytest.raises(sbert.ModelLoadError, match=f"This {kind} model cannot run on the ONNX backend"):
            sbert.SentenceTransformer(folder, device="cpu", backend="onnx")
        assert not (Path(folder) / "onnx" / "sbert" / "model.onnx").exists()  # nothing broken is cached
        # nor picked up by the default backend
        assert sbert.SentenceTransformer(folder, device="cpu").backend == "torch"
        return
    ours = sbert.SentenceTransformer(folder, device="cpu", backend="onnx")
    batch, single = st_vectors(kind)
    _assert_same(ours.encode(TEXTS, batch_size=4), batch)
    _assert_same(ours.encode(TEXTS[1]), single)


@pytest.mark.parametrize("kind", ["ernie", "convbert", "xlnet", "bart"])
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_cross_encoder_matches_sentence_transformers(kind, backend, tiny_bert, tmp_path):
    import sentence_transformers as st

    folder = str(_build(kind, tiny_bert, tmp_path / kind, num_labels=1))
    expected = st.CrossEncoder(folder, device="cpu").predict(PAIRS, batch_size=2)
    ours = sbert.CrossEncoder(folder, device="cpu", backend=backend).predict(PAIRS, batch_size=2)
    _assert_same(ours, expected)


@pytest.mark.parametrize("kind", ["gemma2", "xlnet", "esm", "mbart", "convbert"])
def test_saved_by_sbert_loads_in_sentence_transformers(kind, family_st, st_vectors, tmp_path):
    import sentence_transformers as st

    sbert.SentenceTransformer(family_st(kind), device="cpu", backend="torch").save(str(tmp_path / "saved"))
    again = st.SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    _assert_same(again.encode(TEXTS, batch_size=4), st_vectors(kind)[0])
