"""The public attributes of sbert's loss instances against sentence-transformers 6.3's: every attribute that
holds a value there (not a method) exists on sbert's loss of the same name and options, with the same value
and type (a tuple stays a tuple); a function compares by name (``model`` and the cached losses' wrapped
``loss`` left out). Code written for sentence-transformers reads them (``loss.directions``,
``loss.temperature``)."""

from __future__ import annotations

import inspect
import warnings

import pytest
import torch

ALL = ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc")
RANKING_OPTIONS = [
    {},
    {"scale": 10.0, "directions": ["query_to_doc", "doc_to_query"], "partition_mode": "per_direction"},
    {"directions": ALL, "hardness_mode": "all_negatives", "hardness_strength": 0.5},
]
DENSE = ["MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"]
SYMMETRIC = ["MultipleNegativesSymmetricRankingLoss", "CachedMultipleNegativesSymmetricRankingLoss"]
MODULE_NAMES = set(dir(torch.nn.Module()))


def _value_attributes(loss) -> dict:
    """``loss``'s public attributes beyond torch.nn.Module's that hold a value (methods left out)."""
    values = {}
    for name in dir(loss):
        # model: a different class by design; loss: the cached losses' wrapped MultipleNegativesRankingLoss
        # there (sbert's compute the ranking themselves)
        if name.startswith("_") or name in MODULE_NAMES or name in ("model", "loss"):
            continue
        value = getattr(loss, name)
        if inspect.ismethod(value):
            continue
        values[name] = value
    return values


def _comparable(value):
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return ("function", value.__name__)
    if isinstance(value, torch.nn.Module):
        return ("module", type(value).__name__)
    return (type(value), value)


def assert_same_attributes(theirs, ours) -> None:
    reference = _value_attributes(theirs)
    missing = sorted(set(reference) - set(dir(ours)))
    assert not missing, f"{type(ours).__name__} lacks {missing}"
    different = {
        name: (_comparable(value), _comparable(getattr(ours, name)))
        for name, value in reference.items()
        if _comparable(value) != _comparable(getattr(ours, name))
    }
    assert not different, different


@pytest.fixture(scope="module")
def dense_models(dropout_free_st):
    from sentence_transformers import SentenceTransformer as Reference

    import sbert

    return {
        "st": Reference(str(dropout_free_st), device="cpu"),
        "sbert": sbert.SentenceTransformer(dropout_free_st),
    }


def _pair(dense_models, name, **options):
    from sentence_transformers.sentence_transformer import losses as st

    from sbert.sentence_transformer import losses

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the symmetric losses' notice, on both
        return (
            getattr(st, name)(dense_models["st"], **options),
            getattr(losses, name)(dense_models["sbert"], **options),
        )


@pytest.mark.parametrize("options", RANKING_OPTIONS, ids=["defaults", "symmetric", "all-hardness"])
@pytest.mark.parametrize("name", DENSE)
def test_ranking_losses_have_the_attributes_of_sentence_transformers(dense_models, name, options):
    assert_same_attributes(*_pair(dense_models, name, **options))


@pytest.mark.parametrize("options", [{}, {"scale": 10.0}], ids=["defaults", "scale"])
@pytest.mark.parametrize("name", SYMMETRIC)
def test_symmetric_ranking_losses_have_the_attributes_of_sentence_transformers(dense_models, name, options):
    assert_same_attributes(*_pair(dense_models, name, **options))


@pytest.mark.parametrize("name", DENSE + SYMMETRIC)
def test_a_ranking_loss_given_dot_score_names_it(dense_models, name):
    from sentence_transformers import util as st_util

    from sbert import util

    theirs, _ = _pair(dense_models, name, similarity_fct=st_util.dot_score)
    _, ours = _pair(dense_models, name, similarity_fct=util.dot_score)
    assert_same_attributes(theirs, ours)


@pytest.mark.parametrize("name", DENSE + SYMMETRIC)
def test_ranking_options_set_after_construction_count_as_there(dense_models, name):
    """Setting ``similarity_fct``, ``directions`` or the hardness on a built loss: the same attributes and
    config as sentence-transformers' loss given the same assignments."""
    from sentence_transformers import util as st_util

    from sbert import util

    theirs, ours = _pair(dense_models, name)
    for loss, functions in ((theirs, st_util), (ours, util)):
        loss.similarity_fct = functions.dot_score
        loss.directions = ("query_to_doc", "query_to_query")
        loss.partition_mode = "joint"
        loss.hardness_mode, loss.hardness_strength = "in_batch_negatives", 2.0
    assert_same_attributes(theirs, ours)
    assert ours.get_config_dict() == theirs.get_config_dict()


@pytest.mark.parametrize(
    "options", [{}, {"margin": 0.1, "contrast_anchors": False}], ids=["defaults", "options"]
)
@pytest.mark.parametrize("name", ["GISTEmbedLoss", "CachedGISTEmbedLoss"])
def test_gist_configs_list_the_guide_model_in_sentence_transformers_order(dense_models, name, options):
    """``get_config_dict()``: the same keys in the same order and the same values; under "guide" the guide
    model itself, as there (sentence-transformers' card prints its repr)."""
    from sentence_transformers.sentence_transformer import losses as st

    from sbert.sentence_transformer import losses

    if name.startswith("Cached"):
        options = {**options, "mini_batch_size": 4}
    theirs = getattr(st, name)(dense_models["st"], guide=dense_models["st"], **options).get_config_dict()
    ours = getattr(losses, name)(
        dense_models["sbert"], guide=dense_models["sbert"], **options
    ).get_config_dict()
    assert list(ours) == list(theirs)
    assert theirs.pop("guide") is dense_models["st"]
    assert ours.pop("guide") is dense_models["sbert"]
    assert ours == theirs
