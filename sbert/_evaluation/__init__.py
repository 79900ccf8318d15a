"""Evaluators: score a model on STS, pair classification, triplets, retrieval (one set, or several local BEIR
folders: ``nanobeir``), transfer classification, reranking by embeddings, paraphrase mining, translation
matching, distillation (MSE to a teacher) and a classification head's label accuracy.

``metrics`` holds the pure numpy functions; each evaluator embeds its texts with ``model.encode`` and calls
them. Scores are reported as sentence-transformers reports them (fractions: a Spearman of 0.8203, an
NDCG@10 of 0.6449), thresholds as raw similarities, and the MSE of distillation as its figure (the MSE
×100). sbert's command line prints them ×100.
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
