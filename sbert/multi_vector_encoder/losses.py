"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.losses``: the losses that train
a :class:`sbert.MultiVectorEncoder`, by name (the registry ``MULTI_VECTOR_LOSSES``), loaded (with torch) on
first access; its file paths (``...losses.multiple_negatives_ranking``) import too.

    from sbert.multi_vector_encoder.losses import MultiVectorMultipleNegativesRankingLoss
"""

from __future__ import annotations

from typing import Any

from .._losses import multi_vector
from .._losses.multi_vector import MULTI_VECTOR_LOSSES

__all__ = sorted(MULTI_VECTOR_LOSSES)


def __getattr__(name: str) -> Any:
    if name not in MULTI_VECTOR_LOSSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(multi_vector, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
