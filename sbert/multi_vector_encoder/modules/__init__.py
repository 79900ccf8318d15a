"""sentence-transformers' ``sentence_transformers.multi_vector_encoder.modules``: ``MultiVectorMask``, the
late-interaction scoring mask (its token-pooling modules are not in sbert). The class, and torch, load on
first access."""

from __future__ import annotations

from typing import Any

__all__ = ["MultiVectorMask"]


def __getattr__(name: str) -> Any:
    if name != "MultiVectorMask":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ..._multi_vector.multi_vector_mask import MultiVectorMask

    globals()[name] = MultiVectorMask
    return MultiVectorMask
