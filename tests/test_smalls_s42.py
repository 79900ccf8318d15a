"""Five small differences from sentence-transformers 6.3, each compared with it on the same tiny folder:
``del model[i]`` (slices too) leaves the pipeline as ``nn.Sequential`` does (encode then refuses, an
InputError naming why); a module named ``_x`` is reachable as ``model._x``; a CrossEncoder shows the module
names its modules.json gives before torch loads; a user's first module's ``tokenize`` / ``preprocess`` result
comes back as that module gave it; an out-of-range token type id on ONNX is torch's ``IndexError``."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import warnings

import numpy as np
import pytest
import sentence_transformers as st
import torch
from conftest import build_tiny_classifier, classic_pooling, write_st_folder

import sbert

TEXTS = ["The weather is lovely today.", "a dog runs"]


@pytest.fixture(scope="module")
def folder(tiny_bert, tmp_path_factory):
    root = tmp_path_factory.mktemp("smalls")
    return write_st_folder(tiny_bert, root / "st", classic_pooling(32, "mean"), normalize=True)


def shown(model):
    """What a model shows of its pipeline: len, named_children's names and the repr."""
    return len(model), [name for name, _ in model.named_children()], repr(model)


@contextlib.contextmanager
def quiet():
    """Both libraries' deprecation and conversion notices silenced (tokenize, a CrossEncoder's load)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


DELETIONS = {
    "first": lambda model: model.__delitem__(0),
    "last": lambda model: model.__delitem__(-1),
    "tail": lambda model: model.__delitem__(slice(1, None)),
    "all": lambda model: model.__delitem__(slice(None)),
    "every_other": lambda model: model.__delitem__(slice(None, None, 2)),
    "pop_first": lambda model: model.pop(0),
}


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("deletion", list(DELETIONS))
def test_deleting_modules_leaves_the_pipeline_as_sentence_transformers(folder, deletion, backend):
    ours = sbert.SentenceTransformer(str(folder), device="cpu", backend=backend)
    theirs = st.SentenceTransformer(str(folder), device="cpu")
    DELETIONS[deletion](ours)
    DELETIONS[deletion](theirs)
    assert shown(ours) == shown(theirs)
    try:
        expected = theirs.encode(TEXTS)
    except Exception:  # sentence-transformers crashes on a pipeline without an input module, so does sbert
        with pytest.raises((sbert.InputError, IndexError, KeyError)):
            ours.encode(TEXTS)
    else:
        np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-5, rtol=0)


def test_a_deleted_input_module_put_back_encodes_as_sentence_transformers(folder):
    ours = sbert.SentenceTransformer(str(folder), device="cpu")
    theirs = st.SentenceTransformer(str(folder), device="cpu")
    for model in (ours, theirs):
        first = model[0]
        del model[0]
        model.insert(0, first)
    assert shown(ours) == shown(theirs)
    np.testing.assert_allclose(ours.encode(TEXTS), theirs.encode(TEXTS), atol=1e-5, rtol=0)
    first = ours.pop(0)
    with pytest.raises(sbert.InputError, match="Pooling cannot be the first module"):
        ours.encode(TEXTS)  # sentence-transformers: AttributeError, 'Pooling' object has no 'tokenize'
    ours.insert(0, first)
    np.testing.assert_allclose(ours.encode(TEXTS), theirs.encode(TEXTS), atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_a_module_named_with_an_underscore_is_an_attribute_as_in_sentence_transformers(
    folder, backend, tmp_path
):
    ours = sbert.SentenceTransformer(str(folder), device="cpu", backend=backend)
    theirs = st.SentenceTransformer(str(folder), device="cpu")
    ours.add_module("_extra", sbert.models.Normalize())
    theirs.add_module("_extra", st.models.Normalize())
    assert type(ours._extra).__name__ == type(theirs._extra).__name__ == "Normalize"
    assert ours._extra is ours[-1]
    renamed = shutil.copytree(folder, tmp_path / "renamed")
    entries = json.loads((renamed / "modules.json").read_text())
    entries[1]["name"] = "_pool"
    (renamed / "modules.json").write_text(json.dumps(entries))
    ours = sbert.SentenceTransformer(str(renamed), device="cpu", backend=backend)
    theirs = st.SentenceTransformer(str(renamed), device="cpu")
    assert type(ours._pool).__name__ == type(theirs._pool).__name__ == "Pooling"
    for model in (ours, theirs):
        assert getattr(model, "_no_such_module", None) is None
        with pytest.raises(AttributeError):
            model._missing  # noqa: B018


@pytest.mark.parametrize("backend", ["auto", "onnx", "torch"])
def test_a_cross_encoder_shows_its_saved_module_names_as_sentence_transformers(backend, tmp_path):
    saved = tmp_path / "ce"
    with quiet():
        st.CrossEncoder(str(build_tiny_classifier(tmp_path / "plain")), device="cpu").save(str(saved))
    entries = json.loads((saved / "modules.json").read_text())
    entries[0]["name"] = "encoder"
    (saved / "modules.json").write_text(json.dumps(entries))
    with quiet():
        ours = sbert.CrossEncoder(str(saved), device="cpu", backend=backend)
        theirs = st.CrossEncoder(str(saved), device="cpu")
        again = st.CrossEncoder(str(_saved_again(ours, tmp_path)), device="cpu")
    names = re.findall(r"^  \(([^)]*)\): ", repr(ours), flags=re.M)
    assert names == re.findall(r"^  \(([^)]*)\): ", repr(theirs), flags=re.M) == ["encoder"]
    assert type(ours.encoder).__name__ == type(theirs.encoder).__name__ == "Transformer"
    assert shown(ours)[:2] == shown(theirs)[:2]
    assert [name for name, _ in again.named_children()] == ["encoder"]  # sbert's save, as it showed them
    pairs = [("a", "b")]
    np.testing.assert_allclose(again.predict(pairs), theirs.predict(pairs), atol=1e-5, rtol=0)


def _saved_again(model, tmp_path):
    model.save(str(tmp_path / "again"))
    return tmp_path / "again"


def _input_module_class(package, method):
    """A user's input module whose ``tokenize`` or ``preprocess`` returns a plain dict of its own."""
    base = __import__(f"{package.__name__}.base.modules", fromlist=["InputModule"]).InputModule

    def features(self, inputs, *args, **kwargs):
        return {"input_ids": torch.tensor([[len(t) % 7 + 1] for t in inputs]), "mine": True}

    def forward(self, features, **kwargs):
        count = features["input_ids"].shape[0]
        return {**features, "token_embeddings": features["input_ids"].float().expand(count, 4)[:, None, :],
                "attention_mask": torch.ones(count, 1)}  # fmt: skip

    methods = {"config_keys": [], method: features, "forward": forward, "save": lambda self, *a, **k: None,
               "get_embedding_dimension": lambda self: 4}  # fmt: skip
    return type(f"Own{method.title()}", (base,), methods)


def _pooling(package):
    if package is sbert:
        return sbert.models.Pooling(4)
    from sentence_transformers.sentence_transformer.modules import Pooling

    return Pooling(4)


@pytest.mark.parametrize("method", ["tokenize", "preprocess"])
def test_a_users_input_modules_features_come_back_as_it_gave_them(method):
    found = []
    for package in (sbert, st):
        module = _input_module_class(package, method)()
        with quiet():
            model = package.SentenceTransformer(modules=[module, _pooling(package)], device="cpu")
            results = [model.tokenize(TEXTS), model.preprocess(TEXTS)]
        found.append([(type(r).__name__, list(r)) for r in results] + [model.encode(TEXTS).tolist()])
    assert found[0] == found[1]
    assert found[0][0] == ("dict", ["input_ids", "mine"])


def test_the_stock_transformers_features_stay_a_batch_encoding(folder):
    ours = sbert.SentenceTransformer(str(folder), device="cpu")
    theirs = st.SentenceTransformer(str(folder), device="cpu")
    for call in (
        lambda m: m.tokenize(TEXTS),
        lambda m: m.preprocess(TEXTS),
        lambda m: m[0].tokenize(TEXTS),
        lambda m: m[0].preprocess(TEXTS),
    ):
        with quiet():
            a, b = call(ours), call(theirs)
        assert (type(a).__name__, list(a)) == (type(b).__name__, list(b))


@pytest.mark.parametrize("kind", ["SparseEncoder", "MultiVectorEncoder"])
def test_an_out_of_range_token_type_id_on_onnx_is_an_index_error_as_in_sentence_transformers(
    kind, masked_lm, tiny_bert, tmp_path
):
    saved = tmp_path / kind
    source = masked_lm if kind == "SparseEncoder" else tiny_bert
    errors = []
    with quiet():
        getattr(st, kind)(str(source), device="cpu").save(str(saved))
        models = (
            getattr(sbert, kind)(str(saved), device="cpu", backend="onnx"),
            getattr(st, kind)(str(saved), device="cpu"),
        )
    for model in models:
        with quiet():
            features = dict(model.tokenize(TEXTS))
        ids = features["input_ids"]
        features["token_type_ids"] = ids * 0 + 2  # BERT has two token types
        with pytest.raises(IndexError) as raised:
            model(features)
        errors.append(str(raised.value))
    assert errors[0].startswith(errors[1]) and errors[1] == "index out of range in self"
