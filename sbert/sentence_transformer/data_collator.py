"""sentence-transformers' ``sentence_transformers.sentence_transformer.data_collator``
path: the bi-encoder's collator
(:mod:`sbert._training.collators`).

    from sbert.sentence_transformer.data_collator import SentenceTransformerDataCollator

Importing it does not import torch; the classes load on first access.
"""

from __future__ import annotations

from .._lazy import lazy_names

__all__ = ["BaseDataCollator", "SentenceTransformerDataCollator"]  # noqa: F822 (each loaded on first access)
__getattr__, __dir__ = lazy_names("sbert", globals(), dict.fromkeys(__all__, "_training.collators"))
