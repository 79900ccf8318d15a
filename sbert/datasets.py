"""sentence-transformers' ``sentence_transformers.datasets`` module path: the data classes of its classic
``fit`` scripts.

from sbert.datasets import NoDuplicatesDataLoader, ParallelSentencesDataset
"""

from __future__ import annotations

from ._training.denoising import DenoisingAutoEncoderDataset
from ._training.fit_inputs import NoDuplicatesDataLoader, SentenceLabelDataset, SentencesDataset
from ._training.parallel_sentences import ParallelSentencesDataset

__all__ = [
    "DenoisingAutoEncoderDataset",
    "NoDuplicatesDataLoader",
    "ParallelSentencesDataset",
    "SentenceLabelDataset",
    "SentencesDataset",
]

__path__: list[str] = []  # a package for sentence-transformers' class paths (sbert._module_paths)
