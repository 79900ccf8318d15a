"""SparseMultipleNegativesRankingLoss: in-batch negatives for SPLADE models, inside SpladeLoss."""

from __future__ import annotations

from typing import Any

import torch

from ..multiple_negatives_ranking import MultipleNegativesRankingLoss
from .inner import InnerLoss


def dot_score(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Dot products ``(N, M)`` of ``(N, V)`` and ``(M, V)``: how sparse embeddings are scored."""
    return a @ b.T


class SparseMultipleNegativesRankingLoss(InnerLoss, MultipleNegativesRankingLoss):
    """:class:`~sbert.MultipleNegativesRankingLoss` with sentence-transformers' sparse defaults: dot-product
    scores (SPLADE vectors are not normalized) and no scaling of the softmax (``scale=1``).

    Each anchor's positive is found among all the batch's candidates (every other positive and every hard
    negative is a negative). It runs inside :class:`SpladeLoss`, which adds the sparsity regularizers; on its
    own it raises, as sentence-transformers' does.

    Args:
        model: the :class:`sbert.SparseEncoder` to train.
        scale: inverse temperature of the softmax over the scores (default 1).
        similarity_fct: the score matrix of two embedding tensors (default the dot product,
            ``util.dot_score``).
        gather_across_devices, directions, partition_mode, hardness_mode, hardness_strength: as for
            :class:`~sbert.MultipleNegativesRankingLoss`.

    Inputs:

        +-------------------------------------------------+--------+
        | Texts                                           | Labels |
        +=================================================+========+
        | (anchor, positive) pairs                        | none   |
        +-------------------------------------------------+--------+
        | (anchor, positive, negative_1, ..., negative_n) | none   |
        +-------------------------------------------------+--------+

    Example::

        from datasets import Dataset
        from sbert.sparse_encoder import SparseEncoder, SparseEncoderTrainer, losses

        model = SparseEncoder("distilbert/distilbert-base-uncased")
        train = Dataset.from_dict({"anchor": ["What is a cat?"], "positive": ["Cats are small felines."]})
        loss = losses.SpladeLoss(model, loss=losses.SparseMultipleNegativesRankingLoss(model),
                                 query_regularizer_weight=5e-5, document_regularizer_weight=3e-5)
        SparseEncoderTrainer(model=model, train_dataset=train, loss=loss).train()
    """

    def __init__(
        self,
        model: Any,
        scale: float = 1.0,
        similarity_fct: Any = dot_score,
        gather_across_devices: bool = False,
        directions: tuple[str, ...] = ("query_to_doc",),
        partition_mode: str = "joint",
        hardness_mode: str | None = None,
        hardness_strength: float = 0.0,
    ) -> None:
        super().__init__(
            model,
            scale=scale,
            similarity_fct=similarity_fct,
            gather_across_devices=gather_across_devices,
            directions=directions,
            partition_mode=partition_mode,
            hardness_mode=hardness_mode,
            hardness_strength=hardness_strength,
        )
        # sentence-transformers' attributes (its get_config_dict lists them: config() here)
        ranking = self.ranking
        self.directions, self.partition_mode = ranking.directions, ranking.partition_mode
        self.hardness_mode, self.hardness_strength = ranking.hardness_mode, ranking.hardness_strength
