"""A cross-encoder whose forward takes ``token_type_ids`` that its tokenizer never makes (GPT-2) scores on
ONNX as sentence-transformers does on torch: its traced graph takes no token types (fed as zeros they
added a token embedding, 0.42 off on this tiny model), and a graph an older sbert traced with them is
exported again."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sentence_transformers import CrossEncoder as ReferenceCrossEncoder

import sbert
from sbert._backends.onnx_export import ensure_graph

PAIRS = [("a query", "some document text"), ("hello there", "general kenobi"), ("x", "y z")]


@pytest.fixture(scope="module")
def gpt2_reranker(tmp_path_factory):
    """A tiny GPT2ForSequenceClassification with a byte-level BPE tokenizer (no token types)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2ForSequenceClassification, PreTrainedTokenizerFast

    vocab = {"<|endoftext|>": 0}
    for ch in "abcdefghijklmnopqrstuvwxyz .,\u0120":
        vocab.setdefault(ch, len(vocab))
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|endoftext|>", pad_token="<|endoftext|>", model_max_length=64
    )
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=32,
        n_layer=2,
        n_head=2,
        n_positions=64,
        pad_token_id=0,
        num_labels=1,
        initializer_range=0.3,
    )
    folder = tmp_path_factory.mktemp("gpt2-reranker")
    torch.manual_seed(0)
    GPT2ForSequenceClassification(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def reference_scores(gpt2_reranker):
    return ReferenceCrossEncoder(str(gpt2_reranker)).predict(PAIRS)


@pytest.mark.parametrize("backend", ["onnx", "auto"])
def test_scores_on_onnx_match_sentence_transformers(gpt2_reranker, reference_scores, backend):
    model = sbert.CrossEncoder(str(gpt2_reranker), backend=backend)
    np.testing.assert_allclose(model.predict(PAIRS), reference_scores, atol=1e-5)


def test_graph_traced_with_token_types_is_exported_again(tmp_path, reference_scores, gpt2_reranker):
    import shutil

    from transformers import AutoModelForSequenceClassification

    folder = shutil.copytree(gpt2_reranker, tmp_path / "copy")
    # what an older sbert cached: the classifier traced with token_type_ids as a graph input
    network = lambda: AutoModelForSequenceClassification.from_pretrained(folder).eval()  # noqa: E731
    stale = ensure_graph(folder, "fp32", network, classifier=True, token_types=True)
    assert stale.is_file()
    model = sbert.CrossEncoder(str(folder), backend="onnx")
    np.testing.assert_allclose(model.predict(PAIRS), reference_scores, atol=1e-5)


def test_exported_folder_scores_as_sentence_transformers(tmp_path, gpt2_reranker, reference_scores):
    sbert.CrossEncoder(str(gpt2_reranker)).export(tmp_path / "export")
    exported = sbert.CrossEncoder(str(tmp_path / "export"))
    np.testing.assert_allclose(exported.predict(PAIRS), reference_scores, atol=1e-5)
