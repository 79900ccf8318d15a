"""TripletLoss: the anchor must be closer to the positive than to the negative, by a margin."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Loss
from .citations import TRIPLET
from .metrics import distance_name, recorded_distance


class TripletLoss(Loss):
    """``relu(d(a, p) - d(a, n) + margin)``, averaged over the batch.

    The triplet objective of the Sentence-BERT paper (Wikipedia sections, ``margin=1`` with euclidean
    distance). :class:`MultipleNegativesRankingLoss` takes the same triplets and uses every other example
    of the batch as an extra negative, which usually trains better.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        distance_metric: ``"euclidean"`` (default), ``"cosine"`` (``1 - cos``) or ``"manhattan"``, or
            sentence-transformers' spelling: ``TripletDistanceMetric.EUCLIDEAN``, ``.COSINE``, ``.MANHATTAN``.
        triplet_margin: how much closer the positive must be (default 5, sentence-transformers' default).

    Requirements:
        (anchor, positive, negative) triplets, no labels.

    Inputs:

        +-----------------------------------------+--------+
        | Texts                                   | Labels |
        +=========================================+========+
        | (anchor, positive, negative) triplets   | none   |
        +-----------------------------------------+--------+

    Example::

        from sbert import SentenceTransformer, Trainer, TrainingArguments, TripletLoss, load_dataset

        model = SentenceTransformer()
        train = load_dataset([("A man plays guitar.", "Someone plays music.", "A cat sleeps.")])
        Trainer(model, train, TripletLoss(model), args=TrainingArguments(output_dir="out")).train()
    """

    citation = TRIPLET

    min_columns = 3
    max_columns = 3

    def __init__(self, model: Any, distance_metric: Any = "euclidean", triplet_margin: float = 5) -> None:
        super().__init__(model)
        self.distance_metric = distance_name(distance_metric, "pairwise", "TripletLoss")
        self.triplet_margin = triplet_margin

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        anchor, positive, negative = embeddings
        distance = self.distance_metric
        return nn.functional.relu(
            distance(anchor, positive) - distance(anchor, negative) + self.triplet_margin
        ).mean()

    def config(self) -> dict[str, Any]:
        return {
            "distance_metric": recorded_distance(self.distance_metric),
            "triplet_margin": self.triplet_margin,
        }
