"""Pure numpy functions: pooling, normalization and similarity.

These are the numeric core shared by every backend. They take and return numpy arrays, never touch files
or torch, so the ONNX path and the utilities work without torch installed. Shapes: ``B`` texts, ``T`` tokens,
``D`` hidden size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._errors import InputError

# Concatenation order of combined pooling modes; the same order sentence-transformers uses, so combined
# embeddings are interchangeable.
POOLING_MODES: tuple[str, ...] = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

SIMILARITY_FUNCTIONS: tuple[str, ...] = ("cosine", "dot", "euclidean", "manhattan")


def pool(tokens: np.ndarray, mask: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """Pool token embeddings ``(B, T, D)`` under an attention ``mask`` ``(B, T)`` into ``(B, D * len(modes))``."""
    return np.concatenate([_POOLERS[mode](tokens, mask) for mode in modes], axis=-1)


def cls_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    first = mask.argmax(axis=1)  # first attended position: 0 unless the batch is left-padded
    return tokens[np.arange(tokens.shape[0]), first]


def max_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask[..., None] > 0, tokens, -np.inf).max(axis=1)


def mean_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(tokens.dtype)
    return (tokens * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)


def mean_sqrt_len_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(tokens.dtype)
    return (tokens * m).sum(axis=1) / np.sqrt(np.clip(m.sum(axis=1), 1e-9, None))


def weighted_mean_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    # Position weights 1..T counted from the first attended token, so left padding does not shift them.
    positions = np.arange(1, tokens.shape[1] + 1, dtype=tokens.dtype)[None, :]
    weights = (positions - mask.argmax(axis=1)[:, None]) * mask  # (B, T)
    w = weights[..., None].astype(tokens.dtype)
    return (tokens * w).sum(axis=1) / np.clip(w.sum(axis=1), 1e-9, None)


def last_token_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    seq_len = mask.shape[1]
    last = seq_len - 1 - mask[:, ::-1].argmax(axis=1)  # last attended position
    out = tokens[np.arange(tokens.shape[0]), last]
    return np.where(mask.any(axis=1)[:, None], out, 0).astype(tokens.dtype)


_POOLERS = {
    "cls": cls_pool,
    "max": max_pool,
    "mean": mean_pool,
    "mean_sqrt_len_tokens": mean_sqrt_len_pool,
    "weightedmean": weighted_mean_pool,
    "lasttoken": last_token_pool,
}


def _pairwise_distance(a: np.ndarray, b: np.ndarray, reduce) -> np.ndarray:
    """Distances from exact differences (the |a|^2+|b|^2-2ab shortcut loses precision near 0), in row
    chunks so the (rows, m, d) difference tensor stays under ~64 MB."""
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.float32)
    rows = max(1, (1 << 24) // max(1, b.shape[0] * b.shape[1]))
    for start in range(0, a.shape[0], rows):
        out[start : start + rows] = reduce(a[start : start + rows, None, :] - b[None, :, :])
    return out


def normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """L2-normalize the last axis (zero vectors stay zero), like ``torch.nn.functional.normalize``."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, eps)


def similarity_matrix(a: np.ndarray, b: np.ndarray, function: str = "cosine") -> np.ndarray:
    """Pairwise similarity ``(n, m)`` between rows of ``a`` ``(n, d)`` and ``b`` ``(m, d)``.

    Distances come back negated (higher is more similar), as sentence-transformers does.
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float32))
    b = np.atleast_2d(np.asarray(b, dtype=np.float32))
    if function == "cosine":
        return normalize(a) @ normalize(b).T
    if function == "dot":
        return a @ b.T
    if function == "euclidean":
        return -_pairwise_distance(a, b, lambda d: np.sqrt((d * d).sum(-1)))
    if function == "manhattan":
        return -_pairwise_distance(a, b, lambda d: np.abs(d).sum(-1))
    raise InputError(f"Unknown similarity function {function!r}; choose one of {SIMILARITY_FUNCTIONS}.")
