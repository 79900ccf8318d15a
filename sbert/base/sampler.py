"""sentence-transformers 6's ``sentence_transformers.base.sampler``: the batch sampler enums and classes.

    from sbert.base.sampler import BatchSamplers, NoDuplicatesBatchSampler

Importing it does not import torch; the sampler classes load on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..training_args import BatchSamplers, MultiDatasetBatchSamplers

if TYPE_CHECKING:
    from .._training.samplers import (
        DefaultBatchSampler,
        GroupByLabelBatchSampler,
        MultiDatasetDefaultBatchSampler,
        NoDuplicatesBatchSampler,
        ProportionalBatchSampler,
        RoundRobinBatchSampler,
    )

__all__ = [
    "DefaultBatchSampler",
    "GroupByLabelBatchSampler",
    "NoDuplicatesBatchSampler",
    "MultiDatasetDefaultBatchSampler",
    "RoundRobinBatchSampler",
    "ProportionalBatchSampler",
    "BatchSamplers",
    "MultiDatasetBatchSamplers",
]
# names sentence-transformers' module holds besides its __all__ (torch's SubsetRandomSampler, imported there;
# the string NoDuplicatesBatchSampler tells duplicate values by, which its tests import)
_ALSO = {
    "SetEpochMixin": "SetEpochMixin",
    "SubsetRandomSampler": "SubsetRandomSampler",
    "_sample_value_str": "sample_value_str",
}


def __getattr__(name: str) -> Any:
    if name not in __all__ and name not in _ALSO:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._training import samplers

    value = getattr(samplers, _ALSO.get(name, name))
    globals()[name] = value
    return value
