"""Small API points against sentence-transformers 6.3, side by side: what ``SimilarityFunction`` hands out
(the util functions themselves, whose names a loss's config and the model card print)."""

from __future__ import annotations

import numpy as np
import pytest

NAMES = ["cosine", "dot", "euclidean", "manhattan"]


@pytest.mark.parametrize("name", NAMES)
def test_similarity_functions_are_the_util_functions(name):
    import sentence_transformers
    from sentence_transformers import util as their_util

    from sbert import SimilarityFunction, util

    for method in ("to_similarity_fn", "to_similarity_pairwise_fn"):
        ours = getattr(SimilarityFunction, method)(name)
        theirs = getattr(sentence_transformers.SimilarityFunction, method)(name)
        assert ours.__name__ == theirs.__name__
        assert ours is getattr(util, ours.__name__)
        assert util.similarity_fct_name(ours) == their_util.similarity_fct_name(theirs)
        a = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
        np.testing.assert_allclose(ours(a, a[::-1].copy()).numpy(), theirs(a, a[::-1].copy()).numpy(), atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_a_models_similarity_is_named_by_its_function(default_model_path, name):
    """A loss's config names ``model.similarity`` by the function it resolves to, as in sentence-transformers."""
    import sentence_transformers
    from sentence_transformers import util as their_util

    from sbert import SentenceTransformer, util

    ours = SentenceTransformer(str(default_model_path), similarity_fn_name=name)
    theirs = sentence_transformers.SentenceTransformer(str(default_model_path), device="cpu")
    theirs.similarity_fn_name = name
    for method in ("similarity", "similarity_pairwise"):
        expected = their_util.similarity_fct_name(getattr(theirs, method))
        assert util.similarity_fct_name(getattr(ours, method)) == expected
