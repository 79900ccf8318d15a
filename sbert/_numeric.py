"""Pure numpy functions: normalization and similarity.

These are the numeric core shared by every backend. They take and return numpy arrays, never touch files
or torch, so the ONNX path and the utilities work without torch installed. Shapes: ``B`` texts, ``T`` tokens,
``D`` hidden size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import InputError

SIMILARITY_FUNCTIONS: tuple[str, ...] = ("cosine", "dot", "euclidean", "manhattan")
# late-interaction (ColBERT-style) scoring, as sentence-transformers' SimilarityFunction names it
MULTI_VECTOR_SIMILARITIES: tuple[str, ...] = ("maxsim", "meanmaxsim")


def _pairwise_distance(a: np.ndarray, b: np.ndarray, reduce) -> np.ndarray:
    """Distances from exact differences (the |a|^2+|b|^2-2ab shortcut loses precision near 0), in row
    chunks so the (rows, m, d) difference tensor stays under ~64 MB."""
    out = np.empty((a.shape[0], b.shape[0]), dtype=a.dtype)
    rows = max(1, (1 << 24) // max(1, b.shape[0] * b.shape[1]))
    for start in range(0, a.shape[0], rows):
        out[start : start + rows] = reduce(a[start : start + rows, None, :] - b[None, :, :])
    return out


def as_numpy(x: Any) -> Any:
    """A torch tensor as a numpy array, read without importing torch (bfloat16, which numpy lacks, as
    float32); anything else as it is."""
    if not hasattr(x, "detach"):
        return x
    x = x.detach().cpu()
    return (x.float() if str(x.dtype) == "torch.bfloat16" else x).numpy()


def normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """L2-normalize the last axis (zero vectors stay zero), like ``torch.nn.functional.normalize``."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, eps)


def similarity_matrix(
    a: np.ndarray, b: np.ndarray, function: str = "cosine", *, dtype: Any = np.float32
) -> np.ndarray:
    """Pairwise similarity ``(n, m)`` between rows of ``a`` ``(n, d)`` and ``b`` ``(m, d)``, computed in
    ``dtype``.

    Distances come back negated (higher is more similar), as sentence-transformers does.
    """
    a = np.atleast_2d(np.asarray(a, dtype=dtype))
    b = np.atleast_2d(np.asarray(b, dtype=dtype))
    if function == "cosine":
        return normalize(a) @ normalize(b).T
    if function == "dot":
        return a @ b.T
    if function == "euclidean":
        return -_pairwise_distance(a, b, lambda d: np.sqrt((d * d).sum(-1)))
    if function == "manhattan":
        return -_pairwise_distance(a, b, lambda d: np.abs(d).sum(-1))
    raise unknown_function(function)


def unknown_function(function: str) -> InputError:
    """The error for a similarity function name sbert does not know."""
    return InputError(f"Unknown similarity function {function!r}; choose one of {SIMILARITY_FUNCTIONS}.")
