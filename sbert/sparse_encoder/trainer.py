"""sentence-transformers' ``sentence_transformers.sparse_encoder.trainer``: ``SparseEncoderTrainer``, loaded
(with torch) on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._training.sparse import SparseEncoderTrainer

__all__ = ["SparseEncoderTrainer"]


def __getattr__(name: str) -> Any:
    if name != "SparseEncoderTrainer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training.sparse import SparseEncoderTrainer

    return SparseEncoderTrainer
