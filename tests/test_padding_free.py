"""Padding-free inference: dense layers on real tokens only, the same numbers as the padded forward."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import SENTENCES, build_tiny_bert, build_tiny_classifier, classic_pooling, write_st_folder

from sbert import SentenceTransformer
from sbert._modules import padding_free as padding_free_module
from sbert._modules.padding_free import supports_padding_free

# Mixed lengths, so most rows of a padded batch are padding.
TEXTS = SENTENCES + ["short", "a b", "The cat sat on the mat. " * 6, "the dog", "music"]


def _roberta_folder(tmp_path: Path) -> Path:
    """A tiny random RoBERTa (positions counted from the pad id) with the tiny BERT's tokenizer files."""
    from transformers import RobertaConfig, RobertaModel

    folder = build_tiny_bert(tmp_path / "bert", seed=3)
    torch.manual_seed(3)
    config = RobertaConfig(
        vocab_size=120,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=70,
        pad_token_id=0,
        type_vocab_size=1,
    )
    RobertaModel(config).eval().save_pretrained(folder, safe_serialization=True)
    return folder


def _distilbert_folder(tmp_path: Path) -> Path:
    from transformers import DistilBertConfig, DistilBertModel

    folder = build_tiny_bert(tmp_path / "distil", seed=4)
    torch.manual_seed(4)
    config = DistilBertConfig(
        vocab_size=120, dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=64
    )
    DistilBertModel(config).eval().save_pretrained(folder, safe_serialization=True)
    return folder


def _load(encoder: Path, tmp_path: Path, **options) -> SentenceTransformer:
    folder = write_st_folder(encoder, tmp_path / f"st-{encoder.name}", classic_pooling(32, "mean"))
    return SentenceTransformer(str(folder), backend="torch", **options)


def _padded_and_padding_free(
    model: SentenceTransformer, texts: list[str], **options
) -> tuple[np.ndarray, np.ndarray]:
    model[0].padding_free = False
    padded = model.encode(texts, batch_size=len(texts), **options)
    model[0].padding_free = True
    return padded, model.encode(texts, batch_size=len(texts), **options)


def _choose_attention(monkeypatch, attention: str) -> None:
    """Force one attention path: batched matmuls ("matmul"), the same one (text, head) pair per block with the
    feed-forward in 7-row chunks ("blocks"), or torch's fused kernel ("fused")."""
    matmul = attention != "fused"
    monkeypatch.setattr(padding_free_module, "BMM_ATTENTION_MAX_LENGTH", 64 if matmul else 0)
    monkeypatch.setattr(padding_free_module, "HALF_PRECISION_MATMUL_ATTENTION", matmul)
    if attention == "blocks":
        monkeypatch.setattr(padding_free_module, "MATMUL_ATTENTION_BLOCK", 1)
        monkeypatch.setattr(padding_free_module, "FEED_FORWARD_ROWS", 7)


@pytest.mark.parametrize("attention", ["matmul", "blocks", "fused"])
@pytest.mark.parametrize("architecture", ["bert", "roberta"])
def test_padding_free_equals_padded_forward(architecture, attention, tiny_bert, tmp_path, monkeypatch):
    # Short batches take batched matmuls for attention, long ones torch's fused kernel: both are checked.
    _choose_attention(monkeypatch, attention)
    model = _load(tiny_bert if architecture == "bert" else _roberta_folder(tmp_path), tmp_path)
    assert model[0].padding_free, f"{architecture} should run padding-free"
    calls = []
    real_forward = padding_free_module.padding_free_forward
    monkeypatch.setattr(
        "sbert._modules.transformer.padding_free_forward",
        lambda *a, **k: calls.append(1) or real_forward(*a, **k),
    )
    padded, packed = _padded_and_padding_free(model, TEXTS)
    assert calls, "the padding-free forward was not used"
    np.testing.assert_allclose(packed, padded, atol=1e-6, rtol=0)
    # Token embeddings too, at every real token (padded rows are dropped by token_embeddings()).
    model[0].padding_free = False
    tokens_padded = model.token_embeddings(TEXTS, batch_size=len(TEXTS))
    model[0].padding_free = True
    for a, b in zip(tokens_padded, model.token_embeddings(TEXTS, batch_size=len(TEXTS))):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=0)


@pytest.mark.parametrize("attention", ["matmul", "blocks", "fused"])
def test_padding_free_in_bf16_stays_close(attention, tiny_bert, tmp_path, monkeypatch):
    _choose_attention(monkeypatch, attention)
    model = _load(tiny_bert, tmp_path, precision="bf16")
    padded, packed = _padded_and_padding_free(model, TEXTS, normalize_embeddings=True)
    cosines = (padded * packed).sum(axis=1)
    print(f"padding-free bf16 vs padded bf16 ({attention}): min cosine {cosines.min():.6f}")
    assert cosines.min() > 0.99999, cosines  # both bf16: only the order of the sums differs


def test_attention_path_by_length_and_precision():
    # fp32: matmuls up to BMM_ATTENTION_MAX_LENGTH, the fused kernel beyond;
    # bf16 on a CPU: matmuls at any length.
    attention = _small_bert().encoder.layer[0].attention.self
    longest = padding_free_module.BMM_ATTENTION_MAX_LENGTH

    def uses_matmuls(length: int, dtype: torch.dtype) -> bool:
        mask = torch.ones(2, length, dtype=torch.int64)
        real = mask.reshape(-1).nonzero().squeeze(1)
        return padding_free_module._Attention(attention, mask, real, dtype).matmuls

    assert uses_matmuls(longest, torch.float32) and not uses_matmuls(longest + 1, torch.float32)
    assert uses_matmuls(longest + 1, torch.bfloat16) and uses_matmuls(256, torch.bfloat16)


def test_unsupported_encoder_uses_its_own_forward(tmp_path, monkeypatch):
    model = _load(_distilbert_folder(tmp_path), tmp_path)
    assert not model[0].padding_free
    monkeypatch.setattr("sbert._modules.transformer.padding_free_forward", _must_not_run)
    ours = model.encode(TEXTS)
    assert ours.shape == (len(TEXTS), 32)
    # The same numbers as sentence-transformers on the same folder (README: max abs diff < 1e-5).
    from sentence_transformers import SentenceTransformer as Reference

    reference = Reference(str(tmp_path / "st-distil"), device="cpu").encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(ours, reference, atol=1e-5, rtol=0)


def _small_bert(**options) -> torch.nn.Module:
    from transformers import BertConfig, BertModel

    sizes = {"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2}
    return BertModel(BertConfig(**sizes, intermediate_size=32, **options))


def test_decoder_configs_are_not_supported(tiny_bert):
    assert not supports_padding_free(_small_bert(is_decoder=True))
    assert supports_padding_free(_small_bert())


def test_training_and_gradients_use_the_encoders_own_forward(tiny_bert, tmp_path, monkeypatch):
    """Training keeps the reference forward (its dropout draws); so does any forward that needs gradients,
    and a caller's own forward: only sbert's own inference runs padding-free."""
    model = _load(tiny_bert, tmp_path)
    monkeypatch.setattr("sbert._modules.transformer.padding_free_forward", _must_not_run)
    features = model[0].tokenize(TEXTS)
    model.train()
    model[0](dict(features))["token_embeddings"].sum().backward()
    model.eval()
    with torch.enable_grad():
        model[0](dict(features))
    with torch.no_grad():  # a caller's own inference too: it may read the padded positions (infinity-emb)
        model[0](dict(features))
    with padding_free_module.own_inference(), pytest.raises(AssertionError, match="padding-free forward ran"):
        model[0](dict(features))  # sbert's own inference does


def _must_not_run(*args, **kwargs):
    raise AssertionError("padding-free forward ran")


def test_padding_free_runs_on_cpus_only(tiny_bert, tmp_path, monkeypatch):
    """On a GPU the padded forward is the faster one (bench/bench_gpu.py): any non-CPU device takes it."""
    assert padding_free_module.runs_padding_free_on("cpu") and padding_free_module.runs_padding_free_on(
        torch.device("cpu")
    )
    assert not padding_free_module.runs_padding_free_on("cuda:0")
    assert not padding_free_module.runs_padding_free_on(torch.device("meta"))
    model = _load(tiny_bert, tmp_path)
    assert model[0].padding_free
    monkeypatch.setattr("sbert._modules.transformer.padding_free_forward", _must_not_run)
    features = model[0].tokenize(TEXTS).to("meta")  # a BatchEncoding, as there
    seen = []  # a device that is not a CPU, without a GPU: the encoder's own forward must take the batch

    def own_forward(input_ids, **kwargs):
        seen.append(input_ids.device.type)
        return SimpleNamespace(last_hidden_state=torch.zeros((*input_ids.shape, 32), device=input_ids.device))

    monkeypatch.setattr(model[0].auto_model, "forward", own_forward)
    with torch.no_grad():
        out = model[0](features)["token_embeddings"]
    assert seen == ["meta"] and out.shape[:2] == features["input_ids"].shape


def test_cross_encoder_scorer_runs_padding_free_on_cpus_only(tmp_path):
    from transformers import AutoModelForSequenceClassification

    from sbert._cross_encoder.runners import TorchScorer

    folder = build_tiny_classifier(tmp_path / "classifier")
    on_cpu = TorchScorer(AutoModelForSequenceClassification.from_pretrained(folder), "cpu", "fp32")
    assert on_cpu.head is not None  # the encoder padding-free, then the model's own head
    elsewhere = TorchScorer(AutoModelForSequenceClassification.from_pretrained(folder), "meta", "fp32")
    assert elsewhere.head is None  # transformers' own forward
