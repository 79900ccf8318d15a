"""DistillKLDivLoss: distillation of a teacher's score distribution over each query's candidates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import InputError
from ..util._misc import check_teacher_targets
from .base import stacked_labels
from .citations import DISTILL_KL
from .margin_mse import TeacherScoresLoss, label_matrix, pairwise_dot_score
from .metrics import custom_similarity, recorded_similarity


class DistillKLDivLoss(TeacherScoresLoss):
    """KL divergence from the teacher's softmax over a query's candidates to the student's.

    For each (query, positive, negative_1, ..., negative_n) row a teacher (typically a cross-encoder)
    has scored the n + 1 candidates; the student's dot products ``q . c_j``, divided by the temperature,
    are fitted to the teacher's scores divided by the same temperature, as distributions:
    ``KL(softmax(teacher / T) || softmax(student / T)) * T^2`` (the ``T^2`` keeps the gradient's size
    independent of T, as in Hinton et al. 2015). Unlike :class:`MarginMSELoss` only the teacher's ranking
    and relative gaps count, not its scale. Used to train e.g. SPLADE and ColBERTv2-style retrievers
    (Lin et al. 2020, https://arxiv.org/abs/2010.11386).

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        similarity_fct: the student's score of a (query, candidate) pair of embedding rows, ``(B, D)``
            twice to ``(B,)``; default the dot product (``util.pairwise_dot_score``).
        temperature: the softmax temperature of both score sets (default 1); larger values soften them.
        student_temperature, teacher_temperature: a temperature for one side only (default ``temperature``);
            the loss is scaled by the student's squared.

    Requirements:
        (query, positive, negative_1, ..., negative_n) texts (at least one negative) and, as the label, the
        teacher's n + 1 scores ``[score(q, pos), score(q, neg_1), ..., score(q, neg_n)]``.

    Inputs:

        +-------------------------------------------------+--------------------------------------------+
        | Texts                                           | Labels                                     |
        +=================================================+============================================+
        | (query, positive, negative_1, ..., negative_n)  | [score_pos, score_neg_1, ..., score_neg_n] |
        +-------------------------------------------------+--------------------------------------------+

    Example::

        from sbert import CrossEncoder, DistillKLDivLoss, SentenceTransformer, Trainer, TrainingArguments
        from sbert import load_dataset

        model, teacher = SentenceTransformer(), CrossEncoder("my-cross-encoder")
        rows = [("what is a cat", "Cats are small felines.", "Dogs bark.", "A car.")]
        scores = [teacher.predict([(q, c) for c in candidates]) for q, *candidates in rows]
        train = load_dataset(rows, label_values=scores)
        Trainer(model, train, DistillKLDivLoss(model), args=TrainingArguments(output_dir="out")).train()
    """

    citation = DISTILL_KL

    labels_fix = (
        "score each (query, candidate) pair with a cross-encoder and give the row's scores [pos, neg_1, ...] "
        "as a label column of lists (or label_values=...)."
    )

    def __init__(
        self,
        model: Any,
        similarity_fct: Any = None,
        temperature: float = 1.0,
        student_temperature: float | None = None,
        teacher_temperature: float | None = None,
    ) -> None:
        super().__init__(model)
        self.temperature = temperature
        self.student_temperature = temperature if student_temperature is None else student_temperature
        self.teacher_temperature = temperature if teacher_temperature is None else teacher_temperature
        for name in ("temperature", "student_temperature", "teacher_temperature"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise InputError(f"DistillKLDivLoss: {name} must be a positive finite number, got {value!r}.")
        self._similarity = custom_similarity(similarity_fct, "pairwise_dot_score", type(self).__name__)
        self.similarity_fct = self._similarity or pairwise_dot_score
        self.loss_fct = nn.KLDivLoss(reduction="batchmean")  # KL(target || student) of log-probabilities
        self._checked_target = False

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        query, candidates = embeddings[0], embeddings[1:]
        if len(candidates) < 2:  # a softmax over one candidate is 1: the loss and its gradient are 0
            raise InputError(
                f"DistillKLDivLoss expects at least 3 columns (a query and 2 candidates), got "
                f"{len(embeddings)}; add a negative column."
            )
        teacher = label_matrix(labels, query.device)
        if torch.isnan(teacher).any() or torch.isposinf(teacher).any():  # -inf leaves a candidate out
            raise InputError("DistillKLDivLoss: the teacher scores contain NaN or +inf.")
        if teacher.shape != (query.shape[0], len(candidates)):
            raise InputError(
                f"DistillKLDivLoss expects teacher scores of shape (batch_size, N) = ({query.shape[0]}, "
                f"{len(candidates)}) for N candidate columns, got {tuple(teacher.shape)}."
            )
        student = torch.stack([self.similarity_fct(query, c) for c in candidates], dim=1)
        student = student / self.student_temperature
        target = torch.softmax(teacher / self.teacher_temperature, dim=1)
        if not self._checked_target:  # once: reading the count off an accelerator waits for the device
            self._checked_target = True
            check_teacher_targets(target, teacher, self.teacher_temperature, type(self).__name__)
        # batchmean KL(target || student), scaled back by T^2
        loss = self.loss_fct(torch.log_softmax(student, dim=1), target.to(student.dtype))
        return loss * self.student_temperature**2

    def check_label_width(self, n_columns: int, labels: np.ndarray, where: str) -> None:
        if labels.ndim != 2 or labels.shape[1] != n_columns - 1:
            width = 1 if labels.ndim == 1 else labels.shape[1]
            raise InputError(
                f"{where}: DistillKLDivLoss needs {n_columns - 1} teacher scores a row, one per candidate "
                f"column (positive and {n_columns - 2} negatives); the labels have {width}."
            )

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        labels = stacked_labels(labels, where, "DistillKLDivLoss")
        if labels.dtype.kind not in "fiub":
            raise InputError(f"{where}: DistillKLDivLoss needs numeric teacher scores, got {labels.dtype}.")
        # -inf marks a candidate left out on purpose (as in sentence-transformers); NaN and +inf are errors
        bad = (
            np.flatnonzero(np.isnan(labels).any(axis=-1) | np.isposinf(labels).any(axis=-1))
            if labels.size
            else []
        )
        if len(bad):
            raise InputError(f"{where}: row {bad[0]} has a teacher score that is NaN or +inf.")

    def config(self) -> dict[str, Any]:
        config = {
            "similarity_fct": recorded_similarity(self._similarity, "pairwise_dot_score"),
            "temperature": self.temperature,
        }
        for name in ("student_temperature", "teacher_temperature"):  # recorded where they differ, as ST does
            if getattr(self, name) != self.temperature:
                config[name] = getattr(self, name)
        return config
