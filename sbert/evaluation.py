"""sentence-transformers' ``sentence_transformers.evaluation`` namespace: the bi-encoder evaluators.

    from sbert.evaluation import EmbeddingSimilarityEvaluator, InformationRetrievalEvaluator

``SentenceEvaluator`` (sentence-transformers' base class) is sbert's ``Evaluator``. Cross-encoder evaluators
are in ``sbert.cross_encoder.evaluation``.
"""

from __future__ import annotations

from typing import Any

from . import _evaluation

ALIASES = {"SentenceEvaluator": "Evaluator"}  # sentence-transformers' name → sbert's

__all__ = sorted([*_evaluation.__all__, *ALIASES])


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_evaluation, ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
