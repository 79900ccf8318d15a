"""MultiVectorEncoder behaviours sentence-transformers 6.3's own tests pin and sbert lacked: query expansion
checked when assigned on a loaded model (its form and its token), the end-of-sequence fallback of a
tokenizer without a mask token, and the wording of the errors callers match on."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert

import sbert

QUERIES = ["what is the weather like", "a cat"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """sentence-transformers' default MultiVectorEncoder around a tiny BERT, saved."""
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("mve-gaps")
    bert = build_tiny_bert(root / "bert")
    torch.manual_seed(0)
    MultiVectorEncoder(str(bert), device="cpu").save(str(root / "model"))
    return root / "model"


def _both(folder):
    from sentence_transformers import MultiVectorEncoder

    return sbert.MultiVectorEncoder(str(folder), device="cpu"), MultiVectorEncoder(str(folder), device="cpu")


def _error(assign):
    try:
        assign()
    except ValueError as error:
        return str(error)
    return None


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"strategy": "bogus", "length": 8}, "strategy"),
        ({"strategy": "fixed", "length": 8, "count": 5}, "unknown keys"),
        ({"strategy": "fixed"}, "requires 'length'"),
        ({"strategy": "fixed", "length": 8, "token": "<not_a_real_token>"}, "vocabulary"),
    ],
)
def test_query_expansion_checked_when_assigned(folder, value, match):
    ours, reference = _both(folder)
    reference_error = _error(lambda: setattr(reference[0], "query_expansion", value))
    assert reference_error is not None and match in reference_error
    with pytest.raises(ValueError, match=match):
        ours[0].query_expansion = value
    # the failed assignment leaves the setting as it was, as in sentence-transformers
    assert ours[0].query_expansion is None and reference[0].query_expansion is None


def test_query_expansion_assigned_after_load_encodes_as_sentence_transformers(folder):
    ours, reference = _both(folder)
    for model in (ours, reference):
        model[0].query_expansion = {"strategy": "fixed", "length": 12, "token": "."}
    assert ours[0].query_expansion == reference[0].query_expansion
    for a, b in zip(ours.encode_query(QUERIES), reference.encode_query(QUERIES)):
        assert a.shape == b.shape == (12, ours.get_embedding_dimension())
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_expansion_falls_back_to_the_end_of_sequence_token(folder):
    """A decoder's tokenizer has no mask token: expansion then uses its end-of-sequence token, and a
    tokenizer with neither is refused when the expansion is set."""
    ours, reference = _both(folder)
    for model in (ours, reference):
        model[0].tokenizer.mask_token = None
        with pytest.raises(ValueError, match="has neither"):
            model[0].query_expansion = {"strategy": "fixed", "length": 12}
        model[0].tokenizer.eos_token = "[SEP]"
        model[0].query_expansion = {"strategy": "fixed", "length": 12}
    assert ours[0].tokenizer.eos_token_id == reference[0].tokenizer.eos_token_id
    assert ours[0].tokenizer.mask_token_id is None
    for a, b in zip(ours.encode_query(QUERIES), reference.encode_query(QUERIES)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_special_token_ids_set_as_transformers(folder):
    ours, reference = _both(folder)
    for model in (ours, reference):
        model.tokenizer.mask_token_id = None
    assert ours.tokenizer.mask_token is None and reference.tokenizer.mask_token is None
    sep = reference.tokenizer.sep_token_id
    for model in (ours, reference):
        model.tokenizer.eos_token_id = sep
    assert ours.tokenizer.eos_token == reference.tokenizer.eos_token == "[SEP]"
    assert ours.tokenizer.bos_token_id is None and reference.tokenizer.bos_token_id is None


def test_pooling_setting_error_wording():
    from sentence_transformers.multi_vector_encoder.modules import HierarchicalTokenPooling as Reference

    from sbert.multi_vector_encoder.modules import HierarchicalTokenPooling

    reference_error = _error(lambda: Reference(num_protected_tokens=-1))
    assert reference_error.startswith("num_protected_tokens must be >= 0")
    with pytest.raises(ValueError, match="num_protected_tokens must be >= 0"):
        HierarchicalTokenPooling(num_protected_tokens=-1)
