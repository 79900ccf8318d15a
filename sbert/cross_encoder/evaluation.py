"""Evaluators of cross-encoders, as ``sentence_transformers.cross_encoder.evaluation`` names them.

from sbert.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
"""

from __future__ import annotations

from .._evaluation.reranking import (
    CrossEncoderClassificationEvaluator,
    CrossEncoderCorrelationEvaluator,
    CrossEncoderRerankingEvaluator,
)

__all__ = [
    "CrossEncoderClassificationEvaluator",
    "CrossEncoderCorrelationEvaluator",
    "CrossEncoderRerankingEvaluator",
]
