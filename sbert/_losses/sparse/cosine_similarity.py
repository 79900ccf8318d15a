"""SparseCosineSimilarityLoss: regression of the cosine of two SPLADE embeddings onto a score."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..cosine_similarity import CosineSimilarityLoss
from .inner import InnerLoss


class SparseCosineSimilarityLoss(InnerLoss, CosineSimilarityLoss):
    """:class:`~sbert.CosineSimilarityLoss` for a :class:`sbert.SparseEncoder`: ``loss_fct(cos(u, v),
    label)``, mean squared error by default. The model scores by cosine from then on
    (``model.similarity_fn_name = "cosine"``, saved with it), as sentence-transformers sets it.

    It runs inside :class:`SpladeLoss`, which adds the sparsity regularizers; on its own it raises, as
    sentence-transformers' does.

    Args:
        model: the :class:`sbert.SparseEncoder` to train.
        loss_fct: the regression loss of the cosines and labels (default ``nn.MSELoss()``).
        cos_score_transformation: applied to the cosines first (default ``nn.Identity()``).

    Inputs:

        +--------------------------------+------------------------+
        | Texts                          | Labels                 |
        +================================+========================+
        | (sentence_A, sentence_B) pairs | float similarity score |
        +--------------------------------+------------------------+

    Example::

        loss = losses.SpladeLoss(model, loss=losses.SparseCosineSimilarityLoss(model),
                                 document_regularizer_weight=5e-5, use_document_regularizer_only=True)
    """

    def __init__(
        self, model: Any, loss_fct: nn.Module | None = None, cos_score_transformation: nn.Module | None = None
    ) -> None:
        model.similarity_fn_name = "cosine"
        super().__init__(model, loss_fct=loss_fct, cos_score_transformation=cos_score_transformation)
