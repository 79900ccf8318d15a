"""Session 44: less common scenarios of sentence-transformers' base-model tests
(``tests/base/test_model.py``), compared with sentence-transformers itself on a tiny offline model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sbert


@pytest.fixture(scope="module")
def pair(tiny_st_factory):
    from conftest import classic_pooling
    from sentence_transformers import SentenceTransformer as Reference

    path = tiny_st_factory(classic_pooling(32, "mean"), normalize=True)
    return sbert.SentenceTransformer(str(path), device="cpu"), Reference(str(path), device="cpu")


def _error(make):
    with pytest.raises(Exception) as info:
        make()
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    "inputs",
    [
        ["a cat sat", {"text": "the dog"}],  # a dict after a plain text
        ({"text": "a cat sat"}, {"text": "the dog"}),  # a tuple of dicts
        ("a cat sat", {"text": "the dog"}),
    ],
)
def test_text_dicts_anywhere_in_a_batch(pair, inputs):
    """sentence-transformers reads ``{"text": t}`` as ``t`` wherever it stands in a list or tuple."""
    ours, theirs = pair
    np.testing.assert_allclose(ours.encode(inputs), theirs.encode(inputs), atol=1e-5)
    for method in ("tokenize", "preprocess"):
        mine, reference = getattr(ours, method)(inputs), getattr(theirs, method)(inputs)
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            assert torch.equal(mine[key], reference[key]), (method, key)


def test_tokenize_reads_text_dicts_as_preprocess_does(pair):
    ours, theirs = pair
    inputs = [{"text": "a cat sat"}, {"text": "the dog"}]
    mine, reference = ours.tokenize(inputs), theirs.tokenize(inputs)
    assert torch.equal(mine["input_ids"], reference["input_ids"])
    bad = _error(lambda: ours.tokenize([{"foo": "a cat"}]))
    assert issubclass(bad[0], ValueError)  # sentence-transformers: a ValueError naming the unknown key
    assert "foo" in bad[1]


@pytest.mark.parametrize("name", [2, "it's"])
def test_unknown_prompt_name_quoted_as_there(pair, name):
    ours, theirs = pair
    mine, reference = (
        _error(lambda: ours.encode(["a"], prompt_name=name)),
        _error(lambda: theirs.encode(["a"], prompt_name=name)),
    )
    assert issubclass(mine[0], reference[0])
    assert mine[1].startswith(reference[1].rstrip("."))


def _checkpointing_notices(model, **options) -> list[str]:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.gradient_checkpointing_enable(**options)
    return sorted(str(w.message) for w in caught if issubclass(w.category, FutureWarning))


@pytest.mark.parametrize("options", [{}, {"gradient_checkpointing_kwargs": {"use_reentrant": False}}])
def test_gradient_checkpointing_through_transformers_current_name(tiny_st_factory, options):
    """sentence-transformers turns checkpointing on by transformers' ``activation_checkpointing_enable``
    where the encoder has it: no FutureWarning about the older name."""
    from conftest import classic_pooling
    from sentence_transformers import SentenceTransformer as Reference

    path = str(tiny_st_factory(classic_pooling(32, "mean")))
    ours, theirs = sbert.SentenceTransformer(path, backend="torch"), Reference(path)
    assert _checkpointing_notices(ours, **options) == _checkpointing_notices(theirs, **options)
    assert ours[0].auto_model.is_activation_checkpointing == theirs[0].model.is_activation_checkpointing
