"""sentence-transformers' ``sentence_transformers.sparse_encoder.modules``: the modules of sparse encoders.

    from sbert.sparse_encoder import SparseEncoder
    from sbert.sparse_encoder.modules import MLMTransformer, Router, SparseStaticEmbedding, SpladePooling
    model = SparseEncoder(modules=[MLMTransformer("path/to/masked-lm"), SpladePooling("max")])  # SPLADE
    mlm = MLMTransformer("path/to/masked-lm")  # inference-free SPLADE: static weights for queries
    idf = SparseStaticEmbedding.from_json("idf.json", tokenizer=mlm.tokenizer, frozen=True)
    model = SparseEncoder(modules=[Router.for_query_document([idf], [mlm, SpladePooling("max")])])

CSR models end in a ``SparseAutoEncoder`` after sbert.models' Transformer and Pooling. A class (and torch)
loads on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "Transformer": "sbert._sparse.any_transformer",  # 6.x's: either task (fill-mask: the masked-LM)
    "MLMTransformer": "sbert._sparse.mlm_transformer",
    "SpladePooling": "sbert._sparse.splade_pooling",
    "SparseStaticEmbedding": "sbert._sparse.sparse_static_embedding",
    "SparseAutoEncoder": "sbert._sparse.sparse_auto_encoder",
    "TiedTranspose": "sbert._sparse.sparse_auto_encoder",
    "Router": "sbert._modules.router",
    "Asym": "sbert.models",  # Router's older name
    "Dense": "sbert._modules.dense",
    "Module": "sbert._modules.base",
    "InputModule": "sbert._modules.base",
}

# in sentence-transformers' sparse_auto_encoder.py file, not in this namespace there
_FILE_ONLY = ("TiedTranspose",)

__all__ = [name for name in _MODULES if name not in _FILE_ONLY]
__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
