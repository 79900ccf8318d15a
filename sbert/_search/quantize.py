"""Smaller embeddings: scalar (int8/uint8) and binary quantization, and Matryoshka truncation.

Pure numpy, bit-compatible with sentence-transformers' ``quantize_embeddings``: int8/uint8 map each
dimension's calibration range ``[min, max]`` onto 256 buckets; binary keeps the sign bit, packed 8 per
byte (``ubinary`` as uint8, ``binary`` shifted by -128 into int8).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .._checks import check_positive_int
from .._errors import InputError
from .._numeric import as_numpy, normalize
from .._similarity import is_tensor, normalize_embeddings
from .._st_loggers import ST_QUANTIZATION

PRECISIONS: tuple[str, ...] = ("float32", "int8", "uint8", "binary", "ubinary")
_LOGGER = logging.getLogger(ST_QUANTIZATION)  # its notice is sentence-transformers', where scripts look


def quantization_ranges(calibration_embeddings: np.ndarray) -> np.ndarray:
    """Per-dimension ``(2, d)`` ranges (row 0 minimum, row 1 maximum) of float embeddings ``(n, d)``."""
    calibration = _float_matrix(calibration_embeddings, "calibration_embeddings")
    if len(calibration) < 2:
        raise InputError(
            "Cannot compute quantization ranges from fewer than 2 embeddings; pass ranges= or "
            "calibration_embeddings= from a representative set (a few thousand embeddings)."
        )
    return np.vstack((calibration.min(axis=0), calibration.max(axis=0))).astype(np.float32)


def quantize_embeddings(
    embeddings: np.ndarray,
    precision: str,
    ranges: np.ndarray | None = None,
    calibration_embeddings: np.ndarray | None = None,
) -> np.ndarray:
    """Quantize float embeddings ``(n, d)`` (or one ``(d,)``) to ``precision``.

    ``int8``/``uint8``: ``(n, d)`` codes; the ranges come from ``ranges`` ``(2, d)``, else from
    ``calibration_embeddings``, else from ``embeddings`` themselves (fine for a whole corpus, poor for a
    handful of queries: pass the corpus' ranges then). ``binary``/``ubinary``: ``(n, ceil(d / 8))`` bytes.
    ``float32`` is a plain cast. A list of ``(tokens, d)`` matrices (a MultiVectorEncoder's documents) gives
    a list, every matrix on the same int8/uint8 ranges.
    """
    if precision not in PRECISIONS:
        raise InputError(f"Unknown precision {precision!r}; choose one of {PRECISIONS}.")
    if isinstance(embeddings, (list, tuple)) and not embeddings:  # nothing to quantize, as there
        return []  # type: ignore[return-value]
    if isinstance(embeddings, (list, tuple)) and getattr(embeddings[0], "ndim", 0) == 2:
        return _quantize_matrices(embeddings, precision, ranges, calibration_embeddings)  # type: ignore[return-value]
    emb = np.asarray(as_numpy(embeddings))
    if emb.dtype in (np.int8, np.uint8):
        raise InputError("Embeddings to quantize must be float, not already int8/uint8.")
    emb = _float_matrix(emb, "embeddings") if emb.ndim == 2 else _float_vector(emb)
    if emb.ndim == 2 and not len(emb) and precision != "float32":  # a fully masked document: no codes
        width = emb.shape[1] if precision.endswith("int8") else -(-emb.shape[1] // 8)
        return np.zeros((0, width), dtype=np.uint8 if precision.startswith("u") else np.int8)
    if precision == "float32":
        return emb.astype(np.float32)
    if precision.endswith("binary"):
        packed = np.packbits(emb > 0, axis=-1)
        return (packed - 128).astype(np.int8) if precision == "binary" else packed
    starts, steps = _buckets(_ranges_for(emb, ranges, calibration_embeddings, precision))
    codes = np.clip(np.floor((emb - starts) / steps), 0, 255)
    return codes.astype(np.uint8) if precision == "uint8" else (codes - 128).astype(np.int8)


def dequantize_embeddings(
    codes: np.ndarray, precision: str, ranges: np.ndarray, *, dtype: Any = np.float32
) -> np.ndarray:
    """Approximate float embeddings (float32, or ``dtype``: float64 is sentence-transformers' rescoring
    arithmetic) from int8/uint8 codes and the ranges used to make them."""
    if precision not in ("int8", "uint8"):
        raise InputError(f"Only int8 and uint8 codes can be dequantized, not {precision!r}.")
    starts, steps = _buckets(np.asarray(ranges, dtype=np.float32))
    values = codes.astype(dtype) + (128 if precision == "int8" else 0)
    return (values * steps + starts).astype(dtype)


def truncate_dim(embeddings: Any, dim: int | None, *, renormalize: bool = False) -> Any:
    """The first ``dim`` dimensions of each embedding (Matryoshka models); ``None`` keeps them all. A torch
    tensor stays a tensor (a view, gradients kept).

    ``renormalize=True`` scales the truncated vectors back to unit length (for dot-product search).
    """
    emb = embeddings if is_tensor(embeddings) else np.asarray(embeddings)
    if dim is None:
        return emb
    check_positive_int("dim", dim, optional=True)  # optional: the message says "or None"
    if emb.ndim == 0 or dim > emb.shape[-1]:
        raise InputError(f"Cannot truncate embeddings of shape {tuple(emb.shape)} to {dim} dimensions.")
    out = emb[..., :dim]
    if renormalize:
        out = normalize_embeddings(out) if is_tensor(out) else normalize(out.astype(np.float32))
    return out


def truncate_embeddings(embeddings: Any, truncate_dim: int | None) -> Any:
    """sentence-transformers' name and signature for :func:`truncate_dim`; an int ``truncate_dim`` is its
    plain slice there (past the width keeps every dimension, ``0`` none, ``-k`` drops the last ``k``)."""
    emb = embeddings if is_tensor(embeddings) else np.asarray(embeddings)
    if isinstance(truncate_dim, int) and not isinstance(truncate_dim, bool) and emb.ndim > 0:
        return emb[..., :truncate_dim]  # any int, as its slice there: wider keeps all, 0 none, -k drops k
    return _truncate(emb, truncate_dim)


_truncate = truncate_dim  # truncate_embeddings' parameter shadows the function's name


def _quantize_matrices(
    matrices: Any, precision: str, ranges: np.ndarray | None, calibration: np.ndarray | None
) -> list[np.ndarray]:
    """Each matrix quantized on one set of ranges: ``ranges``, else the calibration's, else all rows'."""
    arrays = [np.asarray(as_numpy(matrix)) for matrix in matrices]
    if precision.endswith("int8") and ranges is None:
        rows = np.concatenate(arrays) if calibration is None else calibration
        if len(rows):  # only empty matrices: nothing to calibrate, and nothing to quantize
            ranges = _ranges_for(rows, None, calibration, precision)
    return [quantize_embeddings(array, precision, ranges, calibration) for array in arrays]


def _ranges_for(
    emb: np.ndarray, ranges: np.ndarray | None, calibration: np.ndarray | None, precision: str
) -> np.ndarray:
    if ranges is None:
        if calibration is None and (emb.ndim == 1 or len(emb) < 2):
            raise InputError(  # sentence-transformers' words
                f"Cannot compute {precision} quantization ranges from a single embedding. Call "
                "`quantize_embeddings` with `ranges` or `calibration_embeddings` from a representative set "
                "of embeddings instead."
            )
        if calibration is None and len(emb) < 100:  # logged each time, in sentence-transformers' words
            _LOGGER.warning(
                f"Computing {precision} quantization buckets based on {len(emb)} embeddings. {precision} "
                "quantization is more stable with `ranges` calculated from more embeddings or a "
                "`calibration_embeddings` that can be used to calculate the buckets."
            )
        ranges = quantization_ranges(emb if calibration is None else calibration)
    ranges = np.asarray(ranges, dtype=np.float32)
    if ranges.ndim != 2 or ranges.shape[0] != 2 or ranges.shape[1] != emb.shape[-1]:
        raise InputError(f"ranges must have shape (2, {emb.shape[-1]}), got {ranges.shape}.")
    return ranges


def _buckets(ranges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = ranges[0]
    steps = (ranges[1] - starts) / 255
    return starts, np.where(steps == 0, 1, steps)


def _float_matrix(x: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(x)
    if array.ndim != 2 or not _real(array):
        raise InputError(f"{name} must be a float (n, d) array, got {array.dtype} with shape {array.shape}.")
    return array


def _float_vector(x: np.ndarray) -> np.ndarray:
    if x.ndim != 1 or not _real(x):
        raise InputError(f"embeddings must be a float (n, d) array or one (d,) vector, got shape {x.shape}.")
    return x


def _real(array: np.ndarray) -> bool:
    """Float, or integer wider than a code (sentence-transformers quantizes int32 values as numbers)."""
    return np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
