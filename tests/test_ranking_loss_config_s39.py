"""``get_config_dict()`` of the MultipleNegativesRankingLoss family (plain, cached, the symmetric ones, the
sparse one) as sentence-transformers 6.3 gives it: every ranking option (directions, partition_mode,
hardness_mode, hardness_strength) always listed, in its order. sbert listed them only where they differed
from the defaults."""

from __future__ import annotations

import warnings

import pytest

ALL = ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc")
OPTIONS = [
    {},
    {"scale": 10.0, "directions": ["query_to_doc", "doc_to_query"]},  # a list: kept as a tuple there
    {"directions": ALL, "hardness_mode": "all_negatives", "hardness_strength": 0.5},
]
DENSE = ["MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"]
SYMMETRIC = ["MultipleNegativesSymmetricRankingLoss", "CachedMultipleNegativesSymmetricRankingLoss"]


def _assert_same_configs(make) -> None:
    """``make(library)``'s config on both libraries: the same keys in the same order, the same values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the symmetric losses' notice, on both
        theirs, ours = make("st"), make("sbert")
    assert list(ours) == list(theirs)
    assert ours == theirs


@pytest.mark.parametrize("options", OPTIONS, ids=["defaults", "both-directions", "hardness"])
@pytest.mark.parametrize("name", DENSE)
def test_dense_ranking_losses_list_every_option(dropout_free_st, name, options):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import losses as st

    import sbert
    from sbert.sentence_transformer import losses

    models = {
        "st": Reference(str(dropout_free_st), device="cpu"),
        "sbert": sbert.SentenceTransformer(dropout_free_st),
    }
    namespaces = {"st": st, "sbert": losses}
    _assert_same_configs(lambda lib: getattr(namespaces[lib], name)(models[lib], **options).get_config_dict())


@pytest.mark.parametrize("name", SYMMETRIC)
def test_symmetric_ranking_losses_list_every_option(dropout_free_st, name):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import losses as st

    import sbert
    from sbert.sentence_transformer import losses

    models = {
        "st": Reference(str(dropout_free_st), device="cpu"),
        "sbert": sbert.SentenceTransformer(dropout_free_st),
    }
    namespaces = {"st": st, "sbert": losses}
    _assert_same_configs(lambda lib: getattr(namespaces[lib], name)(models[lib]).get_config_dict())


@pytest.mark.parametrize("options", OPTIONS, ids=["defaults", "both-directions", "hardness"])
def test_sparse_ranking_loss_lists_every_option(masked_lm, options):
    from sentence_transformers.sparse_encoder import SparseEncoder as Reference
    from sentence_transformers.sparse_encoder import losses as st

    from sbert.sparse_encoder import SparseEncoder, losses

    models = {"st": Reference(str(masked_lm), device="cpu"), "sbert": SparseEncoder(str(masked_lm))}
    namespaces = {"st": st, "sbert": losses}
    _assert_same_configs(
        lambda lib: (
            namespaces[lib].SparseMultipleNegativesRankingLoss(models[lib], **options).get_config_dict()
        )
    )
