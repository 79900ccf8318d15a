"""sentence-transformers' data collators: ``SentenceTransformerDataCollator``, ``SparseEncoderDataCollator``
and ``CrossEncoderDataCollator`` (with their base, ``BaseDataCollator``), at its module paths
(``sbert.sentence_transformer.data_collator``, ...).

A collator turns the rows of one batch (dicts column -> value, as a ``datasets.Dataset`` gives them) into the
batch a trainer hands its loss: the label column as ``"label"``, each text column through ``preprocess_fn``
(the model's ``preprocess``) as ``{column}_input_ids``, ``{column}_attention_mask``, ... with its prompt and
its Router task; a cross-encoder's collator keeps the texts. sbert's trainers build their batches themselves
(:meth:`sbert.Trainer._inputs`); they run a collator only when one is given as ``data_collator=``
(:mod:`sbert._training.collate`), so that a user's subclass sees and returns what it would there. The hooks a
subclass overrides (``_resolve_prompts``, ``_get_task_for_column``, ...) have sentence-transformers' names
and signatures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import torch

logger = logging.getLogger(__name__)

DEFAULT_LABEL_COLUMNS: tuple[str, ...] = ("label", "labels", "score", "scores")
DATASET_NAME = "dataset_name"  # the column sentence-transformers' trainer adds to tell datasets apart
_WARNED_ID_COLUMNS: set[tuple[str, ...]] = set()
# the columns' usual places, by family: a column elsewhere is warned about (losses read columns by position)
_USUAL_ORDERS = (
    ("anchor", "positive", "negative"),
    ("question", "answer"),
    ("query", "response"),
    ("hypothesis", "entailment", "contradiction"),
)


@dataclass
class BaseDataCollator:
    """The rows of a batch as a loss's batch: ``"label"`` (the first of ``valid_label_columns`` present, as
    a tensor) and, for each other column, ``preprocess_fn(texts, prompt=..., task=...)``'s features under
    ``{column}_{key}`` (plus ``{column}_task`` where a task applies). ``prompts`` and ``router_mapping``
    are the training arguments' (per column, or per dataset name, then per column); ``max_length`` (an int,
    or a dict task -> int) is passed on to ``preprocess_fn`` where set."""

    preprocess_fn: Callable[..., dict[str, Any]]
    valid_label_columns: list[str] = field(default_factory=lambda: list(DEFAULT_LABEL_COLUMNS))
    router_mapping: dict[str, Any] | None = field(default_factory=dict, repr=False)
    prompts: str | dict[str, Any] | None = field(default_factory=dict, repr=False)
    max_length: int | dict[str, int] | None = field(default=None, repr=False)

    _warned_columns: set[tuple[str, ...]] = field(default_factory=set, init=False, repr=False)

    def _resolve_router_mapping(self, batch: dict[str, Any]) -> dict[str, str]:
        """The column -> task mapping of this batch's dataset (a mapping keyed by dataset names is read by
        the batch's ``dataset_name``; ``{}`` for a dataset it does not name)."""
        mapping = self.router_mapping or {}
        if mapping and isinstance(next(iter(mapping.values())), dict):
            return mapping.get(batch.get(DATASET_NAME), {})
        return mapping

    def _resolve_prompts(self, batch: dict[str, Any]) -> str | dict[str, str] | None:
        """The prompt (one string) or column -> prompt of this batch's dataset."""
        prompts = self.prompts
        if not prompts or not isinstance(prompts, dict):
            return prompts
        named = DATASET_NAME in batch
        if named and batch[DATASET_NAME] in prompts:
            return prompts[batch[DATASET_NAME]]
        if not isinstance(next(iter(prompts.values())), dict):
            return prompts
        if not named:
            raise ValueError(
                "The prompts provided to the trainer are a nested dictionary. In this setting, the first "
                "level of the dictionary should map to dataset names and the second level to column names. "
                "However, as the provided dataset is a not a DatasetDict, no dataset names can be inferred. "
                f"The keys to the provided prompts dictionary are {list(prompts.keys())!r}"
            )
        return {}

    def _get_prompt_for_column(self, prompts: str | dict[str, str] | None, column_name: str) -> str | None:
        if isinstance(prompts, str):
            return prompts
        return prompts.get(column_name) if isinstance(prompts, dict) else None

    def _get_task_for_column(
        self, column_name: str, column_position: int, router_mapping: dict[str, str]
    ) -> str | None:
        return router_mapping.get(column_name)

    def _get_max_length_for_task(self, task: str | None) -> int | None:
        if isinstance(self.max_length, dict):
            return self.max_length.get(task) if task is not None else None
        return self.max_length

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        if not features:
            return {}
        batch, columns = _start_batch(features, self.valid_label_columns, stack=True)
        if tuple(columns) not in self._warned_columns:
            self.maybe_warn_about_column_order(columns)
        _warn_about_id_columns(columns)
        tasks, prompts = self._resolve_router_mapping(batch), self._resolve_prompts(batch)
        for position, column in enumerate(columns):
            task = self._get_task_for_column(column, position, tasks)
            options = {"prompt": self._get_prompt_for_column(prompts, column), "task": task}
            max_length = self._get_max_length_for_task(task)
            if max_length is not None:  # only when set: a preprocess_fn may not take it
                options["max_length"] = max_length
            out = self.preprocess_fn([row[column] for row in features], **options)
            batch.update({f"{column}_{key}": value for key, value in out.items()})
            if task is not None:  # losses that run the model again read the task each column had
                batch[f"{column}_task"] = task
        return batch

    def maybe_warn_about_column_order(self, column_names: list[str]) -> None:
        """Warn (once per column list) when a column with a usual place (``anchor`` first, ``positive``
        second, ...) is elsewhere: the losses read the columns by position, not by name."""
        for family in _USUAL_ORDERS:
            for expected, name in enumerate(family):
                if name in column_names and column_names.index(name) != expected:
                    logger.warning(
                        f"Column {name!r} is at index {column_names.index(name)}, whereas a column with this "
                        f"name is usually expected at index {expected}. The losses read the columns by "
                        "position (the first as the anchor, the second as the positive), whatever their "
                        f"names; reorder them, e.g. dataset = dataset.select_columns({list(family)})"
                    )
                    self._warned_columns.add(tuple(column_names))
                    return
        self._warned_columns.add(tuple(column_names))


@dataclass
class SentenceTransformerDataCollator(BaseDataCollator):
    """The collator of :class:`~sbert.SentenceTransformer` training (see :class:`BaseDataCollator`)."""


@dataclass
class SparseEncoderDataCollator(BaseDataCollator):
    """The collator of :class:`~sbert.SparseEncoder` training (see :class:`BaseDataCollator`)."""


@dataclass
class CrossEncoderDataCollator(BaseDataCollator):
    """The collator of :class:`~sbert.CrossEncoder` training: the texts stay texts (the losses form the pairs
    and tokenize them), a column per key; ``"label"`` as for the others (a list of tensors for list labels);
    one ``"prompt"`` and one ``"task"`` per batch (a string, or per dataset name), not per column."""

    def __post_init__(self) -> None:
        for what, value in (("prompts", self.prompts), ("router_mapping", self.router_mapping)):
            if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
                raise ValueError(
                    f"CrossEncoder {what} cannot be per-column: the columns are combined into pairs. Give "
                    f"one string, or a dict dataset name -> string, e.g. {what}={{'dataset_a': '...'}}."
                )

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        batch, columns = _start_batch(features, self.valid_label_columns, stack=False)
        for key, value in (("prompt", self.prompts), ("task", self.router_mapping)):
            resolved = self._resolve_scalar(value, batch)
            if resolved:
                batch[key] = resolved
        batch.update({column: [row[column] for row in features] for column in columns})
        return batch

    @staticmethod
    def _resolve_scalar(mapping: str | dict[str, str] | None, batch: dict[str, Any]) -> str | None:
        """One string for the batch: ``mapping`` itself, or its value for the batch's dataset name."""
        if isinstance(mapping, str):
            return mapping or None
        if isinstance(mapping, dict) and DATASET_NAME in batch:
            return mapping.get(batch[DATASET_NAME])
        return None


def _warn_about_id_columns(columns: list[str]) -> None:
    """Warn once about columns named like IDs (``id``, ``*_id``, ``*_ids``, ``*_idx``): they are trained on
    as text."""
    found = tuple(c for c in columns if c == "id" or c.endswith(("_id", "_ids", "_idx")))
    if found and found not in _WARNED_ID_COLUMNS:
        _WARNED_ID_COLUMNS.add(found)
        logger.warning(
            f"Column(s) {list(found)} look like ID columns, but they will be tokenized and trained on as "
            "text. If they hold IDs, resolve them to their values first, e.g. with `sbert.util.resolve_ids`, "
            "or remove them from the dataset."
        )


def _start_batch(
    features: list[dict[str, Any]], label_columns: list[str], *, stack: bool
) -> tuple[dict[str, Any], list[str]]:
    """The batch's ``dataset_name`` and ``label`` entries, and the remaining (input) columns in order.
    ``stack``: tensor labels stacked whatever their shape (else only 0-d ones, lists of them kept)."""
    columns = list(features[0])
    batch: dict[str, Any] = {}
    if DATASET_NAME in columns:
        columns.remove(DATASET_NAME)
        batch[DATASET_NAME] = features[0][DATASET_NAME]
    label = next((c for c in label_columns if c in columns), None)
    if label is not None:
        columns.remove(label)
        batch["label"] = _labels([row[label] for row in features], stack)
    return batch, columns


def _labels(values: list[Any], stack: bool) -> Any:
    """A batch's labels as a tensor; a list of tensors for a cross-encoder's list labels."""
    if isinstance(values[0], torch.Tensor):
        return torch.stack(values) if stack or values[0].ndim == 0 else values
    if not stack and isinstance(values[0], Collection) and not isinstance(values[0], str):
        return [torch.tensor(v) for v in values]
    return torch.tensor(values)
