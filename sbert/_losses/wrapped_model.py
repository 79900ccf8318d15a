"""The model inside a training wrapper: losses that reach into the model's modules (its encoder's layers)
look through the wrappers a training loop puts around it, as sentence-transformers' do."""

from __future__ import annotations

from typing import Any

from .._errors import UnwrappableModelError
from .._training.model_init import is_sbert_model

# the attributes a wrapper holds the model as, looked at in this order: torch.compile's OptimizedModule
# (``_orig_mod``), then DistributedDataParallel, DataParallel and accelerate's wrappers (``module``)
WRAPPER_ATTRIBUTES = ("_orig_mod", "module")


def unwrap_model(model: Any, loss_name: str) -> Any:
    """The sbert model ``model`` wraps, through any number of wrappers in any order; ``model`` itself when it
    is one. Raises :class:`UnwrappableModelError` (a ``TypeError``) at an object that is neither."""
    inner, seen = model, set()
    while not is_sbert_model(inner):
        seen.add(id(inner))
        held = next((getattr(inner, name) for name in WRAPPER_ATTRIBUTES if hasattr(inner, name)), None)
        if held is None or id(held) in seen:  # a wrapper of itself would loop for ever
            raise UnwrappableModelError(
                f"{loss_name} could not unwrap {type(model).__name__} to a BaseModel (stopped at "
                f"{type(inner).__name__}). Expected DistributedDataParallel, torch.compile's "
                "OptimizedModule, or a BaseModel."
            )
        inner = held
    return inner
