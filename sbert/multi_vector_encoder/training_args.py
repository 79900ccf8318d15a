"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.training_args``:
``MultiVectorEncoderTrainingArguments``, loaded (with torch) on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._training.multi_vector import MultiVectorEncoderTrainingArguments

__all__ = ["MultiVectorEncoderTrainingArguments"]


def __getattr__(name: str) -> Any:
    if name != "MultiVectorEncoderTrainingArguments":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training.multi_vector import MultiVectorEncoderTrainingArguments

    return MultiVectorEncoderTrainingArguments
