"""A MultiVectorEncoder's torch pipeline: its modules in order, built from a folder (modules.json through the
one registry) or from the caller's modules, run with the ``task`` keyword of the modules that take it, and
saved as sentence-transformers saves it.

A plain Hugging Face folder gets sentence-transformers' default pipeline: the encoder, a new (random,
untrained) 128-wide token projection, a MultiVectorMask and a token-level Normalize.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from .._errors import InputError, ModelLoadError, SbertError
from .._format.layout import MODULES_FILE
from .._modules import (
    NamedModules,
    check_input_module,
    check_widths,
    load_modules,
    module_names,
    output_width,
    save_modules,
)
from .._modules.dense import Dense
from .._modules.normalize import Normalize
from .._modules.transformer import Transformer
from .._st_loggers import ST_MULTI_VECTOR_MODEL
from .multi_vector_mask import MultiVectorMask
from .task_inputs import TASK_SETTINGS, read_task_settings, set_task_settings, write_task_settings

logger = logging.getLogger(__name__)

DEFAULT_PROJECTION_WIDTH = 128  # sentence-transformers' projection of a plain encoder


class MultiVectorNetwork(nn.Sequential):
    """The modules in order; ``task`` reaches the modules that list it in their ``forward_kwargs``."""

    def forward(self, features: dict[str, Any], task: str | None = None) -> dict[str, Any]:
        for module in self:
            if "query_expansion_positions" in features and isinstance(module, Transformer):
                features = _padded_forward(module, features)
            elif "task" in getattr(module, "forward_kwargs", ()):
                features = module(features, task=task)
            else:
                features = module(features)
        return features


def _padded_forward(transformer: Transformer, features: dict[str, Any]) -> dict[str, Any]:
    """Expansion positions are padding to the encoder (unless attended): they need the padded forward,
    which still computes their vectors, not the padding-free one, which skips them."""
    fast = transformer.padding_free
    transformer.padding_free = False
    try:
        return transformer(features)
    finally:
        transformer.padding_free = fast


def pipeline_from_modules(modules: Sequence[Any], error: type[SbertError] = InputError) -> MultiVectorNetwork:
    """The caller's (or a folder's) modules, checked: ``error`` names what does not fit."""
    if isinstance(modules, Mapping):  # an OrderedDict names the modules, as nn.Sequential takes it
        modules = NamedModules(modules.values(), list(modules))
    given, modules = modules, list(modules) if isinstance(modules, (list, tuple, nn.Sequential)) else []
    if not modules or not all(isinstance(m, nn.Module) for m in modules):
        raise error(
            "MultiVectorEncoder modules must be a non-empty list of torch modules, e.g. [Transformer(path), "
            "Dense(..., module_input_name='token_embeddings'), MultiVectorMask(), "
            "Normalize('token_embeddings')]."
        )
    check_input_module(modules, error)
    check_widths(modules, error=error)
    first = modules[0]
    if isinstance(first, Transformer):
        set_task_settings(first, {key: getattr(first, key, None) for key in TASK_SETTINGS})
    for module in modules:
        if isinstance(module, MultiVectorMask):
            module.resolve_with_tokenizer(first.tokenizer)
    return MultiVectorNetwork(OrderedDict(zip(module_names(given), modules)))


def load_pipeline(
    folder: Path, allow_pickle: bool, trust_remote_code: bool, options: dict[str, Any]
) -> MultiVectorNetwork:
    """The pipeline saved in ``folder`` (``options``: the Transformer's model, config, tokenizer options)."""
    options = {k: v for k, v in options.items() if v}
    if not (folder / MODULES_FILE).is_file():
        return pipeline_from_modules(_default_modules(folder, allow_pickle, trust_remote_code, options))
    modules = load_modules(
        folder, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code, transformer_options=options
    )
    if isinstance(modules[0], Transformer):
        set_task_settings(modules[0], read_task_settings(folder))
    return pipeline_from_modules(modules, ModelLoadError)


def load_converted(
    folder: Path, kind: str, allow_pickle: bool, trust_remote_code: bool, options: dict[str, Any]
) -> MultiVectorNetwork:
    """Another model class's folder (``kind``: a CrossEncoder's, a SparseEncoder's) as sentence-transformers
    converts it: its encoder with the default new token projection, mask and normalization."""
    options = {k: v for k, v in options.items() if v}
    reason = f"{folder} holds a {kind}"
    return pipeline_from_modules(_default_modules(folder, allow_pickle, trust_remote_code, options, reason))


def _default_modules(
    folder: Path, allow_pickle: bool, trust_remote_code: bool, options: dict[str, Any], reason: str = ""
) -> list[Any]:
    transformer = Transformer(
        folder, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code, **options
    )
    projection = random_projection(transformer, reason)
    return [transformer, projection, MultiVectorMask(), Normalize("token_embeddings")]


def random_projection(transformer: Transformer, reason: str = "") -> Dense:
    """sentence-transformers' new (random, untrained) 128-wide token projection after ``transformer``, with
    a notice: logged, not warned, as sentence-transformers does, so code that makes warnings errors still
    loads the model. A plain Hugging Face folder (no ``reason``) gets sentence-transformers' own record;
    another folder, sbert's notice starting with ``reason``."""
    width = transformer.get_embedding_dimension()
    if not reason:
        logging.getLogger(ST_MULTI_VECTOR_MODEL).info(
            f"No ColBERT checkpoint detected: added a randomly-initialised projection of ({width}, "
            f"{DEFAULT_PROJECTION_WIDTH}). Training is required before this model is useful. To customise "
            "the projection (e.g. a different output dim), pass `modules=...` instead."
        )
    else:
        logger.info(
            f"{reason}: adding a new random ({width}, {DEFAULT_PROJECTION_WIDTH}) token projection, as "
            "sentence-transformers does. Train the model before using its embeddings."
        )
    return Dense(
        width,
        DEFAULT_PROJECTION_WIDTH,
        bias=False,
        activation_function=nn.Identity(),
        module_input_name="token_embeddings",
    )


def save_pipeline(network: MultiVectorNetwork, folder: Path) -> None:
    save_modules(network, folder)
    if isinstance(network[0], Transformer):
        write_task_settings(network[0], folder)


def token_width(network: MultiVectorNetwork) -> int | None:
    """The width of the token vectors the pipeline ends with."""
    width = None
    for module in network:
        width = output_width(module) or width
    return width
