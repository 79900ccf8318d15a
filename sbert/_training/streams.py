"""Streamed datasets (``datasets.IterableDataset``) read as sentence-transformers' trainer reads them.

There a stream goes to a plain torch DataLoader: no batch sampler, its rows in the stream's order, cut into
batches, epoch after epoch (Hugging Face's trainer calls ``set_epoch`` before each, which reshuffles a
``stream.shuffle(...)``) until ``max_steps``. sbert's trainer trains on rows in memory, so a run reads the
passes it will train on, each pass after ``set_epoch`` as there, and the batch plan cuts each pass into
batches in order (:mod:`sbert._training.batch_plan`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from .._errors import InputError

# Hugging Face's trainer's words when a dataset without a length comes without max_steps
NO_LENGTH = (
    "The train_dataset does not implement __len__, so the number of training steps cannot be inferred; "
    "max_steps has to be specified. The total number of steps must be known in advance to bound the "
    "training loop and to configure the learning rate scheduler."
)
# sentence-transformers' words: its multi-dataset batches index into the datasets' concatenation
IN_A_DICT = "Sentence Transformers is not compatible with a DatasetDict containing an IterableDataset."


@dataclass(frozen=True)
class StreamSteps:
    """What a training run takes from a stream: ``steps`` optimizer steps of ``accumulation`` batches of
    ``batch_size`` rows (a pass's last, shorter batch left out with ``drop_last``)."""

    steps: int
    batch_size: int
    accumulation: int = 1
    drop_last: bool = False

    def steps_of(self, rows: int) -> int:
        """The optimizer steps a pass of ``rows`` rows gives."""
        batches = rows // self.batch_size if self.drop_last else math.ceil(rows / self.batch_size)
        return math.ceil(batches / self.accumulation)


def is_stream(data: Any) -> bool:
    return type(data).__name__ == "IterableDataset"


def check_features(data: Any, what: str) -> None:
    """sentence-transformers' refusal of a stream whose columns are unknown (a ``map`` without
    ``features=``), with its suggestion of the Features to give."""
    if not is_stream(data) or data.column_names is not None:
        return
    from datasets import Sequence, Value

    def naive(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return Sequence(naive(value[0]) if value else Value("string"))
        kinds = {str: "string", int: "int64", float: "float32", bool: "bool"}
        return Value(kinds.get(type(value), "null"))

    example = {key: naive(value) for key, value in next(iter(data)).items()}
    raise InputError(
        f"The provided `{what}` must have Features. Specify them with e.g.:\n"
        f"{what} = {what}.cast(Features({example}))\n"
        "or by providing the Features to the IterableDataset initialization method. See the Datasets "
        "documentation for more information on dataset Features: "
        "https://huggingface.co/docs/datasets/en/about_dataset_features"
    )


def read_passes(data: Any, what: str, steps: StreamSteps | None) -> tuple[Any, tuple[int, ...]]:
    """The rows a run takes from stream ``data`` as one ``datasets.Dataset``, and the row count of each
    pass in it: with ``steps``, pass after pass until they fill its steps (the last pass cut there); without,
    one whole pass (evaluation)."""
    from datasets import Dataset

    start_epoch = getattr(data, "epoch", 0)
    rows: list[dict[str, Any]] = []
    passes: list[int] = []
    left = steps.steps if steps is not None else None
    try:
        while left is None or left > 0:
            if hasattr(data, "set_epoch"):
                data.set_epoch(len(passes))  # as Hugging Face's trainer does before each epoch
            limit = None if left is None else left * steps.accumulation * steps.batch_size
            taken = list(itertools.islice(iter(data), limit))
            gives = len(taken) if steps is None else steps.steps_of(len(taken))
            if not gives:  # a pass without a batch: Hugging Face's trainer stops there
                break
            rows += taken
            passes.append(len(taken))
            if left is None:
                break
            left -= gives
    finally:
        if hasattr(data, "set_epoch"):
            data.set_epoch(start_epoch)
    if not rows:
        raise InputError(f"{what}: the IterableDataset gave no rows (no whole batch).")
    return Dataset.from_list(rows, features=_row_features(data.features, rows[0])), tuple(passes)


def _row_features(declared: Any, row: dict[str, Any]) -> Any:
    """The stream's declared Features in its rows' column order (sentence-transformers' collator reads a
    row's keys in order), or None (inferred from the rows) where they do not name the rows' columns."""
    from datasets import Features

    if declared is None or set(declared) != set(row):
        return None
    return Features({column: declared[column] for column in row})
