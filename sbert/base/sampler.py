"""sentence-transformers 6's ``sentence_transformers.base.sampler``: the batch sampler enums (the samplers
themselves are sbert's own)."""

from ..training_args import BatchSamplers, MultiDatasetBatchSamplers

__all__ = ["BatchSamplers", "MultiDatasetBatchSamplers"]
