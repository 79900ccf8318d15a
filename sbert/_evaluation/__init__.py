"""Evaluators: score a model on STS, pair classification, triplets, retrieval (one set, or several local BEIR
folders: ``nanobeir``), transfer classification, reranking by embeddings, paraphrase mining, translation
matching, distillation (MSE to a teacher) and a classification head's label accuracy.

``metrics`` holds the pure numpy functions; each evaluator embeds its texts with ``model.encode`` and calls
them. Scores are reported ×100 (as in the Sentence-BERT paper), thresholds as raw similarities; the MSE of
distillation is sentence-transformers' figure (already the MSE ×100).
"""

from .base import Evaluator, SequentialEvaluator
from .classification import ClassificationEvaluator
from .distillation import MSEEvaluator, MSEEvaluatorFromDataFrame
from .embedding_reranking import RerankingEvaluator
from .label_accuracy import LabelAccuracyEvaluator
from .nanobeir import NanoBEIREvaluator
from .paraphrase_mining import ParaphraseMiningEvaluator
from .retrieval import InformationRetrievalEvaluator
from .similarity import BinaryClassificationEvaluator, EmbeddingSimilarityEvaluator, TripletEvaluator
from .translation import TranslationEvaluator

__all__ = [
    "BinaryClassificationEvaluator",
    "ClassificationEvaluator",
    "EmbeddingSimilarityEvaluator",
    "Evaluator",
    "InformationRetrievalEvaluator",
    "LabelAccuracyEvaluator",
    "MSEEvaluator",
    "MSEEvaluatorFromDataFrame",
    "NanoBEIREvaluator",
    "ParaphraseMiningEvaluator",
    "RerankingEvaluator",
    "SequentialEvaluator",
    "TranslationEvaluator",
    "TripletEvaluator",
]
