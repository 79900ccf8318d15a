"""sbert.util against sentence_transformers.util on input kinds a differential fuzz found apart
(/tmp/s44/utilfuzz/fuzz.py): bfloat16 tensors in the searches and quantization, and
truncate_embeddings' plain slice."""

from __future__ import annotations

import numpy as np
import pytest
import sentence_transformers.util as st_util  # a test dependency: if missing, fail, do not skip
import torch

from sbert import util


def _bf16(rows: int, width: int, seed: int) -> torch.Tensor:
    # values on the bfloat16 grid spread apart, so half-precision rounding cannot reorder the top hits
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.standard_normal((rows, width)), dtype=torch.bfloat16)


def _same_hits(ours: list, theirs: list) -> None:
    assert [[h["corpus_id"] for h in q] for q in ours] == [[h["corpus_id"] for h in q] for q in theirs]
    for q_ours, q_theirs in zip(ours, theirs):
        for a, b in zip(q_ours, q_theirs):
            assert a["score"] == pytest.approx(b["score"], abs=1e-2)


def test_semantic_search_takes_bfloat16_tensors():
    queries, corpus = _bf16(3, 16, 0), _bf16(12, 16, 1)
    ours = util.semantic_search(queries, corpus, top_k=3)
    _same_hits(ours, st_util.semantic_search(queries, corpus, top_k=3))


def test_paraphrase_mining_and_communities_take_bfloat16_tensors():
    corpus = _bf16(12, 16, 2)
    ours = util.paraphrase_mining_embeddings(corpus, top_k=2)
    theirs = st_util.paraphrase_mining_embeddings(corpus, top_k=2)
    assert [p[1:] for p in ours[:5]] == [p[1:] for p in theirs[:5]]
    assert ours[0][0] == pytest.approx(theirs[0][0], abs=1e-2)
    clustered = torch.cat([corpus[:1].repeat(3, 1), corpus[1:2].repeat(2, 1)])
    assert util.community_detection(clustered, threshold=0.9, min_community_size=2) == (
        st_util.community_detection(clustered, threshold=0.9, min_community_size=2)
    )


@pytest.mark.parametrize("precision", ["float32", "int8", "uint8", "binary", "ubinary"])
def test_quantize_embeddings_takes_bfloat16_tensors(precision):
    embeddings, calibration = _bf16(20, 16, 3), _bf16(200, 16, 4).float().numpy()
    ours = util.quantize_embeddings(embeddings, precision, calibration_embeddings=calibration)
    theirs = st_util.quantize_embeddings(embeddings, precision, calibration_embeddings=calibration)
    assert type(ours) is type(theirs) and ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("dim", [0, -2])
@pytest.mark.parametrize("kind", ["numpy", "tensor"])
def test_truncate_embeddings_slices_as_sentence_transformers(dim, kind):
    embeddings = np.arange(12, dtype=np.float32).reshape(2, 6)
    embeddings = torch.from_numpy(embeddings) if kind == "tensor" else embeddings
    ours, theirs = util.truncate_embeddings(embeddings, dim), st_util.truncate_embeddings(embeddings, dim)
    assert type(ours) is type(theirs) and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
