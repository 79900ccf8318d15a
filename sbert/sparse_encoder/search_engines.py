"""sentence-transformers' ``sparse_encoder.search_engines`` module path: a SparseEncoder's embeddings searched
in Qdrant (``pip install qdrant-client``), Elasticsearch (``elasticsearch``), OpenSearch (``opensearch-py``)
or Seismic (``pyseismic-lsr``)."""

from .._search.sparse_engines import (
    semantic_search_elasticsearch,
    semantic_search_opensearch,
    semantic_search_qdrant,
    semantic_search_seismic,
)

__all__ = [
    "semantic_search_elasticsearch",
    "semantic_search_opensearch",
    "semantic_search_qdrant",
    "semantic_search_seismic",
]
