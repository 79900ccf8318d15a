"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.data_collator``:
``MultiVectorEncoderDataCollator``, loaded (with torch) on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._training.multi_vector import MultiVectorEncoderDataCollator

__all__ = ["MultiVectorEncoderDataCollator"]


def __getattr__(name: str) -> Any:
    if name != "MultiVectorEncoderDataCollator":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training.multi_vector import MultiVectorEncoderDataCollator

    return MultiVectorEncoderDataCollator
