"""sentence-transformers 6.3's rule for INSTRUCTOR models loaded by hub name, as client code meets it
(uptrain's Embedding operator loads ``sentence-transformers/instructor-large`` by name and encodes
``[instruction, text]`` pairs): hkunlp's three checkpoints pool without the prompt, so their embeddings with
a prompt are sentence-transformers' numbers; another repo named like an instructor model whose Pooling keeps
the prompt gets the same warning on the same logger."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

import sbert

TEXTS = ["a sunny day outside", "the cat sat on the mat"]
PROMPT = "Represent the sentence for retrieval: "
ST_LOGGER = "sentence_transformers.sentence_transformer.model"
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(dropout_free_st, tmp_path, monkeypatch):
    """A hub cache folder holding the tiny mean-pooling model under instructor-like names, read offline."""
    cache = tmp_path / "cache"
    for repo_id in ("hkunlp/instructor-base", "someone/My-Instructor-v2", "someone/plain"):
        repo = cache / ("models--" + repo_id.replace("/", "--"))
        shutil.copytree(dropout_free_st, repo / "snapshots" / SHA)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(SHA)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    return cache


def load(library, name, cache):
    return library.SentenceTransformer(name, cache_folder=str(cache), local_files_only=True, device="cpu")


def pooling_include_prompt(model) -> list[bool]:
    return [module.include_prompt for module in model if type(module).__name__ == "Pooling"]


def test_hkunlp_instructor_pools_without_the_prompt_as_there(hub_cache):
    import sentence_transformers

    theirs = load(sentence_transformers, "hkunlp/instructor-base", hub_cache)
    ours = load(sbert, "hkunlp/instructor-base", hub_cache)
    assert pooling_include_prompt(ours) == pooling_include_prompt(theirs) == [False]
    np.testing.assert_allclose(
        ours.encode(TEXTS, prompt=PROMPT), theirs.encode(TEXTS, prompt=PROMPT), atol=1e-5, rtol=0
    )
    pairs = [[PROMPT, text] for text in TEXTS]  # uptrain's input for instructor models
    np.testing.assert_allclose(ours.encode(pairs), theirs.encode(pairs), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["someone/My-Instructor-v2", "someone/plain"])
def test_instructor_named_repo_keeping_the_prompt_warns_as_there(hub_cache, caplog, name):
    import sentence_transformers

    def warnings_of(library):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=ST_LOGGER):
            model = load(library, name, hub_cache)
        notes = [r.getMessage() for r in caplog.records if r.name == ST_LOGGER]
        return notes, pooling_include_prompt(model)

    theirs = warnings_of(sentence_transformers)
    assert warnings_of(sbert) == theirs
    assert bool(theirs[0]) == ("Instructor" in name)
