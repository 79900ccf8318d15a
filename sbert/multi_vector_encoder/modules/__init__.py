"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.modules``: ``MultiVectorMask``, the
late-interaction scoring mask, and the token poolings ``BaseTokenPooling``, ``HierarchicalTokenPooling`` and
``LambdaTokenPooling``. The classes, and torch, load on first access."""

from __future__ import annotations

import importlib
from typing import Any

# each name -> the sbert module that defines it
_CLASSES = {
    "MultiVectorMask": "multi_vector_mask",
    "BaseTokenPooling": "token_pooling",
    "LambdaTokenPooling": "token_pooling",
    "HierarchicalTokenPooling": "hierarchical_pooling",
}

__all__ = ["BaseTokenPooling", "HierarchicalTokenPooling", "LambdaTokenPooling", "MultiVectorMask"]


def __getattr__(name: str) -> Any:
    if name not in _CLASSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"sbert._multi_vector.{_CLASSES[name]}"), name)
    globals()[name] = value
    return value
