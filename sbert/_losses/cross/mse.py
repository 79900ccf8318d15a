"""MSELoss (cross-encoder): a cross-encoder's one logit regressed onto a score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .base import CrossEncoderLoss, labels_tensor, pairs_of


class MSELoss(CrossEncoderLoss):
    """Mean squared error between the logit (after ``activation_fn``) and the label, as
    sentence-transformers' cross-encoder ``MSELoss``.

    For distillation: a teacher cross-encoder's scores of (query, passage) pairs become the labels, and the
    student learns to reproduce them; also for regression on gold scores (STSb scores / 5 with a Sigmoid).

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        activation_fn: applied to the logits before the loss (default Identity).
        **kwargs: passed on to ``torch.nn.MSELoss``.

    Inputs:

        +-----------------------------------+-------------------------+
        | Texts                             | Labels                  |
        +===================================+=========================+
        | (query, passage) pairs            | a score (any number)    |
        +-----------------------------------+-------------------------+

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import MSELoss

        teacher, student = CrossEncoder("path/to/teacher"), CrossEncoder("path/to/student")
        pairs = [("what is a cat?", "A cat is a feline."), ("what is a cat?", "Paris is in France.")]
        train = load_dataset([(*pair, float(s)) for pair, s in zip(pairs, teacher.predict(pairs))])
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(student, train, MSELoss(student), args=args).train()
    """

    label_kind = "score"

    def __init__(self, model: Any, activation_fn: Any = None, **kwargs: Any) -> None:
        super().__init__(model, activation_fn)
        self.loss_fct = nn.MSELoss(**kwargs)

    def forward(
        self,
        inputs: Sequence[Sequence[str]],
        labels: Any,
        prompt: str | None = None,
        task: str | None = None,
    ) -> torch.Tensor:
        pairs = pairs_of(inputs, type(self).__name__)
        logits = self.activation_fn(self.logits(pairs, prompt).view(-1))  # (B,)
        return self.loss_fct(
            logits, labels_tensor(labels, logits.device, len(logits), type(self).__name__).detach()
        )
