"""Hugging Face's ``model_init``: a function that makes a fresh model, called (after seeding) for each run.

sentence-transformers' trainers take it as Hugging Face's does: the trainer makes its model with it when no
``model`` is given, and each ``train()`` makes a new one, seeded by the arguments' ``seed``, and puts it in
place of the old one inside the losses. Hyperparameter search, which passes a trial to it, is not part of
sbert's trainers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from torch import nn

from .._errors import InputError

# the model's methods that losses call inside their forward, kept for a model that lacks them (a wrapper)
BOUND_METHODS = ("preprocess", "get_embedding_dimension")


def call_model_init(model_init: Callable[..., Any]) -> Any:
    """``model_init()``, or ``model_init(None)`` for one that takes a trial (there is no search here)."""
    try:
        n_args = len(inspect.signature(model_init).parameters)
    except (TypeError, ValueError):  # a builtin or C callable: called without arguments
        n_args = 0
    if n_args > 1:
        raise InputError("model_init should have 0 or 1 argument.")
    model = model_init(None) if n_args == 1 else model_init()
    if model is None:
        raise InputError("model_init should not return None.")
    return model


def swap_model(losses: Iterable[nn.Module], old: Any, new: Any) -> None:
    """Put ``new`` in place of the model each loss (and each loss inside it) holds as ``model``: ``old``, or
    any model of ``new``'s kind, as sentence-transformers' trainer replaces every model child named
    ``model``. A loss's own weights (a head) stay as they are, there too."""
    for loss in losses:
        for module in loss.modules():
            held = held_model(module)
            if held is not None and held is not new and (held is old or isinstance(held, type(new))):
                module.model = new


def put_model(module: nn.Module, model: Any) -> None:
    """``model`` as ``module.model`` where that is one of sbert's models (sentence-transformers' trainer
    replaces each model child so named), with the old one's :data:`BOUND_METHODS` that ``model`` lacks."""
    held = held_model(module)
    if not is_sbert_model(held):
        return
    for name in BOUND_METHODS:
        if hasattr(held, name) and not hasattr(model, name):
            setattr(model, name, getattr(held, name))
    module.model = model


def held_model(module: nn.Module) -> Any:
    """What ``module`` holds as ``model``: a plain attribute, or a registered child where torch has made
    sbert's models modules (sbert._torch_base), or None."""
    attributes = vars(module)
    return attributes["model"] if "model" in attributes else dict(module.named_children()).get("model")


def is_sbert_model(value: Any) -> bool:
    """Whether ``value`` is one of sbert's models (sentence-transformers' ``BaseModel``), known by its base
    class's name: importing the model methods here would close an import cycle through the trainer."""
    return any(
        c.__name__ == "ModelMethods" and c.__module__ == "sbert._model_methods" for c in type(value).__mro__
    )
