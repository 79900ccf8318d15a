"""sentence-transformers' ``sentence_transformers.sparse_encoder.evaluation``: the evaluators of sparse
encoders.

    from sbert.sparse_encoder import SparseEncoder
    from sbert.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator
    evaluator = SparseInformationRetrievalEvaluator(queries, corpus, relevant_docs, name="dev")
    SparseEncoder("naver/splade-v3").evaluate(evaluator)  # dev_dot_ndcg@10, dev_query_active_dims, ...

Its file paths (``...evaluation.sparse_information_retrieval``) and class paths
(``...evaluation.SparseInformationRetrievalEvaluator``) import too (``sbert._module_paths``).
"""

from __future__ import annotations

from .._evaluation.sparse import *  # noqa: F403
from .._evaluation.sparse import __all__ as __all__

__path__: list[str] = []  # a package for sentence-transformers' file and class paths (sbert._module_paths)
