"""sentence-transformers' ``sentence_transformers.models`` namespace: the modules a pipeline is built from.

    from sbert import models
    encoder = models.Transformer("path/to/encoder", max_seq_length=256)
    model = SentenceTransformer(modules=[encoder, models.Pooling(384, pooling_mode="mean")])

The same classes as ``sbert.Transformer``, ``sbert.Pooling``, ...; a class (and torch) loads on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

MODULES = (
    "BoW",
    "CNN",
    "Dense",
    "Dropout",
    "LSTM",
    "LayerNorm",
    "Normalize",
    "Pooling",
    "Router",
    "StaticEmbedding",
    "Transformer",
    "WeightedLayerPooling",
    "WordEmbeddings",
    "WordWeights",
)

__all__ = list(MODULES)


# sentence-transformers' older names of these classes
ALIASES = {"Asym": "Router"}
# the base classes of a custom module (sbert._modules.base)
BASES = ("InputModule", "Module")

__all__ += list(BASES)
# sentence-transformers' classes sbert does not run, importable by name (constructing one says why)
OUT_OF_SCOPE = {"CLIPModel": "sbert._modules.clip_model"}
__all__ += list(OUT_OF_SCOPE)


def __getattr__(name: str) -> Any:
    if name == "tokenizer":  # the word tokenizers' package, an attribute as in sentence-transformers
        return importlib.import_module(f"{__name__}.tokenizer")
    if name not in MODULES and name not in ALIASES and name not in BASES and name not in OUT_OF_SCOPE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in BASES or name in OUT_OF_SCOPE:
        value = getattr(importlib.import_module(OUT_OF_SCOPE.get(name, "sbert._modules.base")), name)
        globals()[name] = value
        return value
    value = getattr(importlib.import_module("sbert"), ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


__path__: list[str] = []  # a package for sentence-transformers' class paths (sbert._module_paths)
