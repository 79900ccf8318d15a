"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.model_card`` path."""

from .._multi_vector.card import MultiVectorEncoderModelCardData

__all__ = ["MultiVectorEncoderModelCardData"]
