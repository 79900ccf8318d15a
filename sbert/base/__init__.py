"""sentence-transformers 6's ``sentence_transformers.base`` namespace (what its bi-encoder, cross-encoder,
sparse and multi-vector encoders share), for the names sbert has:

    from sbert.base import BaseModel, BatchSamplers, MultiDatasetBatchSamplers, NoDuplicatesBatchSampler
    from sbert.base.modules import Dense, Normalize, Router, Transformer
    from sbert.base.evaluation import BaseEvaluator, SequentialEvaluator
    from sbert.base.training_args import BatchSamplers

``BaseModel`` is the class all four sbert model classes derive from, ``BaseTrainer`` and
``BaseTrainingArguments`` those all four trainers and their arguments derive from, so ``isinstance`` checks
written for sentence-transformers hold. Importing this does not import torch; the other names load on first
access (``sentence_transformers.base.model``, ``.trainer`` and ``.peft_mixin`` name this namespace too,
:mod:`sbert._module_paths`).
"""

from __future__ import annotations

from .._lazy import lazy_attributes
from ..training_args import BatchSamplers, MultiDatasetBatchSamplers
from . import sampler

# name -> (module, its name there)
_LAZY = {
    "BaseModel": ("sbert._model_methods", "ModelMethods"),
    "BaseDataCollator": ("sbert._training.collators", "BaseDataCollator"),
    "BaseTrainer": ("sbert._training.trainer", "Trainer"),
    "BaseTrainingArguments": ("sbert._training.st_compat", "SentenceTransformerTrainingArguments"),
    "PeftAdapterMixin": ("sbert._adapters", "PeftAdapterMixin"),
    **{name: ("sbert.base.sampler", name) for name in sampler.__all__ if name.endswith("BatchSampler")},
}

__all__ = ["BatchSamplers", "MultiDatasetBatchSamplers", *_LAZY]


__getattr__ = lazy_attributes(__name__, globals(), _LAZY)
