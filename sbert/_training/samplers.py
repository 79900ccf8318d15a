"""sentence-transformers' batch samplers (``sentence_transformers.base.sampler``): which rows make each batch.

These are the classes its trainer builds from ``batch_sampler`` / ``multi_dataset_batch_sampler`` and that
users subclass; sbert's trainer builds the same ones (:mod:`.batch_plan`), so the two trainers see the same
batches for a seed. Each sampler draws from the ``torch.Generator`` it is given, reseeded with
``seed + epoch`` where sentence-transformers' samplers reseed it, in the order they draw.

A dataset is anything with ``len``, ``column_names`` and ``dataset[column]``: a ``datasets.Dataset``, or
sbert's :class:`~.batch_plan.TableView` of a TextDataset.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, ConcatDataset, SubsetRandomSampler

from .._errors import InputError, InputTypeError, log_once
from .._st_loggers import ST_SAMPLER
from .arguments import BatchSamplers, MultiDatasetBatchSamplers

EXCLUDED_COLUMNS = ("dataset_name",)  # the trainer's own column, never a text
MAX_RESAMPLE_PASSES = 2  # extra shuffled passes NoDuplicatesBatchSampler may take to reach its length
_PLAIN_VALUES = (str, int, float, bool, bytes, type(None), np.integer, np.floating, np.bool_)


class SetEpochMixin:
    """``set_epoch``, which the trainer calls as each epoch starts, so a sampler can reseed by epoch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _reseed(self) -> None:
        """Seed the generator with ``seed + epoch``, where the sampler has both."""
        generator, seed = getattr(self, "generator", None), getattr(self, "seed", None)
        if generator is not None and seed is not None:
            generator.manual_seed(seed + self.epoch)


class DefaultBatchSampler(SetEpochMixin, BatchSampler):
    """torch's ``BatchSampler`` over ``dataset`` (the trainer passes a ``RandomSampler`` of the rows), with
    the arguments every batch sampler takes; subclass it and pass the class as ``batch_sampler=``.

    Args:
        dataset: the rows to batch (iterated as torch's ``BatchSampler`` iterates its sampler).
        batch_size: rows per batch.
        drop_last: drop the last batch when it is short.
        valid_label_columns: the columns that may hold the label, the first one present is it.
        generator: the random generator to draw from.
        seed: the seed the sampler reseeds with (plus the epoch), where it reseeds.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last)
        self.valid_label_columns = valid_label_columns
        self.generator = generator
        self.seed = seed


class GroupByLabelBatchSampler(DefaultBatchSampler):
    """Batches of at least 2 rows of each of at least 2 labels (for batch triplet losses).

    Each label's rows are shuffled (an odd one left out); labels take turns giving 2 rows each, in a shuffled
    order per round, until fewer than 2 labels have rows left; the stream is cut into batches.
    ``batch_size`` must be even and >= 4.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        self.dataset = dataset
        if self.batch_size < 4 or self.batch_size % 2 == 1:
            raise InputError(f"batch_size must be an even number >= 4, but got {self.batch_size}.")
        groups: dict[Any, list[int]] = {}
        for index, label in enumerate(_labels(dataset, valid_label_columns)):
            groups.setdefault(label, []).append(index)
        self.groups = {label: rows for label, rows in groups.items() if len(rows) >= 2}
        if len(self.groups) < 2:
            raise InputError(
                "GroupByLabelBatchSampler requires at least 2 distinct labels with >= 2 samples each, "
                f"but only {len(self.groups)} label(s) qualified."
            )
        pairs = sorted((len(rows) // 2 for rows in self.groups.values()), reverse=True)
        # the stream ends in the round where only one label has rows left: the second largest's
        self._stream_length = 2 * sum(min(p, pairs[1]) for p in pairs)

    def __iter__(self) -> Iterator[list[int]]:
        self._reseed()
        queues = {}
        for label, rows in self.groups.items():
            order = torch.randperm(len(rows), generator=self.generator)[: len(rows) // 2 * 2]
            queues[label] = deque(rows[i] for i in order)
        labels, batch, last = list(queues), [], None
        while len(labels) >= 2:
            labels = [labels[i] for i in torch.randperm(len(labels), generator=self.generator)]
            if batch and labels[0] == last:  # two pairs of one label never follow each other in a batch
                labels[0], labels[1] = labels[1], labels[0]
            for label in labels:
                batch += [queues[label].popleft(), queues[label].popleft()]
                if len(batch) >= self.batch_size:
                    yield batch[: self.batch_size]
                    batch = batch[self.batch_size :]
            last = labels[-1]
            labels = [label for label in labels if queues[label]]
        if not self.drop_last and len(batch) >= 4:  # 4 rows: at least 2 labels with 2 rows each
            yield batch

    def __len__(self) -> int:
        count = self._stream_length // self.batch_size
        return count + (not self.drop_last and self._stream_length % self.batch_size >= 4)


class NoDuplicatesBatchSampler(DefaultBatchSampler):
    """Batches in which no two rows share a value in any column but the label (for in-batch negatives).

    Rows in a random order, each put in the batch being filled unless it shares a value with it; a row that
    clashes waits for a later batch. When a pass gives fewer batches than ``len`` (``drop_last=True`` and
    many duplicates), up to 2 more shuffled passes fill the epoch, as sentence-transformers' sampler does.
    ``precompute_hashes`` and its options are accepted for sentence-transformers' signature; the batches are
    the same either way (each row's values are read once per dataset here).
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
        precompute_hashes: bool = False,
        precompute_num_proc: int | None = None,
        precompute_batch_size: int = 1000,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        label_columns = set(dataset.column_names) & set(valid_label_columns or [])
        if label_columns:
            dataset = dataset.remove_columns(sorted(label_columns))
        self.dataset = dataset
        self.precompute_hashes = precompute_hashes
        if precompute_hashes and precompute_num_proc is None:  # sentence-transformers' default: one core free
            precompute_num_proc = max(1, min(8, (os.cpu_count() or 1) - 1))
        self.precompute_num_proc = precompute_num_proc
        self.precompute_batch_size = precompute_batch_size
        self._values: list[set[str]] | None = None

    def row_values(self) -> list[set[str]]:
        """Each row's values as strings, read once (the dataset does not change between epochs)."""
        if self._values is None:
            if reads_formatted_rows(self.dataset):
                self._values = [_row_strings(self.dataset[i], i) for i in range(len(self.dataset))]
                return self._values
            columns = [c for c in self.dataset.column_names if c not in EXCLUDED_COLUMNS]
            values = [[sample_value_str(v) for v in column_list(self.dataset, c)] for c in columns]
            self._values = [set(row) for row in zip(*values)] if values else [set()] * len(self.dataset)
        return self._values

    def __iter__(self) -> Iterator[list[int]]:
        self._reseed()
        if len(self.dataset) == 0:
            return
        values, expected, yielded = self.row_values(), len(self), 0
        for batch in self._one_pass(values):  # never cut: drop_last=False may give more, shorter batches
            yield batch
            yielded += 1
        if 0 < yielded < expected:
            log_once(
                f"NoDuplicatesBatchSampler made {yielded} of {expected} batches in a pass; the rest are "
                "resampled, so some rows repeat in this epoch.",
                ST_SAMPLER,
            )
            for _ in range(MAX_RESAMPLE_PASSES):
                for batch in self._one_pass(values):
                    yield batch
                    yielded += 1
                    if yielded >= expected:
                        return
        if yielded < expected:
            log_once(
                f"NoDuplicatesBatchSampler made only {yielded} of {expected} batches: the dataset has too "
                f"few distinct values for batch_size={self.batch_size}.",
                ST_SAMPLER,
            )

    def _one_pass(self, values: list[set[str]]) -> Iterator[list[int]]:
        """The batches of one shuffle of the rows, each row in one batch at most."""
        dtype = torch.int32 if len(values) <= np.iinfo(np.int32).max else torch.int64
        waiting = torch.randperm(len(values), generator=self.generator, dtype=dtype).tolist()
        while waiting:
            batch: list[int] = []
            taken: set[str] = set()
            deferred: list[int] = []
            for position, index in enumerate(waiting):
                if values[index].isdisjoint(taken):
                    batch.append(index)
                    taken |= values[index]
                    if len(batch) == self.batch_size:
                        deferred += waiting[position + 1 :]
                        break
                else:
                    deferred.append(index)
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch
            waiting = deferred

    def __len__(self) -> int:
        # an estimate from the sizes alone: the exact count needs the whole pass
        if self.drop_last:
            return len(self.dataset) // self.batch_size
        return (len(self.dataset) + self.batch_size - 1) // self.batch_size


class MultiDatasetDefaultBatchSampler(SetEpochMixin, BatchSampler, ABC):
    """The base of the samplers that order the batches of several datasets (a ``ConcatDataset`` and one
    batch sampler per dataset); subclass it and pass the class as ``multi_dataset_batch_sampler=``. Its
    batches hold indices into the ``ConcatDataset``."""

    def __init__(
        self,
        dataset: ConcatDataset,
        batch_samplers: list[BatchSampler],
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> None:
        if len(dataset.datasets) != len(batch_samplers):
            raise InputError(
                "The number of batch samplers must match the number of datasets in the ConcatDataset."
            )
        first = batch_samplers[0]
        super().__init__(dataset, batch_size=first.batch_size, drop_last=first.drop_last)
        self.dataset = dataset
        self.batch_samplers = batch_samplers
        self.generator = generator
        self.seed = seed

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        for sampler in self.batch_samplers:
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)

    def offsets(self) -> list[int]:
        """Where each dataset's rows start in the ``ConcatDataset``."""
        return [0, *accumulate(len(d) for d in self.dataset.datasets)]

    @abstractmethod
    def __iter__(self) -> Iterator[list[int]]: ...

    @abstractmethod
    def __len__(self) -> int: ...


class RoundRobinBatchSampler(MultiDatasetDefaultBatchSampler):
    """One batch of each dataset in turn, until one has none left: each dataset is sampled equally, the
    larger ones' other batches sit the epoch out."""

    def __iter__(self) -> Iterator[list[int]]:
        self._reseed()
        offsets = self.offsets()
        for batches in zip(*(iter(s) for s in self.batch_samplers)):
            for offset, batch in zip(offsets, batches):
                yield [index + offset for index in batch]

    def __len__(self) -> int:
        return min(len(s) for s in self.batch_samplers) * len(self.batch_samplers)


class ProportionalBatchSampler(MultiDatasetDefaultBatchSampler):
    """Every batch of every dataset, the datasets in a random order drawn before any batch (larger datasets
    come up more often)."""

    def __iter__(self) -> Iterator[list[int]]:
        self._reseed()
        offsets = self.offsets()
        owners = [i for i, sampler in enumerate(self.batch_samplers) for _ in range(len(sampler))]
        streams = [iter(s) for s in self.batch_samplers]
        for owner in SubsetRandomSampler(owners, generator=self.generator):
            batch = next(streams[owner], None)
            if batch is not None:
                yield [index + offsets[owner] for index in batch]

    def __len__(self) -> int:
        return sum(len(s) for s in self.batch_samplers)


# the classes of the enums' values, as sentence-transformers' trainer picks them
BATCH_SAMPLERS: dict[str, Any] = {
    BatchSamplers.BATCH_SAMPLER.value: DefaultBatchSampler,
    BatchSamplers.NO_DUPLICATES.value: NoDuplicatesBatchSampler,
    BatchSamplers.NO_DUPLICATES_HASHED.value: NoDuplicatesBatchSampler,
    BatchSamplers.GROUP_BY_LABEL.value: GroupByLabelBatchSampler,
}
MULTI_DATASET_BATCH_SAMPLERS: dict[str, Any] = {
    MultiDatasetBatchSamplers.ROUND_ROBIN.value: RoundRobinBatchSampler,
    MultiDatasetBatchSamplers.PROPORTIONAL.value: ProportionalBatchSampler,
}


def column_list(dataset: Any, column: str) -> list[Any]:
    """A column of ``dataset`` as a list (a ``datasets`` Column, an array or a list)."""
    values = dataset[column]
    return values.tolist() if hasattr(values, "tolist") else list(values[:])


def reads_formatted_rows(dataset: Any) -> bool:
    """Whether ``dataset`` is a ``datasets.Dataset`` with a format set (``with_format("torch")``, numpy,
    pandas, a transform, a subset of columns): its rows are then read one by one, ``dataset[i]``, as
    sentence-transformers reads them, since a formatted row's values (tensors, numpy scalars, a one-row
    DataFrame) tell duplicates apart differently from the plain column's Python values. Arrow tables have
    no ``items``; they keep the column path."""
    form = getattr(dataset, "format", None)
    if not isinstance(form, dict):
        return False
    if form.get("type") is None:
        columns, every = form.get("columns"), form.get("output_all_columns")
        return columns is not None and not every and set(columns) != set(dataset.column_names)
    return form["type"] != "arrow"


def _row_strings(row: Any, index: int) -> set[Any]:
    """A formatted row's values as duplicates are told by. A tensor's pickle holds its storage's address, so
    sentence-transformers' digest of it differs on every read: such a value never matches another row's,
    and stands here as ``(row, column)``, which no other row holds."""
    return {
        (index, key) if _holds_tensor(value) else sample_value_str(value)
        for key, value in row.items()
        if key not in EXCLUDED_COLUMNS
    }


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_tensor(item) for item in value)
    return isinstance(value, dict) and any(_holds_tensor(item) for item in value.values())


def _labels(dataset: Any, valid_label_columns: Sequence[str] | None) -> list[Any]:
    """The first of ``valid_label_columns`` in ``dataset``: one hashable label per row."""
    for column in valid_label_columns or []:
        if column in dataset.column_names:
            labels = column_list(dataset, column)
            if any(isinstance(label, (list, dict)) for label in labels):  # unhashable: a TypeError there
                raise InputTypeError(
                    f"GroupByLabelBatchSampler needs one label per row (a class id or value); column "
                    f"{column!r} holds lists or dicts."
                )
            return labels
    raise InputError(
        f"None of the valid_label_columns {valid_label_columns} are in the dataset, which only has these "
        f"columns: {dataset.column_names}."
    )


def sample_value_str(value: Any) -> str:
    """A row value as the string duplicates are told by: plain values (and lists of them) as ``str``; other
    objects (images, audio), whose ``str`` may hold a fresh memory address, by a digest of their pickle."""
    if isinstance(value, _PLAIN_VALUES):
        return str(value)
    if isinstance(value, (list, tuple)):
        if all(isinstance(item, _PLAIN_VALUES) for item in value):
            return str(value)
        return "[" + ", ".join(sample_value_str(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {sample_value_str(item)}" for key, item in value.items()) + "}"
    encoded = getattr(value, "_hf_encoded", None)  # a media decoder: the encoded source it was read from
    if encoded is not None:
        value = encoded
    try:
        return hashlib.sha256(pickle.dumps(value)).hexdigest()
    except Exception:
        return str(value)
