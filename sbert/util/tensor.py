"""sentence-transformers' ``util.tensor`` module path: embedding tensors moved, normalized, truncated, and
sparse ones counted or handed to SciPy."""

from . import (
    batch_to_device,
    cat_padded_token_embeddings,
    compute_count_vector,
    normalize_embeddings,
    repad_flattened_features,
    select_max_active_dims,
    stack_padded_token_embeddings,
    to_scipy_coo,
    truncate_embeddings,
)

__all__ = [
    "batch_to_device",
    "cat_padded_token_embeddings",
    "compute_count_vector",
    "normalize_embeddings",
    "repad_flattened_features",
    "select_max_active_dims",
    "stack_padded_token_embeddings",
    "to_scipy_coo",
    "truncate_embeddings",
]
