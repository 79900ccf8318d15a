"""sentence-transformers 6's ``sentence_transformers.base.training_args``: the batch sampler enums."""

from ..training_args import BatchSamplers, MultiDatasetBatchSamplers

__all__ = ["BatchSamplers", "MultiDatasetBatchSamplers"]
