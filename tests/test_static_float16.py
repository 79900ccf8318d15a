"""A StaticEmbedding whose table is float16 (model2vec saves fp16 tables) keeps float16 as
sentence-transformers 6.3 does: the module's weights, the saved file, and the numbers (the float16 mean,
widened to sbert's float32 output exactly), on the torch module and on the numpy static backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SENTENCES
from safetensors import safe_open

import sbert

TEXTS = [s for s in SENTENCES if s]  # sentence-transformers 6.3 normalizes an empty float16 row to NaN
FP16_ULP = 2.0**-11  # float16 spacing just under 1: normalized rows agree to one rounding step


def _stored_dtype(folder: Path, key: str) -> np.dtype:
    with safe_open(str(folder / "model.safetensors"), framework="numpy") as handle:
        return handle.get_tensor(key).dtype


@pytest.fixture(scope="module")
def fp16_folder(tiny_bert, tmp_path_factory):
    """A model2vec folder of a float16 table, as model2vec writes it, and the table."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tiny_bert / "tokenizer.json"))
    table = np.random.default_rng(0).normal(size=(tokenizer.get_vocab_size(), 16)).astype(np.float16)
    folder = tmp_path_factory.mktemp("m2v-fp16") / "model"
    StaticModel(vectors=table, tokenizer=tokenizer, normalize=True).save_pretrained(folder)
    assert _stored_dtype(folder, "embeddings") == np.float16
    return folder, tokenizer, table


def test_float16_table_keeps_its_dtype_and_sentence_transformers_numbers(fp16_folder):
    import sentence_transformers as st
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    _, tokenizer, table = fp16_folder
    reference = st.SentenceTransformer(modules=[StaticEmbedding(tokenizer, table)], device="cpu")
    ours = sbert.SentenceTransformer(modules=[sbert.StaticEmbedding(tokenizer, embedding_weights=table)])
    assert ours[0].embedding.weight.dtype == reference[0].embedding.weight.dtype == torch.float16
    expected = reference.encode(TEXTS)
    assert expected.dtype == np.float16
    np.testing.assert_array_equal(ours.encode(TEXTS), expected.astype(np.float32))


@pytest.mark.parametrize("backend", ["torch", "static"])
def test_float16_model2vec_folder_encodes_as_sentence_transformers(fp16_folder, backend):
    import sentence_transformers as st

    folder = fp16_folder[0]
    reference = st.SentenceTransformer(str(folder), device="cpu")  # StaticEmbedding then Normalize
    model = sbert.SentenceTransformer(folder, backend=backend)
    if backend == "torch":
        assert model[0].embedding.weight.dtype == reference[0].embedding.weight.dtype == torch.float16
    expected = reference.encode(TEXTS).astype(np.float32)
    # sbert's Normalize divides a half row by its float32 norm (ST 6.3 by the norm rounded to float16)
    np.testing.assert_allclose(model.encode(TEXTS), expected, atol=FP16_ULP, rtol=0)
    unnormalized = sbert.SentenceTransformer(modules=[sbert.StaticEmbedding.from_model2vec(folder)])
    reference_unnormalized = st.SentenceTransformer(modules=[reference[0]], device="cpu")
    np.testing.assert_array_equal(
        unnormalized.encode(TEXTS), reference_unnormalized.encode(TEXTS).astype(np.float32)
    )


def test_float16_table_survives_save_and_load_as_in_sentence_transformers(fp16_folder, tmp_path):
    import sentence_transformers as st

    module = sbert.StaticEmbedding.from_model2vec(fp16_folder[0])
    sbert.SentenceTransformer(modules=[module]).save(tmp_path / "ours")
    st.SentenceTransformer(str(fp16_folder[0]), device="cpu").save(str(tmp_path / "theirs"))
    for name in ("ours", "theirs"):
        assert _stored_dtype(tmp_path / name, "embedding.weight") == np.float16
        reloaded = sbert.SentenceTransformer(tmp_path / name, backend="torch")
        assert reloaded[0].embedding.weight.dtype == torch.float16
    theirs = st.SentenceTransformer(str(tmp_path / "ours"), device="cpu")
    assert theirs[0].embedding.weight.dtype == torch.float16


def test_weighted_float16_model2vec_table_folds_to_float32_as_sentence_transformers(tiny_bert, tmp_path):
    from model2vec import StaticModel
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tiny_bert / "tokenizer.json"))
    rng = np.random.default_rng(1)
    vocab = tokenizer.get_vocab_size()
    vectors = rng.normal(size=(7, 16)).astype(np.float16)
    options = {"token_mapping": rng.integers(0, 7, vocab), "weights": rng.uniform(0.5, 2, vocab)}
    StaticModel(vectors=vectors, tokenizer=tokenizer, **options).save_pretrained(tmp_path)
    reference = StaticEmbedding.load(str(tmp_path))
    ours = sbert.StaticEmbedding.load(tmp_path)
    assert ours.embedding.weight.dtype == reference.embedding.weight.dtype == torch.float32
    torch.testing.assert_close(ours.embedding.weight, reference.embedding.weight, rtol=0, atol=1e-6)
