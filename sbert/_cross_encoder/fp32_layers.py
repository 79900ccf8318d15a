"""Linear layers of a cross-encoder that compute in float32 while the model runs in bf16/fp16
(sentence-transformers 6.3's ``keep_in_fp32_modules``; the names are checked and saved by ``config.py``).

A selected ``nn.Linear`` becomes a :class:`Float32Linear` in place (its class swapped, its weights kept in the
model's dtype), as sentence-transformers selects it, so the selection follows the module object through
``half()``, training and saving. In float32 it changes nothing.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._errors import InputError


class Float32Linear(nn.Linear):
    """An ``nn.Linear`` that computes and returns float32 whatever its weights' dtype and autocast."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=input.device.type, enabled=False):
            bias = self.bias.float() if self.bias is not None else None
            return F.linear(input.float(), self.weight.float(), bias)


def select(network: Any, names: list[str], previous: list[str]) -> None:
    """Make the ``nn.Linear`` layers at ``names`` in ``network`` compute in float32, and those at ``previous``
    not selected again plain ``nn.Linear`` layers; every layer is checked before any changes."""
    chosen, dropped = _layers(network, names), _layers(network, previous)
    layers = list({id(m): m for m in (*chosen, *dropped)}.values())
    for layer in layers:
        if type(layer) not in (nn.Linear, Float32Linear):
            raise InputError(
                "keep_in_fp32_modules supports only plain torch.nn.Linear layers, not "
                f"{type(layer).__name__}."
            )
        if "forward" in layer.__dict__:  # its own forward (a wrapper, accelerate's hook), not the class's
            raise InputError("keep_in_fp32_modules does not support layers with a custom or hooked forward.")
    chosen_ids = {id(m) for m in chosen}
    for layer in layers:
        layer.__class__ = Float32Linear if id(layer) in chosen_ids else nn.Linear


def _layers(network: Any, names: list[str]) -> list[Any]:
    """The modules at ``names``; a PEFT ``modules_to_save`` wrapper stands for its original and trained
    copies (its forward runs one of them)."""
    found = []
    for name in names:
        module = network.get_submodule(name)  # an AttributeError naming the path, as torch words it
        copies = getattr(module, "modules_to_save", None)
        if copies is not None and hasattr(module, "original_module"):
            found.extend([module.original_module, *copies.values()])
        else:
            found.append(module)
    return found
