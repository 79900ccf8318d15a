"""sentence-transformers' ``sentence_transformers.datasets`` module path: the data classes of its classic
``fit`` scripts.

from sbert.datasets import NoDuplicatesDataLoader, ParallelSentencesDataset

``SentenceLabelDataset`` is a torch ``IterableDataset``: it (and torch) loads on first access.
"""

from __future__ import annotations

from ._lazy import lazy_attributes
from ._training.denoising import DenoisingAutoEncoderDataset
from ._training.fit_inputs import NoDuplicatesDataLoader, SentencesDataset
from ._training.parallel_sentences import ParallelSentencesDataset

__all__ = [
    "DenoisingAutoEncoderDataset",
    "NoDuplicatesDataLoader",
    "ParallelSentencesDataset",
    "SentenceLabelDataset",  # noqa: F822 (loaded on access)
    "SentencesDataset",
]

__getattr__ = lazy_attributes(
    __name__,
    globals(),
    {"SentenceLabelDataset": ("sbert._training.label_dataset", "SentenceLabelDataset")},
)

__path__: list[str] = []  # a package for sentence-transformers' class paths (sbert._module_paths)
