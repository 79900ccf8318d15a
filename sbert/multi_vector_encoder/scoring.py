"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.scoring``: the late-interaction
scores a multi-vector loss takes as ``similarity_fct`` (ColBERT's MaxSim in the losses' layouts,
MeanMaxSim, XTR), loaded (with torch) on first access; its file paths (``...scoring.colbert``,
``...scoring.xtr``) import too."""

from __future__ import annotations

from typing import Any

from .._losses import multi_vector
from .._losses.multi_vector import SCORING

__all__ = sorted(SCORING)


def __getattr__(name: str) -> Any:
    if name not in SCORING:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(multi_vector, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
