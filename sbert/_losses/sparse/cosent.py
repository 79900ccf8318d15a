"""SparseCoSENTLoss: CoSENT's ranking of pair scores, for SPLADE models, inside SpladeLoss."""

from __future__ import annotations

from typing import Any

from ..cosent import CoSENTLoss
from .inner import InnerLoss


class SparseCoSENTLoss(InnerLoss, CoSENTLoss):
    """:class:`~sbert.CoSENTLoss` for a :class:`sbert.SparseEncoder`: every pair labelled more similar than
    another must score higher, ``log(1 + sum exp(scale * (s_j - s_i)))``. The model scores by cosine from
    then on (``model.similarity_fn_name = "cosine"``, saved with it), as sentence-transformers sets it.

    It runs inside :class:`SpladeLoss`, which adds the sparsity regularizers; on its own it raises, as
    sentence-transformers' does.

    Args:
        model: the :class:`sbert.SparseEncoder` to train.
        scale: multiplies the score differences (default 20).
        similarity_fct: the score of a pair of embedding rows (default the cosine, ``util.pairwise_cos_sim``).

    Inputs:

        +--------------------------------+------------------------+
        | Texts                          | Labels                 |
        +================================+========================+
        | (sentence_A, sentence_B) pairs | float similarity score |
        +--------------------------------+------------------------+

    Example::

        loss = losses.SpladeLoss(model, loss=losses.SparseCoSENTLoss(model),
                                 document_regularizer_weight=5e-5, use_document_regularizer_only=True)
    """

    def __init__(self, model: Any, scale: float = 20.0, similarity_fct: Any = None) -> None:
        model.similarity_fn_name = "cosine"
        super().__init__(model, scale=scale, similarity_fct=similarity_fct)
