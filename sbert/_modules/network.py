"""The torch pipeline of a model: its modules in order, each handed the ``forward`` keywords it takes.

As sentence-transformers' model ``forward``: a module gets the keywords listed in its ``forward_kwargs``
or in its ``modules.json`` entry's ``"kwargs"``; a Router gets them all and hands them on the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import nn

from . import ENTRY_KWARGS
from .router import Router


def module_keywords(module: Any) -> set[str]:
    """The ``forward`` keywords one module takes."""
    return set(getattr(module, "forward_kwargs", ())) | set(getattr(module, ENTRY_KWARGS, ()))


def model_keywords(modules: Iterable[Any]) -> list[str]:
    """Every keyword the modules take, a Router's routes' too (sentence-transformers' ``get_model_kwargs``),
    a Router's ``task`` and ``modality`` first. A route's module counts its ``forward_kwargs`` only: the
    Router hands it no others (modules.json ``kwargs`` belong to the model's own entries), as there."""
    names: set[str] = set()
    pending = [(module, True) for module in modules]
    while pending:
        module, listed = pending.pop()
        names |= module_keywords(module) if listed else set(getattr(module, "forward_kwargs", ()))
        if isinstance(module, Router):
            pending.extend((m, False) for route in module.sub_modules.values() for m in route)
    routing = [name for name in ("task", "modality") if name in names]
    return routing + sorted(names - set(routing))


class ModuleNetwork(nn.Sequential):
    """The modules in order; ``forward``'s keywords reach the modules that take them."""

    # True once a caller hooked or compiled the network (``ModelMethods._observed_network``): the model's
    # inference then hands it the batches and features sentence-transformers' encode does
    observed = False

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        for module in self:
            if not kwargs:
                features = module(features)
                continue
            if isinstance(module, Router):
                passed = kwargs
            else:
                wanted = module_keywords(module)
                passed = {k: v for k, v in kwargs.items() if k in wanted}
            features = module(features, **passed)
        return features
