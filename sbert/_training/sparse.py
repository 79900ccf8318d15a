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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._losses.base import Loss
from .._losses.sparse.multiple_negatives_ranking import SparseMultipleNegativesRankingLoss
from .._losses.sparse.splade import SpladeLoss
from .._st_loggers import ST_SPARSE_ENCODER_TRAINER
from .collators import SparseEncoderDataCollator
from .splade_schedule import SpladeRegularizerWeightSchedulerCallback
from .st_compat import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

logger = logging.getLogger(ST_SPARSE_ENCODER_TRAINER)  # its trainer's notices, in its words


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

    Each ``SpladeLoss`` of ``trainer.loss`` (each one of a dict, whether or not a dataset names it; also in a
    trainer made without training data) gets a ``SpladeRegularizerWeightSchedulerCallback`` (of
    :mod:`sbert.sparse_encoder.callbacks`): the one passed in ``callbacks`` for it, else a default one
    (quadratic, over a third of the steps), run before the other callbacks (a schedule of another loss stays
    where it was passed), as in sentence-transformers. Each logged record has the
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
        data_collator: Any = None,
        processing_class: Any = None,
        model_init: Any = None,
        compute_metrics: Any = None,
        callbacks: Sequence[Any] | None = None,
        optimizers: Any = (None, None),
        optimizer_cls_and_kwargs: Any = None,
        preprocess_logits_for_metrics: Any = None,
        **unsupported: Any,
    ) -> None:
        callbacks = list(callbacks or [])
        others = [c for c in callbacks if not _is_schedule(c)]
        super().__init__(
            model,
            args,
            train_dataset,
            eval_dataset,
            loss,
            evaluator,
            data_collator=data_collator,
            processing_class=processing_class,
            model_init=model_init,
            compute_metrics=compute_metrics,
            callbacks=others,
            optimizers=optimizers,
            optimizer_cls_and_kwargs=optimizer_cls_and_kwargs,
            preprocess_logits_for_metrics=preprocess_logits_for_metrics,
            **unsupported,
        )
        # every SpladeLoss of trainer.loss (with or without data: sentence-transformers adds them as it
        # prepares each loss), in front; the other callbacks as the trainer took them, in the user's order
        losses = self.loss.values() if isinstance(self.loss, Mapping) else [self.loss]
        schedules = _loss_schedules(losses, [c for c in callbacks if _is_schedule(c)])
        taken = iter(self.callbacks)
        rest = [c if _is_schedule(c) else next(taken) for c in callbacks if c not in schedules]
        self.callbacks = [*schedules, *rest]

    def default_loss(self, model: Any) -> Loss:
        """sentence-transformers' default: SpladeLoss around SparseMultipleNegativesRankingLoss."""
        logger.info(
            "No `loss` passed, using `SpladeLoss` with `SparseMultipleNegativesRankingLoss` as the default. "
            "Note: `query_regularizer_weight` and `document_regularizer_weight` are sensitive parameters "
            "and should be tuned for your task."
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


def _is_schedule(callback: Any) -> bool:
    return isinstance(callback, SpladeRegularizerWeightSchedulerCallback)


def _loss_schedules(
    losses: Iterable[Any], given: list[SpladeRegularizerWeightSchedulerCallback]
) -> list[SpladeRegularizerWeightSchedulerCallback]:
    """A weight schedule for each SpladeLoss of ``losses``: the one ``given`` for it, else a new default one;
    each put first in turn, as sentence-transformers' trainer puts it after its flow callback, one loss after
    the other (so the last loss's comes first)."""
    schedules: list[SpladeRegularizerWeightSchedulerCallback] = []
    for loss in losses:
        if not isinstance(loss, SpladeLoss):
            continue
        own = next((c for c in [*schedules, *given] if c.loss is loss), None)
        if own is None:
            logger.warning(
                "SpladeLoss detected without SpladeRegularizerWeightSchedulerCallback. Adding default "
                "SpladeRegularizerWeightSchedulerCallback to gradually increase weight values from 0 to "
                "their maximum."
            )
            own = SpladeRegularizerWeightSchedulerCallback(loss)
        elif schedules and schedules[0] is own:
            continue  # already first
        if own in schedules:
            schedules.remove(own)
        schedules.insert(0, own)
    return schedules
