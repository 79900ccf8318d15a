"""EmbedDistillLoss: the student's embeddings pulled onto precomputed teacher embeddings."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import check_positive_int
from .._errors import InputError
from .base import Features, Loss, check_finite, embed_columns
from .citations import EMBED_DISTILL

# name -> (student (B, D), teacher (B, D)) -> the loss of one column
METRICS = {
    "cosine": lambda s, t: (1 - nn.functional.cosine_similarity(s, t, dim=-1)).mean(),
    "l2": lambda s, t: torch.linalg.vector_norm(s - t, dim=-1).mean(),
    "mse": nn.functional.mse_loss,
}


class EmbedDistillLoss(Loss):
    """Embedding distillation: each column's student embedding against the teacher's embedding of the same
    text, averaged over the columns (the embedding-matching loss of EmbedDistill, Kim et al. 2023,
    https://arxiv.org/abs/2301.12005).

    The teacher's embeddings are computed once, before training (with whatever prompts the teacher needs),
    and given as the labels: one ``(D_teacher,)`` vector per row, which every column is pulled onto, or a
    ``(columns, D_teacher)`` array per row, one vector per column. A student smaller than its teacher gets
    a trained linear projection (``projection_dim=D_teacher``); it lives on the loss, not in the saved model
    (:meth:`save_projection` / :meth:`load_projection` carry it from one run to the next).

    :class:`MSELoss` is this loss with ``distance_metric="mse"`` and no projection. Score-based distillation
    (the teacher's similarities rather than its vectors) is :class:`MarginMSELoss` or
    :class:`DistillKLDivLoss`.

    Args:
        model: the student :class:`sbert.SentenceTransformer`.
        distance_metric: ``"cosine"`` (default, ``1 - cos``), ``"l2"`` (euclidean distance, as in the paper)
            or ``"mse"`` (mean squared error).
        projection_dim: the teacher's dimension, to project the student's embeddings to it with a trained
            ``nn.Linear`` (default None: no projection; the dimensions must then be equal).

    Requirements:
        One or more text columns; the teacher's embeddings as the label.

    Inputs:

        +--------------------------------+----------------------------------------------+
        | Texts                          | Labels                                       |
        +================================+==============================================+
        | text                           | teacher embedding ``(D_teacher,)``           |
        +--------------------------------+----------------------------------------------+
        | (text_1, ..., text_N)          | ``(D_teacher,)``, shared by the columns      |
        +--------------------------------+----------------------------------------------+
        | (text_1, ..., text_N)          | ``(N, D_teacher)``, one per column           |
        +--------------------------------+----------------------------------------------+

    Example::

        from sbert import EmbedDistillLoss, SentenceTransformer, Trainer, TrainingArguments, load_dataset

        teacher, student = SentenceTransformer("teacher-model"), SentenceTransformer("student-model")
        sentences = ["A man plays guitar.", "The weather is lovely today."]
        train = load_dataset({"sentence": sentences}, label_values=teacher.encode(sentences))
        loss = EmbedDistillLoss(student, projection_dim=teacher.get_embedding_dimension())
        Trainer(student, train, loss, args=TrainingArguments(output_dir="out")).train()
    """

    citation = EMBED_DISTILL

    min_columns = 1
    max_columns = None
    label_kind = "embedding"

    def __init__(
        self, model: Any, distance_metric: str = "cosine", projection_dim: int | None = None
    ) -> None:
        super().__init__(model)
        if distance_metric not in METRICS:
            raise InputError(
                f"EmbedDistillLoss: distance_metric must be one of {sorted(METRICS)}, got "
                f"{distance_metric!r}."
            )
        check_positive_int("projection_dim", projection_dim, optional=True)
        self.distance_metric = distance_metric
        self.projection_dim = projection_dim
        self.projection: nn.Linear | None = None
        if projection_dim is not None:
            student = model.full_embedding_dimension
            self.projection = nn.Linear(student, projection_dim, device=model.device)

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        embeddings = embed_columns(self.model, sentence_features)
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(  # type: ignore[override]
        self, embeddings: list[torch.Tensor], teacher_embeddings: torch.Tensor | Sequence[torch.Tensor] | None
    ) -> torch.Tensor:
        """The mean over columns of the distance between student and teacher embeddings.
        ``teacher_embeddings`` (sentence-transformers' name) is the label tensor (``(B, D)`` or
        ``(B, N, D)``) or, as sentence-transformers' takes it, a list of one teacher tensor per column."""
        losses = []
        for student, teacher in zip(embeddings, self.teacher_columns(teacher_embeddings, len(embeddings))):
            dtype = self.projection.weight.dtype if self.projection is not None else student.dtype
            teacher = teacher.detach().to(device=student.device, dtype=dtype)
            if self.projection is not None:
                student = self.projection(student.to(dtype))
            if student.shape != teacher.shape:
                raise InputError(
                    f"EmbedDistillLoss: student embeddings of shape {tuple(student.shape)} against "
                    f"teacher embeddings of shape {tuple(teacher.shape)}; set projection_dim to the "
                    "teacher's dimension."
                )
            losses.append(METRICS[self.distance_metric](student, teacher))
        return torch.stack(losses).mean()

    @staticmethod
    def teacher_columns(labels: Any, n_columns: int) -> list[torch.Tensor]:
        """One teacher tensor per column from the labels."""
        if labels is None:
            raise InputError(
                "EmbedDistillLoss needs pre-computed teacher embeddings as labels: encode the texts with the "
                "teacher and pass them as the label column (load_dataset(..., "
                "label_values=teacher.encode(texts)))."
            )
        if isinstance(labels, (list, tuple)):
            columns = list(labels)
        elif labels.dim() == 2:  # one teacher vector per row, for every column
            columns = [labels] * n_columns
        elif labels.dim() == 3:
            columns = list(labels.unbind(1))
        else:
            raise InputError(
                f"EmbedDistillLoss needs labels of shape (batch, dim) or (batch, columns, dim), got "
                f"{tuple(labels.shape)}."
            )
        if len(columns) != n_columns:
            raise InputError(
                f"EmbedDistillLoss: Number of label columns ({len(columns)}) does not match the {n_columns} "
                "text columns; give one teacher embedding per column, or a single (batch, dim) array for all."
            )
        return columns

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        check_finite(labels, where, "EmbedDistillLoss")
        dim = self.projection_dim or self.model.full_embedding_dimension
        if labels.ndim not in (2, 3) or labels.shape[-1] != dim:
            hint = (
                "" if self.projection is not None else " (or set projection_dim to the teacher's dimension)"
            )
            raise InputError(
                f"{where}: {type(self).__name__} needs teacher embeddings of dimension {dim} as "
                f"labels{hint}, got an array of shape {labels.shape}."
            )

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        super().check_data(n_columns, labels, where)
        shape = np.shape(labels)
        if len(shape) == 3 and shape[1] != n_columns:
            raise InputError(
                f"{where}: the labels hold teacher embeddings for {shape[1]} columns, the data has "
                f"{n_columns} text columns; give one per column, or one (dim,) vector per row for all."
            )

    def check_truncation(self, dims: Sequence[int]) -> None:
        if self.projection is not None:
            raise InputError(
                "EmbedDistillLoss with a projection cannot be wrapped in MatryoshkaLoss: the projection "
                "takes the full student embedding."
            )

    def save_projection(self, path: str | os.PathLike) -> None:
        """Write the projection's weights to a safetensors file (to reuse it in a later run)."""
        from safetensors.torch import save_model

        if self.projection is None:
            raise InputError("EmbedDistillLoss has no projection to save; build it with projection_dim=...")
        save_model(self.projection, str(path))

    def load_projection(self, path: str | os.PathLike) -> None:
        """Read projection weights written by :meth:`save_projection`, creating the projection if the loss
        has none yet."""
        from safetensors.torch import load_file

        state = load_file(str(path))
        out_features, in_features = state["weight"].shape
        student = self.model.full_embedding_dimension
        if self.projection is None:
            if in_features != student:
                raise InputError(
                    f"{path}: the projection takes {in_features}-dimensional embeddings; this student's are "
                    f"{student}-dimensional."
                )
            self.projection = nn.Linear(in_features, out_features, device=self.model.device)
            self.projection_dim = out_features
        elif (self.projection.in_features, self.projection.out_features) != (in_features, out_features):
            raise InputError(
                f"{path}: a projection from {in_features} to {out_features} dimensions; this loss's goes "
                f"from {self.projection.in_features} to {self.projection.out_features}."
            )
        self.projection.load_state_dict(state)

    def config(self) -> dict[str, Any]:
        return {"distance_metric": self.distance_metric, "projection_dim": self.projection_dim}
