"""sentence-transformers 6.3's ``sentence_transformers.base.losses.gradcache``: the helpers a custom cached
loss (or a loss wrapping one) calls. GradCache itself is :mod:`sbert._losses.grad_cache`."""

from __future__ import annotations

from typing import Any

from ..._losses.grad_cache import RandContext
from ..._modules.router import Router
from ..._modules.static_embedding import StaticEmbedding

__all__ = ["RandContext", "has_static_embedding_input", "uses_gradient_cache"]


def uses_gradient_cache(loss: Any) -> bool:
    """Whether ``loss`` back-propagates through gradient caching (a hook on the loss it returns)."""
    return getattr(loss, "uses_gradient_cache", False)


def has_static_embedding_input(model: Any) -> bool:
    """Whether ``model`` embeds its inputs with a StaticEmbedding, first or as a Router route's first module:
    its features (a flat token stream) have no rows to cut into mini-batches."""
    model = dict(model.named_children()).get("_orig_mod", model)  # the model a torch.compile wrapper holds
    first = model[0]
    inputs = [route[0] for route in first.sub_modules.values()] if isinstance(first, Router) else [first]
    return any(isinstance(module, StaticEmbedding) for module in inputs)
