"""sentence-transformers' ``sentence_transformers.cross_encoder.training_args``:
``CrossEncoderTrainingArguments``, loaded (with torch) on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._training.cross import CrossEncoderTrainingArguments

__all__ = ["CrossEncoderTrainingArguments"]


def __getattr__(name: str) -> Any:
    if name != "CrossEncoderTrainingArguments":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training.cross import CrossEncoderTrainingArguments

    return CrossEncoderTrainingArguments
