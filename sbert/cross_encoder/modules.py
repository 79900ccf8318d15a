"""sentence-transformers 6's ``sentence_transformers.cross_encoder.modules``: the modules a cross-encoder is
built from, in one place (``LogitScore`` scores a causal language model's next-token logits, for rerankers
such as Qwen3-Reranker):

    from sbert.cross_encoder.modules import LogitScore, Transformer

The same classes as ``sbert.models``'s; a class (and torch) loads on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> (module, its name there)
_CLASSES = {
    "Dense": ("sbert.models", "Dense"),
    "InputModule": ("sbert.models", "InputModule"),
    "Module": ("sbert.models", "Module"),
    "Asym": ("sbert.models", "Router"),
    "Router": ("sbert.models", "Router"),
    "Transformer": ("sbert.models", "Transformer"),
    "LogitScore": ("sbert._cross_encoder.network", "LogitScore"),
}

__all__ = list(_CLASSES)


def __getattr__(name: str) -> Any:
    if name not in _CLASSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _CLASSES[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
