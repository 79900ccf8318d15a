"""Embeddings equal sentence-transformers' and the plain transformers recipe (max abs diff <= 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import POOLING_MODES, SENTENCES, classic_pooling
from pooling_reference import pool

TOL = 1e-5


def reference_encode(path, texts, **kwargs):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    return ReferenceModel(str(path), device="cpu").encode(texts, **kwargs)


@pytest.mark.parametrize("mode", POOLING_MODES)
@pytest.mark.parametrize("normalize", [False, True])
def test_each_pooling_mode_matches_sentence_transformers(tiny_st_factory, mode, normalize):
    from sbert import SentenceTransformer

    path = tiny_st_factory(classic_pooling(32, mode), normalize=normalize)
    ours = SentenceTransformer(path).encode(SENTENCES)
    ref = reference_encode(path, SENTENCES)
    assert ours.shape == ref.shape == (len(SENTENCES), 32)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=TOL, rtol=0)


@pytest.mark.parametrize(
    "modes", [("cls", "mean"), ("max", "mean", "mean_sqrt_len_tokens"), ("cls", "lasttoken", "weightedmean")]
)
def test_combined_pooling_modes_concatenate_like_sentence_transformers(tiny_st_factory, modes):
    from sbert import SentenceTransformer

    path = tiny_st_factory(classic_pooling(32, *modes))
    ours = SentenceTransformer(path).encode(SENTENCES)
    assert ours.shape == (len(SENTENCES), 32 * len(modes))
    np.testing.assert_allclose(ours, reference_encode(path, SENTENCES), atol=TOL, rtol=0)


def test_newer_pooling_config_variant_loads(tiny_st_factory, tmp_path):
    import json
    import shutil

    from sbert import SentenceTransformer

    classic = tiny_st_factory(classic_pooling(32, "max"))
    newer = tmp_path / "newer"
    shutil.copytree(classic, newer)
    (newer / "1_Pooling" / "config.json").write_text(
        json.dumps({"embedding_dimension": 32, "pooling_mode": "max", "include_prompt": True})
    )
    np.testing.assert_allclose(
        SentenceTransformer(newer).encode(SENTENCES),
        SentenceTransformer(classic).encode(SENTENCES),
        atol=0,
        rtol=0,
    )


@pytest.mark.parametrize(
    "activation", ["torch.nn.modules.activation.Tanh", "torch.nn.modules.linear.Identity"]
)
def test_dense_and_normalize_match_sentence_transformers(tiny_st_factory, activation):
    from sbert import SentenceTransformer

    dense = {"in_features": 32, "out_features": 16, "bias": True, "activation_function": activation}
    path = tiny_st_factory(classic_pooling(32, "mean"), dense=dense, normalize=True)
    ours = SentenceTransformer(path).encode(SENTENCES)
    assert ours.shape == (len(SENTENCES), 16)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(ours, reference_encode(path, SENTENCES), atol=TOL, rtol=0)


def test_default_model_matches_sentence_transformers_and_transformers_recipe(
    default_model, default_model_path
):
    from transformers import AutoModel, AutoTokenizer

    ours = default_model.encode(SENTENCES)
    np.testing.assert_allclose(ours, reference_encode(default_model_path, SENTENCES), atol=TOL, rtol=0)

    tokenizer = AutoTokenizer.from_pretrained(default_model_path)
    model = AutoModel.from_pretrained(default_model_path).eval()
    encoded = tokenizer(SENTENCES, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        tokens = model(**encoded).last_hidden_state
    mask = encoded["attention_mask"].unsqueeze(-1).float()
    recipe = torch.nn.functional.normalize(
        (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=1
    ).numpy()
    np.testing.assert_allclose(ours, recipe, atol=TOL, rtol=0)


def test_default_model_similarities(default_model):
    texts = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    sims = default_model.similarity(*(default_model.encode(texts),) * 2)
    assert [round(float(sims[i, j]), 4) for i, j in ((0, 1), (0, 2), (1, 2))] == [0.6660, 0.1046, 0.1411]


def test_batching_and_order_do_not_change_embeddings(tiny_st_factory):
    from sbert import SentenceTransformer

    model = SentenceTransformer(tiny_st_factory(classic_pooling(32, "mean")))
    together = model.encode(SENTENCES, batch_size=3)
    one_by_one = np.stack([model.encode(s) for s in SENTENCES])
    np.testing.assert_allclose(together, one_by_one, atol=TOL, rtol=0)
    reversed_order = model.encode(SENTENCES[::-1], batch_size=2)[::-1]
    np.testing.assert_allclose(together, reversed_order, atol=TOL, rtol=0)


def test_single_string_gives_a_vector_and_empty_list_an_empty_matrix(default_model):
    assert default_model.encode("hello").shape == (384,)
    empty = default_model.encode([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_long_texts_are_truncated_at_max_seq_length(default_model):
    import sbert

    long_text = "word " * 1000
    (encoding,) = default_model.tokenizer.encode_texts([long_text])
    assert len(encoding.ids) == default_model.max_seq_length == 256
    # Truncation means extra words past the limit change nothing.
    np.testing.assert_allclose(
        default_model.encode(long_text), default_model.encode(long_text + " tail " * 50), atol=TOL, rtol=0
    )
    with pytest.warns(sbert.TruncationWarning, match="1 of 2 texts"):
        default_model.encode([long_text, "short"], warn_on_truncation=True)


@pytest.mark.parametrize("mode", POOLING_MODES)
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_numpy_pooling_equals_torch_pooling(mode, padding_side):
    from sbert import Pooling

    rng = np.random.default_rng(0)
    tokens = rng.normal(size=(4, 7, 8)).astype(np.float32)
    lengths = [7, 3, 1, 5]
    mask = np.zeros((4, 7), dtype=np.int64)
    for row, n in enumerate(lengths):
        if padding_side == "right":
            mask[row, :n] = 1
        else:
            mask[row, 7 - n :] = 1
    features = {"token_embeddings": torch.from_numpy(tokens), "attention_mask": torch.from_numpy(mask)}
    expected = Pooling(8, mode)(features)["sentence_embedding"].numpy()
    np.testing.assert_allclose(pool(tokens, mask, [mode]), expected, atol=1e-6, rtol=0)


def test_token_embeddings_drop_padding(default_model):
    tokens = default_model.token_embeddings(["a b c d e f", "hi"])
    assert tokens[0].shape == (8, 384) and tokens[1].shape == (3, 384)
    with torch.no_grad():
        features = default_model.tokenize(["hi"])
        direct = default_model[0](features)["token_embeddings"][0].numpy()
    np.testing.assert_allclose(tokens[1], direct, atol=TOL, rtol=0)


def test_encode_tensors_is_the_tensor_form_of_encode(default_model):
    vectors = default_model.encode_tensors(SENTENCES[:3])
    assert isinstance(vectors, torch.Tensor) and vectors.shape == (3, 384)
    np.testing.assert_allclose(vectors.numpy(), default_model.encode(SENTENCES[:3]), atol=0, rtol=0)


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("modes", [("mean",), ("cls", "max")])
def test_pooling_module_equals_sentence_transformers_on_a_features_dict(padding_side, modes):
    """The same features dict through sbert's and sentence-transformers' Pooling: the same embedding and
    attention mask handed on (the caller's, unchanged, with a prompt left out), and an encoder's own
    ``cls_token_embeddings`` used for CLS pooling."""
    from sentence_transformers.sentence_transformer.modules import Pooling as Reference

    from sbert import Pooling

    torch.manual_seed(0)
    tokens = torch.randn(3, 6, 4)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    if padding_side == "left":
        mask = mask.flip(1)
    for extra in ({"prompt_length": 2}, {"cls_token_embeddings": torch.randn(3, 4)}):
        given = mask.clone()
        ours = Pooling(4, list(modes), include_prompt=False)(
            {"token_embeddings": tokens, "attention_mask": given, **extra}
        )
        theirs = Reference(4, list(modes), include_prompt=False)(
            {"token_embeddings": tokens, "attention_mask": mask.clone(), **extra}
        )
        torch.testing.assert_close(ours["sentence_embedding"], theirs["sentence_embedding"])
        torch.testing.assert_close(ours["attention_mask"], theirs["attention_mask"])
        assert torch.equal(given, mask)  # the caller's mask is left as it was
