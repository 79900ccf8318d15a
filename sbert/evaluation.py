"""sentence-transformers' ``sentence_transformers.evaluation`` namespace: the bi-encoder evaluators.

    from sbert.evaluation import EmbeddingSimilarityEvaluator, InformationRetrievalEvaluator

``BaseEvaluator`` and ``SentenceEvaluator`` (sentence-transformers' base class, under its new and old name)
are sbert's ``Evaluator``; ``SimilarityFunction`` is ``sbert.SimilarityFunction``. Cross-encoder evaluators
are in ``sbert.cross_encoder.evaluation``.
"""

from __future__ import annotations

from typing import Any

from . import _evaluation
from ._similarity_function import SimilarityFunction as SimilarityFunction  # re-exported, as there

ALIASES = {"BaseEvaluator": "Evaluator", "SentenceEvaluator": "Evaluator"}  # sentence-transformers' → sbert's

__all__ = sorted([*_evaluation.__all__, *ALIASES, "SimilarityFunction"])


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_evaluation, ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


__path__: list[str] = []  # a package for sentence-transformers' class paths (sbert._module_paths)
