"""``paraphrase_mining_embeddings(top_k=0)`` gives no pairs, as sentence-transformers 6.3 (an InputError
before); a negative ``top_k`` stays an InputError naming it (README's intended differences)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sentence_transformers import util as reference

from sbert import util
from sbert._errors import InputError


def _embeddings():
    return np.random.default_rng(0).standard_normal((12, 8)).astype(np.float32)


def test_top_k_zero_gives_no_pairs():
    embeddings = _embeddings()
    expected = reference.paraphrase_mining_embeddings(torch.from_numpy(embeddings), top_k=0)
    assert util.paraphrase_mining_embeddings(embeddings, top_k=0) == expected


def test_positive_top_k_unchanged():
    embeddings = _embeddings()
    expected = reference.paraphrase_mining_embeddings(torch.from_numpy(embeddings), top_k=2)
    ours = util.paraphrase_mining_embeddings(embeddings, top_k=2)
    assert [pair[1:] for pair in ours] == [pair[1:] for pair in expected]
    np.testing.assert_allclose([p[0] for p in ours], [p[0] for p in expected], atol=1e-6)


@pytest.mark.parametrize("top_k", [-1, True, 1.5])
def test_other_top_k_values_are_refused(top_k):
    with pytest.raises(InputError, match="top_k"):
        util.paraphrase_mining_embeddings(_embeddings(), top_k=top_k)
