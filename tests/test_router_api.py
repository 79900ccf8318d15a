"""sentence-transformers' Router API beyond encoding a saved model: routes of different widths, the older
``{"query": text}`` inputs, ``modality=``, ``preprocess`` / ``forward`` with a task, the class attributes
and import paths, custom modules in a route. Each is checked against sentence-transformers itself."""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest
import torch
from conftest import SENTENCES, build_tiny_bert
from torch import nn

import sbert
from sbert import InputError, SentenceTransformer

TOL = 1e-5
QUERIES = ["what is the weather today", "a cat on a mat"]


def st_modules():
    from sentence_transformers.sentence_transformer import modules

    return modules


def reference(path, **kwargs):
    from sentence_transformers import SentenceTransformer as ReferenceModel

    return ReferenceModel(str(path), device="cpu", **kwargs)


def assert_close(ours, ref):
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    np.testing.assert_allclose(ours, ref, atol=TOL, rtol=0)


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("router-api-bert") / "a", seed=0)


@pytest.fixture(scope="module")
def two_widths(bert, tmp_path_factory):
    """Router(query: BERT + mean + Dense 32->16, document: BERT + cls), saved by sentence-transformers."""
    from sentence_transformers import SentenceTransformer as ReferenceModel

    m = st_modules()
    torch.manual_seed(0)
    router = m.Router.for_query_document(
        query_modules=[m.Transformer(str(bert)), m.Pooling(32, "mean"), m.Dense(32, 16)],
        document_modules=[m.Transformer(str(bert)), m.Pooling(32, "cls")],
    )
    folder = tmp_path_factory.mktemp("router-two-widths") / "model"
    ReferenceModel(modules=[router], device="cpu").save(str(folder))
    return folder


@pytest.fixture(scope="module")
def asymmetric(bert, tmp_path_factory):
    """Router(query: BERT + mean, document: BERT + cls), default route "query", saved by
    sentence-transformers."""
    from sentence_transformers import SentenceTransformer as ReferenceModel

    m = st_modules()
    router = m.Router(
        {
            "query": [m.Transformer(str(bert)), m.Pooling(32, "mean")],
            "document": [m.Transformer(str(bert)), m.Pooling(32, "cls")],
        }
    )
    folder = tmp_path_factory.mktemp("router-asym") / "model"
    ReferenceModel(modules=[router], device="cpu").save(str(folder))
    return folder


def _loaded(path):
    with pytest.warns(UserWarning, match=r"different widths \{'query': 16, 'document': 32\}"):
        return SentenceTransformer(path, device="cpu")


def test_routes_of_different_widths_load_encode_and_round_trip_as_sentence_transformers(two_widths, tmp_path):
    """sentence-transformers allows routes of different widths (its dimension is the first route's); sbert
    warns of them, and encodes, reports and saves them as it does."""
    model, ref = _loaded(two_widths), reference(two_widths)
    assert model.get_embedding_dimension() == ref.get_embedding_dimension() == 16
    assert_close(model.encode_query(SENTENCES), ref.encode_query(SENTENCES))
    assert_close(model.encode_document(SENTENCES), ref.encode_document(SENTENCES))
    assert_close(model.encode(SENTENCES), ref.encode(SENTENCES))
    model.save(str(tmp_path / "ours"))
    again = reference(tmp_path / "ours")
    assert_close(again.encode_document(SENTENCES), ref.encode_document(SENTENCES))
    assert_close(_loaded(tmp_path / "ours").encode_query(SENTENCES), ref.encode_query(SENTENCES))


def test_older_task_dicts_pick_the_route_as_sentence_transformers(asymmetric):
    """``[{"query": text}, ...]`` (Asym's input) encodes down the key's route; mixed keys are refused."""
    model, ref = SentenceTransformer(asymmetric, device="cpu"), reference(asymmetric)
    for task in ("query", "document"):
        items = [{task: text} for text in SENTENCES]
        assert_close(model.encode(items), ref.encode(items))
        assert_close(model.encode(items), model.encode(SENTENCES, task=task))
        assert_close(model.encode({task: SENTENCES[0]}), ref.encode({task: SENTENCES[0]}))
    mixed = [{"document": "a"}, {"query": "b"}]
    with pytest.raises(ValueError) as theirs:
        ref.encode(mixed)
    with pytest.raises(InputError, match=re.escape(str(theirs.value).split(". ")[0])):
        model.encode(mixed)
    features = model[0].preprocess([{"query": t} for t in QUERIES])
    assert features["task"] == "query"


def test_modality_text_is_accepted_and_routes_as_sentence_transformers(bert, tmp_path):
    """encode(..., modality="text") with a (None, "text") mapping; other modalities are an InputError."""

    def routed(m):
        return m.Router(
            {
                "q": [m.Transformer(str(bert)), m.Pooling(32, "mean")],
                "t": [m.Transformer(str(bert)), m.Pooling(32, "cls")],
            },
            route_mappings={("query", "text"): "q", (None, "text"): "t"},
            allow_empty_key=False,
        )

    from sentence_transformers import SentenceTransformer as ReferenceModel

    ours = SentenceTransformer(modules=[routed(sbert.models)], device="cpu")
    ref = ReferenceModel(modules=[routed(st_modules())], device="cpu")
    for task in ("query", "document", None):
        assert_close(
            ours.encode(QUERIES, task=task, modality="text"), ref.encode(QUERIES, task=task, modality="text")
        )
    with pytest.raises(InputError, match="modality='image'.*texts only"):
        ours.encode(QUERIES, task="query", modality="image")


def test_preprocess_and_forward_carry_the_task_as_sentence_transformers(asymmetric):
    model, ref = SentenceTransformer(asymmetric, device="cpu"), reference(asymmetric)
    for task in ("query", "document"):
        ours, theirs = model.preprocess(QUERIES, task=task), ref.preprocess(QUERIES, task=task)
        assert (ours["task"], ours["modality"]) == (theirs["task"], theirs["modality"]) == (task, "text")
        assert torch.equal(ours["input_ids"], theirs["input_ids"])
        with torch.no_grad():
            assert_close(model(ours)["sentence_embedding"], ref(theirs)["sentence_embedding"])
    # a task given to forward wins over the features' own, as there
    features = model.preprocess(QUERIES, task="document")
    with torch.no_grad():
        got = model(features, task="query")["sentence_embedding"]
        theirs = ref(ref.preprocess(QUERIES, task="document"), task="query")["sentence_embedding"]
    assert_close(got, theirs)
    assert_close(got, model.encode_query(QUERIES))
    with pytest.raises(ValueError) as theirs:
        ref[0].preprocess(QUERIES, task="passage")
    with pytest.raises(InputError, match=re.escape(str(theirs.value))):
        model[0].preprocess(QUERIES, task="passage")


def test_class_attributes_and_import_paths_are_sentence_transformers(asymmetric):
    from sentence_transformers.base.modules import Router as TheirRouter

    ours = sbert.models.Router
    assert ours.config_keys == TheirRouter.config_keys
    assert ours.config_file_name == TheirRouter.config_file_name == "router_config.json"
    assert ours.forward_kwargs == TheirRouter.forward_kwargs
    assert issubclass(ours, sbert.models.InputModule)
    asym = importlib.import_module("sbert.models.Asym")
    assert asym.Asym is asym.Router is ours is sbert.models.Asym
    model = SentenceTransformer(asymmetric, device="cpu")
    assert model[0].get_config_dict() == reference(asymmetric)[0].get_config_dict()


class _Negate(nn.Module):
    """A custom module that knows no width (neither library can say what it outputs)."""

    def forward(self, features):
        return {**features, "sentence_embedding": -features["sentence_embedding"]}


class _Width(nn.Module):
    def forward(self, features):
        return features

    def get_embedding_dimension(self):
        return 768


def test_custom_modules_in_a_middle_router_encode_as_sentence_transformers(bert):
    """A Router after the encoder whose routes are custom modules of unknown width: the model's width is
    the modules' before it, and each route runs as there."""
    from sentence_transformers import SentenceTransformer as ReferenceModel

    def built(m):
        router = m.Router({"query": [_Negate()], "document": [_Negate(), _Negate()]})
        return [m.Transformer(str(bert)), m.Pooling(32, "mean"), router, m.Normalize()]

    ours = SentenceTransformer(modules=built(sbert.models), device="cpu")
    ref = ReferenceModel(modules=built(st_modules()), device="cpu")
    assert ours.get_embedding_dimension() == ref.get_embedding_dimension() == 32
    for call in ("encode_query", "encode_document", "encode"):
        assert_close(getattr(ours, call)(SENTENCES), getattr(ref, call)(SENTENCES))
    assert_close(ours.encode_query(SENTENCES), -ours.encode_document(SENTENCES))
    # a custom module's get_embedding_dimension (sentence-transformers 6's name) counts, as there
    assert sbert.models.Router({"r": [_Negate(), _Width()]}).get_embedding_dimension() == 768
    assert st_modules().Router({"r": [_Negate(), _Width()]}).get_embedding_dimension() == 768


def test_every_route_of_an_input_router_must_read_texts(bert):
    """A route that starts with a Pooling cannot read texts: refused when the model is built (it used to be
    found only by the first encode of that route)."""
    router = sbert.models.Router(
        {"query": [sbert.Transformer(str(bert)), sbert.Pooling(32)], "document": [sbert.Pooling(32)]}
    )
    with pytest.raises(InputError, match=r"Pooling cannot be the first module \(of a route of the Router\)"):
        SentenceTransformer(modules=[router], device="cpu")
    assert sbert.models.Router({"r": [sbert.Pooling(32)]}).tokenizer is None  # as sentence-transformers'
    with pytest.warns(UserWarning, match="No modules have a max_seq_length attribute to set"):
        sbert.models.Router({"r": [sbert.Pooling(32)]}).max_seq_length = 64


class _Invert(sbert.models.Module):
    """A custom module with sentence-transformers 5's save/load API (so both libraries load it)."""

    def forward(self, features, **kwargs):
        return {**features, "sentence_embedding": -features["sentence_embedding"]}

    def save(self, output_path, *args, safe_serialization=True, **kwargs):
        self.save_config(output_path)


def test_custom_modules_in_a_route_save_and_load_in_both_libraries(bert, tmp_path):
    """A Router after the encoder with custom modules in its routes saves (sentence-transformers saves it
    too); the folder loads, with trust_remote_code=True only, in sbert and in sentence-transformers."""
    from sbert import ModelLoadError

    router = sbert.models.Router({"query": [_Invert()], "document": [_Invert(), _Invert()]})
    model = SentenceTransformer(
        modules=[sbert.Transformer(str(bert)), sbert.Pooling(32, "mean"), router, sbert.models.Normalize()],
        device="cpu",
    )
    model.save(str(tmp_path / "model"))
    with pytest.raises(ModelLoadError, match="trust_remote_code=True"):
        SentenceTransformer(tmp_path / "model", device="cpu")
    ours = SentenceTransformer(tmp_path / "model", device="cpu", trust_remote_code=True)
    ref = reference(tmp_path / "model", trust_remote_code=True)
    for call in ("encode_query", "encode_document"):
        assert_close(getattr(ours, call)(SENTENCES), getattr(model, call)(SENTENCES))
        assert_close(getattr(ref, call)(SENTENCES), getattr(model, call)(SENTENCES))
    assert_close(ours.encode_query(SENTENCES), -ours.encode_document(SENTENCES))
