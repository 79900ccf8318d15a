"""CrossEncoderTrainer: sentence-transformers' name for training a CrossEncoder; the one Trainer underneath.

The Trainer runs cross-encoder losses as any other (schedule, checkpoints, evaluation, logging, DDP): a
cross-encoder loss gets the batch's text columns and forms the pairs itself. This module adds only
sentence-transformers' default loss (BinaryCrossEntropyLoss for one label, CrossEntropyLoss for more).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._evaluation.base import Evaluator
from .._losses.base import Loss
from .arguments import TrainingArguments
from .data import TextDataset
from .trainer import Trainer

# sentence-transformers' CrossEncoderTrainingArguments: the same hyper-parameters as a bi-encoder's run
CrossEncoderTrainingArguments = TrainingArguments


class CrossEncoderTrainer(Trainer):
    """Fine-tune a :class:`sbert.CrossEncoder`: :class:`sbert.Trainer` with a default loss.

    Args:
        model: a CrossEncoder on the torch backend in fp32.
        train_data: a :class:`TextDataset` (``sbert.load_dataset``) or a dict name -> dataset.
        loss: a loss of :mod:`sbert.cross_encoder.losses` (or a dict name -> loss); default
            ``BinaryCrossEntropyLoss`` for a one-label model, ``CrossEntropyLoss`` for more.
        args: :class:`CrossEncoderTrainingArguments` (the same class as ``TrainingArguments``).
        evaluator: e.g. ``CrossEncoderCorrelationEvaluator`` or ``CrossEncoderRerankingEvaluator``.

    Example::

        from sbert import CrossEncoder, load_dataset
        from sbert.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments

        model = CrossEncoder(num_labels=1)  # the default model's encoder with a new head
        train = load_dataset("stsb/train.tsv", columns=["sentence1", "sentence2"], label="score",
                             score_range=(0, 5))
        args = CrossEncoderTrainingArguments(output_dir="runs/ce", batch_size=16, warmup_ratio=0.1)
        CrossEncoderTrainer(model, train, args=args).train()
    """

    def __init__(
        self,
        model: Any,
        train_data: TextDataset | Mapping[str, TextDataset],
        loss: Loss | Mapping[str, Loss] | None = None,
        *,
        args: TrainingArguments,
        evaluator: Evaluator | None = None,
        callbacks: Sequence[Any] | None = None,
    ) -> None:
        super().__init__(
            model,
            train_data,
            default_loss(model) if loss is None else loss,
            args=args,
            evaluator=evaluator,
            callbacks=callbacks,
        )


def default_loss(model: Any) -> Loss:
    """sentence-transformers' default cross-encoder loss for ``model``."""
    from .._losses.cross.binary_cross_entropy import BinaryCrossEntropyLoss
    from .._losses.cross.cross_entropy import CrossEntropyLoss

    return BinaryCrossEntropyLoss(model) if getattr(model, "num_labels", 1) == 1 else CrossEntropyLoss(model)
