"""The batch triplet losses' helpers under sentence-transformers' names: the static masks
(``BatchHardTripletLoss.get_triplet_mask(labels)``, ``get_anchor_positive_triplet_mask``,
``get_anchor_negative_triplet_mask``), which custom triplet losses written against sentence-transformers call,
and each loss's ``batch_*_triplet_loss(labels, embeddings)``, ``triplet_margin`` and ``sentence_embedder``."""

from __future__ import annotations

import importlib

import pytest
import torch
from conftest import classic_pooling

import sbert

LOSSES = {
    "BatchAllTripletLoss": "batch_all_triplet_loss",
    "BatchHardTripletLoss": "batch_hard_triplet_loss",
    "BatchHardSoftMarginTripletLoss": "batch_hard_triplet_soft_margin_loss",
    "BatchSemiHardTripletLoss": "batch_semi_hard_triplet_loss",
}


def _losses(library):
    return importlib.import_module(f"{library.__name__}.sentence_transformer.losses")


@pytest.mark.parametrize(
    "mask", ["get_triplet_mask", "get_anchor_positive_triplet_mask", "get_anchor_negative_triplet_mask"]
)
def test_static_masks_equal_sentence_transformers(mask):
    import sentence_transformers

    labels = torch.tensor([0, 1, 0, 2, 1, 1, 3])
    theirs = getattr(_losses(sentence_transformers).BatchHardTripletLoss, mask)(labels)
    for name in LOSSES:  # every batch triplet loss has them (sentence-transformers' subclass the hard one)
        ours = getattr(getattr(_losses(sbert), name), mask)(labels)
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs)


@pytest.mark.parametrize("name", list(LOSSES))
def test_named_loss_method_margin_and_model_as_sentence_transformers(tiny_st_factory, name):
    import sentence_transformers

    folder = str(tiny_st_factory(classic_pooling(32, "mean")))
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.randn(8, 32, generator=generator, requires_grad=True)
    labels = torch.tensor([0, 1, 0, 2, 1, 1, 2, 0])
    values, grads = [], []
    for library in (sentence_transformers, sbert):
        model = library.SentenceTransformer(folder, device="cpu")
        loss = getattr(_losses(library), name)(model)
        assert loss.sentence_embedder is model
        if name in ("BatchAllTripletLoss", "BatchHardTripletLoss"):  # the two that name it so there
            assert loss.triplet_margin == 5
        value = getattr(loss, LOSSES[name])(labels, embeddings)
        (grad,) = torch.autograd.grad(value, embeddings)
        values.append(value.item())
        grads.append(grad)
    assert values[1] == pytest.approx(values[0], abs=1e-5) and values[0] > 0
    torch.testing.assert_close(grads[1], grads[0], atol=1e-6, rtol=0)
