"""Every module class sentence-transformers 6.3 exports subclasses its ``Module`` (the first module of a
pipeline its ``InputModule``) and inherits its surface: the class attributes (``save_in_root``,
``config_file_name``, ``config_key_renames``, ``forward_kwargs``), the file helpers (``load_config``,
``save_config``, ``load_file_path``, ...), ``save(path, safe_serialization=True)`` and the input modules'
``preprocess(inputs, prompt=...)``. Code that finds modules by ``isinstance`` or calls these finds the same in
sbert; each compared with sentence-transformers'."""

from __future__ import annotations

import importlib
import json

import pytest
import torch

NAMESPACES = (
    "base.modules",
    "sentence_transformer.modules",
    "sparse_encoder.modules",
    "multi_vector_encoder.modules",
    "cross_encoder.modules",
)
ATTRIBUTES = ("save_in_root", "config_file_name", "config_key_renames", "forward_kwargs")
HELPERS = ("load_config", "save_config", "load_file_path", "load_dir_path", "load_torch_weights")
SKIPPED = {"CLIPModel"}  # image modality: out of sbert's scope


def _pairs():
    seen = set()
    for namespace in NAMESPACES:
        theirs = importlib.import_module(f"sentence_transformers.{namespace}")
        for name in theirs.__all__:
            if name not in seen and name not in SKIPPED:
                seen.add(name)
                yield pytest.param(namespace, name, id=name)


@pytest.mark.parametrize(("namespace", "name"), list(_pairs()))
def test_module_classes_share_sentence_transformers_bases_and_attributes(namespace, name):
    import sentence_transformers.base.modules as st_base

    import sbert.base.modules as our_base

    theirs = getattr(importlib.import_module(f"sentence_transformers.{namespace}"), name)
    ours = getattr(importlib.import_module(f"sbert.{namespace}"), name)
    for base in ("Module", "InputModule"):
        assert issubclass(ours, getattr(our_base, base)) == issubclass(theirs, getattr(st_base, base)), base
    for attribute in ATTRIBUTES:
        expected = getattr(theirs, attribute)
        assert getattr(ours, attribute) == expected, attribute
    for helper in HELPERS:
        assert callable(getattr(ours, helper)), helper
    assert list(getattr(ours, "config_keys", ())) == list(theirs.config_keys), "config_keys"


def test_save_takes_safe_serialization_and_load_config_renames_older_keys(tmp_path):
    from sentence_transformers.sentence_transformer import modules as st_modules

    import sbert.models as ours

    for library, folder in ((st_modules, tmp_path / "theirs"), (ours, tmp_path / "ours")):
        folder.mkdir()
        library.Pooling(8, "mean").save(str(folder), safe_serialization=True)
        library.Normalize().save(str(folder), safe_serialization=True)
    older = {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True}
    (tmp_path / "older.json").write_text(json.dumps(older))
    expected = st_modules.Pooling.load_config(str(tmp_path), config_filename="older.json")
    assert ours.Pooling.load_config(str(tmp_path), config_filename="older.json") == expected
    assert ours.Pooling.load_config(str(tmp_path / "ours")) == st_modules.Pooling.load_config(
        str(tmp_path / "theirs")
    )
    assert ours.Pooling.load_file_path(str(tmp_path), "older.json") == str(tmp_path / "older.json")


def test_input_module_preprocess_puts_the_prompt_first_as_there():
    from sentence_transformers.sentence_transformer.modules import WordWeights  # noqa: F401 (loads ST)

    import sbert.models as ours

    bow = ours.BoW(vocab=["a", "b"], word_weights={"a": 1.0})
    with torch.no_grad():
        prompted = bow(bow.preprocess(["b"], prompt="a "))["sentence_embedding"]
        plain = bow(bow.preprocess(["a b"]))["sentence_embedding"]
    torch.testing.assert_close(prompted, plain)


def test_on_model_ready_resolves_a_mask_skiplist_through_a_router_as_there(tiny_bert):
    from types import SimpleNamespace

    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask as TheirMask
    from transformers import AutoTokenizer

    import sbert.models as ours
    from sbert.multi_vector_encoder.modules import MultiVectorMask

    model = SimpleNamespace(tokenizer=AutoTokenizer.from_pretrained(str(tiny_bert)))
    words = [word for word in list(model.tokenizer.get_vocab())[-5:] if word.isalpha()][:2]
    ids = torch.tensor([model.tokenizer.convert_tokens_to_ids(words) + [0, 1]])
    features = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    theirs, mask = TheirMask(skiplist_words=words), MultiVectorMask(skiplist_words=words)
    theirs.on_model_ready(model)
    router = ours.Router.for_query_document([ours.Normalize()], [mask])
    router.on_model_ready(model)  # each route's modules get the hook
    expected = theirs(dict(features), task="document")["attention_mask"]
    assert expected.sum() == 2
    assert torch.equal(mask(dict(features), task="document")["attention_mask"].bool(), expected.bool())


def test_transformer_config_keys_as_sentence_transformers(default_model_path):
    """The Transformer's ``config_keys``: sentence-transformers 6.3's eight settings, on the class and an
    instance, in the dense and sparse namespaces (MLMTransformer too); its ``get_config_dict`` stays the
    settings that are set, as there."""
    import sentence_transformers.base.modules as st_base
    import sentence_transformers.sparse_encoder.modules as st_sparse

    import sbert.models
    import sbert.sparse_encoder.models as sparse

    expected = list(st_base.Transformer.config_keys)
    assert len(expected) == 8
    for ours in (sbert.models.Transformer, sparse.Transformer, sparse.MLMTransformer):
        assert ours.config_keys == expected, ours
    assert st_sparse.MLMTransformer.config_keys == expected
    module, theirs = (
        sbert.models.Transformer(str(default_model_path)),
        st_base.Transformer(str(default_model_path)),
    )
    assert module.config_keys == theirs.config_keys
    assert module.get_config_dict() == theirs.get_config_dict()
    assert all(getattr(module, key) == getattr(theirs, key) for key in expected)
