"""Call patterns of sentence-transformers' example scripts (examples/sentence_transformer/...,
cross_encoder/..., sparse_encoder/...) that tests/test_st_example_scripts.py does not cover: the same
import, the same result."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.filterwarnings("ignore:Importing from:DeprecationWarning")
@pytest.mark.parametrize(
    ("path", "name"),
    [
        # training/avg_word_embeddings/training_stsbenchmark_bow.py: the stop words beside the class
        ("models.tokenizer.WordTokenizer", "ENGLISH_STOP_WORDS"),
        ("models.tokenizer.WordTokenizer", "TransformersTokenizerWrapper"),
        ("models.tokenizer.WhitespaceTokenizer", "ENGLISH_STOP_WORDS"),
        ("models.tokenizer.WordTokenizer", "WordTokenizer"),
    ],
)
def test_an_old_class_path_is_its_file_with_the_names_beside_the_class(path, name):
    ours = getattr(importlib.import_module(f"sbert.{path}"), name)
    theirs = getattr(importlib.import_module(f"sentence_transformers.{path}"), name)
    if isinstance(theirs, type):
        assert ours.__name__ == theirs.__name__
    else:
        assert ours == theirs


@pytest.mark.parametrize("module", ["BoW", "WordWeights"])
def test_bow_and_word_weights_log_the_words_without_a_weight_as_sentence_transformers(module, caplog):
    # training/avg_word_embeddings/training_stsbenchmark_bow.py and _tf-idf_word_embeddings.py: a vocabulary
    # and idf weights; the module reports (logging.INFO) how many words got the unknown-word weight
    import logging

    import sentence_transformers.models as theirs

    import sbert.models as ours

    vocab, weights = ["cat", "Dog", "sat", "mat", "cat"], {"cat": 2.0, "dog": 1.5}
    lines = {}
    for name, models in (("st", theirs), ("ours", ours)):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            getattr(models, module)(vocab, word_weights=weights, unknown_word_weight=0.5)
        records = [r for r in caplog.records if "weighting" in r.getMessage()]
        lines[name] = [(r.name, r.levelno, r.getMessage()) for r in records]
    assert lines["ours"] == lines["st"]
    assert len(lines["ours"]) == 1
