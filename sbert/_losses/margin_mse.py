"""MarginMSELoss: distillation of a cross-encoder's margin score(query, positive) - score(query, negative)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import InputError, LabelShapeError
from .base import Loss, at_least_float32, check_finite, stacked_labels
from .citations import MARGIN_MSE
from .metrics import custom_similarity, recorded_similarity


def pairwise_dot_score(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise dot products ``(B,)`` of ``(B, D)`` tensors: the teacher-score losses' default score (half
    precision in float32, as sentence-transformers' ``util.pairwise_dot_score``)."""
    return (at_least_float32(a) * at_least_float32(b)).sum(dim=-1)


def label_matrix(labels: Any, device: torch.device) -> torch.Tensor:
    """Teacher labels as a float tensor on ``device``: a tensor as it is, or a list of per-row tensors (the
    Trainer's form for a label column of lists) stacked into ``(B, N)``."""
    if isinstance(labels, (list, tuple)):
        labels = torch.stack([torch.as_tensor(row) for row in labels])
    return labels.detach().to(device=device, dtype=torch.float32)


class TeacherScoresLoss(Loss):
    """Base of the losses fitting a teacher's scores of each row's candidates: the labels are required."""

    min_columns = 3
    max_columns = None
    label_kind = "score"
    teacher_labels = "scores"  # what the labels hold, and how to make them: for the error when there are none
    labels_fix = ""

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        name = type(self).__name__
        if labels is None and n_columns >= self.min_columns:
            raise InputError(
                f"{where}: {name} needs the teacher's {self.teacher_labels} as labels, the data has none: "
                f"{self.labels_fix}"
            )
        super().check_data(n_columns, labels, where)
        self.check_label_width(n_columns, stacked_labels(labels, where, name), where)

    def check_label_width(self, n_columns: int, labels: np.ndarray, where: str) -> None:
        raise NotImplementedError


class MarginMSELoss(TeacherScoresLoss):
    """Mean squared error between the student's and a teacher's margins ``sim(q, pos) - sim(q, neg)``.

    Margin-MSE distillation (Hofstätter et al. 2020, https://arxiv.org/abs/2010.02666): a cross-encoder
    scores (query, positive) and (query, negative) pairs once, offline; the bi-encoder learns to reproduce
    the gap between the two scores with its dot products. The teacher's absolute scale does not matter,
    only the margins. With several negatives, each negative's margin is fitted.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        similarity_fct: the student's score of a (query, candidate) pair of embedding rows, ``(B, D)``
            twice to ``(B,)``; default the dot product (``util.pairwise_dot_score``).

    Requirements:
        (query, positive, negative_1, ..., negative_n) texts, and as the label either the teacher's margins
        ``score(q, pos) - score(q, neg_i)`` (one number with one negative, else n numbers) or the teacher's
        raw scores ``[score(q, pos), score(q, neg_1), ..., score(q, neg_n)]`` (n + 1 numbers).

    Inputs:

        +-------------------------------------------------+--------------------------------------------+
        | Texts                                           | Labels                                     |
        +=================================================+============================================+
        | (query, positive, negative)                     | score(q, pos) - score(q, neg)              |
        +-------------------------------------------------+--------------------------------------------+
        | (query, positive, negative_1, ..., negative_n)  | [margin_1, ..., margin_n] or the n + 1     |
        |                                                 | scores [pos, neg_1, ..., neg_n]            |
        +-------------------------------------------------+--------------------------------------------+

    Example::

        from sbert import CrossEncoder, MarginMSELoss, SentenceTransformer, Trainer, TrainingArguments
        from sbert import load_dataset

        model, teacher = SentenceTransformer(), CrossEncoder("my-cross-encoder")
        rows = [("what is a cat", "Cats are small felines.", "Dogs bark.")]
        margins = [a - b for a, b in zip(teacher.predict([(q, p) for q, p, _ in rows]),
                                           teacher.predict([(q, n) for q, _, n in rows]))]
        train = load_dataset(rows, label_values=margins)
        Trainer(model, train, MarginMSELoss(model), args=TrainingArguments(output_dir="out")).train()
    """

    citation = MARGIN_MSE

    teacher_labels = "margins"
    labels_fix = (
        "score (query, positive) and (query, negative) with a cross-encoder and give score(q, pos) - "
        "score(q, neg) as the label column (or label_values=...)."
    )

    def __init__(self, model: Any, similarity_fct: Any = None) -> None:
        super().__init__(model)
        self._similarity = custom_similarity(similarity_fct, "pairwise_dot_score", type(self).__name__)
        self.similarity_fct = self._similarity or pairwise_dot_score
        self.loss_fct = nn.MSELoss()  # of the student's margins against the teacher's

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        query, positive, negatives = embeddings[0], embeddings[1], embeddings[2:]
        n, k = query.shape[0], len(negatives)
        target = label_matrix(labels, query.device)
        if target.shape == (n, k + 1):  # raw scores: the margins are the positive's minus each negative's
            target = target[:, :1] - target[:, 1:]
        if target.shape == (n,):
            target = target.unsqueeze(1)
        if target.shape != (n, k):  # as sentence-transformers: no other shape is reshaped into rows
            raise LabelShapeError(
                f"MarginMSELoss: labels of shape {tuple(target.shape)} do not match the expected shape "
                f"{(n, k)} ({n} rows with {k} negatives); give {k} margins or {k + 1} teacher scores per row."
            )
        positive_score = self.similarity_fct(query, positive)  # (B,): dot products by default
        margins = torch.stack([positive_score - self.similarity_fct(query, neg) for neg in negatives], dim=1)
        return self.loss_fct(margins, target.to(margins.dtype))

    def check_label_width(self, n_columns: int, labels: np.ndarray, where: str) -> None:
        width = 1 if labels.ndim == 1 else labels.shape[1]
        negatives = n_columns - 2
        if labels.ndim > 2 or width not in (negatives, negatives + 1):
            raise InputError(
                f"{where}: MarginMSELoss needs {negatives} margins or {negatives + 1} teacher scores a row "
                f"for {n_columns} text columns (query, positive, {negatives} negatives); the labels have "
                f"{width}."
            )

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        check_finite(stacked_labels(labels, where, "MarginMSELoss"), where, "MarginMSELoss")

    def config(self) -> dict[str, Any]:
        return {"similarity_fct": recorded_similarity(self._similarity, "pairwise_dot_score")}
