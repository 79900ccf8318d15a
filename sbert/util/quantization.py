"""sentence-transformers' ``util.quantization`` module path: embedding quantization and the faiss search over
quantized embeddings (``pip install 'sbert[search]'`` for faiss)."""

from .._search.quantize import quantize_embeddings
from .._search.quantized_search import semantic_search_faiss

__all__ = ["quantize_embeddings", "semantic_search_faiss"]
