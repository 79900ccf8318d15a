"""sentence-transformers' ``sentence_transformers.sparse_encoder`` namespace: ``SparseEncoder`` (SPLADE
models) and its card data here, its modules in ``sbert.sparse_encoder.modules`` (6.x's name; ``models`` is the
older one, the same module), its evaluators in ``sbert.sparse_encoder.evaluation``, its losses in
``sbert.sparse_encoder.losses`` and the trainer (``SparseEncoderTrainer``, ``SparseEncoderTrainingArguments``;
the weight schedule in ``sbert.sparse_encoder.callbacks``).

Importing it does not import torch: the model needs torch only when one is made, the modules, losses and
trainer on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from .._sparse.card import SparseEncoderModelCardData
from .._sparse.model import SparseEncoder

_SUBMODULES = ("callbacks", "evaluation", "losses", "models", "modules")  # imported on first access
_TRAINING = ("SparseEncoderTrainer", "SparseEncoderTrainingArguments")  # imported with torch, when first used

__all__ = [
    "SparseEncoder",
    "SparseEncoderModelCardData",
    *_TRAINING,
    "SparseEncoderDataCollator",
    *_SUBMODULES,
]


def __getattr__(name: str) -> Any:
    if name == "SparseEncoderDataCollator":
        from .._training.collators import SparseEncoderDataCollator

        return SparseEncoderDataCollator
    if name in _TRAINING:
        from .._training import sparse

        value = getattr(sparse, name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name not in _SUBMODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
