"""The trainer's batches: the batch samplers its arguments name, built and read as sentence-transformers'
trainer builds and reads them, as ``(dataset, row indices)`` plans per epoch.

The plan of an epoch depends only on the seed, the epoch and the arguments (a user's sampler aside), so a
resumed run replays it and needs no sampler state in its checkpoint. An epoch ends where Hugging Face's
loop ends it: after the sampler's advertised ``len``. When duplicates force a no-duplicates pass into more,
shorter batches, the rows of the extra batches sit that epoch out, as in sentence-transformers' trainer.
A sampler may also yield fewer batches than its ``len`` (a no-duplicates one on repeated texts): the epoch
then ends early; :meth:`EpochPlans.promised` is the ``len`` Hugging Face's loop plans the run by.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, ConcatDataset, RandomSampler, SequentialSampler

from .._errors import InputError
from .data import TextDataset
from .samplers import BATCH_SAMPLERS, MULTI_DATASET_BATCH_SAMPLERS, DefaultBatchSampler
from .streams import IN_A_DICT

logger = logging.getLogger(__name__)

# sentence-transformers' data collators' label columns, in the order they look for them
LABEL_COLUMNS = ("label", "labels", "score", "scores")
LABEL = "label"  # the name a TextDataset's labels have in its TableView


class TableView:
    """A :class:`TextDataset` read as samplers read a ``datasets.Dataset``: ``len``, ``column_names`` (the
    text columns, then ``"label"`` when it has labels), ``view[column]`` (a list), ``view[i]`` (a row as a
    dict), iteration over rows and ``remove_columns``."""

    def __init__(self, dataset: TextDataset, columns: Sequence[str] | None = None) -> None:
        self.dataset = dataset
        every = [*dataset.columns, *([LABEL] if dataset.labels is not None else [])]
        self.column_names = list(every if columns is None else columns)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            if key not in self.column_names:
                raise KeyError(f"{key!r} is not a column; the columns are {self.column_names}")
            return self.dataset.labels.tolist() if key == LABEL else list(self.dataset.columns[key])
        index = int(key)
        return {c: self._value(c, index) for c in self.column_names}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(len(self)))

    def remove_columns(self, names: str | Sequence[str]) -> TableView:
        drop = {names} if isinstance(names, str) else set(names)
        return TableView(self.dataset, [c for c in self.column_names if c not in drop])

    def _value(self, column: str, index: int) -> Any:
        if column == LABEL:
            return self.dataset.labels[index].tolist()
        return self.dataset.columns[column][index]

    def __repr__(self) -> str:
        return f"TableView({self.dataset.name!r}, columns={self.column_names}, rows={len(self)})"


def draw_loader_seed() -> None:
    """Draw the one number a torch ``DataLoader`` takes from the global generator each time it is iterated
    (its workers' base seed). sbert plans its batches without one, so it draws it where
    sentence-transformers' trainer iterates a loader (an epoch's start, each evaluation): the dropout
    masks of a seed then follow that trainer's."""
    torch.empty((), dtype=torch.int64).random_()


def build_sampler(
    datasets: Sequence[TextDataset],
    batch_size: int,
    generator: torch.Generator,
    seed: int,
    sampler: Any,
    multi: Any,
    drop_last: bool = False,
) -> Any:
    """The batch sampler of ``datasets``, as sentence-transformers' ``get_batch_sampler`` and
    ``get_multi_dataset_batch_sampler`` build it: ``sampler`` / ``multi`` are an enum's value or a callable
    (a sampler class, or a function returning a sampler) taking sentence-transformers' arguments."""
    views = [TableView(d) for d in datasets]
    children = []
    for view in views:
        options = {
            "batch_size": batch_size,
            "drop_last": drop_last,  # sentence-transformers' dataloader_drop_last
            "valid_label_columns": list(LABEL_COLUMNS),
            "generator": generator,
            "seed": seed,
        }
        try:
            child = dataset_batch_sampler(sampler, view, **options)
            if child is None and len(views) == 1:
                # a function that gives no sampler: sentence-transformers' DataLoader then batches by its
                # defaults, one row at a time, in order
                child = BatchSampler(SequentialSampler(view), batch_size=1, drop_last=False)
            children.append(_checked(child, ""))
        except InputError as e:  # data that does not fit the sampler: say which dataset
            raise InputError(f"{view.dataset.name}: {e}") from None
    if len(children) == 1:
        return children[0]
    multi_sampler = multi_dataset_batch_sampler(multi, ConcatDataset(views), children, generator, seed)
    return _checked(multi_sampler, "multi_dataset_")


def dataset_batch_sampler(
    sampler: Any,
    dataset: Any,
    *,
    batch_size: int,
    drop_last: bool,
    valid_label_columns: list[str] | None,
    generator: torch.Generator | None,
    seed: int,
) -> Any:
    """One dataset's batch sampler, as sentence-transformers' ``get_batch_sampler`` makes it: ``sampler`` is
    a ``BatchSamplers`` value or a callable (a sampler class, or a function returning a sampler), whose
    result comes back unchecked."""
    options = {
        "batch_size": batch_size,
        "drop_last": drop_last,
        "valid_label_columns": valid_label_columns,
        "generator": generator,
        "seed": seed,
    }
    if callable(sampler):
        return sampler(dataset, **options)
    kind = BATCH_SAMPLERS[sampler]
    if kind is DefaultBatchSampler:  # torch's random permutation of the rows, cut into batches
        return kind(RandomSampler(dataset, generator=generator), **options)
    extra = {"precompute_hashes": True} if sampler == "no_duplicates_hashed" else {}
    return kind(dataset, **options, **extra)


def multi_dataset_batch_sampler(
    multi: Any,
    dataset: ConcatDataset,
    batch_samplers: list[Any],
    generator: torch.Generator | None,
    seed: int,
) -> Any:
    """The batch sampler over several datasets' samplers, as sentence-transformers'
    ``get_multi_dataset_batch_sampler`` makes it: ``multi`` is a ``MultiDatasetBatchSamplers`` value or a
    callable, whose result comes back unchecked."""
    make = multi if callable(multi) else MULTI_DATASET_BATCH_SAMPLERS[multi]
    return make(dataset, batch_samplers=batch_samplers, generator=generator, seed=seed)


def _checked(sampler: Any, prefix: str) -> Any:
    """A user's sampler, if it is one: iterable, with a length (the epoch's batches)."""
    if not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
        raise InputError(
            f"{prefix}batch_sampler returned {type(sampler).__name__}, which is no batch sampler: it must "
            "return an object with __iter__ (lists of row indices) and __len__, such as a "
            f"{'MultiDatasetDefaultBatchSampler' if prefix else 'DefaultBatchSampler'} subclass."
        )
    return sampler


class EpochPlans:
    """The ``(dataset, row indices)`` batches of each epoch, read in order from one batch sampler, as a data
    loader reads its sampler epoch after epoch (a user's sampler that does not reseed by epoch continues
    its generator's stream, as in sentence-transformers' trainer); ``whole_pass`` keeps the batches past
    the sampler's length (Hugging Face's evaluation loop reads the loader to its end). A streamed dataset
    has no sampler: each epoch is its pass, in order."""

    def __init__(
        self,
        datasets: Sequence[TextDataset],
        batch_size: int,
        seed: int,
        sampler: Any,
        multi: Any,
        whole_pass: bool = False,
        drop_last: bool = False,
        data_seed: int | None = None,
    ) -> None:
        self.generator = torch.Generator().manual_seed(seed)  # as sentence-transformers' trainer seeds it
        self.passes = _stream_passes(datasets)
        # several datasets with a stream among them: batched as datasets until trained, then refused (there
        # the data loader refuses them, after the trainer's other checks)
        self.refusal = IN_A_DICT if self.passes is None and _has_stream(datasets) else None
        self.batch_size, self.drop_last = batch_size, drop_last
        if self.passes is None:
            self.sampler = build_sampler(
                datasets, batch_size, self.generator, seed, sampler, multi, drop_last
            )
        elif sampler != "batch_sampler":  # a stream's rows are batched in order, as there
            logger.warning("When using an IterableDataset, you cannot specify a batch sampler.")
        self.seed, self.whole_pass = seed, whole_pass
        self.shuffle_seed = seed if data_seed is None else data_seed  # Hugging Face's data_seed, if set
        self.ends = np.cumsum([len(d) for d in datasets])  # where each dataset's rows end, concatenated
        self.plans: list[list[tuple[int, np.ndarray]]] = []

    def __getitem__(self, epoch: int) -> list[tuple[int, np.ndarray]]:
        while len(self.plans) <= epoch:
            self.plans.append(self._read(len(self.plans)))
        return self.plans[epoch]

    def promised(self, epoch: int) -> int:
        """The batches the sampler's ``len`` promises for ``epoch`` (a loader's ``len``, by which Hugging
        Face's loop plans its run); a stream's pass: those it holds."""
        return len(self[epoch]) if self.passes is not None else len(self.sampler)

    def _read(self, epoch: int) -> list[tuple[int, np.ndarray]]:
        if self.passes is not None:
            return self._stream_batches(epoch)
        sampler = self.sampler
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        inner = getattr(sampler, "sampler", None)
        if isinstance(inner, RandomSampler) and inner.generator is not None:
            # accelerate (under Hugging Face's trainer) swaps a batch sampler's RandomSampler for one that
            # reseeds with seed (data_seed if set) + epoch as each epoch starts
            inner.generator.manual_seed(self.shuffle_seed + epoch)
        batches = itertools.islice(iter(sampler), None if self.whole_pass else len(sampler))
        return [self._locate(batch) for batch in batches]

    def _stream_batches(self, epoch: int) -> list[tuple[int, np.ndarray]]:
        """Epoch ``epoch``'s pass of a streamed dataset, cut into batches in order (none past its passes)."""
        if epoch >= len(self.passes):
            return []
        start = sum(self.passes[:epoch])
        end, size = start + self.passes[epoch], self.batch_size
        batches = [np.arange(first, min(first + size, end)) for first in range(start, end, size)]
        if self.drop_last and batches and len(batches[-1]) < size:
            batches.pop()
        return [(0, rows) for rows in batches]

    def _locate(self, batch: Any) -> tuple[int, np.ndarray]:
        """A batch of indices into the concatenated datasets as ``(dataset, its row indices)``."""
        rows = np.asarray(batch, dtype=np.int64).reshape(-1)
        owners = np.searchsorted(self.ends, rows, side="right")
        if len(rows) == 0 or rows.min() < 0 or owners.max() >= len(self.ends) or owners.min() != owners.max():
            raise InputError(
                f"The batch sampler gave the batch {list(batch)[:20]}: a batch must be a non-empty list of "
                f"row indices of one dataset (the datasets' rows, concatenated, end at {self.ends.tolist()})."
            )
        owner = int(owners[0])
        return owner, rows - (self.ends[owner - 1] if owner else 0)


def _has_stream(datasets: Sequence[TextDataset]) -> bool:
    return any(getattr(d, "passes", None) is not None for d in datasets)


def _stream_passes(datasets: Sequence[TextDataset]) -> tuple[int, ...] | None:
    """The passes of a streamed dataset (see :mod:`sbert._training.streams`), when it is the only one."""
    return datasets[0].passes if len(datasets) == 1 else None
