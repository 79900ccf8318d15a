"""MultiVectorEncoder parity found by a side-by-side fuzzer of its API (session 45): where a length asked for
meets a query's expansion, the same features and embeddings as sentence-transformers' MultiVectorEncoder and
the same notices logged (its ``warning_once``: once per process, so both memories are emptied per call)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert

import sbert

TOL = 1e-5
QUERIES = ["the cat sat on the mat and the dog ran in the house", "a cat", ""]


@pytest.fixture
def logged(warnings_logged):
    """The WARNING messages of a call (conftest's ``warnings_logged``)."""
    return warnings_logged


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """sentence-transformers' saves of its pipeline around a tiny BERT: ``fixed`` (every query 10 tokens)
    and ``min`` (queries widened to at least 8 tokens, the expansion attended)."""
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask

    root = tmp_path_factory.mktemp("multi-vector-s45")
    bert = build_tiny_bert(root / "bert")
    expansions = {
        "fixed": {"strategy": "fixed", "length": 10},
        "min": {"strategy": "min", "length": 8, "attend": True},
    }
    for name, expansion in expansions.items():
        torch.manual_seed(1)
        identity = torch.nn.Identity()
        modules = [
            Transformer(str(bert), query_expansion=expansion),
            Dense(32, 16, bias=False, activation_function=identity, module_input_name="token_embeddings"),
            MultiVectorMask(),
            Normalize(module_input_name="token_embeddings"),
        ]
        MultiVectorEncoder(modules=modules, device="cpu").save(str(root / name))
    return {name: root / name for name in expansions}


def _both(folder):
    from sentence_transformers import MultiVectorEncoder

    return sbert.MultiVectorEncoder(str(folder), device="cpu"), MultiVectorEncoder(str(folder), device="cpu")


def _assert_same(ours, reference):
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference):
        assert type(mine) is type(theirs) and mine.shape == theirs.shape and mine.dtype == theirs.dtype
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), atol=TOL)


@pytest.mark.parametrize("module_options", [{}, {"text": {"max_length": 12}}])
def test_query_length_under_the_expansion_floor_is_raised_and_logged(folders, logged, module_options):
    """``query_length`` set below a "min" expansion's length: queries are cut at the expansion length
    instead, and sentence-transformers says so (not where the module's own text ``max_length`` rules)."""
    ours, reference = _both(folders["min"])
    for model in (ours, reference):
        model[0].query_length = 4
        model[0].processing_kwargs = module_options
    mine, notes = logged(lambda: ours.encode_query(QUERIES))
    theirs, expected = logged(lambda: reference.encode_query(QUERIES))
    _assert_same(mine, theirs)
    assert notes == expected and any("raised to it" in note for note in expected) == (not module_options)


@pytest.mark.parametrize(
    "processing_kwargs", [{"text": {"max_length": 5}}, {"text": {"padding": "longest"}}, {"text": {}}]
)
def test_processing_kwargs_under_a_fixed_expansion_are_logged(folders, logged, processing_kwargs):
    """A call's text ``padding`` / ``max_length`` give way to a "fixed" expansion's width, with
    sentence-transformers' notice (none when it asks for neither)."""
    ours, reference = _both(folders["fixed"])
    mine, notes = logged(lambda: ours.encode_query(QUERIES, processing_kwargs=processing_kwargs))
    theirs, expected = logged(lambda: reference.encode_query(QUERIES, processing_kwargs=processing_kwargs))
    _assert_same(mine, theirs)
    assert notes == expected


@pytest.mark.parametrize("max_length", [6, 10, 12])
def test_a_trainers_max_length_under_a_fixed_expansion_is_logged(folders, logged, max_length):
    """``preprocess(..., max_length=)`` (a trainer's collator) on queries of a "fixed" expansion: ignored
    for the expansion's width, with sentence-transformers' notice where they differ."""
    ours, reference = _both(folders["fixed"])
    mine, notes = logged(lambda: ours.preprocess(QUERIES, task="query", max_length=max_length))
    theirs, expected = logged(lambda: reference.preprocess(QUERIES, task="query", max_length=max_length))
    for key in ("input_ids", "attention_mask", "query_expansion_positions"):
        assert torch.equal(mine[key], theirs[key]), key
    assert notes == expected
