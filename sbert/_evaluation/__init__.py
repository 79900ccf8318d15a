"""Evaluators: score a model on STS, pair classification, triplets, retrieval (one set, or several local BEIR
folders: ``nanobeir``) and transfer classification.

``metrics`` holds the pure numpy functions; each evaluator embeds its texts with ``model.encode`` and calls
them. Scores are reported ×100 (as in the Sentence-BERT paper), thresholds as raw similarities.
"""

from .base import Evaluator, SequentialEvaluator
from .classification import ClassificationEvaluator
from .nanobeir import NanoBEIREvaluator
from .retrieval import InformationRetrievalEvaluator
from .similarity import BinaryClassificationEvaluator, EmbeddingSimilarityEvaluator, TripletEvaluator

__all__ = [
    "BinaryClassificationEvaluator",
    "ClassificationEvaluator",
    "EmbeddingSimilarityEvaluator",
    "Evaluator",
    "InformationRetrievalEvaluator",
    "NanoBEIREvaluator",
    "SequentialEvaluator",
    "TripletEvaluator",
]
