"""Saving and loading across sentence-transformers and sbert (found by the session-41 save/load fuzzer)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SENTENCES

TOL = 1e-5


@pytest.fixture(scope="module", params=["static", "static+dense"])
def pickled_static_folder(request, tiny_bert, tmp_path_factory):
    """A StaticEmbedding model (alone, or with a Dense) sentence-transformers saved with
    ``safe_serialization=False``: ``pytorch_model.bin`` in each module's folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Dense
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer

    torch.manual_seed(0)
    static = StaticEmbedding(Tokenizer.from_file(str(tiny_bert / "tokenizer.json")), embedding_dim=16)
    modules = [static, Dense(16, 8)] if request.param == "static+dense" else [static]
    model = SentenceTransformer(modules=modules, device="cpu")
    folder = tmp_path_factory.mktemp("pickled-static") / "model"
    model.save(str(folder), safe_serialization=False)
    assert (folder / "pytorch_model.bin").is_file() and not (folder / "model.safetensors").exists()
    return folder


def test_pickled_static_embedding_loads_with_allow_pickle(pickled_static_folder):
    from sentence_transformers import SentenceTransformer as Reference

    from sbert import SentenceTransformer

    reference = Reference(str(pickled_static_folder), device="cpu")
    ours = SentenceTransformer(pickled_static_folder, device="cpu", allow_pickle=True)
    np.testing.assert_allclose(ours.encode(SENTENCES), reference.encode(SENTENCES), atol=TOL, rtol=0)
    assert ours.get_embedding_dimension() == reference.get_embedding_dimension()


def test_pickled_static_embedding_needs_allow_pickle(pickled_static_folder):
    from sbert import ModelLoadError, SentenceTransformer

    with pytest.raises(ModelLoadError, match="allow_pickle=True"):
        SentenceTransformer(pickled_static_folder, device="cpu")
