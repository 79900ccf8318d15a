"""A SparseEncoder's outputs where torch is not installed (the ONNX backend of the base install): numpy
twins of :mod:`.tensors` (the ``max_active_dims`` cut, outputs in input order, rows, similarity, ``decode``,
``sparsity``, ``intersection``), with the same numbers. numpy has no sparse arrays: a batch is a dense
float32 ``(n, vocab)`` array, a row a 1-D one.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import InputError, torch_installed


def keep_top(embeddings: np.ndarray, k: int) -> np.ndarray:
    """Each row's ``k`` largest values by magnitude, the rest zero (``(B, V)`` in and out)."""
    if k >= embeddings.shape[-1]:
        return embeddings
    top = np.argpartition(-np.abs(embeddings), k - 1, axis=-1)[:, :k]
    kept = np.zeros_like(embeddings)
    np.put_along_axis(kept, top, np.take_along_axis(embeddings, top, axis=-1), axis=-1)
    return kept


def in_input_order(batches: Sequence[np.ndarray], order: np.ndarray) -> np.ndarray:
    """One ``(n, width)`` array from batches of rows in sorted order (row ``i`` belongs to text
    ``order[i]``)."""
    return np.concatenate(list(batches))[np.argsort(order)]


def rows(embeddings: np.ndarray) -> list[np.ndarray]:
    return list(embeddings)


def empty_output(device: Any, sparse: bool) -> np.ndarray:
    """What encode returns for no texts: a ``(0,)`` array, as sentence-transformers' ``(0,)`` tensor."""
    return np.zeros((0,), dtype=np.float32)


def similarity(a: Any, b: Any, function: str) -> np.ndarray:
    """Scores ``(n, m)`` of the rows of ``a`` and ``b`` (arrays or lists of rows), distances negated."""
    from .._similarity import similarity as scores

    return scores(_stacked(a), _stacked(b), function)


def similarity_pairwise(a: Any, b: Any, function: str) -> np.ndarray:
    """Scores of row ``i`` of ``a`` with row ``i`` of ``b``."""
    from .._similarity import similarity_pairwise as scores

    return scores(_stacked(a), _stacked(b), function)


def decode(embeddings: Any, tokenizer: Any, top_k: int | None = None) -> list[Any]:
    """``(token, weight)`` pairs of each embedding's non-zero weights, heaviest first (the ``top_k``): a list
    for a 1-D embedding, a list of lists for a 2-D batch (:func:`.tensors.decode`'s, for numpy)."""
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k <= 0):
        raise InputError(f"top_k must be a positive integer or None, got {top_k!r}.")
    batch = _stacked(embeddings)
    if batch.ndim not in (1, 2):
        raise InputError(f"Input array must be 1D or 2D, got {batch.ndim}D.")
    decoded = []
    for row in np.atleast_2d(batch):
        token_ids = np.flatnonzero(row)
        picked = token_ids[np.argsort(-row[token_ids], kind="stable")][:top_k]
        tokens = tokenizer.convert_ids_to_tokens(picked.tolist())
        decoded.append(list(zip(tokens, row[picked].tolist())))
    return decoded[0] if batch.ndim == 1 else decoded


def sparsity(embeddings: Any) -> dict[str, float]:
    """The mean count of non-zero dimensions per embedding and the mean share of zero ones."""
    batch = np.atleast_2d(_stacked(embeddings))
    if batch.size == 0:
        return {"active_dims": 0.0, "sparsity_ratio": 1.0}
    mean = float((batch != 0).sum(axis=1).mean())
    return {"active_dims": mean, "sparsity_ratio": 1.0 - mean / batch.shape[1]}


def intersection(first: Any, second: Any) -> np.ndarray:
    """The weights of the dimensions active in ``first`` (1-D) and each row of ``second``: their products."""
    first, second = _stacked(first), _stacked(second)
    if first.ndim != 1 or second.shape[-1] != first.shape[-1]:
        raise InputError(
            f"Expected a 1D embeddings_1 of embeddings_2's width, got {first.shape}, {second.shape}."
        )
    product = first * second
    return np.where(product > 0, product, 0).astype(np.float32)


def _stacked(x: Any) -> np.ndarray:
    """``x`` as one float32 array (a list of rows stacked)."""
    if isinstance(x, (list, tuple)) and x and all(isinstance(r, np.ndarray) for r in x):
        return np.stack(x).astype(np.float32, copy=False)
    return np.asarray(x, dtype=np.float32)


def output_functions() -> Any:
    """The module that shapes, scores and reads a SparseEncoder's outputs: :mod:`.tensors` where torch is
    installed, else this one."""
    if torch_installed():
        from . import tensors

        return tensors
    return sys.modules[__name__]
