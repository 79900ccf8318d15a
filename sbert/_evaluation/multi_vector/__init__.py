"""Evaluators of multi-vector (late-interaction, ColBERT-style) encoders, as sentence-transformers'
``multi_vector_encoder.evaluation``: each is the dense evaluator of :mod:`sbert._evaluation` embedding texts
as token tensors and scoring them with MaxSim (``base``); ``distillation`` compares a student's MaxSim
scores with a teacher's."""

from .distillation import MultiVectorDistillationEvaluator
from .nanobeir import MultiVectorNanoBEIREvaluator
from .ranking import MultiVectorRerankingEvaluator, MultiVectorTripletEvaluator
from .retrieval import MultiVectorInformationRetrievalEvaluator

__all__ = [
    "MultiVectorDistillationEvaluator",
    "MultiVectorInformationRetrievalEvaluator",
    "MultiVectorNanoBEIREvaluator",
    "MultiVectorRerankingEvaluator",
    "MultiVectorTripletEvaluator",
]
