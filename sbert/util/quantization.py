"""sentence-transformers' ``util.quantization`` module path: embedding quantization and the faiss and usearch
searches over quantized embeddings (``pip install 'sbert[search]'`` for faiss, ``'sbert[usearch]'`` for
usearch)."""

from .._search.quantize import quantize_embeddings
from .._search.quantized_search import semantic_search_faiss, semantic_search_usearch

__all__ = ["quantize_embeddings", "semantic_search_faiss", "semantic_search_usearch"]
