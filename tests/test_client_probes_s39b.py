"""Calls of evidently's semantic-similarity descriptors (``SentenceTransformer("all-MiniLM-L6-v2")``, the
model name written into the library, then ``encode`` of a column's texts), of langkit's themes and
relevance metrics (``encode([text], convert_to_tensor=True)`` then ``util.pytorch_cos_sim(...).item()``)
and of InstructorEmbedding's ``INSTRUCTOR`` (a SentenceTransformer subclass that tokenizes
``[instruction, text]`` pairs itself and runs ``forward``), written out here without the libraries and
compared with sentence-transformers on the same folder."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import classic_pooling

import sbert

TEXTS = ["a cat sat on the mat", "x", "", "the river runs " * 6]


@pytest.fixture(scope="module")
def folder(tiny_st_factory):
    return tiny_st_factory(classic_pooling(32, "mean"))


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"])
def test_a_local_folder_named_as_the_default_model_loads_as_in_sentence_transformers(
    folder, tmp_path, monkeypatch, name
):
    """A folder in the working directory named as the default model (a fine-tuned copy saved there, or
    evidently's hard-coded name pointed at a local copy) is that folder in sentence-transformers: a local
    folder comes before any hub name, and so before sbert's embedded default."""
    import sentence_transformers as st

    shutil.copytree(folder, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    theirs, ours = (lib.SentenceTransformer(name) for lib in (st, sbert))
    assert ours.get_embedding_dimension() == theirs.get_embedding_dimension() == 32
    np.testing.assert_allclose(ours.encode(TEXTS), theirs.encode(TEXTS), atol=1e-5)


def test_langkit_relevance_scores_as_sentence_transformers(folder):
    import sentence_transformers as st
    from sentence_transformers import util as st_util

    import sbert.util

    scores = []
    for lib, util in ((st, st_util), (sbert, sbert.util)):
        model = lib.SentenceTransformer(str(folder), device="cpu")
        left = model.encode(["what is a cat"], convert_to_tensor=True)
        row = [util.pytorch_cos_sim(left, model.encode([t], convert_to_tensor=True)).item() for t in TEXTS]
        one = model.encode("what is a cat")  # themes: one string, a (d,) array, scored against (1, d)
        row.append(util.pytorch_cos_sim(one, model.encode(["a cat"])).item())
        scores.append(row)
    np.testing.assert_allclose(scores[1], scores[0], atol=1e-5)


def test_instructor_tokenizes_instruction_pairs_and_forwards_as_sentence_transformers(folder):
    """INSTRUCTOR.encode's steps on sentence-transformers 6 (its own ``_load_sbert_model`` is never called
    there, so the folder's plain Transformer and Pooling run): ``tokenize`` of ``[instruction, text]``
    lists (encoded as text pairs), ``forward`` under ``no_grad``, the rows put back in input order."""
    import sentence_transformers as st
    import torch

    pairs = [["Represent the title: ", "a cat sat"], ["Represent the query: ", "the river runs here"]]
    outputs = []
    for lib in (st, sbert):
        model = lib.SentenceTransformer(str(folder), device="cpu")
        model.eval()
        features = model.tokenize(pairs)
        with torch.no_grad():
            out = model.forward(features)
        outputs.append((features, out["sentence_embedding"]))
    (their_features, theirs), (our_features, ours) = outputs
    assert set(our_features) == set(their_features)
    for key, value in their_features.items():
        same = torch.equal(our_features[key], value) if torch.is_tensor(value) else our_features[key] == value
        assert same, key
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)
