"""sentence-transformers 6's ``sentence_transformers.base`` namespace (what its bi-encoder, cross-encoder and
sparse encoder share), for the names sbert has:

    from sbert.base import BatchSamplers, MultiDatasetBatchSamplers
    from sbert.base.modules import Dense, Normalize, Router, Transformer
    from sbert.base.evaluation import BaseEvaluator, SequentialEvaluator
    from sbert.base.training_args import BatchSamplers

Importing it does not import torch; the module classes load on first access.
"""

from __future__ import annotations

from ..training_args import BatchSamplers, MultiDatasetBatchSamplers

__all__ = ["BatchSamplers", "MultiDatasetBatchSamplers"]
