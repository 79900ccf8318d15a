"""sentence-transformers' ``sentence_transformers.sparse_encoder.data_collator``
path: the sparse encoder's collator
(:mod:`sbert._training.collators`).

    from sbert.sparse_encoder.data_collator import SparseEncoderDataCollator

Importing it does not import torch; the classes load on first access.
"""

from __future__ import annotations

from .._lazy import lazy_names

__all__ = ["BaseDataCollator", "SparseEncoderDataCollator"]  # noqa: F822 (each loaded on first access)
__getattr__, __dir__ = lazy_names("sbert", globals(), dict.fromkeys(__all__, "_training.collators"))
