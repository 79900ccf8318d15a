"""MultiVectorEncoder parity found by a seeded differential fuzzer (session 40): the same outputs as
sentence-transformers' MultiVectorEncoder on the same folder, where the fuzzer found them apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import build_tiny_bert

import sbert

TOL = 1e-5
# texts of different lengths, so a batch pads its shorter texts
TEXTS = ["sunny stadium", "", "! . on mat house dog berlin , the cat sat on the mat"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """sentence-transformers' default MultiVectorEncoder pipeline around a tiny BERT, as it saves it."""
    from sentence_transformers import MultiVectorEncoder

    root = tmp_path_factory.mktemp("multi-vector-s40")
    bert = build_tiny_bert(root / "bert")
    torch.manual_seed(0)
    MultiVectorEncoder(str(bert), device="cpu").save(str(root / "model"))
    return root / "model"


@pytest.mark.parametrize("method", ["encode", "encode_query", "encode_document"])
def test_feature_dicts_hold_the_padded_positions_as_sentence_transformers(folder, method):
    """``output_value=None``: each text's features padded as its batch, the padded positions' token vectors
    computed by the encoder (not left out), as sentence-transformers returns them."""
    from sentence_transformers import MultiVectorEncoder

    ours = getattr(sbert.MultiVectorEncoder(str(folder), device="cpu"), method)(TEXTS, output_value=None)
    reference = getattr(MultiVectorEncoder(str(folder), device="cpu"), method)(TEXTS, output_value=None)
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference):
        assert list(mine) == list(theirs)
        for name, value in theirs.items():
            if isinstance(value, torch.Tensor):
                assert mine[name].shape == value.shape and mine[name].dtype == value.dtype, name
                np.testing.assert_allclose(mine[name].float(), value.float(), atol=TOL, err_msg=name)
            else:
                assert mine[name] == value, name


@pytest.fixture(scope="module")
def truncated_folder(folder, tmp_path_factory):
    """The same model saved with ``truncate_dim=8`` (its untruncated token width is 128)."""
    from sentence_transformers import MultiVectorEncoder

    path = tmp_path_factory.mktemp("multi-vector-s40-truncated") / "model"
    MultiVectorEncoder(str(folder), device="cpu", truncate_dim=8).save(str(path))
    return path


@pytest.mark.parametrize("dims", [[128, 8], [16], [8, 4]])
def test_matryoshka_dims_are_checked_against_the_untruncated_width(truncated_folder, dims):
    """A model saved with ``truncate_dim``: MultiVectorMatryoshkaLoss takes dims up to its untruncated
    width (the loss trains the full vectors), as sentence-transformers' does, with the same config."""
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.multi_vector_encoder import losses as st_losses

    from sbert.multi_vector_encoder import losses

    reference_model = MultiVectorEncoder(str(truncated_folder), device="cpu")
    model = sbert.MultiVectorEncoder(str(truncated_folder), device="cpu")
    assert model.get_embedding_dimension() == reference_model.get_embedding_dimension() == 8
    reference = st_losses.MultiVectorMatryoshkaLoss(
        reference_model, st_losses.MultiVectorMultipleNegativesRankingLoss(reference_model), dims
    )
    inner = losses.MultiVectorMultipleNegativesRankingLoss(model)
    ours = losses.MultiVectorMatryoshkaLoss(model, inner, dims)
    assert ours.get_config_dict() == reference.get_config_dict()
    assert ours.matryoshka_dims == reference.matryoshka_dims


def test_matryoshka_dims_over_the_untruncated_width_are_refused(truncated_folder):
    from sbert.multi_vector_encoder import losses

    model = sbert.MultiVectorEncoder(str(truncated_folder), device="cpu")
    with pytest.raises(sbert.InputError, match="embedding dimension of 128"):
        losses.MultiVectorMatryoshkaLoss(model, losses.MultiVectorMultipleNegativesRankingLoss(model), [256])
