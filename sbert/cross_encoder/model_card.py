"""sentence-transformers' ``sentence_transformers.cross_encoder.model_card`` path; the callback
class loads with transformers on first access (:mod:`sbert._training.card_callbacks`)."""

from __future__ import annotations

from .._format.card_data import CrossEncoderModelCardData
from .._lazy import lazy_attributes

__all__ = ["CrossEncoderModelCardData", "CrossEncoderModelCardCallback"]  # noqa: F822 (made on access)


__getattr__ = lazy_attributes(
    __name__,
    globals(),
    {"CrossEncoderModelCardCallback": ("sbert._training.card_callbacks", "CrossEncoderModelCardCallback")},
)
