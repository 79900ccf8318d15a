"""Calls of langchain-community, langchain-text-splitters and llama-index's SentenceTransformerRerank, written
out here without those libraries (CI does not install them), against sentence-transformers itself.

langchain-community's ``HuggingFaceEmbeddings(multi_process=True).embed_documents`` runs::

    pool = client.start_multi_process_pool()
    embeddings = client.encode_multi_process(texts, pool)
    sentence_transformers.SentenceTransformer.stop_multi_process_pool(pool)

and a user who sets ``logging.basicConfig(level=logging.INFO)`` sees where the pool's workers start.
"""

from __future__ import annotations

import logging

import pytest
from conftest import build_tiny_classifier

import sbert

POOL_LOGGER = "sentence_transformers.base.model"


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("s37c") / "ce")


def pool_start_records(cls, path, caplog, target_devices):
    """The records starting (and at once stopping) a pool gives, as langchain-community starts it."""
    model = cls(str(path), device="cpu")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=POOL_LOGGER):
        pool = model.start_multi_process_pool(*target_devices)
    type(model).stop_multi_process_pool(pool)  # langchain calls it on the class
    return [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name == POOL_LOGGER]


@pytest.mark.parametrize("target_devices", [(["cpu", "cpu"],), ()])
def test_multi_process_pool_start_is_logged_as_sentence_transformers(
    tiny_st_factory, caplog, target_devices, monkeypatch
):
    """Both log which devices the pool starts on (and, without target devices and accelerators, that 4 CPU
    workers start), on sentence-transformers' model logger."""
    from sentence_transformers import SentenceTransformer as Reference

    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # the CPU default on any machine
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    path = tiny_st_factory({"word_embedding_dimension": 32, "pooling_mode": "mean"})
    expected = pool_start_records(Reference, path, caplog, target_devices)
    assert expected  # sentence-transformers logs the start
    assert pool_start_records(sbert.SentenceTransformer, path, caplog, target_devices) == expected


def load_records(cls, path, caplog, **options):
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=POOL_LOGGER):
        cls(str(path), device="cpu", **options)
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == POOL_LOGGER]


@pytest.mark.parametrize(
    "options",
    [
        {"prompts": {"q": "query: "}, "default_prompt_name": "q"},  # HuggingFaceEmbeddings(model_kwargs=...)
        {"prompts": {"query": "query: ", "document": "passage: ", "empty": ""}},
        {"prompts": {"query": ""}},
    ],
)
@pytest.mark.parametrize("class_name", ["SentenceTransformer", "CrossEncoder"])
def test_prompts_given_at_load_are_logged_as_sentence_transformers(
    class_name, options, tiny_st_factory, caplog, classifier
):
    """langchain-community passes its ``model_kwargs`` to the constructor; prompts among them are logged at
    load ("Loaded 2 prompts with these keys: [...]", INFO), as sentence-transformers logs them."""
    import sentence_transformers

    if class_name == "CrossEncoder":
        path = classifier
    else:
        path = tiny_st_factory({"word_embedding_dimension": 32, "pooling_mode": "mean"})
    ours = load_records(getattr(sbert, class_name), path, caplog, **options)
    theirs = load_records(getattr(sentence_transformers, class_name), path, caplog, **options)
    # INFO only: the default prompt name's WARNING is logged once per process by each library (its
    # warning_once), so whether this test sees it depends on the tests run before it
    prompt_records = [record for record in theirs if "prompt" in record[1] and record[0] == "INFO"]
    assert [r for r in ours if "prompt" in r[1] and r[0] == "INFO"] == prompt_records
