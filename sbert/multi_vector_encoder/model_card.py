"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.model_card`` path; the callback
class loads with transformers on first access (:mod:`sbert._training.card_callbacks`)."""

from __future__ import annotations

from typing import Any

from .._multi_vector.card import MultiVectorEncoderModelCardData

__all__ = ["MultiVectorEncoderModelCardData", "MultiVectorEncoderModelCardCallback"]  # noqa: F822 (made on access)


def __getattr__(name: str) -> Any:
    if name != "MultiVectorEncoderModelCardCallback":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training.card_callbacks import MultiVectorEncoderModelCardCallback

    return MultiVectorEncoderModelCardCallback
