"""Found by the session-41 differential fuzzer of sbert's default backend ("auto") against
sentence-transformers 6.3: ``encode(output_value="token_embeddings")`` gives the token embeddings the whole
pipeline leaves, as sentence-transformers' encode does; a module between the Transformer and the Pooling that
rewrites them (a Dense or a Normalize on ``token_embeddings``, a CNN) changes what is returned."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert

import sbert

TEXTS = ["the cat sat on the mat", "", "a man plays guitar loudly today", "a"]
ATOL = 1e-5


def _token_modules(kind: str, models, width: int) -> tuple[list, int]:
    """The modules between the Transformer and the Pooling, and the width they give."""
    if kind == "dense":
        return [models.Dense(width, 10, module_input_name="token_embeddings")], 10
    if kind == "normalize":
        return [models.Normalize(module_input_name="token_embeddings")], width
    if kind == "cnn":
        return [models.CNN(width, out_channels=8, kernel_sizes=[1, 3])], 16
    return [], width  # nothing in between: the Transformer's own token embeddings


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("auto-s41") / "bert")


@pytest.mark.parametrize("kind", ["dense", "normalize", "cnn", "none"])
@pytest.mark.parametrize("prompt", [None, "query: "])
def test_token_embeddings_output_is_the_pipelines_as_in_sentence_transformers(kind, prompt, bert, tmp_path):
    import sentence_transformers as st
    from sentence_transformers.sentence_transformer import modules as models

    torch.manual_seed(0)
    transformer = models.Transformer(str(bert), max_seq_length=12)
    middle, width = _token_modules(kind, models, transformer.get_embedding_dimension())
    modules = [transformer, *middle, models.Pooling(width, pooling_mode="mean")]
    st.SentenceTransformer(modules=modules, device="cpu").save(str(tmp_path / "m"))

    reference = st.SentenceTransformer(str(tmp_path / "m"), device="cpu")
    model = sbert.SentenceTransformer(str(tmp_path / "m"), device="cpu")  # the default backend
    for batch_size in (1, 3):
        options = {"output_value": "token_embeddings", "prompt": prompt, "batch_size": batch_size}
        expected, ours = reference.encode(TEXTS, **options), model.encode(TEXTS, **options)
        assert len(ours) == len(expected)
        for got, want in zip(ours, expected):
            np.testing.assert_allclose(np.asarray(got), want.numpy(), atol=ATOL, rtol=0)
    # the sentence embeddings still agree
    np.testing.assert_allclose(model.encode(TEXTS), reference.encode(TEXTS), atol=ATOL, rtol=0)
