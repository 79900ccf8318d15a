"""sentence-transformers' ``sentence_transformers.sparse_encoder.modules``: the modules of a SPLADE pipeline.

    from sbert.sparse_encoder import SparseEncoder
    from sbert.sparse_encoder.modules import MLMTransformer, SpladePooling
    model = SparseEncoder(modules=[MLMTransformer("path/to/masked-lm"), SpladePooling("max")])

A class (and torch) loads on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "Transformer": "sbert._sparse.mlm_transformer",  # 6.x's, with transformer_task="fill-mask"
    "MLMTransformer": "sbert._sparse.mlm_transformer",
    "SpladePooling": "sbert._sparse.splade_pooling",
}

__all__ = list(_MODULES)
__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
