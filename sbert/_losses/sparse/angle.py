"""SparseAnglELoss: AnglE's angle-difference ranking of pair scores, for SPLADE models, inside SpladeLoss."""

from __future__ import annotations

from typing import Any

from ..angle import AnglELoss
from ..citations import COSENT
from .inner import InnerLoss


class SparseAnglELoss(InnerLoss, AnglELoss):
    """:class:`~sbert.AnglELoss` for a :class:`sbert.SparseEncoder`: CoSENT's ranking of pairs, scored by the
    angle difference of their embeddings in complex space. The model scores by cosine from then on
    (``model.similarity_fn_name = "cosine"``, saved with it), as sentence-transformers sets it.

    It runs inside :class:`SpladeLoss`, which adds the sparsity regularizers; on its own it raises, as
    sentence-transformers' does.

    Args:
        model: the :class:`sbert.SparseEncoder` to train.
        scale: multiplies the score differences (default 20).

    Inputs:

        +--------------------------------+------------------------+
        | Texts                          | Labels                 |
        +================================+========================+
        | (sentence_A, sentence_B) pairs | float similarity score |
        +--------------------------------+------------------------+

    Example::

        loss = losses.SpladeLoss(model, loss=losses.SparseAnglELoss(model),
                                 document_regularizer_weight=5e-5, use_document_regularizer_only=True)
    """

    citation = COSENT

    max_columns = 2

    def __init__(self, model: Any, scale: float = 20.0) -> None:
        model.similarity_fn_name = "cosine"
        super().__init__(model, scale=scale)
