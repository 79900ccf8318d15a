"""Keywords of ``encode`` and ``forward`` that reach the modules, as in sentence-transformers: a module's
``forward_kwargs`` and a modules.json entry's ``"kwargs"`` (how models such as jina-embeddings-v3 route
``task`` to their encoder) are listed by ``get_model_kwargs``, handed to that module only, and saved back."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest

import sbert

TEXTS = ["a man plays guitar", "the weather is lovely today", "cats sit"]

# A user's module, once against each library's base class: scales the sentence embedding by ``scale``
# (a forward keyword) and, where the modules.json entry lists ``shift``, adds it.
SOURCE = """
import torch
from {package}.base.modules import Module


class Scale(Module):
    config_keys = []
    {forward_kwargs}

    def forward(self, features, scale=1.0, shift=0.0, **kwargs):
        features["sentence_embedding"] = features["sentence_embedding"] * scale + shift
        return features

    def save(self, output_path, *args, **kwargs) -> None:
        self.save_config(output_path)

    @classmethod
    def load(cls, model_name_or_path, subfolder="", **kwargs):
        return cls()
"""


@pytest.fixture
def scale_classes(tmp_path, monkeypatch):
    """The module as sbert's and sentence-transformers' subclass, with and without ``forward_kwargs``."""
    for package, name in (("sbert", "ours_scale"), ("sentence_transformers", "theirs_scale")):
        for listed, suffix in (('forward_kwargs = {"scale"}', ""), ("", "_unlisted")):
            text = SOURCE.format(package=package, forward_kwargs=listed)
            (tmp_path / f"{name}{suffix}.py").write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    names = ["ours_scale", "theirs_scale", "ours_scale_unlisted", "theirs_scale_unlisted"]
    for name in names:
        sys.modules.pop(name, None)
    yield {name: __import__(name).Scale for name in names}
    for name in names:
        sys.modules.pop(name, None)


def pair(tiny_bert, ours_module, theirs_module):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import modules as st_models

    ours = sbert.SentenceTransformer(
        modules=[sbert.models.Transformer(str(tiny_bert)), sbert.models.Pooling(32), ours_module]
    )
    theirs = Reference(
        modules=[st_models.Transformer(str(tiny_bert)), st_models.Pooling(32), theirs_module], device="cpu"
    )
    return ours, theirs


def test_forward_kwargs_reach_the_module_as_in_sentence_transformers(tiny_bert, scale_classes):
    ours, theirs = pair(tiny_bert, scale_classes["ours_scale"](), scale_classes["theirs_scale"]())
    assert ours.get_model_kwargs() == theirs.get_model_kwargs() == ["scale"]
    for options in ({}, {"scale": 2.5}, {"scale": -1.0, "normalize_embeddings": True}):
        expected = theirs.encode(TEXTS, **options)
        np.testing.assert_allclose(ours.encode(TEXTS, **options), expected, atol=1e-5, rtol=0)
    assert not np.allclose(ours.encode(TEXTS, scale=2.5), ours.encode(TEXTS))

    features = ours.tokenize(TEXTS)
    reference = theirs.preprocess(TEXTS)
    import torch

    with torch.no_grad():
        ours_out = ours.forward(features, scale=3.0)["sentence_embedding"]
        theirs_out = theirs.forward(reference, scale=3.0)["sentence_embedding"]
    np.testing.assert_allclose(ours_out.numpy(), theirs_out.numpy(), atol=1e-5, rtol=0)


def test_a_keyword_no_module_takes_is_refused_in_sentence_transformers_words(tiny_bert, scale_classes):
    ours, theirs = pair(tiny_bert, scale_classes["ours_scale"](), scale_classes["theirs_scale"]())
    with pytest.raises(ValueError) as expected:
        theirs.encode(TEXTS, shift=1.0)
    with pytest.raises(ValueError) as got:
        ours.encode(TEXTS, shift=1.0)
    assert str(got.value) == str(expected.value)
    with pytest.raises(sbert.InputError, match="scale"):
        ours.encode(TEXTS, scale=2.0, output_value="token_embeddings")


def test_modules_json_kwargs_load_run_and_save_as_in_sentence_transformers(
    tiny_bert, scale_classes, tmp_path
):
    from sentence_transformers import SentenceTransformer as Reference

    _, theirs = pair(tiny_bert, None, scale_classes["theirs_scale_unlisted"]())
    theirs.save(str(tmp_path / "theirs"))
    # the entry of the module lists "shift"; the class lists nothing (a hub model's modules.json does this)
    for name, module in (("ours", "ours_scale_unlisted"), ("theirs", "theirs_scale_unlisted")):
        folder = tmp_path / name
        if name == "ours":
            folder.mkdir()
            for item in (tmp_path / "theirs").iterdir():
                target = folder / item.name
                if item.is_dir():
                    import shutil

                    shutil.copytree(item, target)
                else:
                    target.write_bytes(item.read_bytes())
        entries = json.loads((folder / "modules.json").read_text())
        entries[2]["type"] = f"{module}.Scale"
        entries[2]["kwargs"] = ["shift"]
        (folder / "modules.json").write_text(json.dumps(entries))

    theirs = Reference(str(tmp_path / "theirs"), trust_remote_code=True, device="cpu")
    ours = sbert.SentenceTransformer(str(tmp_path / "ours"), trust_remote_code=True)
    assert ours.get_model_kwargs() == theirs.get_model_kwargs() == ["shift"]
    for options in ({}, {"shift": 0.5}):
        expected = theirs.encode(TEXTS, **options)
        np.testing.assert_allclose(ours.encode(TEXTS, **options), expected, atol=1e-5, rtol=0)
    assert not np.allclose(ours.encode(TEXTS, shift=0.5), ours.encode(TEXTS))

    ours.save(tmp_path / "ours_saved")
    theirs.save(str(tmp_path / "theirs_saved"))
    saved = json.loads((tmp_path / "ours_saved" / "modules.json").read_text())
    reference = json.loads((tmp_path / "theirs_saved" / "modules.json").read_text())
    assert [e.get("kwargs") for e in saved] == [e.get("kwargs") for e in reference] == [None, None, ["shift"]]
    again = sbert.SentenceTransformer(str(tmp_path / "ours_saved"), trust_remote_code=True)
    assert again.get_model_kwargs() == ["shift"]


def test_modules_json_kwargs_must_be_a_list_of_names(default_model_path, tmp_path):
    import shutil

    folder = shutil.copytree(default_model_path, tmp_path / "model")
    entries = json.loads((folder / "modules.json").read_text())
    entries[1]["kwargs"] = "task"
    (folder / "modules.json").write_text(json.dumps(entries))
    with pytest.raises(sbert.ModelLoadError, match="'kwargs' 'task'; it must be a list of names"):
        sbert.SentenceTransformer(str(folder), backend="torch")


def test_keywords_given_to_sbert_modules_are_taken_as_sentence_transformers_modules_take_them(
    default_model_path, st_default_model
):
    ours = sbert.SentenceTransformer(str(default_model_path))
    for model in (ours, st_default_model):
        model[0].forward_kwargs = {"foo", "output_attentions"}
        model[1].forward_kwargs = {"bar"}
    try:
        assert sorted(ours.get_model_kwargs()) == sorted(st_default_model.get_model_kwargs())
        options = {"foo": True, "bar": False, "output_attentions": True}
        expected = st_default_model.encode(TEXTS, **options)
        np.testing.assert_allclose(ours.encode(TEXTS, **options), expected, atol=1e-5, rtol=0)
        np.testing.assert_allclose(ours.encode(TEXTS), expected, atol=1e-5, rtol=0)
    finally:
        del st_default_model[0].forward_kwargs, st_default_model[1].forward_kwargs


def test_entry_kwargs_of_a_route_module_stay_with_the_model_they_were_loaded_in(tiny_st_factory, tmp_path):
    """A folder whose Transformer entry lists ``extra``: get_model_kwargs lists it on any backend, as
    sentence-transformers'; a Router built from that model's modules hands its routes their forward_kwargs
    only, so ``extra`` is neither listed nor taken there (the modules.json kwargs were the first model's)."""
    import shutil

    from conftest import classic_pooling
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.modules import Router as ReferenceRouter

    folder = shutil.copytree(tiny_st_factory(classic_pooling(32, "mean")), tmp_path / "model")
    entries = json.loads((folder / "modules.json").read_text())
    entries[0]["kwargs"] = ["extra"]
    (folder / "modules.json").write_text(json.dumps(entries))
    theirs = Reference(str(folder), device="cpu")
    assert sbert.SentenceTransformer(str(folder)).get_model_kwargs() == theirs.get_model_kwargs() == ["extra"]
    ours = sbert.SentenceTransformer(str(folder), backend="torch")
    assert ours.get_model_kwargs() == ["extra"]

    routed = []
    for model, router, library in ((theirs, ReferenceRouter, Reference), (ours, sbert.models.Router, None)):
        modules = [router.for_query_document([model[0], model[1]], [model[0], model[1]])]
        routed.append(
            library(modules=modules, device="cpu") if library else sbert.SentenceTransformer(modules=modules)
        )
    theirs_routed, ours_routed = routed
    assert (
        sorted(ours_routed.get_model_kwargs())
        == sorted(theirs_routed.get_model_kwargs())
        == ["modality", "task"]
    )
    with pytest.raises(ValueError) as expected:
        theirs_routed.encode(TEXTS, task="query", extra=1)
    with pytest.raises(ValueError) as got:
        ours_routed.encode(TEXTS, task="query", extra=1)
    # (sentence-transformers lists the valid keywords from a set, in no fixed order)
    assert str(got.value).split("are: ")[0] == str(expected.value).split("are: ")[0]
    np.testing.assert_allclose(
        ours_routed.encode(TEXTS, task="query"), theirs_routed.encode(TEXTS, task="query"), atol=1e-5, rtol=0
    )
