"""SparseEncoderTrainer: sentence-transformers' trainer of SparseEncoder (SPLADE) models, on sbert's one
Trainer.

The Trainer runs a SparseEncoder as any model (its loss embeds the columns, the schedule, checkpoints and
evaluation are the same). This module adds what sentence-transformers' sparse-encoder trainer adds: its
default loss (``SpladeLoss`` around ``SparseMultipleNegativesRankingLoss``) and, for each ``SpladeLoss``,
the callback that raises the regularizer weights from 0 over the first third of the run
(:mod:`sbert._training.splade_schedule`), run before the user's callbacks, as there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .._losses.base import Loss
from .._losses.sparse.multiple_negatives_ranking import SparseMultipleNegativesRankingLoss
from .._losses.sparse.splade import SpladeLoss
from .collators import SparseEncoderDataCollator
from .splade_schedule import SpladeRegularizerWeightSchedulerCallback
from .st_compat import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

logger = logging.getLogger(__name__)


class SparseEncoderTrainingArguments(SentenceTransformerTrainingArguments):
    """sentence-transformers' ``SparseEncoderTrainingArguments``: Hugging Face's argument names and defaults,
    the same as :class:`~sbert.SentenceTransformerTrainingArguments` (``prompts``, ``router_mapping``,
    ``learning_rate_mapping``, ``batch_sampler``, ...)."""


class SparseEncoderTrainer(SentenceTransformerTrainer):
    """Fine-tune a :class:`sbert.SparseEncoder`, as sentence-transformers' ``SparseEncoderTrainer``.

    Args:
        model: the SparseEncoder to train.
        args: :class:`SparseEncoderTrainingArguments` (default: its defaults, ``output_dir``
            ``"tmp_trainer"``).
        train_dataset, eval_dataset: ``datasets.Dataset`` s or ``DatasetDict`` s, as for
            :class:`~sbert.SentenceTransformerTrainer`.
        loss: a loss of :mod:`sbert.sparse_encoder.losses` (usually a ``SpladeLoss``), a function model ->
            loss, or a dict dataset name -> either; default ``SpladeLoss(model,
            SparseMultipleNegativesRankingLoss(model), query_regularizer_weight=5e-5,
            document_regularizer_weight=3e-5)``.
        evaluator: an evaluator or a list of them.
        callbacks: ``transformers.TrainerCallback`` s or sbert callbacks.

    Each ``SpladeLoss`` gets a ``SpladeRegularizerWeightSchedulerCallback`` (of
    :mod:`sbert.sparse_encoder.callbacks`): the one passed in ``callbacks`` for it, else a default one
    (quadratic, over a third of the steps), run before the other callbacks. Each logged record has the
    loss's parts (``base_loss``, ``document_regularizer_loss``, ``query_regularizer_loss``) beside ``loss``.

    Example::

        from datasets import Dataset
        from sbert.sparse_encoder import SparseEncoder, SparseEncoderTrainer, SparseEncoderTrainingArguments
        from sbert.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss

        model = SparseEncoder("distilbert/distilbert-base-uncased")
        train = Dataset.from_dict({"query": [...], "answer": [...]})
        loss = SpladeLoss(model, SparseMultipleNegativesRankingLoss(model), query_regularizer_weight=5e-5,
                          document_regularizer_weight=3e-5)
        args = SparseEncoderTrainingArguments(output_dir="runs/splade", per_device_train_batch_size=16)
        SparseEncoderTrainer(model=model, args=args, train_dataset=train, loss=loss).train()
    """

    args_class = SparseEncoderTrainingArguments
    collator_class = SparseEncoderDataCollator

    def __init__(
        self,
        model: Any = None,
        args: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        loss: Any = None,
        evaluator: Any = None,
        callbacks: Sequence[Any] | None = None,
        **unsupported: Any,
    ) -> None:
        callbacks = list(callbacks or [])
        super().__init__(
            model,
            args,
            train_dataset,
            eval_dataset,
            loss,
            evaluator,
            [c for c in callbacks if not isinstance(c, SpladeRegularizerWeightSchedulerCallback)],
            **unsupported,
        )
        schedules = [c for c in callbacks if isinstance(c, SpladeRegularizerWeightSchedulerCallback)]
        self.callbacks = [*_loss_schedules(self.losses, schedules), *self.callbacks]

    def default_loss(self, model: Any) -> Loss:
        """sentence-transformers' default: SpladeLoss around SparseMultipleNegativesRankingLoss."""
        logger.info(
            "No `loss` passed, using `SpladeLoss` with `SparseMultipleNegativesRankingLoss` as the default; "
            "its query_regularizer_weight and document_regularizer_weight are worth tuning for your task."
        )
        return default_loss(model)


def default_loss(model: Any) -> SpladeLoss:
    """sentence-transformers' default sparse-encoder loss for ``model``."""
    return SpladeLoss(
        model,
        loss=SparseMultipleNegativesRankingLoss(model),
        query_regularizer_weight=5e-5,
        document_regularizer_weight=3e-5,
    )


def _loss_schedules(
    losses: Sequence[Any], given: list[SpladeRegularizerWeightSchedulerCallback]
) -> list[SpladeRegularizerWeightSchedulerCallback]:
    """A weight schedule for each SpladeLoss of ``losses``: the one ``given`` for it, else a new default one;
    then the given ones for no loss of this run (as they were passed, they do nothing)."""
    schedules = []
    for loss in dict.fromkeys(x for x in losses if isinstance(x, SpladeLoss)):
        own = next((c for c in given if c.loss is loss), None)
        if own is None:
            logger.warning(
                "SpladeLoss detected without SpladeRegularizerWeightSchedulerCallback. Adding default "
                "SpladeRegularizerWeightSchedulerCallback to gradually increase weight values from 0 to "
                "their maximum."
            )
            own = SpladeRegularizerWeightSchedulerCallback(loss)
        schedules.insert(0, own)  # sentence-transformers puts each one first in turn: the last loss's first
    return [*schedules, *(c for c in given if c not in schedules)]
