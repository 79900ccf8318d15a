"""mine_hard_negatives against sentence-transformers' on what a side-by-side fuzzer found (session 45):
use_faiss=True with a model whose similarity is not an inner product."""

from __future__ import annotations

import pytest
from test_mining import CORPUS, PAIRS, assert_same_dataset

from sbert.util import mine_hard_negatives


@pytest.mark.parametrize(
    "similarity, options",
    [
        ("euclidean", {"output_scores": True}),
        ("manhattan", {"output_format": "labeled-pair", "output_scores": True, "range_max": 6}),
        ("euclidean", {"output_format": "n-tuple", "min_score": 0.2, "output_scores": True}),
    ],
)
def test_faiss_ranks_and_scores_by_inner_product_as_st(default_model, st_default_model, similarity, options):
    # sentence-transformers' faiss index is an inner-product one whatever the model's similarity, so its
    # candidates and their scores are inner products; sbert refused the model with an InputError
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives as reference

    kwargs = {"corpus": CORPUS, "use_faiss": True, "verbose": False, **options}
    default_model.similarity_fn_name = st_default_model.similarity_fn_name = similarity
    try:
        expected = reference(Dataset.from_dict(PAIRS), st_default_model, **kwargs)
        mine = mine_hard_negatives(Dataset.from_dict(PAIRS), default_model, **kwargs)
    finally:
        default_model.similarity_fn_name = st_default_model.similarity_fn_name = "cosine"
    assert len(expected) > 0
    assert mine.column_names == expected.column_names
    assert_same_dataset(mine.to_dict(), expected.to_dict())
