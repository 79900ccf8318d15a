"""sentence-transformers' ``sentence_transformers.sparse_encoder.model_card`` path; the callback
class loads with transformers on first access (:mod:`sbert._training.card_callbacks`)."""

from __future__ import annotations

from typing import Any

from .._sparse.card import SparseEncoderModelCardData

__all__ = ["SparseEncoderModelCardData", "SparseEncoderModelCardCallback"]  # noqa: F822 (made on access)


def __getattr__(name: str) -> Any:
    if name != "SparseEncoderModelCardCallback":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training.card_callbacks import SparseEncoderModelCardCallback

    return SparseEncoderModelCardCallback
