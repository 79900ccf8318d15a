"""The activation a cross-encoder applies to its logits: numpy for torch's usual ones, so ONNX needs no torch.

sentence-transformers stores the activation as a dotted class path (``torch.nn.modules.activation.Sigmoid``)
and defaults to Sigmoid for one label, Identity for more. Paths of torch's own classes are trusted; any
other path runs code from the model's files, so it is imported only with ``trust_remote_code``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._errors import InputError, installed
from .._st_loggers import ST_CROSS_ENCODER_MODEL


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


# named functions, not lambdas: a model holding one pickles (sentence-transformers' models do)
def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x).astype(np.float32)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0).astype(np.float32)


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)


# torch's activations by class name, with the path sentence-transformers saves and a numpy twin.
NUMPY_ACTIVATIONS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "Sigmoid": ("torch.nn.modules.activation.Sigmoid", _sigmoid),
    "Identity": ("torch.nn.modules.linear.Identity", _identity),
    "Tanh": ("torch.nn.modules.activation.Tanh", _tanh),
    "ReLU": ("torch.nn.modules.activation.ReLU", _relu),
    "Softmax": ("torch.nn.modules.activation.Softmax", _softmax),
}
# How the card's plain-transformers example applies each of them to `logits`.
TORCH_CODE = {
    "Sigmoid": "torch.sigmoid(logits)",
    "Identity": "logits",
    "Tanh": "torch.tanh(logits)",
    "ReLU": "torch.relu(logits)",
    "Softmax": "torch.softmax(logits, dim=-1)",
}


@dataclass(frozen=True)
class Activation:
    """Logits ``(n, labels)`` -> scores, as float32 numpy. ``path``: what is saved (a class's dotted path)."""

    path: str
    numpy: Callable[[np.ndarray], np.ndarray] | None = None
    torch_module: Any = None  # any other callable on torch tensors (imports torch when it runs)

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        if not isinstance(logits, np.ndarray) and hasattr(logits, "detach"):
            return self.as_torch_module()(logits)  # a torch tensor, as sentence-transformers' take
        if self.numpy is not None:
            return self.numpy(logits)
        import torch

        with torch.no_grad():
            out = self.torch_module(torch.from_numpy(np.ascontiguousarray(logits)))
        return out.float().cpu().numpy() if hasattr(out, "cpu") else np.asarray(out, dtype=np.float32)

    def as_torch_module(self) -> Any:
        """The activation as a torch module (``torch.nn.Sigmoid()``, ...), the same one each time."""
        if self.torch_module is not None:
            return self.torch_module
        import torch

        module = torch.nn.Softmax(dim=-1) if self.name == "Softmax" else getattr(torch.nn, self.name)()
        object.__setattr__(self, "torch_module", module)  # kept: the numpy twin still scores numpy
        return module

    def public(self) -> Any:
        """What ``model.activation_fn`` gives: the torch module, as sentence-transformers holds it (numpy
        activations only in the base install without torch)."""
        return self.as_torch_module() if installed("torch") else self

    def __repr__(self) -> str:
        return f"{self.name}()"


def default_activation(num_labels: int) -> Activation:
    """sentence-transformers' default: Sigmoid for one label (a relevance score), Identity for several."""
    return from_name("Sigmoid" if num_labels == 1 else "Identity")


def from_name(name: str) -> Activation:
    path, fn = NUMPY_ACTIVATIONS[name]
    return Activation(path, numpy=fn)


def resolve(value: Any, *, trust_remote_code: bool = False) -> Activation | None:
    """An :class:`Activation` from what a user passes or a folder saves: ``None`` (none given), an
    ``Activation``, a dotted class path or a bare torch name (``"Sigmoid"``), or a callable (a torch
    module such as ``torch.nn.Sigmoid()``)."""
    if value is None or isinstance(value, Activation):
        return value
    if isinstance(value, str):
        return _from_path(value, trust_remote_code)
    if not callable(value):
        raise InputError(f"activation_fn must be a callable or a class path, got {type(value).__name__}.")
    cls = type(value)
    path = f"{cls.__module__}.{cls.__qualname__}"
    if path.startswith("torch.") and cls.__name__ in NUMPY_ACTIVATIONS and _plain(value):
        # the numpy twin scores; the user's own module is what ``activation_fn`` gives back, as there
        return replace(from_name(cls.__name__), torch_module=value)
    return Activation(path, torch_module=value)


def _plain(module: Any) -> bool:
    """A torch Softmax over another than the last axis is not the numpy twin."""
    return getattr(module, "dim", None) in (None, -1, 1)


def _from_path(path: str, trust_remote_code: bool) -> Activation | None:
    name = path.rsplit(".", 1)[-1]
    if name in NUMPY_ACTIVATIONS and (path == name or path.startswith("torch.")):
        return from_name(name)
    if not (path.startswith("torch.") or trust_remote_code):
        # logged, in sentence-transformers' words, as it logs it (a model's files, not the caller, chose it)
        logging.getLogger(ST_CROSS_ENCODER_MODEL).warning(
            f"Activation function path '{path}' is not trusted, using default activation function instead. "
            "Please load the CrossEncoder with `trust_remote_code=True` to allow loading custom activation "
            "functions via the configuration."
        )
        return None
    module_name, _, class_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except ImportError as e:  # ModuleNotFoundError stays one, as sentence-transformers' import raises it
        raise type(e)(f"activation function {path!r} could not be imported: {e}", name=e.name) from e
    except (AttributeError, ValueError) as e:
        raise ImportError(f"activation function {path!r} could not be imported: {e}") from e
    return Activation(path, torch_module=cls())
