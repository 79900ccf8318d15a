"""Parity found by running sentence-transformers' own test-suite scenarios (cross-encoder and dense losses,
part 2 of session 43) against both libraries on tiny local models."""

from __future__ import annotations

import pytest
import torch
from conftest import build_tiny_classifier, classic_pooling

import sbert

PAIRS = [
    ["what is the capital of France?", "how tall is everest?", "who wrote hamlet?"],
    ["Paris.", "Bananas.", "Hamlet."],
]


def _error(call) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.fixture(scope="module")
def reranker(tmp_path_factory):
    return build_tiny_classifier(tmp_path_factory.mktemp("stsuite-other2") / "ce", num_labels=1)


@pytest.mark.parametrize("name", ["MSELoss", "BinaryCrossEntropyLoss"])
def test_cross_encoder_pointwise_label_count_error_reads_as_sentence_transformers(reranker, name):
    """Two labels for three pairs: the same ValueError text as sentence-transformers 6.3 (class name, expected
    count, given count and shape), and a label column of shape (n, 1) scores as flat labels in both."""
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder import losses as st_losses

    ours_model, theirs_model = sbert.CrossEncoder(str(reranker)).eval(), CrossEncoder(str(reranker)).eval()
    ours, theirs = (
        getattr(sbert.cross_encoder.losses, name)(ours_model),
        getattr(st_losses, name)(theirs_model),
    )
    labels = torch.tensor([1.0, 0.0, 1.0])
    mine, reference = _error(lambda: ours(PAIRS, labels[:-1])), _error(lambda: theirs(PAIRS, labels[:-1]))
    assert isinstance(mine, ValueError) and str(mine) == str(reference)
    torch.testing.assert_close(
        ours(PAIRS, labels[:, None]), theirs(PAIRS, labels[:, None]), atol=1e-5, rtol=0
    )


@pytest.mark.parametrize(
    "name", ["CosineSimilarityLoss", "CoSENTLoss", "AnglELoss", "ContrastiveLoss", "OnlineContrastiveLoss"]
)
def test_dense_label_count_error_reads_as_sentence_transformers(tiny_st_factory, name):
    """The same check in the dense pair losses: sentence-transformers' one wording for every loss."""
    import sentence_transformers
    from sentence_transformers.sentence_transformer import losses as st_losses

    folder = tiny_st_factory(classic_pooling(32, "mean"))
    ours_model = sbert.SentenceTransformer(str(folder), device="cpu")
    theirs_model = sentence_transformers.SentenceTransformer(str(folder), device="cpu")
    ours, theirs = getattr(sbert.losses, name)(ours_model), getattr(st_losses, name)(theirs_model)
    texts = [["a b", "c d", "e"], ["f", "g h", "i"]]
    labels = torch.tensor([1.0, 0.0])
    mine = _error(lambda: ours([ours_model.preprocess(t) for t in texts], labels))
    reference = _error(lambda: theirs([theirs_model.preprocess(t) for t in texts], labels))
    assert isinstance(mine, ValueError) and str(mine) == str(reference)
