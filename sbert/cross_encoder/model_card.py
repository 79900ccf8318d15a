"""sentence-transformers' ``sentence_transformers.cross_encoder.model_card`` path; the callback
class loads with transformers on first access (:mod:`sbert._training.card_callbacks`)."""

from __future__ import annotations

from typing import Any

from .._format.card_data import CrossEncoderModelCardData

__all__ = ["CrossEncoderModelCardData", "CrossEncoderModelCardCallback"]  # noqa: F822 (made on access)


def __getattr__(name: str) -> Any:
    if name != "CrossEncoderModelCardCallback":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training.card_callbacks import CrossEncoderModelCardCallback

    return CrossEncoderModelCardCallback
