"""sentence-transformers 6.3's notices and environment on its model classes, as code written for it sees
them: the cache folder from SENTENCE_TRANSFORMERS_HOME, the load records on its logger's name, the
deprecation records of ``tokenize``, ``save_to_hub(organization=...)`` and ``warmup_ratio``, and skiplist
words the vocabulary lacks logged (not warned) by a MultiVectorMask."""

from __future__ import annotations

import logging
import shutil
import warnings

import numpy as np
import pytest
from conftest import save_to_hub_calls

import sbert

TEXTS = ["a sunny day outside", "the cat sat on the mat"]
ST_MODEL_LOGGER = "sentence_transformers.base.model"


def messages(caplog, needle: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if needle in r.getMessage()]


def test_sentence_transformers_home_is_the_model_cache_as_there(dropout_free_st, tmp_path, monkeypatch):
    """A hub name is looked up in SENTENCE_TRANSFORMERS_HOME when no cache_folder is given."""
    from sentence_transformers import SentenceTransformer as Reference

    home = tmp_path / "st_home"
    repo = home / "models--someone--tiny"
    sha = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(dropout_free_st, repo / "snapshots" / sha)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    # offline as a whole: transformers would otherwise ask the hub for optional files (retries, ~20 s here)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(OSError):
        sbert.SentenceTransformer("someone/tiny", local_files_only=True)
    monkeypatch.setenv("SENTENCE_TRANSFORMERS_HOME", str(home))
    reference = Reference("someone/tiny", local_files_only=True, device="cpu").encode(TEXTS)
    ours = sbert.SentenceTransformer("someone/tiny", local_files_only=True)
    np.testing.assert_allclose(ours.encode(TEXTS), reference, atol=1e-5, rtol=0)


def test_loading_a_saved_model_logs_as_there_on_its_logger(dropout_free_st, caplog):
    """ "Loading SentenceTransformer model from <name>." (info) on sentence-transformers' model logger."""
    import sentence_transformers

    def records(library):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=ST_MODEL_LOGGER):
            library.SentenceTransformer(str(dropout_free_st), device="cpu")
        return messages(caplog, "model from")

    theirs = records(sentence_transformers)
    assert theirs == [f"Loading SentenceTransformer model from {dropout_free_st}."]
    assert records(sbert) == theirs


def test_tokenize_is_logged_as_deprecated_for_callers_only(dropout_free_st, caplog, monkeypatch):
    from sentence_transformers import SentenceTransformer as Reference

    monkeypatch.setattr("sbert._errors._LOGGED", set())  # once per process, as its warning_once
    logging.Logger.warning_once.cache_clear()  # sentence-transformers' (transformers') once-per-process cache
    ours = sbert.SentenceTransformer(dropout_free_st)
    with caplog.at_level(logging.WARNING):
        ours.encode(TEXTS)
        ours.preprocess(TEXTS)  # sbert's own calls of tokenize log nothing
        assert messages(caplog, "tokenize") == []
        features = ours.tokenize(TEXTS)
        ours.tokenize(TEXTS)
    logged = messages(caplog, "tokenize")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        reference = Reference(str(dropout_free_st), device="cpu").tokenize(TEXTS)
    assert (
        logged
        == messages(caplog, "tokenize")[:1]
        == ["The `tokenize` method is deprecated, please use `preprocess` instead."]
    )
    assert features["input_ids"].tolist() == reference["input_ids"].tolist()


def test_module_tokenize_is_logged_on_the_input_module_logger(dropout_free_st, caplog, monkeypatch):
    """A module's own ``tokenize`` (fastrag's IPEX embedder calls ``model._first_module().tokenize``) gets
    sentence-transformers' record on its input-module logger, once; sbert's encode and the model's
    ``tokenize`` add no such record, as there."""
    from sentence_transformers import SentenceTransformer as Reference

    def records(model):
        logging.Logger.warning_once.cache_clear()
        monkeypatch.setattr("sbert._errors._LOGGED", set())
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            model.encode(TEXTS)
            model.tokenize(TEXTS)
            first = model[0]
            features = first.tokenize(TEXTS)
            first.tokenize([("a pair", "of texts")])
            dicts = first.tokenize([{"text": t} for t in TEXTS])  # ST 6's module tokenize is its preprocess
        found = [(r.name, r.getMessage()) for r in caplog.records if "tokenize" in r.getMessage()]
        tensors = {k: v.tolist() for k, v in features.items() if hasattr(v, "tolist")}
        return found, tensors, {k: v.tolist() if hasattr(v, "tolist") else v for k, v in dicts.items()}

    ours, ours_features, ours_dicts = records(sbert.SentenceTransformer(dropout_free_st))
    theirs, their_features, their_dicts = records(Reference(str(dropout_free_st), device="cpu"))
    assert ours == theirs
    assert ("sentence_transformers.base.modules.input_module", theirs[0][1]) in theirs
    assert ours_features == their_features
    assert ours_dicts == their_dicts  # the modality named too, as preprocess gives it


def test_save_to_hub_older_arguments_are_logged_as_deprecated_as_there(dropout_free_st, monkeypatch, caplog):
    """``organization=`` and ``repo_name=`` each get sentence-transformers' record, after (``repo_name``:
    before) its "The `save_to_hub` method is deprecated ..." one."""
    from sentence_transformers import SentenceTransformer as Reference

    def logged(model, *args, **kwargs):
        caplog.clear()
        with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
            warnings.simplefilter("ignore", DeprecationWarning)
            passed = save_to_hub_calls(model, monkeypatch, *args, **kwargs)
        return passed["repo_id"], messages(caplog, "deprecated")[1:]

    ours, reference = (
        sbert.SentenceTransformer(dropout_free_st),
        Reference(str(dropout_free_st), device="cpu"),
    )
    for args, kwargs in [(("tiny",), {"organization": "org"}), (("org/tiny",), {"organization": "org"})]:
        theirs = logged(reference, *args, **kwargs)
        assert theirs == (
            "org/tiny",
            [
                'Providing an `organization` to `save_to_hub` is deprecated. Please use `repo_id="org/tiny"` '
                "instead."
            ],
        )
        assert logged(ours, *args, **kwargs) == theirs
    # logged once per process there (its warning_once), so compared with its words, not a second call
    monkeypatch.setattr("sbert._errors._LOGGED", set())
    repo_name = (
        "Providing a `repo_name` keyword argument to `save_to_hub` is deprecated. "
        "Please use `repo_id` instead."
    )
    caplog.clear()
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
        warnings.simplefilter("ignore", DeprecationWarning)
        assert save_to_hub_calls(ours, monkeypatch, repo_name="org/tiny")["repo_id"] == "org/tiny"
    assert messages(caplog, "deprecated")[0] == repo_name


def test_warmup_ratio_is_logged_as_deprecated_under_transformers_5(tmp_path, caplog):
    from sentence_transformers import SentenceTransformerTrainingArguments as Reference

    def made(arguments):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            made = arguments(output_dir=str(tmp_path), warmup_ratio=0.1)
        return made.warmup_steps, made.warmup_ratio, messages(caplog, "warmup_ratio")

    theirs = made(Reference)
    assert theirs[:2] == (0.1, None) and len(theirs[2]) == 1
    assert made(sbert.SentenceTransformerTrainingArguments) == theirs


def test_skiplist_words_outside_the_vocabulary_are_logged_not_warned(tiny_bert, caplog, monkeypatch):
    """As there a log record (its warning_once): resolving such a skiplist works under ``-W error``."""
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask as Reference
    from transformers import AutoTokenizer

    from sbert.multi_vector_encoder.modules import MultiVectorMask

    monkeypatch.setattr("sbert._errors._LOGGED", set())
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert))
    words = ["!!!NOT_A_TOKEN!!!", tokenizer.unk_token]

    def resolved(mask_class):
        caplog.clear()
        mask = mask_class(skiplist_words=words)
        with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
            warnings.simplefilter("error")
            mask.resolve_with_tokenizer(tokenizer)
        return mask(dict(FEATURES))["attention_mask"].tolist(), messages(caplog, "Skiplist words")

    import torch

    unk = tokenizer.unk_token_id
    FEATURES = {
        "input_ids": torch.tensor([[101, unk, 7, 102]]),
        "attention_mask": torch.ones(1, 4, dtype=torch.long),
        "token_embeddings": torch.ones(1, 4, 2),
    }
    theirs = resolved(Reference)
    assert len(theirs[1]) == 1 and "!!!NOT_A_TOKEN!!!" in theirs[1][0]
    assert resolved(MultiVectorMask) == theirs


def test_word_embeddings_take_a_hugging_face_tokenizer_as_there(tiny_bert, tmp_path):
    """sentence-transformers 6's WordEmbeddings over a Hugging Face tokenizer's ids (special tokens
    included): the same features and embeddings, saved in its layout, loaded back by both libraries."""
    import torch
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.modules import Pooling as ReferencePooling
    from sentence_transformers.sentence_transformer.modules import WordEmbeddings as ReferenceWordEmbeddings
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert))
    table = np.random.default_rng(0).standard_normal((len(tokenizer.get_vocab()), 8)).astype(np.float32)
    theirs = ReferenceWordEmbeddings(tokenizer=tokenizer, embedding_weights=table)
    ours = sbert.WordEmbeddings(tokenizer=tokenizer, embedding_weights=table)
    expected, features = theirs.preprocess(TEXTS, prompt="q: "), ours.preprocess(TEXTS, prompt="q: ")
    assert set(features) == set(expected)
    for name, value in expected.items():
        assert torch.equal(features[name], value), name
    reference = Reference(modules=[theirs, ReferencePooling(8, "mean")], device="cpu")
    model = sbert.SentenceTransformer(modules=[ours, sbert.Pooling(8, "mean")])
    np.testing.assert_allclose(model.encode(TEXTS), reference.encode(TEXTS), atol=1e-6, rtol=0)
    model.save(tmp_path / "ours")
    for loaded in (
        Reference(str(tmp_path / "ours"), device="cpu"),
        sbert.SentenceTransformer(tmp_path / "ours"),
    ):
        np.testing.assert_allclose(loaded.encode(TEXTS), reference.encode(TEXTS), atol=1e-6, rtol=0)


def test_word_embeddings_take_the_wrapped_tokenizer_as_there(tiny_bert):
    """``TransformersTokenizerWrapper(tokenizer)``, sentence-transformers' wrapper, works as the bare
    tokenizer does: the same embeddings as sentence-transformers' WordEmbeddings given its own wrapper."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer.modules import Pooling as ReferencePooling
    from sentence_transformers.sentence_transformer.modules import WordEmbeddings as ReferenceWordEmbeddings
    from sentence_transformers.sentence_transformer.modules.tokenizer import (
        TransformersTokenizerWrapper as ReferenceWrapper,
    )
    from transformers import AutoTokenizer

    from sbert.sentence_transformer.modules.tokenizer import TransformersTokenizerWrapper

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert))
    table = np.random.default_rng(1).standard_normal((len(tokenizer.get_vocab()), 8)).astype(np.float32)
    reference = Reference(
        modules=[ReferenceWordEmbeddings(ReferenceWrapper(tokenizer), table), ReferencePooling(8, "mean")],
        device="cpu",
    )
    ours = sbert.WordEmbeddings(TransformersTokenizerWrapper(tokenizer), table)
    model = sbert.SentenceTransformer(modules=[ours, sbert.Pooling(8, "mean")])
    np.testing.assert_allclose(model.encode(TEXTS), reference.encode(TEXTS), atol=1e-6, rtol=0)
