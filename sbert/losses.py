"""sentence-transformers' ``sentence_transformers.losses`` namespace: every loss of the registry by name.

    from sbert.losses import CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss
    from sbert import losses; loss = losses.CoSENTLoss(model)

Importing it does not import torch: a loss class (and torch) loads on first access.
"""

from __future__ import annotations

from typing import Any

from . import _losses
from ._losses import LOSSES

__all__ = sorted(LOSSES)


def __getattr__(name: str) -> Any:
    value = getattr(_losses, name)  # the registry's own lazy lookup: AttributeError for an unknown name
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
