"""sentence-transformers 6's ``sentence_transformers.base.training_args``: the batch sampler enums and
``BaseTrainingArguments``, the class all four trainers' arguments derive from (loaded on first access)."""

from __future__ import annotations

from typing import Any

from ..training_args import BatchSamplers, MultiDatasetBatchSamplers

__all__ = ["BatchSamplers", "MultiDatasetBatchSamplers", "BaseTrainingArguments"]  # noqa: F822 (made on access)


def __getattr__(name: str) -> Any:
    if name != "BaseTrainingArguments":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import sbert.base

    return sbert.base.BaseTrainingArguments
