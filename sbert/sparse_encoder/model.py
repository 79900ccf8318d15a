"""sentence-transformers' ``sentence_transformers.sparse_encoder.model`` path."""

from .._sparse.model import SparseEncoder

__all__ = ["SparseEncoder"]
