"""Subclasses of the model and module classes as users and libraries write them, defined once against
sentence-transformers 6.3's classes and once against sbert's, on one tiny folder: which overridden methods
are called, with what arguments, and the embeddings they give. Patterns: a Transformer whose
``_load_model`` changes or replaces the encoder it loads (4-bit / QEff / ``without_weights`` loaders), a
SentenceTransformer whose ``_load_module_class_from_ref`` swaps a saved module's class (a span-pooling
model), and a SentenceTransformer whose ``save`` writes extra files (reached through ``save_pretrained``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

TEXTS = ["a man plays guitar", "the weather is lovely today", "cats sit"]


def _libraries():
    import sentence_transformers

    import sbert

    return {"st": sentence_transformers, "sbert": sbert}


def _modules(lib):
    """Each library's ``models`` namespace (sentence-transformers 6.3's is imported on demand)."""
    if lib.__name__ == "sbert":
        return lib.models
    from sentence_transformers.sentence_transformer import modules

    return modules


def _doubling_transformer(base, calls: list):
    """A Transformer whose ``_load_model`` records its arguments and doubles the word embeddings of the
    encoder sentence-transformers 6.3 loads (a quantizing or patching loader, as users write them)."""

    class DoublingTransformer(base):
        def _load_model(self, model_name_or_path, transformer_task, config, backend, is_peft_model, **kwargs):
            calls.append(
                (type(model_name_or_path).__name__, transformer_task, type(config).__name__, backend)
                + (is_peft_model, sorted(kwargs))
            )
            model = super()._load_model(
                model_name_or_path, transformer_task, config, backend, is_peft_model, **kwargs
            )
            with torch.no_grad():
                model.get_input_embeddings().weight.mul_(2)
            return model

    return DoublingTransformer


def test_a_transformers_load_model_hook_is_called_as_in_sentence_transformers(dropout_free_st, tmp_path):
    results, calls = {}, {}
    for name, lib in _libraries().items():
        calls[name] = []
        module = _doubling_transformer(_modules(lib).Transformer, calls[name])(str(dropout_free_st))
        model = lib.SentenceTransformer(modules=[module, _modules(lib).Pooling(32, "mean")], device="cpu")
        results[name] = model.encode(TEXTS)
        model.save(str(tmp_path / name))
    assert calls["sbert"] == calls["st"] == [("str", "feature-extraction", "BertConfig", "torch", False, [])]
    np.testing.assert_allclose(results["sbert"], results["st"], atol=1e-5, rtol=0)
    import sbert

    plain = sbert.SentenceTransformer(str(dropout_free_st), device="cpu").encode(TEXTS)
    assert not np.allclose(results["sbert"], plain, atol=1e-3)  # the hook's change took effect
    for name in ("st", "sbert"):  # each library saved the changed encoder; its folder loads as a plain one
        encoder = sbert.models.Transformer(str(tmp_path / name))
        again = sbert.SentenceTransformer(modules=[encoder, sbert.models.Pooling(32, "mean")], device="cpu")
        np.testing.assert_allclose(again.encode(TEXTS), results["st"], atol=1e-5, rtol=0)


def test_a_load_model_that_replaces_the_encoder_is_used_as_in_sentence_transformers(dropout_free_st):
    """The hook returns an encoder it builds itself (``AutoModel.from_config``: a ``without_weights``
    loader), seeded alike in both libraries."""
    from transformers import AutoModel

    class Fresh:
        def _load_model(self, model_name_or_path, transformer_task, config, backend, is_peft_model, **kwargs):
            torch.manual_seed(7)
            return AutoModel.from_config(config).eval()

    results = {}
    for name, lib in _libraries().items():
        module = type("FreshTransformer", (Fresh, _modules(lib).Transformer), {})(str(dropout_free_st))
        model = lib.SentenceTransformer(modules=[module, _modules(lib).Pooling(32, "mean")], device="cpu")
        results[name] = model.encode(TEXTS)
    np.testing.assert_allclose(results["sbert"], results["st"], atol=1e-5, rtol=0)


def test_an_older_load_model_signature_fails_as_in_sentence_transformers(dropout_free_st):
    """sentence-transformers 2-4's ``_load_model(path, config, cache_dir)`` setting ``self.auto_model``: 6.3
    calls the hook with its six arguments, a TypeError; sbert's is the same error, not a model that runs
    without the subclass's loader."""

    class Older:
        def _load_model(self, model_name_or_path, config, cache_dir, **model_args):
            raise AssertionError("not reached")

    errors = {}
    for name, lib in _libraries().items():
        older = type("OlderTransformer", (Older, _modules(lib).Transformer), {})
        with pytest.raises(TypeError) as caught:
            older(str(dropout_free_st))
        errors[name] = str(caught.value)
    assert errors["sbert"] == errors["st"]
    assert "takes 4 positional arguments but 6 were given" in errors["st"]


MODEL_CLASSES = ["SentenceTransformer", "SparseEncoder", "CrossEncoder", "MultiVectorEncoder"]


@pytest.mark.parametrize("cls", MODEL_CLASSES)
def test_save_pretrained_calls_a_subclasss_save_as_in_sentence_transformers(cls, dropout_free_st, tmp_path):
    """A subclass's ``save`` that writes an extra file is what ``save_pretrained`` runs, with
    sentence-transformers' keywords."""
    calls = {}
    for name, lib in _libraries().items():
        calls[name] = recorded = []

        class Saving(getattr(lib, cls)):
            def save(self, path, *args, recorded=recorded, **kwargs):
                recorded.append((len(args), sorted(kwargs)))
                super().save(path, *args, **kwargs)
                (Path(path) / "extra.json").write_text("{}")

        model = Saving(str(dropout_free_st), device="cpu")
        model.save_pretrained(str(tmp_path / name))
        assert (tmp_path / name / "extra.json").is_file()
    assert calls["sbert"] == calls["st"]
    assert calls["st"] == [(0, ["create_model_card", "model_name", "safe_serialization", "train_datasets"])]
