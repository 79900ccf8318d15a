"""sentence-transformers' ``sentence_transformers.losses`` namespace: every loss of the registry by name,
and the objects users pass to them (``TripletDistanceMetric``, ``SiameseDistanceMetric``,
``BatchHardTripletLossDistanceFunction``, ``ContrastiveTensionDataLoader``).

    from sbert.losses import CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss
    from sbert import losses; loss = losses.CoSENTLoss(model)
    loss = losses.TripletLoss(model, distance_metric=losses.TripletDistanceMetric.COSINE, triplet_margin=0.5)

Importing it does not import torch: a loss class (and torch) loads on first access.
"""

from __future__ import annotations

from typing import Any

from . import _losses
from ._losses import HELPERS, LOSSES

__all__ = sorted([*LOSSES, *HELPERS])


def __getattr__(name: str) -> Any:
    value = getattr(_losses, name)  # the registry's own lazy lookup: AttributeError for an unknown name
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


__path__: list[str] = []  # a package for sentence-transformers' class paths (sbert._module_paths)
