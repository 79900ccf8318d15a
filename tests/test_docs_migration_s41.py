"""Snippets of sentence-transformers' migration guide and training overview (sbert.net), run on sbert and on
sentence-transformers 6.3 with the same tiny offline model: the same results, warnings and errors."""

from __future__ import annotations

import importlib
import logging

import torch
from datasets import Dataset

TEXTS = ["the cat sat", "a dog ran", "a man plays guitar", "she is happy", "they eat food", "a big tree"]
TEXTS += ["the red car", "it is sunny", "a woman sings", "we eat bread", "he is sad", "a small house"]


def _train_with_rate_mapping(library, folder, out, mapping):
    """The guide's "Custom learning rate for sections": a default rate and regular expressions of parameter
    names mapped to their own rates; 3 steps of MultipleNegativesRankingLoss, seed 7."""
    model = library.SentenceTransformer(str(folder))
    args = library.SentenceTransformerTrainingArguments(
        output_dir=str(out), max_steps=3, per_device_train_batch_size=4, learning_rate=1e-3,
        learning_rate_mapping=mapping, save_strategy="no", disable_tqdm=True, seed=7, report_to="none",
    )  # fmt: skip
    data = Dataset.from_dict({"anchor": TEXTS, "positive": TEXTS[::-1]})
    losses = importlib.import_module(f"{library.__name__}.sentence_transformer.losses")
    loss = losses.MultipleNegativesRankingLoss(model)
    library.SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss).train()
    return model


def test_learning_rate_mapping_of_zero_freezes_a_section_as_in_sentence_transformers(
    dropout_free_st, tmp_path
):
    """A rate of 0 for a section (the embeddings here) is taken by sentence-transformers: those weights stay
    as loaded while the rest trains. sbert refused it ("must be a positive number")."""
    import sentence_transformers

    import sbert

    mapping = {r"embeddings": 0.0, r"encoder\.layer\.0\.": 1e-2}
    theirs = _train_with_rate_mapping(sentence_transformers, dropout_free_st, tmp_path / "st", mapping)
    ours = _train_with_rate_mapping(sbert, dropout_free_st, tmp_path / "sbert", mapping)
    loaded = sentence_transformers.SentenceTransformer(str(dropout_free_st))
    before = dict(loaded.named_parameters())
    for name, parameter in ours.named_parameters():
        assert torch.allclose(parameter, dict(theirs.named_parameters())[name], atol=1e-5), name
        if "embeddings" in name:
            assert torch.equal(parameter, before[name]), name
        elif "encoder.layer.0." in name:
            assert not torch.equal(parameter, before[name]), name
    assert abs(ours.encode(TEXTS) - theirs.encode(TEXTS)).max() < 1e-5


def test_transformer_cache_dir_is_logged_as_deprecated_as_in_sentence_transformers(
    tiny_bert, tmp_path, caplog
):
    """``models.Transformer(name, cache_dir=...)``, the older spelling of a cache_dir entry in its
    ``*_kwargs``: sentence-transformers 6.3 logs that it is deprecated (once); sbert said nothing."""
    import sentence_transformers.util.decorators as st_decorators
    from sentence_transformers import models as st_models

    from sbert import _errors, models

    st_decorators.logger.warning_once.cache_clear()
    _errors._LOGGED.difference_update({key for key in _errors._LOGGED if "cache_dir" in key[1]})
    records = {}
    for name, transformer in (("st", st_models.Transformer), ("sbert", models.Transformer)):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            transformer(str(tiny_bert), cache_dir=str(tmp_path / "cache"))
        records[name] = [(r.name, r.getMessage()) for r in caplog.records if "cache_dir" in r.getMessage()]
    assert records["st"], records
    assert records["sbert"] == records["st"]
