"""MarginMSELoss and SparseMarginMSELoss (inside SpladeLoss) given labels that do not fit the batch: too few
(fewer than the rows), one per row too many, a flat list of a batch's margins, a 3-d tensor.
sentence-transformers 6.3 raises a ValueError naming the expected shape; sbert reshaped them and torch raised
a RuntimeError (``shape '[3, -1]' is invalid for input of size 2``) or took a flat list as rows. sbert's
error is both a ValueError and a RuntimeError, and names the shape."""

from __future__ import annotations

import shutil

import pytest
import torch
from conftest import without_dropout

COLUMNS = (["a cat sat", "a dog ran", "red car"], ["cats", "dogs", "cars"], ["x", "y", "z"])
WRONG = [torch.tensor([1.0, 2.0]), torch.tensor([1.0]), torch.ones(3, 3), torch.ones(6), torch.ones(3, 2, 1)]
IDS = ["too-few", "one", "too-wide", "flat", "3-d"]


def _error(call) -> BaseException:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def _assert_same_refusal(ours: BaseException, theirs: BaseException, labels: torch.Tensor) -> None:
    assert type(theirs) is ValueError
    assert isinstance(ours, ValueError) and isinstance(ours, RuntimeError)
    assert str(tuple(labels.shape)) in str(ours) and "(3, 1)" in str(ours)


@pytest.mark.parametrize("labels", WRONG, ids=IDS)
def test_dense_margin_mse_refuses_labels_of_another_shape(dropout_free_st, labels):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import losses as st

    import sbert
    from sbert.sentence_transformer import losses

    columns = COLUMNS
    reference = Reference(str(dropout_free_st), device="cpu")
    model = sbert.SentenceTransformer(dropout_free_st)
    theirs = _error(lambda: st.MarginMSELoss(reference)([reference.preprocess(c) for c in columns], labels))
    ours = _error(lambda: losses.MarginMSELoss(model)([model.preprocess(c) for c in columns], labels))
    _assert_same_refusal(ours, theirs, labels)


@pytest.mark.parametrize("labels", WRONG, ids=IDS)
def test_sparse_margin_mse_refuses_labels_of_another_shape(masked_lm, tmp_path, labels):
    from sentence_transformers.sparse_encoder import SparseEncoder as Reference
    from sentence_transformers.sparse_encoder import losses as st

    from sbert.sparse_encoder import SparseEncoder, losses

    path = without_dropout(shutil.copytree(masked_lm, tmp_path / "mlm"))
    weights = {"query_regularizer_weight": 0.1, "document_regularizer_weight": 0.1}
    errors = []
    for namespace, encoder in ((st, Reference(str(path), device="cpu")), (losses, SparseEncoder(str(path)))):
        loss = namespace.SpladeLoss(encoder, namespace.SparseMarginMSELoss(encoder), **weights)
        features = [encoder.preprocess(c) for c in COLUMNS]
        errors.append(_error(lambda loss=loss, features=features: loss(features, labels)))
    _assert_same_refusal(errors[1], errors[0], labels)


def test_margin_mse_takes_the_label_shapes_sentence_transformers_takes(dropout_free_st):
    """Margins (B,) and (B, 1), and scores (B, 2): the same loss on both libraries."""
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import losses as st

    import sbert
    from sbert.sentence_transformer import losses

    columns = COLUMNS
    reference = Reference(str(dropout_free_st), device="cpu")
    model = sbert.SentenceTransformer(dropout_free_st)
    for labels in (torch.tensor([0.5, 1.0, 2.0]), torch.tensor([[0.5], [1.0], [2.0]]), torch.rand(3, 2)):
        theirs = st.MarginMSELoss(reference)([reference.preprocess(c) for c in columns], labels)
        ours = losses.MarginMSELoss(model)([model.preprocess(c) for c in columns], labels)
        assert float(ours.detach()) == pytest.approx(float(theirs.detach()), rel=1e-4, abs=1e-6)
