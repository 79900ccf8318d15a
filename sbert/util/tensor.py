"""sentence-transformers' ``util.tensor`` module path: embedding tensors moved, normalized, truncated."""

from . import (
    batch_to_device,
    cat_padded_token_embeddings,
    normalize_embeddings,
    select_max_active_dims,
    stack_padded_token_embeddings,
    truncate_embeddings,
)

__all__ = [
    "batch_to_device",
    "cat_padded_token_embeddings",
    "normalize_embeddings",
    "select_max_active_dims",
    "stack_padded_token_embeddings",
    "truncate_embeddings",
]
