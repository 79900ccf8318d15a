"""sentence-transformers' small utilities that training scripts and custom losses import from ``util``:
logging and ``datasets`` caching switched off for a block, a loss's scoring function by name, a CSV row
extended, and the sparse-tensor helpers (COO to SciPy, per-dimension counts)."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import logging
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, metadata
from typing import Any

from .._errors import InputError
from .._io.atomic import atomic_write_bytes


@contextlib.contextmanager
def disable_logging(highest_level: int = logging.CRITICAL) -> Iterator[None]:
    """No log record at or below ``highest_level`` is handled inside the block."""
    previous = logging.root.manager.disable
    logging.disable(highest_level)
    try:
        yield
    finally:
        logging.disable(previous)


@contextlib.contextmanager
def disable_datasets_caching() -> Iterator[None]:
    """Hugging Face ``datasets`` writes no cache files inside the block."""
    from datasets import disable_caching, enable_caching, is_caching_enabled

    was_enabled = is_caching_enabled()
    if was_enabled:
        disable_caching()
    try:
        yield
    finally:
        if was_enabled:
            enable_caching()


def similarity_fct_name(similarity_fct: Callable[..., Any]) -> str:
    """How a loss's config names its scoring function: the function's name, a ``functools.partial``'s with
    its keywords, a model's ``similarity`` by the function it resolves to, a metric object's with its
    ``get_config_dict()``."""
    if isinstance(similarity_fct, functools.partial):
        name = getattr(similarity_fct.func, "__name__", type(similarity_fct.func).__name__)
        settings = ", ".join(f"{key}={value!r}" for key, value in similarity_fct.keywords.items())
        return f"{name}({settings})" if settings else name
    name = getattr(similarity_fct, "__name__", type(similarity_fct).__name__)
    owner = getattr(similarity_fct, "__self__", None)
    if name in ("similarity", "similarity_pairwise") and hasattr(owner, "similarity_fn_name"):
        from .._similarity import SimilarityFunction

        resolve = SimilarityFunction.to_similarity_fn
        if name == "similarity_pairwise":
            resolve = SimilarityFunction.to_similarity_pairwise_fn
        return resolve(owner.similarity_fn_name).__name__
    config = getattr(similarity_fct, "get_config_dict", None)
    if config is not None:
        return f"{name}({', '.join(f'{key}={value!r}' for key, value in config().items())})"
    return name


def append_to_last_row(csv_path: str, additional_data: list[Any]) -> bool:
    """Extend the last data row of a CSV file with ``additional_data``; False (file untouched) when the
    file has a header only."""
    with open(csv_path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    if len(rows) < 2:
        return False
    rows[-1].extend(additional_data)
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    atomic_write_bytes(csv_path, out.getvalue().encode("utf-8"))
    return True


def check_package_availability(package_name: str, owner: str) -> bool:
    """Whether ``package_name`` is installed and is ``owner``'s (its home page names the owner)."""
    try:
        info = metadata(package_name)
    except PackageNotFoundError:
        return False
    home = info.get("Home-page") or ""
    return info["Name"] == package_name and owner in home


def to_scipy_coo(x: Any) -> Any:
    """A 2-D sparse torch tensor as a SciPy COO matrix: the same shape, indices and values."""
    import torch
    from scipy.sparse import coo_matrix

    x = x.coalesce()
    indices = x.indices().cpu().numpy()
    values = x.values().detach().cpu()
    values = values.float().numpy() if values.dtype == torch.bfloat16 else values.numpy()  # numpy has no bf16
    return coo_matrix((values, (indices[0], indices[1])), shape=tuple(x.shape))


def compute_count_vector(embeddings: Any) -> Any:
    """How many of the embeddings (rows of a ``(batch, vocab)`` tensor, sparse or dense; or one ``(vocab,)``
    embedding) are non-zero in each dimension: an int32 ``(vocab,)`` tensor."""
    import torch

    sparse = (embeddings if embeddings.is_sparse else embeddings.to_sparse()).coalesce()
    counts = torch.zeros(sparse.size(-1), device=sparse.device, dtype=torch.int32)
    if sparse.dim() == 1:
        counts[sparse.indices().squeeze(0)] = 1
        return counts
    if sparse.dim() != 2:
        raise InputError(f"Expected 1D or 2D tensor, got {sparse.dim()}D")
    if sparse.values().numel():
        dims, per_dim = torch.unique(sparse.indices()[1], return_counts=True)
        counts[dims] = per_dim.int()
    return counts
