"""CrossEntropyLoss (cross-encoder): a cross-encoder's n logits against a class id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._errors import InputError
from .base import CrossEncoderLoss, pairs_of


class CrossEntropyLoss(CrossEncoderLoss):
    """Cross-entropy (softmax inside the loss) of the logits against the class id of each pair, as
    sentence-transformers' cross-encoder ``CrossEntropyLoss``.

    For pair classification, e.g. NLI: (premise, hypothesis) with contradiction / entailment / neutral, on a
    ``CrossEncoder(path, num_labels=3)``. String labels are mapped to ids by :func:`sbert.load_dataset`.

    Args:
        model: the :class:`sbert.CrossEncoder` to train (``num_labels`` classes).
        activation_fn: applied to the logits before the loss (default Identity).
        **kwargs: passed on to ``torch.nn.CrossEntropyLoss`` (e.g. ``label_smoothing``).

    Inputs:

        +-----------------------------------+----------------------------------+
        | Texts                             | Labels                           |
        +===================================+==================================+
        | (sentence_A, sentence_B) pairs    | class id in [0, num_labels)      |
        +-----------------------------------+----------------------------------+

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sbert.cross_encoder.losses import CrossEntropyLoss

        model = CrossEncoder("path/to/encoder", num_labels=3)
        train = load_dataset("nli.tsv", columns=["sentence1", "sentence2"], label="label")
        args = CrossEncoderTrainingArguments(output_dir="out")
        CrossEncoderTrainer(model, train, CrossEntropyLoss(model), args=args).train()
    """

    label_kind = "class"
    one_label = False
    card_parameters = False  # sentence-transformers' class has no get_config_dict: its card shows none

    def __init__(self, model: Any, activation_fn: Any = None, **kwargs: Any) -> None:
        super().__init__(model, activation_fn)
        self.ce_loss = nn.CrossEntropyLoss(**kwargs)

    def forward(
        self,
        inputs: Sequence[Sequence[str]],
        labels: Any,
        prompt: str | None = None,
        task: str | None = None,
    ) -> torch.Tensor:
        pairs = pairs_of(inputs, type(self).__name__)
        logits = self.activation_fn(self.logits(pairs, prompt))  # (B, num_labels)
        labels = torch.as_tensor(labels).to(logits.device)
        if not labels.is_floating_point() and labels.shape == (logits.shape[0], 1):
            labels = labels.view(-1)
        return self.ce_loss(logits, labels)

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        super().check_labels(labels, where)
        n = self.model.num_labels
        if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= n:
            raise InputError(
                f"{where}: CrossEntropyLoss needs class ids in [0, {n}) (the model's num_labels), got values "
                f"from {labels.min()} to {labels.max()}: give text labels (mapped to ids) or load the model "
                "with num_labels set to the number of classes."
            )

    def config(self) -> dict[str, Any]:
        return {**super().config(), "num_labels": self.model.num_labels}
