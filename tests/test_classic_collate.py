"""``smart_batching_collate``: the ``collate_fn`` of training loops written before sentence-transformers 3
(their own DataLoader of InputExamples, then ``loss(features, labels)``), compared with
sentence-transformers'."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import sbert
from sbert import InputExample

PAIRS = [
    InputExample(texts=["A man is eating food.", "A man eats."], label=0.9),
    InputExample(texts=["A plane takes off.", "  Birds sing in the morning  "], label=0.1),
    InputExample(texts=["Cats sleep.", "A cat is sleeping on a very warm windowsill."], label=0.7),
]


def _plain(features):
    return {k: v.tolist() for k, v in features.items() if isinstance(v, torch.Tensor)}


def test_bi_encoder_collate_gives_sentence_transformers_features_and_the_same_loss(default_model_path):
    from sentence_transformers import SentenceTransformer as Reference
    from sentence_transformers.sentence_transformer import losses as reference_losses

    ours = sbert.SentenceTransformer(str(default_model_path), backend="torch")
    theirs = Reference(str(default_model_path), device="cpu")
    features, labels = ours.smart_batching_collate(PAIRS)
    expected_features, expected_labels = theirs.smart_batching_collate(PAIRS)
    assert [_plain(f) for f in features] == [_plain(f) for f in expected_features]
    assert torch.equal(labels, expected_labels) and labels.dtype == expected_labels.dtype
    loader = DataLoader(PAIRS, batch_size=3, collate_fn=ours.smart_batching_collate)
    ((batch_features, batch_labels),) = list(loader)  # the one batch of a custom loop
    loss = sbert.losses.CosineSimilarityLoss(ours)(batch_features, batch_labels)
    expected = reference_losses.CosineSimilarityLoss(theirs)(expected_features, expected_labels)
    assert abs(loss.item() - expected.item()) < 1e-6
    loss.backward()  # trains: the loss reaches the encoder's weights
    assert any(p.grad is not None for p in ours.parameters())
    vectors = [InputExample(texts=["a b"], label=np.ones(3, dtype=np.float32))] * 2
    assert ours.smart_batching_collate(vectors)[1].shape == (2, 3)  # one target vector per example


@pytest.mark.parametrize("num_labels", [1, 3])
def test_cross_encoder_collate_matches_sentence_transformers(default_model_path, num_labels):
    from sentence_transformers import CrossEncoder as Reference

    torch.manual_seed(0)
    ours = sbert.CrossEncoder(str(default_model_path), backend="torch", num_labels=num_labels)
    theirs = Reference(str(default_model_path), num_labels=num_labels, device="cpu")
    examples = (
        PAIRS if num_labels == 1 else [InputExample(texts=e.texts, label=i) for i, e in enumerate(PAIRS)]
    )
    tokenized, labels = ours.smart_batching_collate(examples)
    expected_tokenized, expected_labels = theirs.smart_batching_collate(examples)
    assert _plain(tokenized) == _plain(expected_tokenized)
    assert torch.equal(labels, expected_labels) and labels.dtype == expected_labels.dtype
    text_only = ours.smart_batching_collate_text_only([e.texts for e in PAIRS])
    assert _plain(text_only) == _plain(theirs.smart_batching_collate_text_only([e.texts for e in PAIRS]))


def test_collate_names_the_expected_items():
    model = sbert.SentenceTransformer(backend="torch")
    with pytest.raises(sbert.InputError, match="InputExample"):
        model.smart_batching_collate([("a", "b")])
