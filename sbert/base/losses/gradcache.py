"""sentence-transformers 6.3's ``sentence_transformers.base.losses.gradcache``: the building blocks of a
custom cached loss (``CachedLossMixin``) and the helpers a loss wrapping one calls. GradCache itself is
:mod:`sbert._losses.grad_cache`; the mixin is :mod:`sbert._losses.cached_mixin`."""

from __future__ import annotations

from typing import Any

from ..._losses.cached_mixin import CachedLossMixin, backward_hook, resolve_gradient_cache_loss
from ..._losses.grad_cache import RandContext, batch_rows, minibatch_ranges, row_range
from ..._modules.router import Router
from ..._modules.static_embedding import StaticEmbedding

__all__ = [
    "CachedLossMixin",
    "RandContext",
    "has_static_embedding_input",
    "resolve_gradient_cache_loss",
    "uses_gradient_cache",
]

# sentence-transformers' module-level helpers, by their names there, for custom losses that call them
# (its own CachedGISTEmbedLoss registers _backward_hook on a loss that is not a CachedLossMixin)
_backward_hook = backward_hook
_create_minibatch = row_range
_get_batch_size = batch_rows
_minibatch_ranges = minibatch_ranges


def _validate_mini_batch_num_tokens(mini_batch_num_tokens: int | None) -> None:
    if mini_batch_num_tokens is not None and mini_batch_num_tokens <= 0:
        raise ValueError("mini_batch_num_tokens must be a positive integer or None.")


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
