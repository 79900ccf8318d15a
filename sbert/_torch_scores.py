"""Similarity scores in torch: inputs made tensors as sentence-transformers converts them, then the matrix or
row-by-row scores. A leaf shared by ``_similarity`` (dense inputs) and ``_sparse`` (its dense fallback);
imported only once torch is wanted."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._errors import EmbeddingShapeError
from ._numeric import unknown_function


def is_tensor(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def tensors(a: Any, b: Any, keep_integers: bool = False) -> tuple[Any, Any]:
    """Both as dense tensors on the tensor's device (the CPU for two arrays), in one dtype: half precision
    computed in float32 (as sentence-transformers does), float64 kept. Integers become float32, except with
    ``keep_integers`` (dot products, row-by-row Manhattan): sentence-transformers computes those in the
    inputs' integer dtype, so integer scores come back (the float-only scores fail there instead)."""
    device = next((x.device for x in (a, b) if is_tensor(x)), None)
    a, b = as_tensor(a, device), as_tensor(b, device)
    dtype = torch.promote_types(a.dtype, b.dtype)
    if dtype in (torch.float16, torch.bfloat16) or not (dtype.is_floating_point or keep_integers):
        dtype = torch.float32
    return a.to(dtype), b.to(dtype)


def as_tensor(x: Any, device: Any) -> Any:
    """``x`` as a dense tensor: a list of tensors stacked, an array's dtype kept, a list of numbers float32
    (torch's default, as ``torch.tensor`` reads it in sentence-transformers)."""
    if isinstance(x, (list, tuple)) and x and all(is_tensor(row) for row in x):
        x = torch.stack([row.to_dense() if row.is_sparse else row for row in x])
    elif isinstance(x, (list, tuple)) and x and all(isinstance(row, np.ndarray) for row in x):
        x = torch.from_numpy(np.stack(x))
    elif isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    elif not is_tensor(x):
        x = torch.tensor(x)
    if x.layout != torch.strided:  # sparse COO, CSR, CSC, ...
        x = x.to_dense()
    return x if device is None else x.to(device)


def check_widths(a: Any, b: Any) -> None:
    """Rows of ``a`` and ``b`` can be scored: neither is a 0-d scalar, and their widths agree."""
    if a.dim() == 0 or b.dim() == 0:
        which = "a" if a.dim() == 0 else "b"
        raise EmbeddingShapeError(
            f"cannot score a 0-d value ({which}): pass embeddings of shape (dim,) or (n, dim)"
        )
    if a.shape[-1] != b.shape[-1]:
        raise EmbeddingShapeError(f"embeddings differ in width: {a.shape[-1]} and {b.shape[-1]}")


def matrix(a: Any, b: Any, function: str) -> Any:
    a = a.unsqueeze(0) if a.dim() == 1 else a
    b = b.unsqueeze(0) if b.dim() == 1 else b
    check_widths(a, b)
    if function == "cosine":
        normalized = torch.nn.functional.normalize
        return normalized(a, p=2, dim=1) @ normalized(b, p=2, dim=1).transpose(0, 1)
    if function == "dot":
        return a @ b.transpose(0, 1)
    if function == "euclidean":
        return -torch.cdist(a, b, p=2.0)
    if function == "manhattan":
        return -torch.cdist(a, b, p=1.0)
    raise unknown_function(function)


def pairwise(a: Any, b: Any, function: str) -> Any:
    if function == "cosine":
        normalized = torch.nn.functional.normalize
        return (normalized(a, p=2, dim=-1) * normalized(b, p=2, dim=-1)).sum(dim=-1)
    if function == "dot":
        return (a * b).sum(dim=-1)
    if function == "euclidean":
        return -torch.linalg.vector_norm(a - b, dim=-1)  # a zero gradient (not NaN) where a row equals b's
    if function == "manhattan":
        return -torch.abs(a - b).sum(dim=-1)
    raise unknown_function(function)
