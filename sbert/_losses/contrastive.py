"""ContrastiveLoss: pull similar pairs together, push dissimilar ones beyond a margin."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .base import NON_BINARY_WEIGHTS, Loss, check_finite, check_label_count
from .citations import CONTRASTIVE
from .metrics import distance_name, recorded_distance


class ContrastiveLoss(Loss):
    """``0.5 * (y * d^2 + (1 - y) * relu(margin - d)^2)`` for pairs labelled similar (1) or dissimilar (0).

    Hadsell et al. (2006), http://yann.lecun.com/exdb/publis/pdf/hadsell-chopra-lecun-06.pdf. Good for
    duplicate detection (e.g. Quora question pairs). Dissimilar pairs already farther apart than ``margin``
    contribute nothing.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        distance_metric: ``"cosine"`` (default, ``1 - cos``), ``"euclidean"`` or ``"manhattan"``, or
            sentence-transformers' spelling: ``SiameseDistanceMetric.COSINE_DISTANCE``, ``.EUCLIDEAN``, ...
        margin: distance beyond which dissimilar pairs are not pushed further (default 0.5).
        size_average: average over the batch (default) rather than sum.

    Requirements:
        Pairs of texts with a label 1 (similar) or 0 (dissimilar).

    Inputs:

        +---------------------------+-----------------+
        | Texts                     | Labels          |
        +===========================+=================+
        | (sentence_A, sentence_B)  | 1 or 0          |
        +---------------------------+-----------------+

    Example::

        from sbert import ContrastiveLoss, SentenceTransformer, Trainer, TrainingArguments, load_dataset

        model = SentenceTransformer()
        train = load_dataset([("How do I learn Python?", "What is the best way to learn Python?", 1),
                              ("How do I learn Python?", "How tall is Mount Everest?", 0)])
        Trainer(model, train, ContrastiveLoss(model), args=TrainingArguments(output_dir="out")).train()
    """

    citation = CONTRASTIVE

    label_kind = "binary"

    def __init__(
        self, model: Any, distance_metric: Any = "cosine", margin: float = 0.5, size_average: bool = True
    ) -> None:
        super().__init__(model)
        self.distance_metric = distance_name(distance_metric, "siamese", "ContrastiveLoss")
        self.margin = margin
        self.size_average = size_average

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        distances = self.distance_metric(*embeddings)  # (B,)
        check_label_count(type(self).__name__, labels, distances.shape[0])  # torch would broadcast one
        labels = labels.view(-1).float()
        self.warn_if_not_binary(labels, NON_BINARY_WEIGHTS)
        losses = 0.5 * (
            labels * distances.pow(2) + (1 - labels) * nn.functional.relu(self.margin - distances).pow(2)
        )
        return losses.mean() if self.size_average else losses.sum()

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        check_finite(labels, where, "ContrastiveLoss")  # other values than 0/1 weigh the terms (warned once)

    def config(self) -> dict[str, Any]:
        return {
            "distance_metric": recorded_distance(self.distance_metric),
            "margin": self.margin,
            "size_average": self.size_average,
        }
