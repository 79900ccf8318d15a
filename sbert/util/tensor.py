"""sentence-transformers' ``util.tensor`` module path: embedding tensors moved, normalized, truncated."""

from . import batch_to_device, normalize_embeddings, select_max_active_dims, truncate_embeddings

__all__ = ["batch_to_device", "normalize_embeddings", "select_max_active_dims", "truncate_embeddings"]
