"""sentence-transformers' older ``sentence_transformers.sampler`` path: the names of
``sentence_transformers.base.sampler`` (:mod:`sbert.base.sampler`)."""

from __future__ import annotations

from typing import Any

from .base import sampler as base_sampler
from .base.sampler import BatchSamplers as BatchSamplers
from .base.sampler import MultiDatasetBatchSamplers as MultiDatasetBatchSamplers

__all__ = base_sampler.__all__  # the same names, one list


def __getattr__(name: str) -> Any:
    return getattr(base_sampler, name)  # the classes load (and torch with them) on first access
