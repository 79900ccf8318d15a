"""sentence-transformers' ``sentence_transformers.sparse_encoder.model_card`` path."""

from .._sparse.card import SparseEncoderModelCardData

__all__ = ["SparseEncoderModelCardData"]
