"""Every loss class of sentence-transformers 6.3's ``losses`` namespaces (sentence_transformer,
sparse_encoder, cross_encoder) built the same way in both libraries on tiny offline models: the same
``citation`` (the BibTeX string, or none where sentence-transformers' loss has none), the same
``get_config_dict()`` (keys in order, values), and every public attribute of sentence-transformers' instance
(its ``vars``, submodules and properties) present on sbert's with an equal value: a function by name (a
lambda by its values on random embeddings), a module by type and parameter shapes, a tensor by shape and
dtype, a model by class name, a tokenizer by its ids of a text, anything else by type and value."""

from __future__ import annotations

import importlib
import inspect
import warnings

import pytest
import torch

FAMILIES = {
    "dense": ("sentence_transformers.sentence_transformer.losses", "sbert.sentence_transformer.losses"),
    "sparse": ("sentence_transformers.sparse_encoder.losses", "sbert.sparse_encoder.losses"),
    "cross": ("sentence_transformers.cross_encoder.losses", "sbert.cross_encoder.losses"),
}
# the constructor options beyond the model, by class name (losses that wrap another, take a guide, ...)
OPTIONS = {
    "SoftmaxLoss": lambda lib, model: {"sentence_embedding_dimension": 32, "num_labels": 3},
    "MatryoshkaLoss": lambda lib, model: {
        "loss": lib.MultipleNegativesRankingLoss(model),
        "matryoshka_dims": [32, 16],
    },
    "Matryoshka2dLoss": lambda lib, model: {
        "loss": lib.MultipleNegativesRankingLoss(model),
        "matryoshka_dims": [32, 16],
    },
    "AdaptiveLayerLoss": lambda lib, model: {"loss": lib.MultipleNegativesRankingLoss(model)},
    "GISTEmbedLoss": lambda lib, model: {"guide": model},
    "CachedGISTEmbedLoss": lambda lib, model: {"guide": model},
    "SpladeLoss": lambda lib, model: {
        "loss": lib.SparseMultipleNegativesRankingLoss(model),
        "document_regularizer_weight": 3e-5,
        "query_regularizer_weight": 5e-5,
    },
    "CachedSpladeLoss": lambda lib, model: {
        "loss": lib.SparseMultipleNegativesRankingLoss(model),
        "document_regularizer_weight": 3e-5,
        "query_regularizer_weight": 5e-5,
    },
}
MODULE_NAMES = set(dir(torch.nn.Module()))
# attributes sbert does not have yet, by case (none now: the cached ranking losses hold their
# MultipleNegativesRankingLoss as ``loss``, as sentence-transformers')
NOT_YET: dict[tuple[str, str], set[str]] = {}


def _loss_classes(family: str) -> list[str]:
    """sentence-transformers' loss classes of ``family`` (the cross-encoder's weighting schemes left out)."""
    from sentence_transformers.cross_encoder.losses import PListMLELambdaWeight
    from sentence_transformers.cross_encoder.losses.lambda_loss import BaseWeightingScheme

    namespace = importlib.import_module(FAMILIES[family][0])
    classes = {name: getattr(namespace, name) for name in namespace.__all__}
    return sorted(
        name
        for name, kind in classes.items()
        if isinstance(kind, type)
        and issubclass(kind, torch.nn.Module)
        and not issubclass(kind, (BaseWeightingScheme, PListMLELambdaWeight))
    )


CASES = [(family, name) for family in FAMILIES for name in _loss_classes(family)]


@pytest.fixture(scope="module")
def models(dropout_free_st, masked_lm, tmp_path_factory):
    import sentence_transformers as st
    from conftest import build_tiny_classifier

    import sbert

    classifier = build_tiny_classifier(tmp_path_factory.mktemp("surface") / "ce")
    return {
        "dense": (
            st.SentenceTransformer(str(dropout_free_st), device="cpu"),
            sbert.SentenceTransformer(dropout_free_st),
        ),
        "sparse": (st.SparseEncoder(str(masked_lm), device="cpu"), sbert.SparseEncoder(masked_lm)),
        "cross": (st.CrossEncoder(str(classifier), device="cpu"), sbert.CrossEncoder(classifier)),
    }


def build_pair(models, family: str, name: str):
    """sentence-transformers' and sbert's loss ``name`` of ``family``, built with the same options."""
    built = []
    for index, path in enumerate(FAMILIES[family]):
        namespace, model = importlib.import_module(path), models[family][index]
        options = OPTIONS.get(name, lambda lib, model: {})(namespace, model)
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # deprecation notices (the symmetric losses, renamed options), on both
            built.append(getattr(namespace, name)(model, **options))
    return built


def public_attributes(loss) -> dict:
    """``loss``'s public attributes: instance values, submodules, parameters, buffers and properties (methods,
    torch.nn.Module's own attributes and the model left out)."""
    names = {name for name in vars(loss) if not name.startswith("_")}
    for table in ("_modules", "_parameters", "_buffers"):
        names |= {name for name in vars(loss).get(table, {}) if not name.startswith("_")}
    for klass in type(loss).__mro__:
        names |= {name for name, value in vars(klass).items() if isinstance(value, property)}
    names = {name for name in names if not name.startswith("_")} - MODULE_NAMES - {"model", "citation"}
    return {name: getattr(loss, name) for name in sorted(names) if not inspect.ismethod(getattr(loss, name))}


def comparable(value):
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), value.dtype)
    if type(value).__name__.endswith(("Tokenizer", "TokenizerFast")):
        return ("tokenizer", list(value("A man plays guitar.")["input_ids"]))
    if not isinstance(value, str) and (hasattr(value, "encode") or hasattr(value, "predict")):
        return ("model", type(value).__name__)  # a GIST guide, a wrapped loss's model
    if isinstance(value, torch.nn.Module):
        return ("module", type(value).__name__, [tuple(p.shape) for p in value.parameters()])
    if (
        inspect.isfunction(value)
        or inspect.isbuiltin(value)
        or callable(value)
        and not isinstance(value, type)
    ):
        return ("function", getattr(value, "__name__", type(value).__name__))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [comparable(each) for each in value])
    if isinstance(value, dict):
        return ("dict", {key: comparable(each) for key, each in value.items()})
    return (type(value).__name__, value)


def same_function_values(theirs, ours) -> bool:
    """A lambda (sentence-transformers' distance metrics): the same values on random embeddings."""
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 8, generator=generator), torch.randn(4, 8, generator=generator)
    return callable(ours) and torch.allclose(theirs(a, b), ours(a, b), atol=1e-6)


@pytest.mark.parametrize(("family", "name"), CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_loss_cites_what_sentence_transformers_cites(models, family, name):
    theirs, ours = build_pair(models, family, name)
    assert getattr(ours, "citation", None) == getattr(theirs, "citation", None)


@pytest.mark.parametrize(("family", "name"), CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_loss_config_is_sentence_transformers(models, family, name):
    theirs, ours = build_pair(models, family, name)
    if not hasattr(theirs, "get_config_dict"):  # torch's CrossEntropyLoss there
        return
    reference, config = theirs.get_config_dict(), ours.get_config_dict()
    assert list(config) == list(reference)
    for key, value in reference.items():
        if isinstance(value, str) and value.startswith("sentence_transformers."):
            # a class of the library itself, by its full path: sbert's class of that name
            assert config[key].rpartition(".")[2] == value.rpartition(".")[2], key
        else:
            assert comparable(config[key]) == comparable(value), key


@pytest.mark.parametrize(("family", "name"), CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_loss_has_the_public_attributes_of_sentence_transformers(models, family, name):
    theirs, ours = build_pair(models, family, name)
    reference = public_attributes(theirs)
    for attribute in NOT_YET.get((family, name), ()):
        assert not hasattr(ours, attribute), f"{attribute} is there now: take it out of NOT_YET"
        del reference[attribute]
    missing = sorted(attribute for attribute in reference if not hasattr(ours, attribute))
    assert not missing, f"{name} lacks {missing}"
    different = {}
    for attribute, value in reference.items():
        mine = getattr(ours, attribute)
        if getattr(value, "__name__", None) == "<lambda>":
            if not same_function_values(value, mine):
                different[attribute] = (value, mine)
        elif comparable(mine) != comparable(value):
            different[attribute] = (comparable(value), comparable(mine))
    assert not different, different
