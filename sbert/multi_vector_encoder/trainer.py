"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.trainer``:
``MultiVectorEncoderTrainer``, loaded (with torch) on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._training.multi_vector import MultiVectorEncoderTrainer

__all__ = ["MultiVectorEncoderTrainer"]


def __getattr__(name: str) -> Any:
    if name != "MultiVectorEncoderTrainer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training.multi_vector import MultiVectorEncoderTrainer

    return MultiVectorEncoderTrainer
