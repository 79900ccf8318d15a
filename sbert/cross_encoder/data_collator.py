"""sentence-transformers' ``sentence_transformers.cross_encoder.data_collator``
path: the cross-encoder's collator
(:mod:`sbert._training.collators`).

    from sbert.cross_encoder.data_collator import CrossEncoderDataCollator

Importing it does not import torch; the classes load on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .._training.collators import BaseDataCollator, CrossEncoderDataCollator

__all__ = ["BaseDataCollator", "CrossEncoderDataCollator"]

__getattr__, __dir__ = lazy_names("sbert", globals(), dict.fromkeys(__all__, "_training.collators"))
