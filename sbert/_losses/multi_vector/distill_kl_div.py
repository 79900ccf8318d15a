"""MultiVectorDistillKLDivLoss: a MultiVectorEncoder's score distribution over each query's candidates fitted
to a teacher's (ColBERTv2's distillation, Santhanam et al. 2022)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._errors import InputError
from ..._maxsim import stack_padded_token_embeddings
from ..base import Features, check_finite, stacked_labels
from ..citations import COLBERT_V2
from ..margin_mse import label_matrix
from .base import MultiVectorLoss
from .scoring import own_group_scores


class MultiVectorDistillKLDivLoss(MultiVectorLoss):
    """``KL(softmax(teacher / T_t) || softmax(student / T_s)) * T_s^2`` over each query's ``N`` candidates,
    the student's scores MaxSim.

    Args:
        model: the :class:`sbert.MultiVectorEncoder` to train.
        similarity_fct: the ``(B, N)`` scores of queries ``(B, q_tokens, dim)`` against their own candidates
            ``(B, N, d_tokens, dim)`` (``colbert_kd_scores``, ``XTRKDScores()``); default the model's
            ``similarity_pairwise`` on each candidate column.
        temperature: of both score sets (default 1); ``student_temperature`` / ``teacher_temperature`` set
            one side only.
        mini_batch_size: embed the candidate columns this many rows at a time (the same loss).

    Requirements:
        (query, document_1, ..., document_N) texts, ``N >= 2``, and as the label the teacher's ``N`` scores
        of the row's documents.
    """

    min_columns = 3
    label_kind = "score"

    citation = COLBERT_V2

    def __init__(
        self,
        model: Any,
        *,
        similarity_fct: Callable[..., torch.Tensor] | None = None,
        temperature: float = 1.0,
        student_temperature: float | None = None,
        teacher_temperature: float | None = None,
        mini_batch_size: int | None = None,
    ) -> None:
        super().__init__(model)
        self.similarity_fct = similarity_fct
        self.temperature = temperature
        self.student_temperature = temperature if student_temperature is None else student_temperature
        self.teacher_temperature = temperature if teacher_temperature is None else teacher_temperature
        for name in ("temperature", "student_temperature", "teacher_temperature"):
            value = getattr(self, name)
            if not 0 < value < math.inf:
                raise InputError(
                    f"{type(self).__name__}: {name} must be a positive finite number, got {value}."
                )
        self.mini_batch_size = mini_batch_size
        self.loss_function = nn.KLDivLoss(reduction="batchmean", log_target=True)

    def forward(self, sentence_features: Sequence[Features], labels: Any) -> torch.Tensor:
        sentence_features = [dict(f) for f in sentence_features]
        name = type(self).__name__
        if len(sentence_features) < 3:
            raise InputError(
                f"{name} expects a query and at least 2 document columns, got {len(sentence_features)} "
                "columns: a softmax over one document is constant, so the loss would be 0; add a document "
                "column."
            )
        queries, query_mask = self.embed(sentence_features[0], "query")
        teacher = label_matrix(labels, queries.device)
        expected = (len(queries), len(sentence_features) - 1)
        if tuple(teacher.shape) != expected:
            raise InputError(
                f"{name} expects teacher scores of shape (batch_size, N) = {expected}, one per document "
                f"column, got {tuple(teacher.shape)}."
            )
        if teacher.isnan().any():
            raise InputError(f"{name}: the teacher scores contain NaN; check the column holding them.")
        documents, document_mask = stack_padded_token_embeddings(
            *self.embed_candidates(sentence_features[1:], self.mini_batch_size)
        )
        scorer = self.similarity_fct or partial(own_group_scores, self.model.similarity_pairwise)
        scores = scorer(queries, documents, queries_mask=query_mask, documents_mask=document_mask)
        student = nn.functional.log_softmax(scores / self.student_temperature, dim=-1)
        target = nn.functional.log_softmax(teacher.detach() / self.teacher_temperature, dim=-1)
        return self.loss_function(student, target) * self.student_temperature**2

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        labels = stacked_labels(labels, where, type(self).__name__)
        if labels.dtype.kind not in "fiub":
            raise InputError(
                f"{where}: {type(self).__name__} needs numeric teacher scores, got {labels.dtype}."
            )
        check_finite(np.where(np.isneginf(labels), 0.0, labels), where, type(self).__name__)  # -inf: left out

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"similarity_fct": self.similarity_config(), "temperature": self.temperature}
        for name in ("student_temperature", "teacher_temperature"):
            if getattr(self, name) != self.temperature:
                config[name] = getattr(self, name)
        return config | {"mini_batch_size": self.mini_batch_size}

    get_config_dict = config
