"""sentence-transformers' older ``quantization`` module path (now ``util.quantization``)."""

from .util.quantization import quantize_embeddings, semantic_search_faiss, semantic_search_usearch

__all__ = ["quantize_embeddings", "semantic_search_faiss", "semantic_search_usearch"]
