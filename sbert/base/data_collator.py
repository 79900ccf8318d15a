"""sentence-transformers' ``sentence_transformers.base.data_collator``
path: the collators' base class
(:mod:`sbert._training.collators`).

    from sbert.base.data_collator import BaseDataCollator

Importing it does not import torch; the classes load on first access.
"""

from __future__ import annotations

from .._lazy import lazy_names

__all__ = ["BaseDataCollator"]  # noqa: F822 (each loaded on first access)
__getattr__, __dir__ = lazy_names("sbert", globals(), dict.fromkeys(__all__, "_training.collators"))
