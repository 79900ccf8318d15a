"""sentence-transformers' older ``sentence_transformers.sampler`` path: the names of
``sentence_transformers.base.sampler`` (:mod:`sbert.base.sampler`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import sampler as base_sampler
from .base.sampler import BatchSamplers, MultiDatasetBatchSamplers

if TYPE_CHECKING:
    from .base.sampler import (
        DefaultBatchSampler,
        GroupByLabelBatchSampler,
        MultiDatasetDefaultBatchSampler,
        NoDuplicatesBatchSampler,
        ProportionalBatchSampler,
        RoundRobinBatchSampler,
    )

__all__ = [
    "DefaultBatchSampler",
    "GroupByLabelBatchSampler",
    "NoDuplicatesBatchSampler",
    "MultiDatasetDefaultBatchSampler",
    "RoundRobinBatchSampler",
    "ProportionalBatchSampler",
    "BatchSamplers",
    "MultiDatasetBatchSamplers",
]


def __getattr__(name: str) -> Any:
    return getattr(base_sampler, name)  # the classes load (and torch with them) on first access
