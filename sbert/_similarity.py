"""Similarity scores of the type sentence-transformers returns: a torch tensor.

Tensors in (``encode(..., convert_to_tensor=True)``, a loss's embeddings) are computed in torch on their
device and dtype with the autograd graph intact; numpy arrays and lists become tensors first (float32 for
lists, the array's float dtype kept), as ``sentence_transformers.util`` converts them, so code written for it
(``torch.topk(scores, k)``, ``scores.numpy()``) runs unchanged; sparse tensors are scored as sparse. Only
where torch is not installed (sbert's base install) are numpy inputs scored in numpy, giving numpy. Every
similarity a user calls comes here; sbert's own search, server and CLI score numpy with ``_numeric`` and
never import torch.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import numpy as np

from ._errors import EmbeddingShapeError, InputError, installed
from ._numeric import (
    normalize,
    similarity_matrix,
    unknown_function,
)


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def returns_tensors(*inputs: Any) -> bool:
    """Whether scores of ``inputs`` are torch tensors: always where torch is installed (a tensor input implies
    it), as in sentence-transformers; numpy in the base install."""
    return sys.modules.get("torch") is not None or any(is_tensor(x) for x in inputs) or _torch_installed()


@functools.cache
def _torch_installed() -> bool:  # looked up once: not on every score of the base install
    return installed("torch")


def similarity(a: Any, b: Any, function: str) -> Any:
    """Scores ``(n, m)`` between the rows of ``a`` and ``b`` (a 1-D input is one row); distances negated."""
    if is_sparse_input(a, b):  # sparse embeddings (SparseEncoder's) are scored without densifying them
        from ._sparse.tensors import similarity as sparse_similarity

        return sparse_similarity(a, b, function)
    if returns_tensors(a, b):
        scores = _torch_scores()
        return scores.matrix(*scores.tensors(a, b, keep_integers=function == "dot"), function)
    a, b = _arrays(a, b)
    return similarity_matrix(np.atleast_2d(a), np.atleast_2d(b), function)


def similarity_pairwise(a: Any, b: Any, function: str) -> Any:
    """Scores of row ``i`` of ``a`` with row ``i`` of ``b`` over the last axis: ``(n,)``, or one score for two
    vectors. Shapes broadcast as in sentence-transformers: one vector (``(d,)`` or ``(1, d)``) is scored
    against every row of the other."""
    if is_sparse_input(a, b):
        from ._sparse.tensors import similarity_pairwise as sparse_pairwise

        return sparse_pairwise(a, b, function)
    tensors = returns_tensors(a, b)
    keep_integers = function in ("dot", "manhattan")
    a, b = _torch_scores().tensors(a, b, keep_integers) if tensors else _arrays(a, b)
    try:
        np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        raise EmbeddingShapeError(
            f"pairwise similarity needs equal shapes (or one vector against rows), got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        ) from None
    if tensors:
        return _torch_scores().pairwise(a, b, function)
    if function == "cosine":
        return (normalize(a) * normalize(b)).sum(-1)
    if function == "dot":
        return (a * b).sum(-1)
    if function == "euclidean":
        return -np.sqrt(((a - b) ** 2).sum(-1))
    if function == "manhattan":
        return -np.abs(a - b).sum(-1)
    raise unknown_function(function)


def pairwise_angle_sim(x: Any, y: Any) -> Any:
    """AnglE's similarity of row ``i`` of ``x`` with row ``i`` of ``y``: ``|cos + sin|`` after L2
    normalization, dimensions ``j`` and ``j + D/2`` read as one complex number's real and imaginary parts
    (an odd width gets a zero dimension). ``(n,)``, a tensor (with autograd) as the other scores; one
    ``(1, d)`` row is scored against every row of the other, as in sentence-transformers.
    ``x``, ``y``: sentence-transformers' names (``util.pairwise_angle_sim``)."""
    tensors = returns_tensors(x, y)
    a, b = _torch_scores().tensors(x, y) if tensors else _arrays(x, y)
    rows = (len(a), len(b)) if a.ndim == b.ndim == 2 and a.shape[1] == b.shape[1] else None
    if rows is None or rows[0] != rows[1] and 1 not in rows:
        raise EmbeddingShapeError(
            f"angle similarity needs two (n, d) inputs of one shape (or one (1, d) row), got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    if tensors:
        return _torch_angle(a, b)
    if a.shape[1] % 2:
        a, b = np.pad(a, ((0, 0), (0, 1))), np.pad(b, ((0, 0), (0, 1)))
    a, b = normalize(a), normalize(b)
    half = a.shape[1] // 2
    sines = (a[:, half:] * b[:, :half] - a[:, :half] * b[:, half:]).sum(-1)
    return np.abs((a * b).sum(-1) + sines)


def _torch_angle(a: Any, b: Any) -> Any:
    import torch

    if a.shape[1] % 2:
        a, b = torch.nn.functional.pad(a, (0, 1)), torch.nn.functional.pad(b, (0, 1))
    a, b = torch.nn.functional.normalize(a, p=2, dim=1), torch.nn.functional.normalize(b, p=2, dim=1)
    a_re, a_im = a.chunk(2, dim=1)
    b_re, b_im = b.chunk(2, dim=1)
    sines = (a_im * b_re - a_re * b_im).sum(dim=1)
    return torch.abs((a * b).sum(dim=1) + sines)


def normalize_embeddings(embeddings: Any) -> Any:
    """L2-normalized rows, a tensor as the scores are; sparse embeddings (a SparseEncoder's) stay sparse."""
    if is_sparse_input(embeddings):
        from ._sparse.tensors import normalized

        return normalized(embeddings)
    if returns_tensors(embeddings):
        import torch

        return torch.nn.functional.normalize(_torch_scores().as_tensor(embeddings, None), p=2, dim=-1)
    return normalize(np.asarray(embeddings, dtype=np.float32))


def select_max_active_dims(embeddings: Any, max_active_dims: int | None) -> Any:
    """A copy keeping each row's ``max_active_dims`` largest values by magnitude (their signs kept), the rest
    zero, a tensor as the scores are (sentence-transformers' util for sparse embeddings); ``None``: the
    embeddings as given."""
    if max_active_dims is None:
        return embeddings
    if isinstance(max_active_dims, bool) or not isinstance(max_active_dims, int) or max_active_dims <= 0:
        raise InputError(f"max_active_dims must be a positive integer, got {max_active_dims}.")
    if returns_tensors(embeddings):
        import torch

        x = _torch_scores().as_tensor(embeddings, None)
        top = torch.topk(x.abs(), k=min(max_active_dims, x.shape[-1]), dim=-1).indices
        return torch.zeros_like(x).scatter_(-1, top, x.gather(-1, top))
    x = np.asarray(embeddings)
    k = min(max_active_dims, x.shape[-1])
    top = np.argpartition(-np.abs(x), k - 1, axis=-1)[..., :k]
    kept = np.zeros_like(x)
    np.put_along_axis(kept, top, np.take_along_axis(x, top, axis=-1), axis=-1)
    return kept


def _arrays(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)


def is_sparse_input(*inputs: Any) -> bool:
    """Whether an input is a sparse tensor, or a list of them."""
    for x in inputs:
        first = x[0] if isinstance(x, (list, tuple)) and x else x
        if is_tensor(first) and first.is_sparse:
            return True
    return False


def _torch_scores() -> Any:
    """The torch scoring module, imported only when a tensor is to be returned."""
    from . import _torch_scores as scores

    return scores
