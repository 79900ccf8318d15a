"""SparseMarginMSELoss: Margin-MSE distillation for SPLADE models, inside SpladeLoss."""

from __future__ import annotations

from typing import Any

from ..margin_mse import MarginMSELoss
from .inner import InnerLoss


class SparseMarginMSELoss(InnerLoss, MarginMSELoss):
    """:class:`~sbert.MarginMSELoss` for a :class:`sbert.SparseEncoder`: the student's margins
    ``dot(q, pos) - dot(q, neg)`` regressed onto a teacher's (a cross-encoder or a stronger SPLADE model).

    It runs inside :class:`SpladeLoss`, which adds the sparsity regularizers; on its own it raises, as
    sentence-transformers' does.

    Args:
        model: the :class:`sbert.SparseEncoder` to train.
        similarity_fct: the student's score of a (query, candidate) pair of embedding rows (default the dot
            product, ``util.pairwise_dot_score``).

    Inputs:

        +------------------------------------------------+------------------------------------------------+
        | Texts                                          | Labels                                         |
        +================================================+================================================+
        | (query, positive, negative)                    | score(q, pos) - score(q, neg)                  |
        +------------------------------------------------+------------------------------------------------+
        | (query, positive, negative_1, ..., negative_n) | [margin_1, ..., margin_n] or [pos, neg_1, ...] |
        +------------------------------------------------+------------------------------------------------+

    Example::

        from datasets import Dataset
        from sbert.sparse_encoder import SparseEncoder, SparseEncoderTrainer, losses

        student = SparseEncoder("distilbert/distilbert-base-uncased")
        train = Dataset.from_dict({"query": ["what is a cat"], "positive": ["Cats are felines."],
                                   "negative": ["Dogs bark."], "label": [4.2]})
        loss = losses.SpladeLoss(student, loss=losses.SparseMarginMSELoss(student),
                                 query_regularizer_weight=5e-5, document_regularizer_weight=3e-5)
        SparseEncoderTrainer(model=student, train_dataset=train, loss=loss).train()
    """

    def __init__(self, model: Any, similarity_fct: Any = None) -> None:
        super().__init__(model, similarity_fct=similarity_fct)
