"""A model's modules keep their names, as in sentence-transformers 6.3, whose model is an ``nn.Sequential``:
``add_module("norm2", ...)`` names a child "norm2" (in the repr, ``named_children``, ``model.norm2``, saved
as modules.json's ``"name"`` and read back on load), and the other edits change names as there."""

import json
import re
import warnings

import numpy as np
import pytest
import sentence_transformers as st
from conftest import build_tiny_bert, build_tiny_classifier, classic_pooling, write_st_folder

import sbert

CLASSES = {
    "st": "SentenceTransformer",
    "sparse": "SparseEncoder",
    "mv": "MultiVectorEncoder",
    "ce": "CrossEncoder",
}


@pytest.fixture(scope="module")
def folders(masked_lm, tmp_path_factory):
    root = tmp_path_factory.mktemp("names")
    bert = build_tiny_bert(root / "bert")
    mv = root / "mv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st.MultiVectorEncoder(str(bert), device="cpu").save(str(mv))
    return {
        "st": write_st_folder(bert, root / "st", classic_pooling(32, "mean")),
        "sparse": masked_lm,
        "mv": mv,
        "ce": build_tiny_classifier(root / "ce"),
    }


def load(package, kind, folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(package, CLASSES[kind])(str(folder), device="cpu")


def pair(kind, folder):
    return load(sbert, kind, folder), load(st, kind, folder)


def extra(package, kind):
    """A module either library accepts at the end of a ``kind`` pipeline."""
    if kind == "mv":
        return package.models.Normalize("token_embeddings")
    return package.models.Normalize()


def names(model):
    """The child names the model shows: named_children, _modules, and the repr's ``(name):`` lines."""
    shown = re.findall(r"^  \(([^)]*)\): ", repr(model), flags=re.M)
    children = [name for name, _ in model.named_children()]
    assert shown == children == list(model._modules), (shown, children, list(model._modules))
    return children


def outcome(model, edit):
    """The names after ``edit`` of ``model``, or the kind of error it raises."""
    try:
        edit(model)
    except Exception as e:
        return type(e).__name__
    return names(model)


@pytest.mark.parametrize("kind", list(CLASSES))
def test_add_module_names_a_module_as_sentence_transformers(folders, kind, tmp_path):
    ours, reference = pair(kind, folders[kind])
    assert names(ours) == names(reference)
    for model, package in ((ours, sbert), (reference, st)):
        model.add_module("norm2", extra(package, kind))
    assert names(ours) == names(reference) == [*names(reference)[:-1], "norm2"]
    assert type(ours.norm2).__name__ == type(reference.norm2).__name__ == "Normalize"
    assert ours.norm2 is ours[-1] and hasattr(ours, "norm2")
    assert not hasattr(ours, "norm3") and not hasattr(reference, "norm3")
    with pytest.raises(AttributeError):
        ours.norm3  # noqa: B018
    for model, side in ((ours, "ours"), (reference, "theirs")):
        model.save(str(tmp_path / side))
    saved = {
        side: [(e["name"], e["path"]) for e in json.loads((tmp_path / side / "modules.json").read_text())]
        for side in ("ours", "theirs")
    }
    assert saved["ours"] == saved["theirs"] and saved["ours"][-1][0] == "norm2"
    for side in ("ours", "theirs"):  # each library's save, loaded by both
        mine, theirs = pair(kind, tmp_path / side)
        assert names(mine) == names(theirs) == names(reference), side
        assert type(mine.norm2).__name__ == "Normalize"


EDITS = {
    "append": lambda model, module: model.append(module),
    "insert_end": lambda model, module: model.insert(len(model), module),
    "insert_middle": lambda model, module: model.insert(1, module),
    "setitem_named": lambda model, module: model.__setitem__(-1, module),
    "delitem_before_named": lambda model, module: model.__delitem__(1),
    "del_named": lambda model, module: model.__delitem__(-1),
    "pop_named": lambda model, module: model.pop(-1),
    "replace_by_name": lambda model, module: model.add_module("norm2", module),
    "existing_attribute": lambda model, module: model.add_module("encode", module),
    "dotted_name": lambda model, module: model.add_module("a.b", module),
}


@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("kind", ["st", "sparse"])
def test_edits_after_a_named_module_change_names_as_sentence_transformers(folders, kind, edit):
    ours, reference = pair(kind, folders[kind])
    for model, package in ((ours, sbert), (reference, st)):
        model.add_module("norm2", extra(package, kind))
    got = outcome(ours, lambda model: EDITS[edit](model, extra(sbert, kind)))
    expected = outcome(reference, lambda model: EDITS[edit](model, extra(st, kind)))
    assert got == expected


def test_positional_models_are_unchanged(folders, tmp_path):
    """A model whose modules are named by position keeps saving and showing positions."""
    ours, reference = pair("st", folders["st"])
    for model, package in ((ours, sbert), (reference, st)):
        model.append(package.models.Normalize())
        del model[1]
        model.insert(1, package.models.Pooling(32, "max"))
    assert names(ours) == names(reference) == ["0", "1", "2"]
    ours.save(str(tmp_path))
    entries = json.loads((tmp_path / "modules.json").read_text())
    assert [e["name"] for e in entries] == ["0", "1", "2"]
    np.testing.assert_allclose(ours.encode(["a cat"]), reference.encode(["a cat"]), atol=1e-5, rtol=0)


def test_modules_given_as_an_ordered_dict_keep_their_names(folders, tmp_path):
    """``SentenceTransformer(modules=OrderedDict(...))`` names the modules by the keys, as ``nn.Sequential``
    takes an OrderedDict there; the names are saved and the embeddings are the same."""
    from collections import OrderedDict

    import sentence_transformers.sentence_transformer.modules as st_models

    import sbert.models as sbert_models

    results = []
    for package, models in ((sbert, sbert_models), (st, st_models)):
        bert = models.Transformer(str(folders["st"]))
        named = OrderedDict([("enc", bert), ("pool", models.Pooling(32)), ("norm", models.Normalize())])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = package.SentenceTransformer(modules=named, device="cpu")
        model.save(str(tmp_path / package.__name__))
        saved = json.loads((tmp_path / package.__name__ / "modules.json").read_text())
        names = [name for name, _ in model.named_children()]
        saved_names = [entry["name"] for entry in saved]
        results.append((names, saved_names, type(model.pool).__name__, model.encode(["a text"])))
    (ours, theirs) = results
    assert ours[:3] == theirs[:3] and ours[0] == ["enc", "pool", "norm"]
    np.testing.assert_allclose(ours[3], theirs[3], atol=1e-5)


@pytest.mark.parametrize("kind", ["sparse", "mv"])
def test_sparse_and_multi_vector_modules_given_as_an_ordered_dict_keep_their_names(folders, kind):
    from collections import OrderedDict

    results = []
    for package in (sbert, st):
        if kind == "sparse":
            modules = package.sparse_encoder.modules
            parts = [
                ("mlm", modules.MLMTransformer(str(folders["sparse"]))),
                ("splade", modules.SpladePooling("max")),
            ]
        else:
            parts = [
                (str(name), module) for name, module in load(package, "mv", folders["mv"]).named_children()
            ]
            parts = [(f"part{i}", module) for i, (_, module) in enumerate(parts)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = getattr(package, CLASSES[kind])(modules=OrderedDict(parts), device="cpu")
        results.append([name for name, _ in model.named_children()])
    assert results[0] == results[1] == [name for name, _ in parts]
