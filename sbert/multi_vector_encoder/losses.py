"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.losses``: the losses that train
a :class:`sbert.MultiVectorEncoder`, by name (the registry ``MULTI_VECTOR_LOSSES``), loaded (with torch) on
first access; its file paths (``...losses.multiple_negatives_ranking``) import too.

    from sbert.multi_vector_encoder.losses import MultiVectorMultipleNegativesRankingLoss
"""

from __future__ import annotations

from .._lazy import lazy_reexport
from .._losses.multi_vector import MULTI_VECTOR_LOSSES

__all__ = sorted(MULTI_VECTOR_LOSSES)

__getattr__, __dir__ = lazy_reexport(__name__, globals(), "sbert._losses.multi_vector", MULTI_VECTOR_LOSSES)

__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
