"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.modules.multi_vector_mask`` path."""

from ..._multi_vector.multi_vector_mask import MultiVectorMask

__all__ = ["MultiVectorMask"]
