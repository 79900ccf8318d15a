"""Similarity scores whose type follows the input, as sentence-transformers' users expect.

Numpy in, numpy out (float32, torch never imported): what encode returns by default and what the server and
search use. A torch tensor in (``encode(..., convert_to_tensor=True)``, a loss's embeddings), a tensor out,
computed in torch on the tensor's device and dtype with its autograd graph intact, as
``sentence_transformers.util`` computes it. Every similarity that a user calls with either type comes here.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from functools import partial
from typing import Any

import numpy as np

from ._errors import InputError
from ._numeric import SIMILARITY_FUNCTIONS, normalize, similarity_matrix


class SimilarityFunction(str, Enum):
    """sentence-transformers' names for the similarity functions; each member is its string name."""

    COSINE = "cosine"
    DOT_PRODUCT = "dot"
    DOT = "dot"  # noqa: PIE796 (an alias of DOT_PRODUCT, as in sentence-transformers)
    EUCLIDEAN = "euclidean"
    MANHATTAN = "manhattan"

    @staticmethod
    def possible_values() -> list[str]:
        return list(SIMILARITY_FUNCTIONS)

    @staticmethod
    def to_similarity_fn(similarity_function: str) -> Callable[[Any, Any], Any]:
        """The ``(a, b) -> (n, m)`` scores of that name (numpy for numpy, a tensor for tensors)."""
        return partial(similarity, function=SimilarityFunction(similarity_function).value)

    @staticmethod
    def to_similarity_pairwise_fn(similarity_function: str) -> Callable[[Any, Any], Any]:
        """The ``(a, b) -> (n,)`` row-by-row scores of that name."""
        return partial(similarity_pairwise, function=SimilarityFunction(similarity_function).value)


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def similarity(a: Any, b: Any, function: str) -> Any:
    """Scores ``(n, m)`` between the rows of ``a`` and ``b`` (a 1-D input is one row); distances negated."""
    if is_tensor(a) or is_tensor(b):
        return _torch_matrix(*_tensors(a, b), function)
    a, b = _arrays(a, b)
    return similarity_matrix(np.atleast_2d(a), np.atleast_2d(b), function)


def similarity_pairwise(a: Any, b: Any, function: str) -> Any:
    """Scores of row ``i`` of ``a`` with row ``i`` of ``b`` over the last axis: ``(n,)``, or one score for two
    vectors."""
    tensors = is_tensor(a) or is_tensor(b)
    a, b = _tensors(a, b) if tensors else _arrays(a, b)
    if tuple(a.shape) != tuple(b.shape):
        raise InputError(f"pairwise similarity needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    if tensors:
        return _torch_pairwise(a, b, function)
    if function == "cosine":
        return (normalize(a) * normalize(b)).sum(-1)
    if function == "dot":
        return (a * b).sum(-1)
    if function == "euclidean":
        return -np.sqrt(((a - b) ** 2).sum(-1))
    if function == "manhattan":
        return -np.abs(a - b).sum(-1)
    raise _unknown(function)


def angle_pairwise(a: Any, b: Any) -> Any:
    """AnglE's similarity of row ``i`` of ``a`` with row ``i`` of ``b``: ``|cos + sin|`` after L2
    normalization, dimensions ``j`` and ``j + D/2`` read as one complex number's real and imaginary parts
    (an odd width gets a zero dimension). ``(n,)``; a tensor (with autograd) for a tensor, else numpy."""
    tensors = is_tensor(a) or is_tensor(b)
    a, b = _tensors(a, b) if tensors else _arrays(a, b)
    if a.ndim != 2 or tuple(a.shape) != tuple(b.shape):
        raise InputError(
            f"angle similarity needs two (n, d) inputs of one shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
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


def normalize_embeddings(x: Any) -> Any:
    """L2-normalized rows, a tensor for a tensor."""
    if is_tensor(x):
        import torch

        return torch.nn.functional.normalize(x, p=2, dim=-1)
    return normalize(np.asarray(x, dtype=np.float32))


def _arrays(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)


def _tensors(a: Any, b: Any) -> tuple[Any, Any]:
    """Both as tensors on the tensor's device, in one floating dtype: half precision computed in float32 and
    integers as float32 (as sentence-transformers does), float64 kept; lists become float32 tensors."""
    import torch

    like = a if is_tensor(a) else b
    a, b = (x if is_tensor(x) else torch.as_tensor(x, device=like.device) for x in (a, b))
    dtype = torch.promote_types(a.dtype, b.dtype)
    if not dtype.is_floating_point or dtype in (torch.float16, torch.bfloat16):
        dtype = torch.float32
    return a.to(dtype), b.to(dtype)


def _torch_matrix(a: Any, b: Any, function: str) -> Any:
    import torch

    a = a.unsqueeze(0) if a.dim() == 1 else a
    b = b.unsqueeze(0) if b.dim() == 1 else b
    if a.shape[-1] != b.shape[-1]:
        raise InputError(f"embeddings differ in width: {a.shape[-1]} and {b.shape[-1]}")
    if function == "cosine":
        normalized = torch.nn.functional.normalize
        return normalized(a, p=2, dim=1) @ normalized(b, p=2, dim=1).transpose(0, 1)
    if function == "dot":
        return a @ b.transpose(0, 1)
    if function == "euclidean":
        return -torch.cdist(a, b, p=2.0)
    if function == "manhattan":
        return -torch.cdist(a, b, p=1.0)
    raise _unknown(function)


def _torch_pairwise(a: Any, b: Any, function: str) -> Any:
    import torch

    if function == "cosine":
        normalized = torch.nn.functional.normalize
        return (normalized(a, p=2, dim=-1) * normalized(b, p=2, dim=-1)).sum(dim=-1)
    if function == "dot":
        return (a * b).sum(dim=-1)
    if function == "euclidean":
        return -torch.sqrt(((a - b) ** 2).sum(dim=-1))
    if function == "manhattan":
        return -torch.abs(a - b).sum(dim=-1)
    raise _unknown(function)


def _unknown(function: str) -> InputError:
    return InputError(f"Unknown similarity function {function!r}; choose one of {SIMILARITY_FUNCTIONS}.")
