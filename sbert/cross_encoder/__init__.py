"""sentence-transformers' ``sentence_transformers.cross_encoder`` namespace: ``CrossEncoder`` here, its
losses in ``sbert.cross_encoder.losses`` and evaluators in ``sbert.cross_encoder.evaluation``.

Importing it does not import torch: the model's torch side loads only when a model runs on torch, and the
trainer (``CrossEncoderTrainer``, ``CrossEncoderTrainingArguments``) on first access.
"""

from __future__ import annotations

from typing import Any

from .._cross_encoder.model import CrossEncoder
from .._format.card_data import CrossEncoderModelCardData

_TRAINING = ("CrossEncoderTrainer", "CrossEncoderTrainingArguments")  # imported with torch, when first used

__all__ = ["CrossEncoder", "CrossEncoderModelCardData", *_TRAINING, "CrossEncoderDataCollator"]


# submodules that are attributes after a plain import, as there
_SUBMODULES = ("evaluation", "losses", "modules", "model_card", "util")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name == "CrossEncoderDataCollator":
        from .._training.collators import CrossEncoderDataCollator

        return CrossEncoderDataCollator
    if name not in _TRAINING:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training import cross

    value = getattr(cross, name)
    globals()[name] = value  # later lookups skip this function
    return value
