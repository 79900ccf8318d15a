"""A SparseEncoder's outputs where torch is not installed (the ONNX backend of the base install): numpy
twins of :mod:`.tensors`' ``keep_top``, ``in_input_order``, ``rows`` and ``empty_output``, with the same
numbers. numpy has no sparse arrays: a batch is a dense float32 ``(n, vocab)`` array, a row a 1-D one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def keep_top(embeddings: np.ndarray, k: int) -> np.ndarray:
    """Each row's ``k`` largest values by magnitude, the rest zero (``(B, V)`` in and out)."""
    if k >= embeddings.shape[-1]:
        return embeddings
    top = np.argpartition(-np.abs(embeddings), k - 1, axis=-1)[:, :k]
    kept = np.zeros_like(embeddings)
    np.put_along_axis(kept, top, np.take_along_axis(embeddings, top, axis=-1), axis=-1)
    return kept


def in_input_order(batches: Sequence[np.ndarray], order: np.ndarray, width: int) -> np.ndarray:
    """One ``(n, width)`` array from batches of rows in sorted order (row ``i`` belongs to text
    ``order[i]``)."""
    return np.concatenate(list(batches))[np.argsort(order)]


def rows(embeddings: np.ndarray) -> list[np.ndarray]:
    return list(embeddings)


def empty_output(device: Any, sparse: bool) -> np.ndarray:
    """What encode returns for no texts: a ``(0,)`` array, as sentence-transformers' ``(0,)`` tensor."""
    return np.zeros((0,), dtype=np.float32)
