"""Unusual loss options against sentence-transformers 6.3, side by side on the same tiny model: a user's own
``nn.Module`` wrapped by MatryoshkaLoss / AdaptiveLayerLoss is named by its own class in ``get_config_dict``
(sbert said "UserLoss", its internal adapter), and SoftmaxLoss's older ``sentence_embedding_dimension``
keyword logs its rename as sentence-transformers' does (sbert took it silently)."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn


class OwnLoss(nn.Module):
    """A user's loss that is no sentence-transformers loss class."""

    def forward(self, sentence_features, labels):
        return torch.tensor(0.0)


@pytest.fixture(scope="module")
def models(dropout_free_st):
    import sentence_transformers
    from sentence_transformers.sentence_transformer import losses as st_losses

    import sbert

    return {
        "st": (st_losses, sentence_transformers.SentenceTransformer(str(dropout_free_st), device="cpu")),
        "sbert": (sbert.losses, sbert.SentenceTransformer(str(dropout_free_st), device="cpu")),
    }


@pytest.mark.parametrize(
    "wrap",
    [
        lambda losses, model, inner: losses.MatryoshkaLoss(model, inner, [32, 16], matryoshka_weights=[1, 2]),
        lambda losses, model, inner: losses.AdaptiveLayerLoss(model, inner, n_layers_per_step=2),
    ],
    ids=["matryoshka", "adaptive_layer"],
)
def test_wrapped_user_loss_is_named_by_its_class(models, wrap):
    configs = {}
    for name, (losses, model) in models.items():
        configs[name] = wrap(losses, model, OwnLoss()).get_config_dict()
    assert configs["sbert"] == configs["st"]
    assert configs["sbert"]["loss"] == "OwnLoss"


def test_softmax_older_dimension_keyword_logs_its_rename(models, caplog, monkeypatch):
    import transformers.utils.logging as hf_logging

    # both log it once per process: forget what earlier tests logged
    monkeypatch.setattr("sbert._errors._LOGGED", set())
    hf_logging.logging.Logger.warning_once.cache_clear()
    records = {}
    for name, (losses, model) in models.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            loss = losses.SoftmaxLoss(model, sentence_embedding_dimension=32, num_labels=3)
        messages = [record.getMessage() for record in caplog.records]
        records[name] = [message for message in messages if "sentence_embedding_dimension" in message]
        assert loss.classifier.in_features == 3 * 32
    assert records["sbert"] == records["st"]
    assert records["sbert"]
