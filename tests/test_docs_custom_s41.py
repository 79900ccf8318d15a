"""Snippets of sentence-transformers' "Creating Custom Models" page (sbert.net), run on sbert and on
sentence-transformers 6.3: a custom module that lacks one of the base class's abstract methods is refused in
both, with the same error."""

from __future__ import annotations

import importlib

import pytest
from conftest import classic_pooling


def _subclass(package: str, base: str, **methods):
    """A user's module subclassing the library's ``base.modules.<base>`` with only ``methods`` defined."""
    models = importlib.import_module(f"{package}.base.modules")
    return type("HalfDoneModule", (getattr(models, base),), {"config_keys": [], **methods})


def _forward(self, features, **kwargs):
    return features


def _save(self, output_path, *args, safe_serialization=True, **kwargs):
    self.save_config(output_path)


def _tokenize(self, texts, **kwargs):
    return {}


@pytest.mark.parametrize(
    ("base", "methods"),
    [
        ("Module", {"forward": _forward}),  # no save
        ("Module", {"save": _save}),  # no forward
        ("Module", {}),
        ("InputModule", {"forward": _forward, "tokenize": _tokenize}),  # no save
    ],
)
def test_a_module_without_an_abstract_method_is_a_type_error_as_in_sentence_transformers(base, methods):
    """sentence-transformers' ``Module`` declares ``forward`` and ``save`` abstract, so instantiating a
    subclass that lacks one raises TypeError naming the missing methods; sbert built it (and failed later,
    at encode or save, with NotImplementedError)."""
    with pytest.raises(TypeError) as theirs:
        _subclass("sentence_transformers", base, **methods)()
    with pytest.raises(TypeError) as ours:
        _subclass("sbert", base, **methods)()
    assert str(ours.value) == str(theirs.value)


def test_a_complete_custom_module_still_builds_and_is_a_module(tmp_path):
    """With both methods the module builds and saves its config, in both libraries."""
    for package in ("sentence_transformers", "sbert"):
        module = _subclass(package, "Module", forward=_forward, save=_save)()
        module.save(str(tmp_path))
        assert (tmp_path / "config.json").read_text() == "{}"
        assert isinstance(module, importlib.import_module(f"{package}.base.modules").Module)


def _save_with_custom_module(library, folder, out):
    """The page's custom pooling module in a saved model: modules.json names its class path."""
    models = importlib.import_module(f"{library.__name__}.base.modules")
    model = library.SentenceTransformer(str(folder))
    pooling = type("DocsPooling", (models.Module,), {"config_keys": [], "forward": _forward, "save": _save})
    pooling.__module__ = "docs_pooling_s41"
    library.SentenceTransformer(modules=[*model, pooling()]).save(str(out))
    return out


def test_loading_a_custom_module_without_trust_remote_code_is_a_value_error_as_in_sentence_transformers(
    tiny_st_factory, tmp_path
):
    """A model whose modules.json names a class outside the library needs ``trust_remote_code=True``;
    without it sentence-transformers raises ValueError (which a caller catches to ask the user), sbert an
    OSError only (ModelLoadError)."""
    import sentence_transformers

    import sbert

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    theirs_dir = _save_with_custom_module(sentence_transformers, folder, tmp_path / "theirs")
    ours_dir = _save_with_custom_module(sbert, folder, tmp_path / "ours")
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        sentence_transformers.SentenceTransformer(str(theirs_dir))
    with pytest.raises(ValueError, match="trust_remote_code=True") as ours:
        sbert.SentenceTransformer(str(ours_dir))
    assert isinstance(ours.value, sbert.ModelLoadError)  # and still sbert's load error
