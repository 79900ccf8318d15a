"""sentence-transformers' ``sentence_transformers.sparse_encoder.training_args``:
``SparseEncoderTrainingArguments``, loaded (with torch) on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._training.sparse import SparseEncoderTrainingArguments

__all__ = ["SparseEncoderTrainingArguments"]


def __getattr__(name: str) -> Any:
    if name != "SparseEncoderTrainingArguments":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training.sparse import SparseEncoderTrainingArguments

    return SparseEncoderTrainingArguments
