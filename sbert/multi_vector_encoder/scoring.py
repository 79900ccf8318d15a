"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.scoring``: the late-interaction
scores a multi-vector loss takes as ``similarity_fct`` (ColBERT's MaxSim in the losses' layouts,
MeanMaxSim, XTR), loaded (with torch) on first access; its file paths (``...scoring.colbert``,
``...scoring.xtr``) import too."""

from __future__ import annotations

from .._lazy import lazy_reexport
from .._losses.multi_vector import SCORING

__all__ = sorted(SCORING)

__getattr__, __dir__ = lazy_reexport(__name__, globals(), "sbert._losses.multi_vector", SCORING)

__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
