"""MultiVectorMarginMSELoss: a MultiVectorEncoder's MaxSim margins fitted to a teacher's (Hofstätter et al.
2020, https://arxiv.org/abs/2010.02666)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._errors import InputError
from ..base import Features, check_finite, stacked_labels
from ..citations import MARGIN_MSE_2020
from ..margin_mse import label_matrix
from .base import MultiVectorLoss


class MultiVectorMarginMSELoss(MultiVectorLoss):
    """The mean squared error between the student's margins ``MaxSim(q, pos) - MaxSim(q, neg_j)`` and the
    teacher's.

    Args:
        model: the :class:`sbert.MultiVectorEncoder` to train.
        similarity_fct: the scores of matched pairs, ``(B, q_tokens, dim)`` and ``(B, d_tokens, dim)`` to
            ``(B,)`` (``colbert_scores_pairwise``, ``xtr_scores_pairwise``); default the model's
            ``similarity_pairwise``.
        mini_batch_size: embed the candidate columns this many rows at a time (the same loss).

    Requirements:
        (query, positive, negative_1, ..., negative_n) texts and, as the label, the teacher's ``n`` margins
        ``score(q, pos) - score(q, neg_j)`` or its ``n + 1`` scores ``[score(q, pos), score(q, neg_1), ...]``
        (one number for one negative).
    """

    min_columns = 3
    label_kind = "score"

    citation = MARGIN_MSE_2020

    def __init__(
        self,
        model: Any,
        *,
        similarity_fct: Callable[..., torch.Tensor] | None = None,
        mini_batch_size: int | None = None,
    ) -> None:
        super().__init__(model)
        self.similarity_fct = similarity_fct
        self.mini_batch_size = mini_batch_size
        self.loss_function = nn.MSELoss()

    def score(
        self, queries: torch.Tensor, documents: torch.Tensor, query_mask: Any, document_mask: Any
    ) -> Any:
        if self.similarity_fct is None:
            return self.model.similarity_pairwise(queries, documents, a_mask=query_mask, b_mask=document_mask)
        return self.similarity_fct(queries, documents, queries_mask=query_mask, documents_mask=document_mask)

    def forward(self, sentence_features: Sequence[Features], labels: Any) -> torch.Tensor:
        sentence_features = [dict(f) for f in sentence_features]
        if len(sentence_features) < 3:
            raise InputError(
                f"{type(self).__name__} expects at least 3 columns (query, positive, negative), got "
                f"{len(sentence_features)}."
            )
        queries, query_mask = self.embed(sentence_features[0], "query")
        (positive, *negatives), (positive_mask, *negative_masks) = self.embed_candidates(
            sentence_features[1:], self.mini_batch_size
        )
        positive_scores = self.score(queries, positive, query_mask, positive_mask)
        margins = teacher_margins(
            label_matrix(labels, queries.device), len(queries), len(negatives), type(self).__name__
        )
        student = torch.stack(
            [
                positive_scores - self.score(queries, n, query_mask, m)
                for n, m in zip(negatives, negative_masks)
            ],
            dim=1,
        )
        return self.loss_function(student, margins.detach().to(student.dtype))

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        check_finite(stacked_labels(labels, where, type(self).__name__), where, type(self).__name__)

    def config(self) -> dict[str, Any]:
        return {"similarity_fct": self.similarity_config(), "mini_batch_size": self.mini_batch_size}

    get_config_dict = config


def teacher_margins(labels: torch.Tensor, rows: int, negatives: int, loss: str) -> torch.Tensor:
    """The teacher's ``(rows, negatives)`` margins: given as such, or from its ``negatives + 1`` scores."""
    if labels.ndim == 1:
        if negatives != 1:
            raise InputError(
                f"{loss} got one label a row (shape {tuple(labels.shape)}) but {negatives} negative columns; "
                "give a list of margins (or of scores) per row."
            )
        labels = labels.unsqueeze(1)
    if labels.shape == (rows, negatives + 1):
        labels = labels[:, :1] - labels[:, 1:]
    if labels.shape != (rows, negatives):
        raise InputError(
            f"{loss} got labels of shape {tuple(labels.shape)}, expected {(rows, negatives)} for {negatives} "
            f"negative columns: per row, the teacher's margins score(q, pos) - score(q, neg) ({negatives}) "
            "or "
            f"its scores [pos, neg_1, ...] ({negatives + 1})."
        )
    return labels
