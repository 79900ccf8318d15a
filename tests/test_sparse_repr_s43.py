"""SparseEncoder's SpladePooling shows its output width as sentence-transformers' does: ``None`` until the
first forward for a model built from modules or loaded from a folder that saved none (repr, ``str`` of the
module, its config and its ``get_embedding_dimension``), the vocabulary size after one encode; the model's
own width is the vocabulary size throughout (sentence-transformers': its hidden size until then)."""

from __future__ import annotations

import importlib

import pytest

import sbert

TEXTS = ["The cat sat on the mat.", "a dog"]

pytestmark = pytest.mark.filterwarnings(
    "ignore:The MLMTransformer module is deprecated",
    "ignore:Importing from 'sentence_transformers.sparse_encoder.models' is deprecated",
)


def _built(library, masked_lm):
    """``SparseEncoder(modules=[MLMTransformer, SpladePooling])`` of ``library``."""
    models = importlib.import_module(f"{library.__name__}.sparse_encoder.models")
    modules = [models.MLMTransformer(str(masked_lm)), models.SpladePooling(pooling_strategy="max")]
    return library.SparseEncoder(modules=modules, device="cpu")


def _view(model) -> tuple:
    pooling = model[1]
    return repr(model), str(pooling), pooling.get_config_dict(), pooling.get_embedding_dimension()


def test_fresh_encoded_and_reloaded_as_sentence_transformers(masked_lm, tmp_path):
    import sentence_transformers

    ours, theirs = _built(sbert, masked_lm), _built(sentence_transformers, masked_lm)
    vocabulary = theirs.tokenizer.vocab_size
    assert _view(ours) == _view(theirs)  # before: 'embedding_dimension': 99 (sbert), None (ST)
    assert theirs[1].get_embedding_dimension() is None
    # kept: the model's width is the vocabulary's before the first batch too (sentence-transformers 6.3
    # reports its fill-mask Transformer's hidden size then, which is not the width encode returns)
    assert ours.get_embedding_dimension() == vocabulary
    for model in (ours, theirs):
        model.save(str(tmp_path / type(model).__module__.split(".")[0]))
    for folder in ("sbert", "sentence_transformers"):  # either library's save, loaded by each
        loaded = sbert.SparseEncoder(str(tmp_path / folder), device="cpu")
        reference = sentence_transformers.SparseEncoder(str(tmp_path / folder), device="cpu")
        assert _view(loaded) == _view(reference)
        loaded.encode(TEXTS), reference.encode(TEXTS)
        assert _view(loaded) == _view(reference)
        assert loaded.get_embedding_dimension() == reference.get_embedding_dimension() == vocabulary
    ours.encode(TEXTS), theirs.encode(TEXTS)
    assert _view(ours) == _view(theirs) and theirs[1].get_embedding_dimension() == vocabulary
    assert ours.get_embedding_dimension() == theirs.get_embedding_dimension() == vocabulary
    ours.save(str(tmp_path / "encoded"))  # the width known: saved, and shown on load, as there
    theirs.save(str(tmp_path / "encoded-st"))
    for folder in ("encoded", "encoded-st"):
        loaded = sbert.SparseEncoder(str(tmp_path / folder), device="cpu")
        reference = sentence_transformers.SparseEncoder(str(tmp_path / folder), device="cpu")
        assert _view(loaded) == _view(reference) and loaded[1].get_embedding_dimension() == vocabulary
