"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.modules.token_pooling`` path."""

from ..._multi_vector.hierarchical_pooling import HierarchicalTokenPooling
from ..._multi_vector.token_pooling import BaseTokenPooling, LambdaTokenPooling

__all__ = ["BaseTokenPooling", "HierarchicalTokenPooling", "LambdaTokenPooling"]
