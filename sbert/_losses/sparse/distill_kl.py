"""SparseDistillKLDivLoss: KL-divergence distillation of a teacher's candidate scores, for SPLADE models."""

from __future__ import annotations

from typing import Any

from ..distill_kl import DistillKLDivLoss
from .inner import InnerLoss


class SparseDistillKLDivLoss(InnerLoss, DistillKLDivLoss):
    """:class:`~sbert.DistillKLDivLoss` with sentence-transformers' sparse defaults: dot-product scores and
    ``temperature=2``. The softmax of the student's scores over each query's candidates is fitted to the
    teacher's.

    It runs inside :class:`SpladeLoss`, which adds the sparsity regularizers; on its own it raises, as
    sentence-transformers' does.

    Args:
        model: the :class:`sbert.SparseEncoder` to train.
        similarity_fct: the student's score of a (query, candidate) pair of rows (default the dot product).
        temperature: divides both score sets before the softmax (default 2); the loss is scaled back by
            ``student_temperature ** 2``.
        student_temperature, teacher_temperature: each side's own temperature (default ``temperature``).

    Inputs:

        +------------------------------------------------+------------------------------------------+
        | Texts                                          | Labels                                   |
        +================================================+==========================================+
        | (query, positive, negative_1, ..., negative_n) | the teacher's [pos, neg_1, ..., neg_n]   |
        +------------------------------------------------+------------------------------------------+

    Example::

        loss = losses.SpladeLoss(model, loss=losses.SparseDistillKLDivLoss(model),
                                 query_regularizer_weight=5e-5, document_regularizer_weight=3e-5)
    """

    def __init__(
        self,
        model: Any,
        similarity_fct: Any = None,
        temperature: float = 2.0,
        student_temperature: float | None = None,
        teacher_temperature: float | None = None,
    ) -> None:
        super().__init__(
            model,
            similarity_fct=similarity_fct,
            temperature=temperature,
            student_temperature=student_temperature,
            teacher_temperature=teacher_temperature,
        )
