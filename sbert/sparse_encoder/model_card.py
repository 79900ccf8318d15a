"""sentence-transformers' ``sentence_transformers.sparse_encoder.model_card`` path; the callback
class loads with transformers on first access (:mod:`sbert._training.card_callbacks`)."""

from __future__ import annotations

from .._lazy import lazy_attributes
from .._sparse.card import SparseEncoderModelCardData

__all__ = ["SparseEncoderModelCardData", "SparseEncoderModelCardCallback"]  # noqa: F822 (made on access)


__getattr__ = lazy_attributes(
    __name__,
    globals(),
    {"SparseEncoderModelCardCallback": ("sbert._training.card_callbacks", "SparseEncoderModelCardCallback")},
)
