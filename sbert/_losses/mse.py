"""MSELoss: distillation, the student's embeddings regressed onto a teacher's."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import InputError
from .base import Loss, check_finite


class MSELoss(Loss):
    """Mean squared error between the student's embeddings and precomputed teacher embeddings.

    Knowledge distillation and multilingual extension (Reimers & Gurevych 2020,
    https://arxiv.org/abs/2004.09813): a teacher embeds the source sentences once; the student learns to map
    each source sentence, and its translations, to the teacher's vector. With several text columns every
    column is regressed onto the same teacher vector (2-D labels) or onto its own (3-D labels); the loss is
    the mean over columns.

    Args:
        model: the student :class:`sbert.SentenceTransformer`.

    Requirements:
        One or more text columns and the teacher's embedding of the first as the label; the student's
        dimension must equal the teacher's.

    Inputs:

        +-------------------------------------------+------------------------------+
        | Texts                                     | Labels                       |
        +===========================================+==============================+
        | sentence                                  | teacher embedding (D floats) |
        +-------------------------------------------+------------------------------+
        | (sentence, translation_1, ...)            | teacher embedding (D floats) |
        +-------------------------------------------+------------------------------+

    Example::

        from sbert import MSELoss, SentenceTransformer, Trainer, TrainingArguments, load_dataset

        teacher, student = SentenceTransformer("teacher-model"), SentenceTransformer("student-model")
        sentences = ["A man plays guitar.", "The weather is lovely today."]
        train = load_dataset({"sentence": sentences}, label_values=teacher.encode(sentences))
        Trainer(student, train, MSELoss(student), args=TrainingArguments(output_dir="out")).train()
    """

    min_columns = 1
    max_columns = None
    label_kind = "embedding"

    def __init__(self, model: Any, projection_dim: int | None = None) -> None:
        super().__init__(model)
        if projection_dim is not None:
            raise InputError(
                f"MSELoss: projection_dim={projection_dim!r} is not supported here; "
                "EmbedDistillLoss(model, distance_metric='mse', projection_dim=...) trains that projection."
            )

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        labels = labels.detach()
        targets = [labels] * len(embeddings) if labels.dim() == 2 else list(labels.unbind(1))
        losses = [
            nn.functional.mse_loss(student, target.to(device=student.device, dtype=student.dtype))
            for student, target in zip(embeddings, targets)
        ]
        return torch.stack(losses).mean()

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        check_finite(labels, where, "MSELoss")
        dim = self.model.full_embedding_dimension
        if labels.ndim not in (2, 3) or labels.shape[-1] != dim:
            raise InputError(
                f"{where}: MSELoss needs teacher embeddings of the student's dimension {dim} as labels, "
                f"got an array of shape {labels.shape}."
            )
