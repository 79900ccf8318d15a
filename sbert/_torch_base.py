"""sbert's model classes as ``torch.nn.Sequential`` subclasses, as sentence-transformers' are, once torch is
in the process.

Importing sbert and encoding on ONNX must not import torch, so the classes are defined without a torch base.
Code written for sentence-transformers relies on its models being modules, though, and silently trains or
moves the wrong thing otherwise: a user's ``nn.Module`` that stores a model as an attribute registers it as a
child only if it is one (its ``parameters()``, ``to()``, ``state_dict()`` then reach the model's weights), and
libraries test ``isinstance(model, torch.nn.Module)``. So each model class, at the end of its ``__init__``
with torch imported (by the user first, or by sbert's torch backend), gets :class:`TorchModelBase` as its
last base, once; a subclass follows its base. The model's methods come first in the new order; this base
only answers what torch's own code reads on a child module (its tables and ``_apply``), from the model's
torch modules, and keeps plain attribute handling (``nn.Module.__setattr__`` would refuse the model's state).

A model made before torch is imported (sbert encodes on ONNX without it) must be a module as soon as torch is
there: a user's module that stores it after ``import torch`` would otherwise keep it as a plain attribute and
train only its own weights. So a class made without torch waits for it (``sbert._import_watch``, a finder
put on ``sys.meta_path`` then, not at ``import sbert``): once torch's own ``__init__`` has run, the waiting
classes get the base and the watch goes.
"""

from __future__ import annotations

from typing import Any

from ._import_watch import append_base_once_imported

# nn.Module's per-instance tables that torch's code reads on a child module (state_dict, load_state_dict,
# named_buffers, hooks); the model answers them from its torch modules. _modules, _forward_hooks and
# _forward_pre_hooks the model classes answer themselves (sbert._model_methods).
_MODULE_TABLES = (
    "_parameters",
    "_buffers",
    "_non_persistent_buffers_set",
    "_backward_pre_hooks",
    "_backward_hooks",
    "_is_full_backward_hook",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks_with_kwargs",
    "_state_dict_hooks",
    "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks",
    "_load_state_dict_post_hooks",
)


def become_torch_module(cls: type) -> None:
    """Give ``cls`` (a model class) :class:`TorchModelBase` as its last base if torch is imported and it has
    none yet (else a no-op), or, without torch, once torch is imported (a torch blocked by
    ``sys.modules["torch"] = None`` counts as not imported)."""
    append_base_once_imported(cls, "torch", _make_base)


def _make_base() -> type:
    import torch

    def table(name: str) -> property:
        return property(lambda self: getattr(self._torch_module(), name), doc=f"The torch modules' {name}.")

    class TorchModelBase(torch.nn.Sequential):
        """What torch reads on a model as a child module, from its torch modules (see the module's text)."""

        __setattr__ = object.__setattr__
        __delattr__ = object.__delattr__
        __dir__ = object.__dir__

        def __setstate__(self, state: dict[str, Any]) -> None:  # nn.Module's sets hook tables
            self.__dict__.update(state)

        def _apply(self, fn: Any, recurse: bool = True) -> Any:
            """A parent module's ``to()``, ``half()``, ``cuda()``: the model's own ``to()`` with the device
            and dtype ``fn`` gives a float tensor (so its runner follows, and a dtype it does not run is
            refused before anything changes), then ``fn`` on the torch modules for anything else it does."""
            target = fn(torch.zeros(0))
            self.to(target.device, target.dtype)
            self._torch_module()._apply(fn, recurse)
            return self

        def _load_from_state_dict(self, *args: Any) -> None:
            self._torch_module()._load_from_state_dict(*args)

        def _get_name(self) -> str:
            return type(self).__name__

    for name in _MODULE_TABLES:
        setattr(TorchModelBase, name, table(name))
    TorchModelBase.__module__ = __name__
    return TorchModelBase
