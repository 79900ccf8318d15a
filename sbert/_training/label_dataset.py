"""sentence-transformers' ``SentenceLabelDataset``: a torch ``IterableDataset`` of ``InputExample`` s that
yields a few examples of one label after another, for the batch triplet losses of the classic ``fit``.

It imports torch, so ``sbert.datasets`` loads it on first access.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from torch.utils.data import IterableDataset

from .._st_loggers import ST_SENTENCE_LABEL_DATASET

logger = logging.getLogger(ST_SENTENCE_LABEL_DATASET)


class SentenceLabelDataset(IterableDataset):
    """sentence-transformers' ``SentenceLabelDataset(examples, samples_per_label=2, with_replacement=False)``.

    The examples are grouped by label; labels with fewer than ``samples_per_label`` examples are dropped (an
    INFO record says how many examples are left). Iterating it yields ``samples_per_label`` distinct random
    examples of one label after another, the labels in an order shuffled with numpy's global generator (at
    construction and after each round over them), until as many examples as the kept ones were yielded.
    Without replacement a label's examples are not drawn twice in one round: a label with fewer than
    ``samples_per_label`` undrawn examples left is skipped until the next round. ``len()`` is the number of
    kept examples. ``fit`` reads one pass of a DataLoader over it and batches that with
    ``batch_sampler="group_by_label"``, as sentence-transformers' fit does; ``old_fit`` trains on the
    loader's batches as they come."""

    batch_sampler_name = "group_by_label"

    def __init__(
        self, examples: Sequence[Any], samples_per_label: int = 2, with_replacement: bool = False
    ) -> None:
        super().__init__()
        self.samples_per_label = samples_per_label
        by_label: dict[Any, list[Any]] = {}
        for example in examples:
            by_label.setdefault(example.label, []).append(example)
        # the kept labels' examples one label after another; groups_right_border[i]: where label i's end
        self.grouped_inputs: list[Any] = []
        self.groups_right_border: list[int] = []
        for label_examples in by_label.values():
            if len(label_examples) >= samples_per_label:
                self.grouped_inputs.extend(label_examples)
                self.groups_right_border.append(len(self.grouped_inputs))
        num_labels = len(self.groups_right_border)
        self.label_range = np.arange(num_labels)
        self.with_replacement = with_replacement
        np.random.shuffle(self.label_range)
        logger.info(
            f"SentenceLabelDataset: {len(examples)} examples, from which {len(self.grouped_inputs)} examples "
            f"could be used (those labels appeared at least {samples_per_label} times). {num_labels} "
            "different labels found."
        )

    def __iter__(self) -> Iterator[Any]:
        # numpy's draws in sentence-transformers' order, so that one seed gives its sequence
        label_index, count, drawn = 0, 0, {}
        while count < len(self.grouped_inputs):
            label = self.label_range[label_index]
            drawn.setdefault(label, set())
            left = 0 if label == 0 else self.groups_right_border[label - 1]
            candidates = np.arange(left, self.groups_right_border[label])
            if not self.with_replacement:
                candidates = [i for i in candidates if i not in drawn[label]]
            if len(candidates) >= self.samples_per_label:
                for index in np.random.choice(candidates, self.samples_per_label, replace=False):
                    count += 1
                    drawn[label].add(index)
                    yield self.grouped_inputs[index]
            label_index += 1
            if label_index >= len(self.label_range):
                label_index, drawn = 0, {}
                np.random.shuffle(self.label_range)

    def __len__(self) -> int:
        return len(self.grouped_inputs)
