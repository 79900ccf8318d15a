"""CosineSimilarityLoss: mean squared error between cos(u, v) and a gold similarity score."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .base import Loss, check_label_count, check_range, pairwise_cos_sim


class CosineSimilarityLoss(Loss):
    """``MSE(cos(u, v), label)``: regress the cosine of the two embeddings onto a similarity score.

    The STS-regression objective of the Sentence-BERT paper. Scores must be on the cosine's scale: STS
    benchmark scores in [0, 5] are divided by 5 first (``load_dataset(..., score_range=(0, 5))`` does it).
    :class:`CoSENTLoss` takes the same data and often trains faster, since only the order of scores matters.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.

    Requirements:
        Pairs of texts with a float similarity in ``[-1, 1]`` (usually ``[0, 1]``).

    Inputs:

        +---------------------------+----------------------------------+
        | Texts                     | Labels                           |
        +===========================+==================================+
        | (sentence_A, sentence_B)  | float similarity in ``[-1, 1]``  |
        +---------------------------+----------------------------------+

    Example::

        from sbert import CosineSimilarityLoss, SentenceTransformer, Trainer, TrainingArguments, load_dataset

        model = SentenceTransformer()
        train = load_dataset(
            "stsb/train.tsv", columns=["sentence1", "sentence2"], label="score", score_range=(0, 5)
        )
        Trainer(model, train, CosineSimilarityLoss(model), args=TrainingArguments(output_dir="out")).train()
    """

    label_kind = "score"

    def __init__(
        self, model: Any, loss_fct: nn.Module | None = None, cos_score_transformation: nn.Module | None = None
    ) -> None:
        super().__init__(model)
        # sentence-transformers' options: the regression loss (e.g. nn.L1Loss()), a map applied to the cosines
        self.loss_fct = loss_fct if loss_fct is not None else nn.MSELoss()
        self.cos_score_transformation = (
            cos_score_transformation if cos_score_transformation is not None else nn.Identity()
        )

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        u, v = embeddings
        check_label_count(type(self).__name__, labels, u.shape[0])
        scores = self.cos_score_transformation(pairwise_cos_sim(u, v))
        return self.loss_fct(scores, labels.float().view(-1))

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        hint = " Scale scores to the cosine's range first, e.g. load_dataset(..., score_range=(0, 5))."
        check_range(labels, where, "CosineSimilarityLoss", -1.0, 1.0, hint)

    def config(self) -> dict[str, Any]:
        return {
            "loss_fct": _full_name(self.loss_fct),
            "cos_score_transformation": _full_name(self.cos_score_transformation),
        }


def _full_name(module: Any) -> str:
    """``torch.nn.modules.loss.MSELoss``: the class path sentence-transformers records a loss module by."""
    kind = type(module)
    return f"{kind.__module__}.{kind.__qualname__}"
