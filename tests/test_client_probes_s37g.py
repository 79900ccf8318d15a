"""Calls of llama-stack's inline ``sentence_transformers`` provider (``SentenceTransformer(model,
trust_remote_code=...)`` loaded and ``encode(input_list, show_progress_bar=False)`` run through
``asyncio.to_thread``, rows packed with ``struct.pack(f"{len(e)}f", *e)`` or ``e.tolist()``), of crewai's
sentence-transformer embedder (chromadb's ``SentenceTransformerEmbeddingFunction``:
``SentenceTransformer(model_name_or_path=..., device=..., **kwargs)`` then ``encode(list(input),
convert_to_numpy=True, normalize_embeddings=...)``, each row cast with ``np.array(row, dtype=np.float32)``)
and of embedding-atlas (``SentenceTransformer(name, trust_remote_code=False, **embedder_args)`` then
``encode(batch, show_progress_bar=False, batch_size=len(batch))``), written out here without the libraries
and compared with sentence-transformers on the same folder."""

from __future__ import annotations

import asyncio
import base64
import struct

import numpy as np
import pytest
from conftest import classic_pooling

import sbert

TEXTS = ["a cat sat on the mat", "x", "", "the river runs " * 40]


@pytest.fixture(scope="module")
def folder(tiny_st_factory):
    return str(tiny_st_factory(classic_pooling(32, "mean")))


def _both(folder, **options):
    import sentence_transformers as st

    return [lib.SentenceTransformer(folder, **options) for lib in (st, sbert)]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"truncate_dim": 16},
        {"prompts": {"query": "query: "}, "default_prompt_name": "query"},
        {"similarity_fn_name": "dot", "config_kwargs": {"hidden_dropout_prob": 0.0}},
        {"processor_kwargs": {"model_max_length": 8}},
    ],
)
@pytest.mark.parametrize("normalize", [False, True])
def test_chromadb_embedding_function_rows_as_sentence_transformers(folder, options, normalize):
    import sentence_transformers as st

    rows = []
    for lib in (st, sbert):
        model = lib.SentenceTransformer(model_name_or_path=folder, device="cpu", **options)
        embeddings = model.encode(list(TEXTS), convert_to_numpy=True, normalize_embeddings=normalize)
        rows.append([np.array(row, dtype=np.float32) for row in embeddings])
    theirs, ours = rows
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs):
        assert mine.dtype == reference.dtype and mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, atol=1e-5)


def test_llama_stack_threaded_load_and_concurrent_encodes_as_sentence_transformers(folder):
    """llama-stack loads the model and runs each request's encode in worker threads, several at once;
    embedding-atlas sizes the batch to the whole input. Per-call options must not leak between calls."""
    import sentence_transformers as st

    options = [{}, {"truncate_dim": 8}, {"normalize_embeddings": True}]
    jobs = [(TEXTS[: 1 + i % 4], options[i % 3]) for i in range(12)]

    async def replay(lib):
        model = await asyncio.to_thread(lib.SentenceTransformer, folder, trust_remote_code=False)
        calls = [
            asyncio.to_thread(model.encode, texts, show_progress_bar=False, batch_size=len(texts), **o)
            for texts, o in jobs
        ]
        return await asyncio.gather(*calls)

    theirs, ours = asyncio.run(replay(st)), asyncio.run(replay(sbert))
    for mine, reference in zip(ours, theirs):
        assert type(mine) is np.ndarray and mine.dtype == reference.dtype and mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, atol=1e-5)
        packed = [base64.b64decode(base64.b64encode(struct.pack(f"{len(e)}f", *e))) for e in mine]
        assert [np.frombuffer(p, dtype=np.float32).tolist() for p in packed] == [e.tolist() for e in mine]
        assert all(type(v) is float for v in mine[0].tolist())


def test_embedding_atlas_batch_size_of_an_empty_batch_is_refused_as_sentence_transformers(folder):
    for model in _both(folder, trust_remote_code=False):
        with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
            model.encode([], show_progress_bar=False, batch_size=0)
