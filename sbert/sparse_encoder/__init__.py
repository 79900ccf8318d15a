"""sentence-transformers' ``sentence_transformers.sparse_encoder`` namespace: ``SparseEncoder`` (SPLADE
models) and its card data here, its modules in ``sbert.sparse_encoder.modules`` (6.x's name; ``models`` is the
older one, the same module), its evaluators in ``sbert.sparse_encoder.evaluation``.

Importing it does not import torch: the model needs torch only when one is made, the modules on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from .._sparse.card import SparseEncoderModelCardData
from .._sparse.model import SparseEncoder

_SUBMODULES = ("evaluation", "models", "modules")  # imported on first access

__all__ = ["SparseEncoder", "SparseEncoderModelCardData", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name not in _SUBMODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
