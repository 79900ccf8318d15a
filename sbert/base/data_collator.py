"""sentence-transformers' ``sentence_transformers.base.data_collator``
path: the collators' base class
(:mod:`sbert._training.collators`).

    from sbert.base.data_collator import BaseDataCollator

Importing it does not import torch; the classes load on first access.
"""

from __future__ import annotations

from .._lazy import lazy_names

__all__ = ["BaseDataCollator", "DEFAULT_LABEL_COLUMNS"]  # noqa: F822 (each loaded on first access)
# the label columns from util's module, which imports no torch
_NAMES = {"BaseDataCollator": "_training.collators", "DEFAULT_LABEL_COLUMNS": "util._id_lookup"}
__getattr__, __dir__ = lazy_names("sbert", globals(), _NAMES)
