"""sentence-transformers' ``sentence_transformers.multi_vector_encoder`` namespace for inference:
``MultiVectorEncoder`` (late-interaction, ColBERT-style models), its modules in
``sbert.multi_vector_encoder.modules`` (with the token poolings), ``MultiVectorEncoderModelCardData``, the
MaxSim scores ``maxsim`` / ``maxsim_pairwise`` and the MaxSim heatmaps of ``interpretability``.

Its evaluators are in ``sbert.multi_vector_encoder.evaluation``. Training: ``MultiVectorEncoderTrainer``,
``MultiVectorEncoderTrainingArguments``, ``MultiVectorEncoderDataCollator``, the losses in
``sbert.multi_vector_encoder.losses`` and their scores in ``sbert.multi_vector_encoder.scoring``. Importing it
does not import torch: the model needs torch only when one is made, the trainer and losses on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from .._maxsim import maxsim, maxsim_pairwise
from .._multi_vector.card import MultiVectorEncoderModelCardData
from .._multi_vector.model import MultiVectorEncoder

_SUBMODULES = ("evaluation", "interpretability", "model", "model_card", "modules")
# training: imported (with torch) on first access
_TRAINING = (
    "MultiVectorEncoderTrainer",
    "MultiVectorEncoderTrainingArguments",
    "MultiVectorEncoderDataCollator",
)
_TRAINING_MODULES = ("losses", "scoring", "trainer", "training_args", "data_collator")

__all__ = ["MultiVectorEncoder", "MultiVectorEncoderModelCardData", "maxsim", "maxsim_pairwise", *_TRAINING]


def __getattr__(name: str) -> Any:
    if name in _TRAINING:
        from .._training import multi_vector

        value = getattr(multi_vector, name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name not in _SUBMODULES and name not in _TRAINING_MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
