"""A numpy reference for the pooling modes, written independently of sbert's torch implementation
(sbert/_modules/pooling.py) so the two can be compared. Shapes: ``B`` texts, ``T`` tokens, ``D`` hidden."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pool(tokens: np.ndarray, mask: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """Pool token embeddings ``(B, T, D)`` under a ``mask`` ``(B, T)`` into ``(B, D * len(modes))``."""
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
