"""sentence-transformers' ``sentence_transformers.training_args`` path: the training arguments by Hugging
Face's names and the batch sampler enums.

    from sbert.training_args import BatchSamplers, SentenceTransformerTrainingArguments

Importing it does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._training.arguments import BatchSamplers, MultiDatasetBatchSamplers

if TYPE_CHECKING:
    from ._training.st_compat import SentenceTransformerTrainingArguments

__all__ = ["BatchSamplers", "MultiDatasetBatchSamplers", "SentenceTransformerTrainingArguments"]


def __getattr__(name: str) -> Any:
    if name != "SentenceTransformerTrainingArguments":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ._training.st_compat import SentenceTransformerTrainingArguments

    return SentenceTransformerTrainingArguments
