"""A cross-encoder built from modules, as sentence-transformers 6.3's ``CrossEncoder(modules=[...])``: an
input module that tokenizes each pair (a ``Transformer`` with ``transformer_task="sequence-classification"``,
a ``StaticEmbedding``: both texts' tokens as one bag, no special tokens, ...), then modules up to one that
writes ``"scores"`` (a ``Dense(..., module_output_name="scores")``). Its folder is the pipeline's own
(``modules.json``, ``1_Dense``, ...), which sentence-transformers saves and loads the same way. Torch only.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from .._backends.torch_runner import TORCH_DTYPES
from .._errors import InputError, ModelLoadError, SbertError
from .._modules import NamedModules, check_input_module, load_modules, module_names
from .._modules.dense import Dense
from .._modules.network import ModuleNetwork
from .._modules.transformer import Transformer
from .network import LogitScore


def stack_network(modules: Any, error: type[SbertError] = InputError) -> ModuleNetwork:
    """The caller's modules (a list, a :class:`NamedModules` or an ``OrderedDict`` of torch modules), checked,
    in order, under their names."""
    if isinstance(modules, OrderedDict):
        pairs = list(modules.items())
    elif isinstance(modules, NamedModules):  # a folder's, or an edit's
        pairs = list(zip(module_names(modules), modules))
    else:
        pairs = list(enumerate(modules or ()))
    if not pairs:
        raise error(  # sentence-transformers' words
            "An empty modules list was passed to CrossEncoder. Please provide at least one module, e.g. a "
            "Transformer module."
        )
    if not all(isinstance(module, nn.Module) for _, module in pairs):
        raise error("CrossEncoder modules must be torch modules, e.g. [Transformer(path, ...), Dense(...)].")
    check_input_module([module for _, module in pairs], error)
    return ModuleNetwork(OrderedDict((str(name), module) for name, module in pairs))


def load_stack(folder: Path, **options: Any) -> ModuleNetwork:
    """The modules a sentence-transformers CrossEncoder folder lists (``options``: ``load_modules``')."""
    return stack_network(load_modules(folder, **options), ModelLoadError)


def stack_labels(network: nn.Sequential) -> int:
    """The score count, as sentence-transformers reads it off the last module that sets it: a Dense writing
    ``"scores"`` (its ``out_features``), a sequence-classification Transformer (its config's labels), a
    LogitScore (one); else one."""
    for module in reversed(network):
        if isinstance(module, Dense) and module.module_output_name == "scores":
            return module.out_features
        if isinstance(module, Transformer):
            return int(module.model.config.num_labels)
        if isinstance(module, LogitScore):
            return 1
    return 1


def transformers_model(network: nn.Sequential) -> Any:
    """The first transformers model among the modules (``None``: a stack without one, e.g. static)."""
    return next((m.model for m in network if isinstance(m, Transformer)), None)


def architecture(network: nn.Sequential) -> str:
    return " -> ".join(type(module).__name__ for module in network)


class StackScorer:
    """The modules on padded numpy batches of pairs: the input module's features in, ``"scores"`` out."""

    def __init__(self, network: nn.Sequential, device: Any, precision: str) -> None:
        import torch

        self.network, self.device, self.precision = network, device, precision
        network.to(device=device, dtype=getattr(torch, TORCH_DTYPES[precision]))

    def logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        from .._modules.padding_free import own_inference

        features = {k: v.to(self.device) for k, v in self.network[0].to_features(batch).items()}
        with own_inference(self.network):
            scores = self.network(features).get("scores")
        if scores is None:
            raise InputError(
                "No module of this CrossEncoder writes 'scores': end it with one that does, e.g. "
                "Dense(dim, 1, module_output_name='scores') or a sequence-classification Transformer."
            )
        return scores.float().cpu().numpy()
