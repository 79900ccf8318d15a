"""BinaryCrossEntropyLoss: a cross-encoder's one logit against a relevance label in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..base import check_range
from .base import CrossEncoderLoss, labels_tensor, pairs_of


class BinaryCrossEntropyLoss(CrossEncoderLoss):
    """Binary cross-entropy on the logit (sigmoid inside the loss, ``BCEWithLogitsLoss``), as
    sentence-transformers' cross-encoder ``BinaryCrossEntropyLoss``.

    The usual loss of a reranker: (query, passage) pairs labelled 1 (relevant) or 0, e.g. mined hard
    negatives in the ``labeled-pair`` format; soft labels in [0, 1] (STSb scores / 5, a teacher's
    probabilities) work too.

    Args:
        model: the :class:`sbert.CrossEncoder` to train (one output label).
        activation_fn: applied to the logits before the loss (default Identity: the loss takes logits).
        pos_weight: weight of the positive class (``> 1`` when negatives outnumber positives): a tensor or a
            number.
        **kwargs: passed on to ``torch.nn.BCEWithLogitsLoss``.

    Inputs:

        +-----------------------------------+------------------------------+
        | Texts                             | Labels                       |
        +===================================+==============================+
        | (query, passage) pairs            | 1 (relevant) or 0, or [0, 1] |
        +-----------------------------------+------------------------------+

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import BinaryCrossEntropyLoss

        model = CrossEncoder("path/to/encoder", num_labels=1)
        train = load_dataset([("what is a cat?", "A cat is a feline.", 1), ("what is a cat?", "Paris.", 0)])
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(model, train, BinaryCrossEntropyLoss(model), args=args).train()
    """

    label_kind = "binary"

    def __init__(
        self,
        model: Any,
        activation_fn: Any = None,
        pos_weight: torch.Tensor | float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, activation_fn)
        if pos_weight is not None and not isinstance(pos_weight, torch.Tensor):
            pos_weight = torch.tensor(float(pos_weight))  # a number from a YAML recipe
        self.pos_weight = pos_weight
        self.bce_with_logits_loss = nn.BCEWithLogitsLoss(pos_weight=pos_weight, **kwargs)

    def forward(
        self,
        inputs: Sequence[Sequence[str]],
        labels: Any,
        prompt: str | None = None,
        task: str | None = None,
    ) -> torch.Tensor:
        pairs = pairs_of(inputs, type(self).__name__)
        logits = self.activation_fn(self.logits(pairs, prompt).view(-1))  # (B,)
        return self.bce_with_logits_loss(
            logits, labels_tensor(labels, logits.device, len(logits), type(self).__name__)
        )

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        super().check_labels(labels, where)
        check_range(
            labels, where, "BinaryCrossEntropyLoss", 0.0, 1.0, " Scale scores to [0, 1] (score_range)."
        )

    def config(self) -> dict[str, Any]:
        weight = None if self.pos_weight is None else float(self.pos_weight)
        return {**super().config(), "pos_weight": weight}
