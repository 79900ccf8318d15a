"""Cross-encoder scenarios from sentence-transformers 6.3's tests, run side by side with it on one tiny
offline classifier: what sbert's losses and evaluators do with unusual inputs equals what it does."""

from __future__ import annotations

import pytest
import torch
from conftest import build_tiny_classifier

QUERIES = ["what is the weather", "a man plays music", "the cat sat"]
DOCS = ["the weather is lovely today", "a man plays the guitar", "the dog ran in the house"]
LABELS = torch.tensor([1.0, 0.0, 1.0])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """sbert's and sentence-transformers' CrossEncoder of one tiny one-label classifier, in eval mode."""
    from sentence_transformers import CrossEncoder as Reference

    from sbert import CrossEncoder

    folder = build_tiny_classifier(tmp_path_factory.mktemp("cetests") / "labels1", num_labels=1, seed=1)
    ours, reference = CrossEncoder(folder, backend="torch"), Reference(str(folder), device="cpu")
    ours.eval(), reference.eval()
    return ours, reference


@pytest.mark.parametrize("name", ["BinaryCrossEntropyLoss", "MSELoss", "CrossEntropyLoss"])
@pytest.mark.parametrize("columns", [1, 3])
def test_pointwise_loss_refuses_other_than_two_columns(models, name, columns):
    """sentence-transformers' pointwise losses raise a ValueError for a batch of other than two text columns;
    sbert read the first two of three (training on the rest unused) and hit an IndexError with one."""
    import sentence_transformers.cross_encoder.losses as reference_losses

    import sbert.cross_encoder.losses as losses

    ours, reference = models
    inputs = [QUERIES, DOCS, DOCS][:columns]
    with pytest.raises(ValueError, match="two non-label columns") as expected:
        getattr(reference_losses, name)(reference)(inputs, LABELS)
    with pytest.raises(ValueError, match=f"got a dataset with {columns} columns") as got:
        getattr(losses, name)(ours)(inputs, LABELS)
    assert str(expected.value) in str(got.value)
