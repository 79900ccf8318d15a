"""sentence-transformers 6's ``sentence_transformers.sentence_transformer`` namespace, where it moved the
bi-encoder's ``losses``, ``modules`` (formerly ``models``) and ``evaluation``, beside its trainer:

    from sbert.sentence_transformer import SentenceTransformer, evaluation, losses, modules
    from sbert.sentence_transformer import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

Each submodule is the same module as ``sbert.losses``, ``sbert.models`` and ``sbert.evaluation``. The model
and the trainer load on first access, so importing this namespace does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "SentenceTransformer": "sbert._model",
    "SentenceTransformerTrainer": "sbert._training.st_compat",
    "SentenceTransformerTrainingArguments": "sbert._training.st_compat",
    "SentenceTransformerModelCardData": "sbert._format.card_data",
    "SentenceTransformerDataCollator": "sbert._training.collators",
}

_SUBMODULES = ("datasets", "evaluation", "losses", "modules", "model_card", "readers")

__all__ = [*_LAZY, "datasets", "evaluation", "losses", "modules"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # an attribute after a plain import, as there
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
