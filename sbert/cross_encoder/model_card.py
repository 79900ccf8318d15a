"""sentence-transformers' ``sentence_transformers.cross_encoder.model_card`` path."""

from .._format.card_data import CrossEncoderModelCardData

__all__ = ["CrossEncoderModelCardData"]
