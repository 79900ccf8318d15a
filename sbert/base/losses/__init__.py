"""sentence-transformers 6.3's ``sentence_transformers.base.losses``: what custom losses use of its loss
machinery, on sbert's own.

    from sbert.base.losses import CachedLossMixin, RandContext, column_merging_disabled, uses_gradient_cache

``CachedLossMixin`` is the base of a user's own cached loss (sentence-transformers' contract, on sbert's
GradCache); sbert's own cached losses share :class:`sbert._losses.grad_cache.CachedLoss`. The names load
(with torch) on first access.
"""

from __future__ import annotations

from ..._lazy import lazy_attributes

_LAZY = {
    "CachedLossMixin": ("sbert.base.losses.gradcache", "CachedLossMixin"),
    "RandContext": ("sbert.base.losses.gradcache", "RandContext"),
    "column_merging_disabled": ("sbert.base.losses.merged_forward", "column_merging_disabled"),
    "has_static_embedding_input": ("sbert.base.losses.gradcache", "has_static_embedding_input"),
    "uses_gradient_cache": ("sbert.base.losses.gradcache", "uses_gradient_cache"),
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_attributes(__name__, globals(), _LAZY)
