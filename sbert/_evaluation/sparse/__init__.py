"""Evaluators of sparse (SPLADE) encoders, as sentence-transformers' ``sparse_encoder.evaluation``: each is
the dense evaluator of :mod:`sbert._evaluation` embedding texts as sparse tensors (``base``), with the
sparsity of the embeddings among its results; ``fusion`` scores the reciprocal rank fusion of a dense and a
sparse retriever's rankings."""

from .distillation import SparseMSEEvaluator
from .fusion import ReciprocalRankFusionEvaluator
from .nanobeir import SparseNanoBEIREvaluator
from .pairs import (
    SparseBinaryClassificationEvaluator,
    SparseEmbeddingSimilarityEvaluator,
    SparseTripletEvaluator,
)
from .ranking import SparseRerankingEvaluator, SparseTranslationEvaluator
from .retrieval import SparseInformationRetrievalEvaluator

__all__ = [
    "ReciprocalRankFusionEvaluator",
    "SparseBinaryClassificationEvaluator",
    "SparseEmbeddingSimilarityEvaluator",
    "SparseInformationRetrievalEvaluator",
    "SparseMSEEvaluator",
    "SparseNanoBEIREvaluator",
    "SparseRerankingEvaluator",
    "SparseTranslationEvaluator",
    "SparseTripletEvaluator",
]
