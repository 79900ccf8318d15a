"""SparseTripletLoss: (anchor, positive, negative) margin loss for SPLADE models, inside SpladeLoss."""

from __future__ import annotations

from typing import Any

from ..triplet import TripletLoss
from .inner import InnerLoss


class SparseTripletLoss(InnerLoss, TripletLoss):
    """:class:`~sbert.TripletLoss` for a :class:`sbert.SparseEncoder`:
    ``max(d(a, p) - d(a, n) + margin, 0)``, euclidean distances by default.

    It runs inside :class:`SpladeLoss`, which adds the sparsity regularizers; on its own it raises, as
    sentence-transformers' does.

    Args:
        model: the :class:`sbert.SparseEncoder` to train.
        distance_metric: ``TripletDistanceMetric.EUCLIDEAN`` (default), ``COSINE``, ``MANHATTAN``, their
            names, or a function of two embedding tensors.
        triplet_margin: how much closer the positive must be than the negative (default 5).

    Inputs:

        +---------------------------------------+--------+
        | Texts                                 | Labels |
        +=======================================+========+
        | (anchor, positive, negative) triplets | none   |
        +---------------------------------------+--------+

    Example::

        loss = losses.SpladeLoss(model, loss=losses.SparseTripletLoss(model),
                                 query_regularizer_weight=5e-5, document_regularizer_weight=3e-5)
    """

    def __init__(self, model: Any, distance_metric: Any = "euclidean", triplet_margin: float = 5) -> None:
        super().__init__(model, distance_metric=distance_metric, triplet_margin=triplet_margin)
