"""sentence-transformers' ``util.retrieval`` module path: semantic search, paraphrase mining, communities."""

from . import (
    community_detection,
    information_retrieval,
    paraphrase_mining,
    paraphrase_mining_embeddings,
    semantic_search,
)

__all__ = [
    "community_detection",
    "information_retrieval",
    "paraphrase_mining",
    "paraphrase_mining_embeddings",
    "semantic_search",
]
