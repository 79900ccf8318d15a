"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.model_card`` path; the callback
class loads with transformers on first access (:mod:`sbert._training.card_callbacks`)."""

from __future__ import annotations

from .._lazy import lazy_attributes
from .._multi_vector.card import MultiVectorEncoderModelCardData

__all__ = ["MultiVectorEncoderModelCardData", "MultiVectorEncoderModelCardCallback"]  # noqa: F822 (made on access)


__getattr__ = lazy_attributes(
    __name__,
    globals(),
    {
        "MultiVectorEncoderModelCardCallback": (
            "sbert._training.card_callbacks",
            "MultiVectorEncoderModelCardCallback",
        )
    },
)
