"""Batch samplers: which rows of which dataset make each batch of an epoch.

The plan of an epoch depends only on the seed, the epoch and the arguments, so a resumed run replays it and
needs no sampler state in its checkpoint. Each sampler draws from one ``torch.Generator`` seeded with
``seed + epoch`` in the order sentence-transformers' samplers (``sentence_transformers.base.sampler``) draw
from theirs, lazily, as its trainer's data loader asks for batches, so the two trainers see the same batches
for a seed. An epoch also ends where Hugging Face's loop ends it: after the sampler's advertised length
(``ceil(rows / batch_size)`` per dataset). When duplicates force a no-duplicates pass into more, shorter
batches, the rows of the extra batches sit that epoch out, as they do in sentence-transformers' trainer (the
next epoch shuffles every row again).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, RandomSampler

from .._errors import InputError
from .arguments import BatchSamplers, MultiDatasetBatchSamplers
from .data import TextDataset

Batches = Callable[[torch.Generator], Iterator[list[int]]]  # one dataset's batches, drawn lazily


def epoch_plan(
    datasets: Sequence[TextDataset],
    batch_size: int,
    seed: int,
    epoch: int,
    sampler: str,
    multi: str,
    whole_pass: bool = False,
) -> list[tuple[int, np.ndarray]]:
    """The ``(dataset, row indices)`` batches of ``epoch``, in order; ``whole_pass`` keeps the batches past
    the loader's length (Hugging Face's evaluation loop reads the loader to its end)."""
    makers, counts = zip(*(dataset_batches(d, batch_size, sampler, seed + epoch) for d in datasets))
    generator = torch.Generator().manual_seed(seed + epoch)
    if len(datasets) == 1:
        stream: Iterator[tuple[int, list[int]]] = ((0, b) for b in makers[0](generator))
        length = counts[0]
    elif multi == MultiDatasetBatchSamplers.ROUND_ROBIN.value:
        stream = _round_robin(makers, generator)
        length = min(counts) * len(counts)
    else:
        stream = _proportional(makers, counts, generator)
        length = sum(counts)
    # the loader's length, where Hugging Face's loop ends the epoch
    return [
        (i, np.asarray(rows, dtype=np.int64))
        for i, rows in itertools.islice(stream, None if whole_pass else length)
    ]


def dataset_batches(dataset: TextDataset, batch_size: int, sampler: str, seed: int) -> tuple[Batches, int]:
    """The batch maker of ``sampler`` for ``dataset`` (``seed``: the one the reseeding samplers set) and the
    ``len`` of sentence-transformers' sampler for it (``drop_last=False``): the batches its trainer takes
    from the dataset in an epoch."""
    if sampler == BatchSamplers.GROUP_BY_LABEL.value:
        groups = label_groups(dataset)
        pairs = sorted((len(rows) // 2 for rows in groups.values()), reverse=True)
        stream = 2 * sum(min(p, pairs[1]) for p in pairs)
        count = stream // batch_size + (stream % batch_size >= 4)
        return lambda generator: group_by_label(groups, batch_size, generator, seed), count
    count = math.ceil(len(dataset) / batch_size)
    if sampler in (BatchSamplers.NO_DUPLICATES.value, BatchSamplers.NO_DUPLICATES_HASHED.value):
        values = [set(map(str, row)) for row in zip(*dataset.columns.values())]
        return lambda generator: no_duplicates(values, batch_size, generator, seed), count
    rows = range(len(dataset))
    # torch's own samplers, as sentence-transformers' default batch sampler uses them
    return lambda generator: iter(
        BatchSampler(RandomSampler(rows, generator=generator), batch_size, False)
    ), count


def no_duplicates(
    values: list[set[str]], batch_size: int, generator: torch.Generator, seed: int
) -> Iterator[list[int]]:
    """Batches in which no two rows share a text: rows in a random order, each put in the first batch being
    filled that has none of its texts; a row that clashes waits for a later batch, so the pass holds every row
    once (sentence-transformers' NoDuplicatesBatchSampler, ``drop_last=False``); the epoch may end before its
    last batches (:func:`epoch_plan`)."""
    generator.manual_seed(seed)  # as that sampler, which reseeds its generator when an epoch starts
    order = torch.randperm(len(values), generator=generator, dtype=torch.int32).tolist()
    waiting = order
    while waiting:
        batch: list[int] = []
        taken: set[str] = set()
        deferred: list[int] = []
        for position, index in enumerate(waiting):
            if len(batch) == batch_size:
                deferred += waiting[position:]
                break
            if values[index].isdisjoint(taken):
                batch.append(index)
                taken |= values[index]
            else:
                deferred.append(index)
        yield batch
        waiting = deferred


def label_groups(dataset: TextDataset) -> dict[Any, list[int]]:
    """Row indices per label (labels in order of first appearance), the labels with at least 2 rows."""
    if dataset.labels is None or dataset.labels.ndim != 1 or dataset.labels.dtype == object:
        raise InputError(
            f"{dataset.name}: batch_sampler='group_by_label' needs one label per row (a class id or value)."
        )
    groups: dict[Any, list[int]] = {}
    for index, label in enumerate(dataset.labels.tolist()):
        groups.setdefault(label, []).append(index)
    groups = {label: rows for label, rows in groups.items() if len(rows) >= 2}
    if len(groups) < 2:
        raise InputError(
            f"{dataset.name}: batch_sampler='group_by_label' needs at least 2 labels with 2 or more rows "
            f"each; {len(groups)} qualify."
        )
    return groups


def group_by_label(
    groups: dict[Any, list[int]], batch_size: int, generator: torch.Generator, seed: int
) -> Iterator[list[int]]:
    """Labels take turns giving 2 rows each (a shuffled turn order per round) until fewer than 2 labels have
    rows left; the stream is cut into batches (sentence-transformers' GroupByLabelBatchSampler)."""
    generator.manual_seed(seed)
    queues = {}
    for label, rows in groups.items():  # each label's rows shuffled, an odd one out left out
        order = torch.randperm(len(rows), generator=generator)[: len(rows) // 2 * 2]
        queues[label] = deque(rows[i] for i in order)
    labels, batch, last = list(queues), [], None
    while len(labels) >= 2:
        labels = [labels[i] for i in torch.randperm(len(labels), generator=generator)]
        if batch and labels[0] == last:  # two pairs of one label never follow each other in a batch
            labels[0], labels[1] = labels[1], labels[0]
        for label in labels:
            batch += [queues[label].popleft(), queues[label].popleft()]
            if len(batch) >= batch_size:
                yield batch[:batch_size]
                batch = batch[batch_size:]
        last = labels[-1]
        labels = [label for label in labels if queues[label]]
    if len(batch) >= 4:  # at least 2 labels with 2 rows each
        yield batch


def _proportional(
    makers: Sequence[Batches], counts: Sequence[int], generator: torch.Generator
) -> Iterator[tuple[int, list[int]]]:
    """Each dataset's batches in a random order of datasets, drawn before any dataset's first batch
    (sentence-transformers' ProportionalBatchSampler)."""
    owners = [i for i, count in enumerate(counts) for _ in range(count)]
    order = torch.randperm(len(owners), generator=generator).tolist()
    streams = [make(generator) for make in makers]
    for position in order:
        owner = owners[position]
        batch = next(streams[owner], None)
        if batch is not None:
            yield owner, batch


def _round_robin(makers: Sequence[Batches], generator: torch.Generator) -> Iterator[tuple[int, list[int]]]:
    """One batch of each dataset in turn until one has none left (sentence-transformers'
    RoundRobinBatchSampler)."""
    streams = [make(generator) for make in makers]
    for batches in zip(*streams):
        yield from enumerate(batches)
