"""SpladeRegularizerWeightSchedulerCallback: SpladeLoss's regularizer weights raised from 0 to their values
over the start of a run, as sentence-transformers' sparse-encoder trainer schedules them.

A SPLADE model that is regularized at full strength from the first step collapses to near-empty embeddings
before it has learned to rank; so the weights start at 0 and grow (quadratically by default) to the values
given to ``SpladeLoss`` over the first third of the run. :class:`~sbert.sparse_encoder.SparseEncoderTrainer`
adds this callback when its loss is a ``SpladeLoss``; pass one yourself to change the schedule.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from transformers import TrainerCallback

from .._errors import InputError
from .._losses.sparse.splade import SpladeLoss


class SchedulerType(Enum):
    """How the regularizer weights grow during the warm-up: ``ratio * weight`` or ``ratio ** 2 * weight``,
    ``ratio`` being the share of the warm-up done."""

    LINEAR = "linear"
    QUADRATIC = "quadratic"


class SpladeRegularizerWeightSchedulerCallback(TrainerCallback):
    """Raise a :class:`SpladeLoss`'s ``query_regularizer_weight`` and ``document_regularizer_weight`` from 0
    to the values it was made with, over the first ``warmup_ratio`` of the run's steps.

    At each step the weights are ``max_weight * f(step / warmup_steps)`` (``f`` the identity for
    ``"linear"``, the square for ``"quadratic"``), the values themselves from ``warmup_steps`` on;
    ``warmup_steps`` is ``int(total_steps * warmup_ratio)``, at least 1. Each logged record gets the current
    ``document_regularizer_weight`` (and ``query_regularizer_weight``).

    Args:
        loss: the ``SpladeLoss`` whose weights to schedule.
        scheduler_type: ``"quadratic"`` (default) or ``"linear"``, or a :class:`SchedulerType`.
        warmup_ratio: the share of the run's steps the warm-up takes, in (0, 1] (default 1/3).

    Example::

        loss = SpladeLoss(model, SparseMultipleNegativesRankingLoss(model), document_regularizer_weight=3e-5,
                          query_regularizer_weight=5e-5)
        schedule = SpladeRegularizerWeightSchedulerCallback(loss, scheduler_type="linear", warmup_ratio=0.1)
        SparseEncoderTrainer(model=model, train_dataset=data, loss=loss, callbacks=[schedule]).train()
    """

    every_process = True  # it changes the loss, which every process computes (sbert's trainer, under DDP)

    def __init__(
        self,
        loss: SpladeLoss,
        scheduler_type: str | SchedulerType = SchedulerType.QUADRATIC,
        warmup_ratio: float = 1 / 3,
    ) -> None:
        super().__init__()
        if not isinstance(loss, SpladeLoss):
            raise InputError(
                "SpladeRegularizerWeightSchedulerCallback schedules a SpladeLoss's weights; got "
                f"{type(loss).__name__}."
            )
        self.scheduler_type = _scheduler_type(scheduler_type)
        if not (isinstance(warmup_ratio, (int, float)) and 0 < warmup_ratio <= 1):
            raise InputError(f"warmup_ratio must be in (0, 1], got {warmup_ratio!r}.")
        self.loss = loss
        self.warmup_ratio = warmup_ratio
        self.max_document_regularizer_weight = loss.document_regularizer_weight
        self.max_query_regularizer_weight = loss.query_regularizer_weight
        query_weight = None if self.max_query_regularizer_weight is None else 0.0
        self._current_query_regularizer_weight: float | None = query_weight
        self._current_document_regularizer_weight = 0.0
        self.total_steps: int | None = None
        self.warmup_steps: int | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Work out the warm-up's length from the run's and start the weights at 0."""
        if not getattr(state, "max_steps", 0) > 0:
            return  # no length known: the weights stay as the loss has them
        self.total_steps = int(state.max_steps)
        self.warmup_steps = max(1, int(self.total_steps * self.warmup_ratio))
        self.loss.query_regularizer_weight = self._current_query_regularizer_weight
        self.loss.document_regularizer_weight = self._current_document_regularizer_weight

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Set the weights for the step about to run (``state.global_step`` steps are done)."""
        if self.warmup_steps is None:
            return
        step = state.global_step
        query = self.weight_at(step, self.max_query_regularizer_weight)
        document = self.weight_at(step, self.max_document_regularizer_weight)
        self.loss.query_regularizer_weight, self.loss.document_regularizer_weight = query, document
        self._current_query_regularizer_weight, self._current_document_regularizer_weight = query, document

    def weight_at(self, step: int, max_value: float | None) -> float | None:
        """A weight's value after ``step`` steps, for its full value ``max_value``."""
        if max_value is None or self.warmup_steps is None or step >= self.warmup_steps:
            return max_value
        ratio = step / self.warmup_steps
        return max_value * (ratio if self.scheduler_type is SchedulerType.LINEAR else ratio**2)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Add the current weights to the record the later callbacks see."""
        if logs is None:
            return
        logs["document_regularizer_weight"] = self._current_document_regularizer_weight
        if self._current_query_regularizer_weight is not None:
            logs["query_regularizer_weight"] = self._current_query_regularizer_weight


def _scheduler_type(value: Any) -> SchedulerType:
    if isinstance(value, SchedulerType):
        return value
    try:
        return SchedulerType(str(value).lower())
    except ValueError:
        choices = [member.value for member in SchedulerType]
        raise InputError(f"scheduler_type must be one of {choices}, got {value!r}.") from None
