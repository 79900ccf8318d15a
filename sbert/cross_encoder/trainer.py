"""sentence-transformers' ``sentence_transformers.cross_encoder.trainer``: ``CrossEncoderTrainer``,
loaded (with torch) on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._training.cross import CrossEncoderTrainer

__all__ = ["CrossEncoderTrainer"]


def __getattr__(name: str) -> Any:
    if name != "CrossEncoderTrainer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training.cross import CrossEncoderTrainer

    return CrossEncoderTrainer
