"""sentence-transformers' ``sentence_transformers.multi_vector_encoder`` namespace for inference:
``MultiVectorEncoder`` (late-interaction, ColBERT-style models), its modules in
``sbert.multi_vector_encoder.modules`` (with the token poolings), ``MultiVectorEncoderModelCardData``, the
MaxSim scores ``maxsim`` / ``maxsim_pairwise`` and the MaxSim heatmaps of ``interpretability``.

Its evaluators are in ``sbert.multi_vector_encoder.evaluation``. Training (its trainer, losses, data
collator) is not in sbert. Importing it does not import torch: the model needs torch only when one is made.
"""

from __future__ import annotations

import importlib
from typing import Any

from .._maxsim import maxsim, maxsim_pairwise
from .._multi_vector.card import MultiVectorEncoderModelCardData
from .._multi_vector.model import MultiVectorEncoder

_SUBMODULES = ("evaluation", "interpretability", "model", "model_card", "modules")

__all__ = ["MultiVectorEncoder", "MultiVectorEncoderModelCardData", "maxsim", "maxsim_pairwise"]


def __getattr__(name: str) -> Any:
    if name not in _SUBMODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
