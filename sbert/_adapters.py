"""PEFT adapters (LoRA, IA3, ...) on a model's transformers encoder: sentence-transformers'
``PeftAdapterMixin``.

sentence-transformers' model classes hand ``add_adapter``, ``load_adapter``, ``set_adapter``, ... to their
transformers model (``transformers.integrations.peft.PeftAdapterMixin``); sbert's four model classes do the
same through ``transformers_model``, which moves a model that ``backend="auto"`` put on ONNX to its torch
modules (an adapter changes what they compute, and "auto" runs those from then on). A model running a graph it
cannot leave (``backend="onnx"``, int8) is refused. peft is optional: transformers imports it when a method
runs. Saving and training need nothing here: ``save_pretrained`` writes the adapter only, and the trainer
optimizes the parameters that require gradients (the adapter's, once one is added).
"""

from __future__ import annotations

from typing import Any

from ._errors import InputError, require_peft


class PeftAdapterMixin:
    """Mixed into SentenceTransformer, CrossEncoder, SparseEncoder and MultiVectorEncoder, which provide
    ``transformers_model`` and ``get_backend()`` (and ``_auto``: whether ``backend="auto"`` chose)."""

    transformers_model: Any
    get_backend: Any

    def _adapter_host(self) -> Any:
        """The transformers model adapters go on, ``None`` where the model runs a graph it cannot leave. A
        model "auto" put on another backend moves to its torch modules here."""
        if self.get_backend() != "torch" and not getattr(self, "_auto", False):
            return None
        model = self.transformers_model
        return model if self.get_backend() == "torch" else None

    def has_peft_compatible_model(self) -> bool:
        """Whether adapters can go on this model: its first module is a Transformer on torch."""
        from transformers.integrations.peft import PeftAdapterMixin as TransformersMixin

        return isinstance(self._adapter_host(), TransformersMixin)

    def check_peft_compatible_model(self) -> None:
        if self.get_backend() != "torch" and self._adapter_host() is None:
            raise InputError(
                "PEFT adapters go on the torch modules, but this model runs "
                f"backend={self.get_backend()!r} (a graph built from the saved weights); load it with "
                "backend='torch' (or 'auto', fp32) to add, load or use adapters."
            )
        if not self.has_peft_compatible_model():
            raise InputError(
                "PEFT methods are only supported for Sentence Transformer models that use the Transformer "
                "module."
            )


def _forwarded(name: str, doc: str) -> Any:
    """``PeftAdapterMixin.<name>``: checks, then the transformers model's method of that name."""

    def method(self: PeftAdapterMixin, *args: Any, **kwargs: Any) -> Any:
        require_peft(f"PEFT adapters (`{name}`)")
        self.check_peft_compatible_model()
        model = self.transformers_model
        if not hasattr(model, name):  # sentence-transformers' words (transformers 5 has no active_adapter)
            raise AttributeError(
                f"The underlying transformers model ({type(model).__name__}) does not have a `{name}` "
                "method. This may indicate an incompatible or outdated version of transformers or peft."
            )
        return getattr(model, name)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc + " (transformers' ``PeftAdapterMixin``; see its documentation for the arguments)."
    return method


_METHODS = {
    "load_adapter": "Load adapter weights from a local folder or the hub and put the adapter on the model",
    "add_adapter": "Add a new adapter (a ``peft`` config, e.g. ``LoraConfig``) to the model for training",
    "set_adapter": "Use the named adapter (or adapters) and disable the others",
    "disable_adapters": "Disable every adapter: the model computes with its base weights only",
    "enable_adapters": "Enable the adapters again (the active ones)",
    "active_adapters": "The names of the active adapters",
    "active_adapter": "The active adapter's name (older transformers only)",
    "get_adapter_state_dict": "The weights of an adapter (default: the active one)",
    "delete_adapter": "Remove an adapter's layers from the model",
}
for _name, _doc in _METHODS.items():
    setattr(PeftAdapterMixin, _name, _forwarded(_name, _doc))
