"""The module sbert's model classes name as theirs (``type(model).__module__``).

Libraries that take a sentence-transformers model recognise one by its class's module path: KeyBERT and
BERTopic test ``"sentence_transformers" in str(type(model))`` and otherwise load a model of their own by
name, silently replacing the user's. Under this path an sbert model passes that test, and pickle still finds
the classes here. Importing it does not import torch.
"""

from __future__ import annotations

from typing import Any

_CLASSES = {
    "SentenceTransformer": "._model",
    "CrossEncoder": "._cross_encoder.model",
    "SparseEncoder": "._sparse.model",
    "MultiVectorEncoder": "._multi_vector.model",
}

__all__ = list(_CLASSES)


def __getattr__(name: str) -> Any:
    if name not in _CLASSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_CLASSES[name], __package__), name)
