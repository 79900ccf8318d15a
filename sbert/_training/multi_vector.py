"""MultiVectorEncoderTrainer: sentence-transformers 6.3's trainer of MultiVectorEncoder (late-interaction,
ColBERT-style) models, on sbert's one Trainer.

The Trainer runs a MultiVectorEncoder as any model (its loss embeds the columns; the schedule, checkpoints and
evaluation are the same). This module adds what sentence-transformers' multi-vector trainer adds: each
column's task (the first column ``"query"``, the others ``"document"``, unless ``router_mapping`` names
one), tokenization by that task (``query_length``, ``document_length``, query expansion) or the arguments'
``max_length``, and the default loss (``MultiVectorMultipleNegativesRankingLoss``).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Mapping
from typing import Any

import torch

from .._errors import InputError
from .._format.card_data import card_data_for
from .._losses.base import Loss
from .._losses.multi_vector.multiple_negatives_ranking import MultiVectorMultipleNegativesRankingLoss
from .._st_loggers import ST_MULTI_VECTOR_TRAINER
from .arguments import column_tasks
from .collators import BaseDataCollator
from .st_compat import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

logger = logging.getLogger(ST_MULTI_VECTOR_TRAINER)  # its trainer's notices, in its words


def default_task(position: int) -> str:
    """sentence-transformers' task of a column without one in ``router_mapping``: the first is the query."""
    return "query" if position == 0 else "document"


def check_max_length(value: Any) -> int | dict[str, int] | None:
    """``max_length``: None, a positive int, or a dict task -> positive int."""
    lengths = value.values() if isinstance(value, Mapping) else [value]
    if value is not None and not all(
        isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in lengths
    ):
        raise InputError(
            f"max_length must be None, a positive int or a dict of tasks to positive ints (e.g. "
            f'{{"query": 32, "document": 256}}), got {value!r}.'
        )
    return dict(value) if isinstance(value, Mapping) else value


def task_max_length(max_length: int | dict[str, int] | None, task: str | None) -> int | None:
    """The length a column of ``task`` is tokenized to: an int for every column, a dict by task."""
    if isinstance(max_length, Mapping):
        return max_length.get(task) if task is not None else None
    return max_length


@dataclasses.dataclass(init=False, repr=False, eq=True)
class MultiVectorEncoderTrainingArguments(SentenceTransformerTrainingArguments):
    """sentence-transformers' ``MultiVectorEncoderTrainingArguments``: the arguments of
    :class:`~sbert.SentenceTransformerTrainingArguments`, and ``max_length``: the token length training
    (and evaluation-loss) batches are cut to, an int for every column or a dict task -> length
    (``{"query": 32, "document": 256}``); the model's own lengths are left as they are. A fixed-width query
    expansion ignores it for queries; a ``"min"`` one takes it as a ceiling, never below its length."""

    max_length: int | dict[str, int] | None = None

    def __init__(self, output_dir: str | None = None, max_length: Any = None, **kwargs: Any) -> None:
        self.max_length = check_max_length(max_length)
        super().__init__(output_dir, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "max_length": self.max_length}


@dataclasses.dataclass
class MultiVectorEncoderDataCollator(BaseDataCollator):
    """sentence-transformers' ``MultiVectorEncoderDataCollator``: :class:`~sbert._training.collators.
    BaseDataCollator` with the multi-vector tasks: a column's task is ``router_mapping``'s, else ``"query"``
    for the first and ``"document"`` for the others, as the losses read the columns."""

    def _get_task_for_column(
        self, column_name: str, column_position: int, router_mapping: dict[str, str]
    ) -> str:
        return router_mapping.get(column_name) or default_task(column_position)


class MultiVectorEncoderTrainer(SentenceTransformerTrainer):
    """Fine-tune a :class:`sbert.MultiVectorEncoder`, as sentence-transformers' ``MultiVectorEncoderTrainer``.

    Args:
        model: the MultiVectorEncoder to train.
        args: :class:`MultiVectorEncoderTrainingArguments` (default: its defaults, ``output_dir``
            ``"tmp_trainer"``).
        train_dataset, eval_dataset: ``datasets.Dataset`` s or ``DatasetDict`` s, as for
            :class:`~sbert.SentenceTransformerTrainer`: (query, positive[, negatives...]) columns, or
            (query, document_1, ..., document_N) with a ``scores`` column of teacher scores for distillation.
        loss: a loss of :mod:`sbert.multi_vector_encoder.losses`, a function model -> loss, or a dict
            dataset name -> either; default ``MultiVectorMultipleNegativesRankingLoss(model)``.
        evaluator: an evaluator or a list of them.
        callbacks: ``transformers.TrainerCallback`` s or sbert callbacks.

    The first text column is tokenized and embedded as queries (``task="query"``), the others as documents,
    unless the arguments' ``router_mapping`` maps a column to a task.

    Example::

        from datasets import Dataset
        from sbert.multi_vector_encoder import MultiVectorEncoder, MultiVectorEncoderTrainer

        model = MultiVectorEncoder("path/to/encoder")
        data = Dataset.from_dict({"query": ["what is a cat"], "positive": ["Cats are small felines."]})
        MultiVectorEncoderTrainer(model=model, train_dataset=data).train()
    """

    args_class = MultiVectorEncoderTrainingArguments
    collator_class = MultiVectorEncoderDataCollator
    batches_call_preprocess = True  # a user's preprocess already gets each column (_features)

    def __init__(
        self,
        model: Any = None,
        args: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        *rest: Any,
        **kwargs: Any,
    ) -> None:
        if model is not None and getattr(model, "model_card_data", {}) is None:
            model.model_card_data = card_data_for(model)  # the card the trainer records the run in
        self.max_length = getattr(args, "max_length", None)
        super().__init__(model, args, train_dataset, eval_dataset, *rest, **kwargs)

    # sentence-transformers' parameters, in its order, as the base class declares them
    __init__.__signature__ = inspect.signature(SentenceTransformerTrainer.__init__)  # type: ignore[attr-defined]

    def default_loss(self, model: Any) -> Loss:
        """sentence-transformers' default: MultiVectorMultipleNegativesRankingLoss."""
        logger.info(
            "No `loss` passed, using `MultiVectorMultipleNegativesRankingLoss` as the default. Provide a "
            "different loss via the `loss=` argument if you want to train with knowledge distillation, "
            "margin-MSE, or a cached / large-batch InfoNCE objective."
        )
        return MultiVectorMultipleNegativesRankingLoss(model)

    def _column_tasks(
        self,
        mapping: dict[str, Any] | None,
        datasets: list[tuple[str | None, list[str]]],
        *,
        strict: bool = True,
    ) -> list[dict[str, str]]:
        """Each column's task: ``router_mapping``'s, else ``"query"`` for the first, ``"document"`` after."""
        given = column_tasks(mapping, datasets, strict=strict)
        return [
            {column: tasks.get(column, default_task(i)) for i, column in enumerate(columns)}
            for (_, columns), tasks in zip(datasets, given)
        ]

    def _prompt_lengths(self, prompts: dict[str, str], tasks: dict[str, str]) -> dict[str, int]:
        return {}  # no Pooling to leave a prompt out of: every token is embedded

    def _features(
        self, texts: list[str], prompt: str | None, prompt_length: int | None, task: str | None
    ) -> dict[str, Any]:
        """One column's model inputs: ``model.preprocess`` with its prompt and task (and ``max_length``),
        the task stamped on them as sentence-transformers' collator stamps it."""
        length = task_max_length(self.max_length, task)
        tokens = self.model.preprocess(texts, prompt=prompt, task=task, max_length=length)
        features: dict[str, Any] = {
            k: v.to(self.device) if torch.is_tensor(v) else v for k, v in tokens.items()
        }
        if task is not None:
            features["task"] = task
        return features
