"""MSELoss: distillation, the student's embeddings regressed onto a teacher's."""

from __future__ import annotations

from typing import Any

from .citations import MULTILINGUAL_DISTILLATION
from .embed_distill import EmbedDistillLoss


class MSELoss(EmbedDistillLoss):
    """Mean squared error between the student's embeddings and precomputed teacher embeddings.

    Knowledge distillation and multilingual extension (Reimers & Gurevych 2020,
    https://arxiv.org/abs/2004.09813): a teacher embeds the source sentences once; the student learns to map
    each source sentence, and its translations, to the teacher's vector. With several text columns every
    column is regressed onto the same teacher vector (2-D labels) or onto its own (3-D labels); the loss is
    the mean over columns.

    It is :class:`EmbedDistillLoss` with ``distance_metric="mse"`` (as in sentence-transformers 6.3).

    Args:
        model: the student :class:`sbert.SentenceTransformer`.
        projection_dim: the teacher's dimension, to project the student's embeddings to it with a trained
            ``nn.Linear`` on the loss (default None: the dimensions must be equal).

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

    citation = MULTILINGUAL_DISTILLATION

    def __init__(self, model: Any, projection_dim: int | None = None) -> None:
        super().__init__(model, distance_metric="mse", projection_dim=projection_dim)

    def config(self) -> dict[str, Any]:
        return {"projection_dim": self.projection_dim}  # its only option, as sentence-transformers records it
