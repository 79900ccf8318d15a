"""sentence-transformers' ``sentence_transformers.trainer`` path:

    from sbert.trainer import SentenceTransformerTrainer

Importing it does not import torch; the trainer loads on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._training.st_compat import SentenceTransformerTrainer

__all__ = ["SentenceTransformerTrainer"]


def __getattr__(name: str) -> Any:
    if name != "SentenceTransformerTrainer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ._training.st_compat import SentenceTransformerTrainer

    return SentenceTransformerTrainer
