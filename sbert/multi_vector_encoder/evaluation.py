"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.evaluation``: the evaluators of
multi-vector (ColBERT-style) encoders.

    from sbert.multi_vector_encoder import MultiVectorEncoder
    from sbert.multi_vector_encoder.evaluation import MultiVectorInformationRetrievalEvaluator
    evaluator = MultiVectorInformationRetrievalEvaluator(queries, corpus, relevant_docs, name="dev")
    MultiVectorEncoder("lightonai/GTE-ModernColBERT-v1").evaluate(evaluator)  # dev_maxsim_ndcg@10, ...

Its file paths (``...evaluation.information_retrieval``) and class paths
(``...evaluation.MultiVectorInformationRetrievalEvaluator``) import too (``sbert._module_paths``).
"""

from __future__ import annotations

from .._evaluation.multi_vector import *  # noqa: F403
from .._evaluation.multi_vector import __all__ as __all__

__path__: list[str] = []  # a package for sentence-transformers' file and class paths (sbert._module_paths)
