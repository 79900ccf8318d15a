"""Search over embeddings: exact top-k and mining (exact), faiss structures (ann), persistent indexes
(index, index_store, model_identity), quantization and clustering."""
