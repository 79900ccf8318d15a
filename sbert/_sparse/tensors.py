"""Sparse embeddings as sentence-transformers' SparseEncoder hands them out and reads them back.

The ``max_active_dims`` cut, the outputs of ``encode`` (one sparse COO or dense tensor in input order, or a
list of rows), similarity of sparse or dense inputs, decoding to tokens, and sparsity statistics. Torch only:
imported once a SparseEncoder runs. Sparse outputs here are coalesced (sorted, no duplicate indices), so
``.indices()`` works on them directly.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .._errors import EmbeddingShapeError, InputError, InputTypeError
from .._torch_scores import check_widths, matrix, pairwise, tensors


def keep_top(embeddings: torch.Tensor, k: int) -> torch.Tensor:
    """Each row's ``k`` largest values by magnitude, the rest zero (``(B, V)`` dense in and out)."""
    _, top = torch.topk(embeddings.abs(), k=min(k, embeddings.shape[-1]), dim=-1)
    kept = torch.zeros_like(embeddings)
    return kept.scatter_(-1, top, embeddings.gather(-1, top))


def in_input_order(batches: Sequence[torch.Tensor], order: np.ndarray) -> torch.Tensor:
    """One ``(n, width)`` tensor from batches of rows in sorted order: row ``i`` of the batches, stacked,
    belongs to text ``order[i]``. Sparse batches give a coalesced sparse tensor, dense ones a dense one. The
    width is the batches' own (a SpladePooling's saved ``embedding_dimension`` may not be its output's)."""
    if not batches[0].is_sparse:
        stacked = torch.cat(list(batches))
        return stacked[torch.as_tensor(np.argsort(order), device=stacked.device)]
    owner = torch.as_tensor(order, device=batches[0].device)
    indices, values, offset = [], [], 0
    for batch in batches:
        batch = batch.coalesce()
        rows, cols = batch.indices()
        indices.append(torch.stack([owner[rows + offset], cols]))
        values.append(batch.values())
        offset += batch.shape[0]
    size = (len(order), batches[0].shape[1])
    merged = torch.sparse_coo_tensor(torch.cat(indices, 1), torch.cat(values), size, check_invariants=False)
    return merged.coalesce()


def rows(embeddings: torch.Tensor) -> list[torch.Tensor]:
    """The rows of a 2-D tensor as 1-D tensors (coalesced sparse rows for a sparse tensor), in one pass."""
    if not embeddings.is_sparse:
        return list(embeddings)
    embeddings = embeddings.coalesce()
    (row_of, cols), values = embeddings.indices(), embeddings.values()
    counts = torch.bincount(row_of, minlength=embeddings.shape[0]).tolist()
    width = (embeddings.shape[1],)
    return [
        torch.sparse_coo_tensor(c[None], v, width, check_invariants=False, is_coalesced=True)
        for c, v in zip(cols.split(counts), values.split(counts))
    ]


def empty_output(device: Any, sparse: bool) -> torch.Tensor:
    """What sentence-transformers' encode returns for no texts: a ``(0,)`` tensor."""
    empty = torch.tensor([], device=device)
    return empty.to_sparse() if sparse else empty


# ------------------------------------------------------------------ similarity


def similarity(a: Any, b: Any, function: str) -> torch.Tensor:
    """Scores ``(n, m)`` of the rows of ``a`` and ``b`` (sparse or dense tensors, arrays, lists of rows; a 1-D
    input is one row) as a dense tensor; distances negated."""
    a, b = _batch(a), _batch(b)
    check_widths(a, b)
    if not (a.is_sparse or b.is_sparse):
        return matrix(*tensors(a, b), function)
    a, b = _same_layout(a, b)
    if function == "cosine":
        return _matmul(_normalized(a), _normalized(b))
    if function == "dot":
        return _matmul(a, b)
    if function == "euclidean":
        # |a - b|^2 = |a|^2 - 2 a.b + |b|^2, without densifying either side
        squared = torch.sparse.sum(a * a, dim=1).to_dense()[:, None] - 2 * _matmul(a, b)
        squared = squared + torch.sparse.sum(b * b, dim=1).to_dense()[None, :]
        return -squared.clamp(min=0.0).sqrt()
    if function == "manhattan":  # no sparse form: dense rows
        return -torch.cdist(a.to_dense(), b.to_dense(), p=1.0)
    return matrix(*tensors(a.to_dense(), b.to_dense()), function)  # raises the unknown-function error


def similarity_pairwise(a: Any, b: Any, function: str) -> torch.Tensor:
    """Scores of row ``i`` of ``a`` with row ``i`` of ``b`` (``(n,)``, or one score for two vectors)."""
    a, b = _tensor(a), _tensor(b)
    if tuple(a.shape) != tuple(b.shape):
        shapes = f"{tuple(a.shape)} and {tuple(b.shape)}"
        raise EmbeddingShapeError(f"pairwise similarity needs equal shapes, got {shapes}")
    if not (a.is_sparse or b.is_sparse):
        return pairwise(*tensors(a, b), function)
    a, b = _same_layout(a, b)
    if function == "cosine":
        a, b, function = _normalized(a), _normalized(b), "dot"
    if function == "dot":
        return (a * b).sum(dim=-1).to_dense()
    if function == "euclidean":
        return -(a - b).square().sum(dim=-1).sqrt().to_dense()
    if function == "manhattan":
        return -torch.abs(a - b).sum(dim=-1).to_dense()
    return pairwise(*tensors(a.to_dense(), b.to_dense()), function)


def _tensor(x: Any) -> torch.Tensor:
    """``x`` as a float tensor: a list of rows stacked (sparse rows stay sparse), arrays viewed."""
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, torch.Tensor) for t in x):
        x = torch.stack([t.coalesce() if t.is_sparse else t for t in x])
    elif isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    elif not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if not x.is_floating_point() or x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()  # scores of half-precision or integer inputs in float32, as sentence-transformers
    return x


def _batch(x: Any) -> torch.Tensor:
    x = _tensor(x)
    return x.unsqueeze(0) if x.dim() == 1 else x


def _same_layout(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sparse when one is: the dense one is usually mostly zeros (an encoding with
    ``convert_to_sparse_tensor=False``), so converting it is cheap, densifying the other is not."""
    return (a if a.is_sparse else a.to_sparse()), (b if b.is_sparse else b.to_sparse())


def normalized(x: Any) -> torch.Tensor:
    """``util.normalize_embeddings`` of sparse embeddings (a tensor or a list of rows): each row (or the one
    1-D vector) at unit length, still sparse COO and in the input's dtype, as sentence-transformers returns
    them (half precision computed in float32)."""
    if isinstance(x, (list, tuple)):
        x = torch.stack([row.coalesce() if row.is_sparse else row for row in x])
    half = x.dtype in (torch.float16, torch.bfloat16)
    return _normalized(_sparse(x.float() if half else x)).to(x.dtype)


def _normalized(x: torch.Tensor) -> torch.Tensor:
    """Sparse rows (or one sparse vector) scaled to unit length; all-zero rows stay zero."""
    x = x.coalesce()
    values = x.values()
    row_of = x.indices()[0] if x.dim() == 2 else torch.zeros_like(x.indices()[0])
    norms = values.new_zeros(x.shape[0] if x.dim() == 2 else 1).index_add_(0, row_of, values * values).sqrt()
    scaled = values / norms.index_select(0, row_of).clamp(min=torch.finfo(values.dtype).tiny)
    return torch.sparse_coo_tensor(x.indices(), scaled, x.shape, check_invariants=False, is_coalesced=True)


def _matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b.T`` of two sparse ``(n, V)``, ``(m, V)`` tensors as a dense ``(n, m)`` tensor."""
    with warnings.catch_warnings():  # torch converts to CSR inside and says once that CSR is in beta
        warnings.filterwarnings(
            "ignore", message="Sparse CSR tensor support is in beta", category=UserWarning
        )
        return torch.mm(a, b.t()).to_dense()


# ------------------------------------------------------------------ reading embeddings back


def decode(embeddings: torch.Tensor, tokenizer: Any, top_k: int | None = None) -> list[Any]:
    """``(token, weight)`` pairs of each embedding, heaviest first (all non-zero ones, or the ``top_k``): a
    list for a 1-D embedding, a list of lists for a 2-D batch."""
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k <= 0):
        raise InputError(f"top_k must be a positive integer or None, got {top_k!r}.")
    if not isinstance(embeddings, torch.Tensor):
        raise TypeError(f"Expected torch.Tensor, got {type(embeddings)}")  # sentence-transformers' words
    if embeddings.dim() not in (1, 2):
        raise InputError(f"Input tensor must be 1D or 2D, got {embeddings.dim()}D.")
    one = embeddings.dim() == 1
    decoded = []
    for row in rows(_sparse(embeddings.unsqueeze(0) if one else embeddings)):
        token_ids, weights = row.indices()[0], row.values()
        if top_k is not None and top_k < len(weights):
            weights, picked = torch.topk(weights, top_k)
        else:
            weights, picked = torch.sort(weights, descending=True)
        tokens = tokenizer.convert_ids_to_tokens(token_ids[picked].tolist())
        decoded.append(list(zip(tokens, weights.tolist())))
    return decoded[0] if one else decoded


def sparsity(embeddings: torch.Tensor) -> dict[str, float]:
    """The mean count of non-zero dimensions per embedding and the mean share of zero ones."""
    if not isinstance(embeddings, torch.Tensor):
        raise TypeError("Embeddings must be a torch.Tensor")
    if embeddings.dim() not in (1, 2):
        raise InputError(f"Expected a 1D or 2D tensor, got {embeddings.dim()}D.")
    batch = embeddings.unsqueeze(0) if embeddings.dim() == 1 else embeddings
    count, width = batch.shape
    if count == 0 or width == 0:
        return {"active_dims": 0.0, "sparsity_ratio": 1.0}
    if batch.layout not in (torch.strided, torch.sparse_coo):  # CSR, CSC, ...: counted as COO
        batch = batch.to_sparse()
    if batch.is_sparse:
        batch = batch.coalesce()
        active = torch.bincount(batch.indices()[0], minlength=count)
    else:
        active = (batch != 0).sum(dim=1)
    mean = active.float().mean().item()
    return {"active_dims": mean, "sparsity_ratio": 1.0 - mean / width}


def intersection(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """The dimensions active in both ``first`` (1-D) and each row of ``second`` (1-D or 2-D), weighted by the
    product of their weights: a sparse tensor shaped as ``second``."""
    if not (isinstance(first, torch.Tensor) and isinstance(second, torch.Tensor)):
        raise InputTypeError(
            f"intersection needs two embedding tensors, got {type(first).__name__} and "
            f"{type(second).__name__}: pass what encode(..., convert_to_tensor=True) returns."
        )
    first, second = _sparse(first), _sparse(second)
    if first.dim() != 1:
        raise InputError(f"Expected a 1D tensor for embeddings_1, got shape {tuple(first.shape)}.")
    if second.dim() not in (1, 2) or first.shape[-1] != second.shape[-1]:
        raise InputError(
            f"embeddings_2 must be 1-D or 2-D with embeddings_1's width {first.shape[-1]}, "
            f"got shape {tuple(second.shape)}."
        )
    product = first * second if second.dim() == 1 else torch.stack([first * row for row in rows(second)])
    product = product.coalesce()
    shared = product.values() > 0
    return torch.sparse_coo_tensor(
        product.indices()[:, shared], product.values()[shared], product.shape, check_invariants=False
    ).coalesce()


def sparse_rows(x: Any) -> torch.Tensor:
    """``x`` (sparse or dense tensors, arrays, lists of rows; a 1-D input is one row) as a coalesced sparse
    float tensor: what :func:`similarity` scores, for callers that take its rows chunk by chunk."""
    return _sparse(_batch(x))


def _sparse(x: torch.Tensor) -> torch.Tensor:
    return (x if x.is_sparse else x.to_sparse()).coalesce()
