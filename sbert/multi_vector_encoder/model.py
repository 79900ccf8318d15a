"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.model`` path."""

from .._multi_vector.model import MultiVectorEncoder

__all__ = ["MultiVectorEncoder"]
