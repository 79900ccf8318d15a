"""sentence-transformers' ``sentence_transformers.sampler`` path: the batch sampler enums (the samplers
themselves are sbert's own)."""

from .training_args import BatchSamplers, MultiDatasetBatchSamplers

__all__ = ["BatchSamplers", "MultiDatasetBatchSamplers"]
