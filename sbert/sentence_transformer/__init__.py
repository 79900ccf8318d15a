"""sentence-transformers 6's ``sentence_transformers.sentence_transformer`` namespace, where it moved the
bi-encoder's ``losses``, ``modules`` (formerly ``models``) and ``evaluation``:

    from sbert.sentence_transformer import SentenceTransformer, evaluation, losses, modules

Each submodule is the same module as ``sbert.losses``, ``sbert.models`` and ``sbert.evaluation``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SentenceTransformer", "evaluation", "losses", "modules"]


def __getattr__(name: str) -> Any:
    if name != "SentenceTransformer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .._model import SentenceTransformer

    return SentenceTransformer
