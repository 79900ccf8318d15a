"""sbert standing in for sentence-transformers (``sys.modules["sentence_transformers"] = sbert``, to run a
library that imports it itself): its deeper paths are sbert's modules, the same objects. Before, the import
system ran sbert's files a second time under the alias (a second ``CrossEncoder`` class,
``sentence_transformers.cross_encoder.CrossEncoder is sbert.CrossEncoder`` false)."""

from __future__ import annotations

import importlib
import sys

import pytest

import sbert

PATHS = {  # a path under the alias -> sbert's module of that path, and a name it holds
    "cross_encoder": "CrossEncoder",
    "util": "cos_sim",
    "models": "Transformer",
    "base.modality": "infer_modality",
    "sparse_encoder": "SparseEncoder",
    "quantization": "quantize_embeddings",
    "losses.CoSENTLoss": "CoSENTLoss",  # a class path
    "sentence_transformer.losses.cosent": "CoSENTLoss",  # a file path of version 6
}


def _reference_modules() -> dict:
    return {k: v for k, v in sys.modules.items() if k.partition(".")[0] == "sentence_transformers"}


@pytest.fixture
def sbert_as_sentence_transformers():
    """The alias in place of sentence-transformers' modules and its import hooks, as in a process that never
    imported it (all put back after: other tests compare against the real library)."""
    reference = _reference_modules()
    hooks = [f for f in sys.meta_path if type(f).__module__.startswith("sentence_transformers")]
    sys.meta_path[:] = [f for f in sys.meta_path if f not in hooks]
    for name in reference:
        del sys.modules[name]
    sys.modules["sentence_transformers"] = sbert
    try:
        yield
    finally:
        for name in _reference_modules():
            del sys.modules[name]
        sys.modules.update(reference)
        sys.meta_path[:0] = hooks  # first, where sentence-transformers puts them


@pytest.mark.parametrize(("path", "name"), PATHS.items())
def test_paths_under_the_alias_are_sberts_modules(sbert_as_sentence_transformers, path, name):
    own = importlib.import_module(f"sbert.{path}")
    spec = own.__spec__
    aliased = importlib.import_module(f"sentence_transformers.{path}")
    assert aliased is own and getattr(aliased, name) is getattr(own, name)
    assert (own.__name__, own.__spec__) == (f"sbert.{path}", spec)  # it keeps its own name and spec


def test_from_imports_give_sberts_classes(sbert_as_sentence_transformers):
    from sentence_transformers.cross_encoder import CrossEncoder
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from sentence_transformers.util import cos_sim

    assert (CrossEncoder, MultipleNegativesRankingLoss, cos_sim) == (
        sbert.CrossEncoder,
        sbert.losses.MultipleNegativesRankingLoss,
        sbert.util.cos_sim,
    )
    with pytest.raises(ModuleNotFoundError, match="sentence_transformers.no_such_module"):
        importlib.import_module("sentence_transformers.no_such_module")


def test_without_the_alias_sentence_transformers_is_its_own():
    from sentence_transformers.cross_encoder import CrossEncoder

    assert CrossEncoder is not sbert.CrossEncoder
    assert CrossEncoder.__module__.startswith("sentence_transformers")


def test_module_classes_register_nothing_under_the_alias(sbert_as_sentence_transformers):
    """sbert's module classes count as sentence-transformers' namesakes once it is imported
    (tests/test_st_registration_s45.py); under the alias those namesakes are sbert's own classes, which a
    module made then leaves as they are (no class registered with another of sbert's)."""
    import abc

    from sbert import _st_registration as registration
    from sbert.models import Dense, Module, Normalize, Pooling, Transformer

    class Probe(Module):  # a class of sbert's not yet registered (those of the library may be by now)
        forward = save = None

    Probe.__module__ = "sbert._probe"
    registration.count_module_as_sentence_transformers(Probe)
    kinds = (Dense, Module, Normalize, Pooling, Transformer)
    before = [len(abc._get_dump(kind)[0]) for kind in kinds]
    Dense(4, 2)
    assert [len(abc._get_dump(kind)[0]) for kind in kinds] == before
    assert Probe in registration._PENDING_MODULES  # kept for the real library, once it is imported
    registration._PENDING_MODULES.discard(Probe)
