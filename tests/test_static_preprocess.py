"""StaticEmbedding's sentence-transformers 6 surface: ``preprocess`` gives flat token ids and ``offsets``
(what ``nn.EmbeddingBag`` takes) and ``forward`` reads them, as ST 6.3's module does; and a float64 table
stays float64 in the module, the saved file and a model2vec fold, with ST's numbers (sbert's encode returns
them rounded to its float32)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import sbert

TEXTS = ["hello world", "foo", "", "world world hello"]


def _tokenizer():
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({"[UNK]": 0, "hello": 1, "world": 2, "foo": 3}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    return tokenizer


def _table(dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(4, 3, generator=torch.Generator().manual_seed(0)).to(dtype)


@pytest.mark.parametrize("prompt", [None, "foo "])
def test_preprocess_gives_sentence_transformers_features(prompt):
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    reference = StaticEmbedding(_tokenizer(), embedding_weights=_table(torch.float32))
    ours = sbert.StaticEmbedding(_tokenizer(), embedding_weights=_table(torch.float32))
    expected, features = reference.preprocess(TEXTS, prompt=prompt), ours.preprocess(TEXTS, prompt=prompt)
    assert features.keys() == expected.keys() == {"input_ids", "offsets"}
    for key in expected:
        assert features[key].dtype == expected[key].dtype
        torch.testing.assert_close(features[key], expected[key], rtol=0, atol=0)
    with torch.no_grad():
        torch.testing.assert_close(
            ours(features)["sentence_embedding"], reference(expected)["sentence_embedding"]
        )
        padded = ours(ours.tokenize(TEXTS))["sentence_embedding"]  # sbert's padded form still reads
    torch.testing.assert_close(padded, reference(reference.preprocess(TEXTS))["sentence_embedding"])


def test_float64_table_stays_float64_as_in_sentence_transformers(tmp_path):
    import sentence_transformers as st
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    reference = st.SentenceTransformer(
        modules=[StaticEmbedding(_tokenizer(), _table(torch.float64))], device="cpu"
    )
    ours = sbert.SentenceTransformer(modules=[sbert.StaticEmbedding(_tokenizer(), _table(torch.float64))])
    assert ours[0].embedding.weight.dtype == reference[0].embedding.weight.dtype == torch.float64
    expected = reference.encode(TEXTS)
    assert expected.dtype == np.float64
    np.testing.assert_array_equal(ours.encode(TEXTS), expected.astype(np.float32))
    ours.save(tmp_path / "model")
    with safe_open(str(tmp_path / "model" / "model.safetensors"), framework="numpy") as handle:
        assert handle.get_tensor("embedding.weight").dtype == np.float64
    for backend in ("torch", "static"):
        reloaded = sbert.SentenceTransformer(tmp_path / "model", backend=backend)
        np.testing.assert_array_equal(reloaded.encode(TEXTS), expected.astype(np.float32))
    assert reloaded.backend == "static"
    assert (
        sbert.SentenceTransformer(tmp_path / "model", backend="torch")[0].embedding.weight.dtype
        == torch.float64
    )


def test_float64_model2vec_fold_matches_sentence_transformers(tmp_path):
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    _tokenizer().save(str(tmp_path / "tokenizer.json"))
    weights = torch.tensor([1.0, 1e-4, 3.0, 0.5], dtype=torch.float32)
    save_file({"embeddings": _table(torch.float64), "weights": weights}, str(tmp_path / "model.safetensors"))
    reference, ours = StaticEmbedding.load(str(tmp_path)), sbert.StaticEmbedding.load(tmp_path)
    assert ours.embedding.weight.dtype == reference.embedding.weight.dtype == torch.float64
    torch.testing.assert_close(ours.embedding.weight, reference.embedding.weight, rtol=0, atol=0)
