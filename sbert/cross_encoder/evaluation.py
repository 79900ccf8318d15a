"""Evaluators of cross-encoders, as ``sentence_transformers.cross_encoder.evaluation`` names them.

from sbert.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
"""

from __future__ import annotations

from .._evaluation.cross_encoder_old_names import (
    CEBinaryAccuracyEvaluator,
    CEBinaryClassificationEvaluator,
    CECorrelationEvaluator,
    CEF1Evaluator,
    CERerankingEvaluator,
    CESoftmaxAccuracyEvaluator,
)
from .._evaluation.cross_nanobeir import CrossEncoderNanoBEIREvaluator
from .._evaluation.reranking import (
    CrossEncoderClassificationEvaluator,
    CrossEncoderCorrelationEvaluator,
    CrossEncoderRerankingEvaluator,
)

__all__ = [
    "CEBinaryAccuracyEvaluator",
    "CEBinaryClassificationEvaluator",
    "CECorrelationEvaluator",
    "CEF1Evaluator",
    "CERerankingEvaluator",
    "CESoftmaxAccuracyEvaluator",
    "CrossEncoderClassificationEvaluator",
    "CrossEncoderCorrelationEvaluator",
    "CrossEncoderNanoBEIREvaluator",
    "CrossEncoderRerankingEvaluator",
]

__path__: list[str] = []  # a package for sentence-transformers' class paths (sbert._module_paths)
