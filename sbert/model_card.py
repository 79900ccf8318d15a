"""sentence-transformers' ``sentence_transformers.model_card`` path (and, by the same module,
``sentence_transformers.sentence_transformer.model_card``):

from sbert.model_card import SentenceTransformerModelCardData, SentenceTransformerModelCardCallback

The callback classes (:mod:`sbert._training.card_callbacks`) load with transformers on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._format.card_data import SentenceTransformerModelCardData

_CALLBACKS = ("SentenceTransformerModelCardCallback", "ModelCardCallback")

__all__ = [*_CALLBACKS, "SentenceTransformerModelCardData"]


def __getattr__(name: str) -> Any:
    if name not in _CALLBACKS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("sbert._training.card_callbacks"), name)
    globals()[name] = value
    return value
