"""MatryoshkaLoss: train embeddings that still work when truncated to their first dimensions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import InputError
from .base import Loss, embed_columns


def shrink(embeddings: torch.Tensor, dim: int) -> torch.Tensor:
    """The first ``dim`` dimensions of ``(B, D)`` embeddings, scaled back to unit length."""
    return nn.functional.normalize(embeddings[..., :dim], p=2, dim=-1)


class MatryoshkaLoss(Loss):
    """A wrapper: the inner loss summed (with weights) over embeddings truncated to several sizes.

    Matryoshka Representation Learning (https://arxiv.org/abs/2205.13147): after training, the first 256,
    128 or 64 dimensions of an embedding are a good embedding on their own, so storage and search can use
    fewer dimensions. The model runs once per batch; each size reuses its output, truncated and
    re-normalized.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        loss: the inner loss, e.g. :class:`MultipleNegativesRankingLoss` or :class:`CoSENTLoss`. A
            :class:`SoftmaxLoss` takes only the size its classifier was built for (an :class:`InputError`
            says so for any other; sentence-transformers fails there with a shape error).
        matryoshka_dims: sizes to train, e.g. ``[384, 256, 128, 64]``; should include the full size.
        matryoshka_weights: one weight per size (default all 1).

    Requirements:
        Whatever the inner loss takes.

    Inputs:

        +----------------------------+-------------------------+
        | Texts                      | Labels                  |
        +============================+=========================+
        | as the inner loss          | as the inner loss       |
        +----------------------------+-------------------------+

    Example::

        from sbert import (CoSENTLoss, MatryoshkaLoss, SentenceTransformer, Trainer, TrainingArguments,
                           load_dataset)

        model = SentenceTransformer()
        train = load_dataset("stsb/train.tsv", columns=["sentence1", "sentence2"], label="score")
        loss = MatryoshkaLoss(model, CoSENTLoss(model), matryoshka_dims=[384, 256, 128, 64])
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out")).train()
    """

    wraps_loss = True

    def __init__(
        self,
        model: Any,
        loss: Loss,
        matryoshka_dims: Sequence[int],
        matryoshka_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__(model)
        if not isinstance(loss, Loss):
            raise InputError(f"MatryoshkaLoss wraps an sbert loss, got {type(loss).__name__}.")
        dims = list(matryoshka_dims)
        full = model.full_embedding_dimension
        if not dims or any(not isinstance(d, int) or d <= 0 or d > full for d in dims):
            raise InputError(f"matryoshka_dims must be sizes in [1, {full}], got {matryoshka_dims!r}")
        weights = [1.0] * len(dims) if matryoshka_weights is None else list(matryoshka_weights)
        if len(weights) != len(dims):
            raise InputError("matryoshka_weights must have one weight per entry of matryoshka_dims.")
        loss.check_truncation(dims)
        order = sorted(range(len(dims)), key=lambda i: -dims[i])
        self.loss = loss
        self.matryoshka_dims = tuple(dims[i] for i in order)
        self.matryoshka_weights = tuple(weights[i] for i in order)
        self.min_columns, self.max_columns, self.label_kind = (
            loss.min_columns,
            loss.max_columns,
            loss.label_kind,
        )
        self.collective = loss.collective

    def forward(self, features_list: Any, labels: torch.Tensor | None) -> torch.Tensor:
        return self.compute_loss_from_embeddings(embed_columns(self.model, features_list), labels)

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        full = embeddings[0].shape[-1]
        total = 0.0
        for dim, weight in zip(self.matryoshka_dims, self.matryoshka_weights):
            dim_labels = labels
            if labels is not None and labels.dim() in (2, 3) and labels.shape[-1] == full:
                dim_labels = labels[..., :dim]  # teacher embeddings (distillation) truncate too
            total = total + weight * self.loss.compute_loss_from_embeddings(
                [shrink(e, dim) for e in embeddings], dim_labels
            )
        return total

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        self.loss.check_labels(labels, where)

    def config(self) -> dict[str, Any]:
        return {
            "loss": self.loss.describe(),
            "matryoshka_dims": list(self.matryoshka_dims),
            "matryoshka_weights": list(self.matryoshka_weights),
        }
