"""OnlineContrastiveLoss: ContrastiveLoss on the batch's hard pairs only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .base import NON_BINARY_IGNORED, Features, Loss, check_finite, check_label_count
from .metrics import distance_name, recorded_distance


class OnlineContrastiveLoss(Loss):
    """:class:`ContrastiveLoss` summed over the hard pairs of the batch: positives farther apart than the
    nearest negative pair, and negatives closer than the farthest positive pair.

    Easy pairs add nothing, so the loss spends the batch on the pairs the model still confuses; it often
    trains better than :class:`ContrastiveLoss` for duplicate detection (e.g. Quora question pairs). The
    loss is a sum over the hard pairs, not a mean.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        distance_metric: ``"cosine"`` (default, ``1 - cos``), ``"euclidean"`` or ``"manhattan"``, or
            sentence-transformers' spelling: ``SiameseDistanceMetric.COSINE_DISTANCE``, ``.EUCLIDEAN``, ...
        margin: distance beyond which negative pairs are not pushed further (default 0.5).

    Requirements:
        Pairs of texts, each labelled 1 (similar: to pull together) or 0 (dissimilar: to push apart).

    Inputs:

        +------------------------------+-------------+
        | Texts                        | Labels      |
        +==============================+=============+
        | (text_A, text_B) pairs       | 1 or 0      |
        +------------------------------+-------------+

    Example::

        from sbert import OnlineContrastiveLoss, SentenceTransformer, Trainer, TrainingArguments, load_dataset

        model = SentenceTransformer()
        quora = load_dataset("quora_pairs.tsv", columns=["question1", "question2"], label="is_duplicate")
        args = TrainingArguments(output_dir="out", batch_size=64)
        Trainer(model, quora, OnlineContrastiveLoss(model, margin=0.5), args=args).train()
    """

    label_kind = "binary"

    def __init__(self, model: Any, distance_metric: Any = "cosine", margin: float = 0.5) -> None:
        super().__init__(model)
        self.distance_metric = distance_name(distance_metric, "siamese", "OnlineContrastiveLoss")
        self.margin = margin

    def forward(
        self, sentence_features: Sequence[Features], labels: torch.Tensor | None, size_average: bool = False
    ) -> torch.Tensor:
        # size_average: sentence-transformers' forward takes it and leaves it unused (the loss is a sum)
        return super().forward(sentence_features, labels)

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        distances = self.distance_metric(*embeddings)  # (B,)
        check_label_count(type(self).__name__, labels, distances.shape[0])
        labels = labels.view(-1).to(distances.device)
        self.warn_if_not_binary(labels, NON_BINARY_IGNORED)
        negatives, positives = distances[labels == 0], distances[labels == 1]
        # a batch without one of the kinds compares the other with its own mean
        hard_negatives = negatives[negatives < (positives.max() if len(positives) else negatives.mean())]
        hard_positives = positives[positives > (negatives.min() if len(negatives) else positives.mean())]
        return hard_positives.pow(2).sum() + nn.functional.relu(self.margin - hard_negatives).pow(2).sum()

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        check_finite(labels, where, "OnlineContrastiveLoss")  # rows labelled other than 0/1 are left out

    def config(self) -> dict[str, Any]:
        return {"distance_metric": recorded_distance(self.distance_metric), "margin": self.margin}
