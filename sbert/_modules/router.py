"""Router: run each call's texts down the route of its task ("query", "document"): asymmetric models.

sentence-transformers' Router (5+): named routes of modules, one chosen per call by the task that
``encode(task=...)``, ``encode_query`` or ``encode_document`` passes (else the default route). As the
first module, the chosen route's first module also tokenizes; after a shared Transformer, the routes
hold the pooling and projections. Saved as ``router_config.json`` plus one sub-folder per module,
``{route}_{index}_{Kind}``, as sentence-transformers saves it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._checks import check_texts_or_pairs
from .._compat import check_text_modality, dict_texts, prompt_token_count, task_dicts, with_prompt
from .._errors import TOKENIZE_RENAMED, InputError, ModelLoadError, log_renamed_once, warn_at_caller
from .._format.layout import (
    CUSTOM,
    MODULE_TYPES,
    ROUTER_CONFIG_FILE,
    ModuleEntry,
    kind_of_module,
    read_router_config,
    router_repr,
)
from .._st_loggers import ST_INPUT_MODULE
from . import (
    check_widths,
    custom_class_path,
    is_custom_module,
    load_custom_module,
    module_class,
    output_width,
    save_custom_module,
)
from .base import InputModule
from .loading import st_loading
from .routing import choose_route

# Texts are the only modality sbert reads; a Router that is the input module sees them as "text".
TEXT = "text"


class Router(InputModule):
    """Named routes of modules; the task of a call picks one.

    Args:
        sub_modules: route name -> its modules, in order (e.g. ``{"query": [...], "document": [...]}``).
        default_route: the route for calls without a task. ``None`` with ``allow_empty_key=True`` takes
            the first route; with ``allow_empty_key=False`` a call without a task is an ``InputError``.
        route_mappings: ``(task, modality) -> route``, ``None`` matching any (sentence-transformers' rules:
            exact pair, then the task with any modality, any task with the modality, the catch-all, then
            the route named like the task).

    Routes may give vectors of different widths, as sentence-transformers allows (with a warning: such
    embeddings cannot be compared); :meth:`get_embedding_dimension` is then the first route's.
    """

    save_in_root = True  # first in a pipeline, it is saved at the model's root, as sentence-transformers does
    # sentence-transformers' class attributes: what forward reads beside the features, the saved settings
    forward_kwargs = {"task", "modality"}
    config_keys = ["default_route", "allow_empty_key", "route_mappings"]
    config_file_name = ROUTER_CONFIG_FILE

    def __init__(
        self,
        sub_modules: Mapping[str, Sequence[nn.Module]],
        default_route: str | None = None,
        allow_empty_key: bool = True,
        route_mappings: Mapping[tuple[Any, Any], str] | None = None,
    ) -> None:
        super().__init__()
        _check_arguments(sub_modules, default_route, route_mappings)
        routes = list(sub_modules)
        self.sub_modules = nn.ModuleDict({name: nn.Sequential(*mods) for name, mods in sub_modules.items()})
        if allow_empty_key and default_route is None:
            default_route = routes[0]
        self.default_route = default_route
        self.allow_empty_key = allow_empty_key
        self.route_mappings = {
            (task, tuple(sorted(modality)) if isinstance(modality, tuple) else modality): target
            for (task, modality), target in (route_mappings or {}).items()
        }
        self._check_routes()

    @classmethod
    def for_query_document(
        cls,
        query_modules: Sequence[nn.Module],
        document_modules: Sequence[nn.Module],
        default_route: str | None = "document",
        allow_empty_key: bool = True,
    ) -> Router:
        """A "query" and a "document" route, for ``encode_query`` / ``encode_document``."""
        return cls(
            {"query": query_modules, "document": document_modules},
            default_route=default_route,
            allow_empty_key=allow_empty_key,
        )

    def _check_routes(self) -> None:
        """Each route must fit together; routes of different widths are allowed (sentence-transformers
        allows them) but warned of, since their vectors cannot be compared."""
        widths = {}
        for name, modules in self.sub_modules.items():
            check_widths(list(modules), error=InputError)
            widths[name] = _route_width(modules)
        if len({w for w in widths.values() if w is not None}) > 1:
            warn_at_caller(
                f"The Router's routes give vectors of different widths {widths}: embeddings of different "
                "routes cannot be compared, and get_embedding_dimension() gives the first route's. Make "
                "the routes end in the same width (a Dense) unless that is what you want."
            )

    # ------------------------------------------------------------------ choosing a route

    def route_name(self, task: str | None, modality: Any = None) -> str:
        """The route for ``task`` (sentence-transformers' order of rules), else InputError naming routes (in
        sentence-transformers' words, then the fix)."""
        routes = list(self.sub_modules)
        return choose_route(task, modality, routes, self.route_mappings, self.default_route, self.training)

    def input_module(self, task: str | None) -> nn.Module:
        """The module that reads ``task``'s texts: the first of its route (the Router is the input)."""
        return self.sub_modules[self.route_name(task, TEXT)][0]

    def input_modules(self) -> list[nn.Module]:
        """Every route's first module: what reads texts when the Router is a pipeline's input module."""
        return [modules[0] for modules in self.sub_modules.values()]

    def _default_input(self) -> nn.Module:
        return self._default_modules()[0]

    def _default_modules(self) -> nn.Sequential:
        """The default route, else the first (what the model's tokenizer and width properties show)."""
        return self.sub_modules[self.default_route or next(iter(self.sub_modules))]

    # ------------------------------------------------------------------ the input-module contract

    @property
    def tokenizer(self) -> Any:
        """The first route's tokenizer that is set (routes may have their own), else None: as
        sentence-transformers picks it."""
        return next(
            (m.tokenizer for m in self.input_modules() if getattr(m, "tokenizer", None) is not None), None
        )

    @property
    def do_lower_case(self) -> bool:
        return bool(getattr(self._default_input(), "do_lower_case", False))

    @property
    def modalities(self) -> list[Any]:
        """What the routes' input modules read, together, in sentence-transformers' order."""
        found = {m for route in self.sub_modules.values() for m in getattr(route[0], "modalities", ["text"])}
        return sorted(found, key=str)

    @property
    def max_seq_length(self) -> int | None:
        """The longest of the routes' limits (None where no route has one), as sentence-transformers reads
        it; each route still cuts its texts at its own."""
        limits = {
            m[0].max_seq_length for m in self.sub_modules.values() if getattr(m[0], "max_seq_length", None)
        }
        return max(limits) if limits else None

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        # Every route's reader, as sentence-transformers sets it.
        readers = [m for m in self.input_modules() if hasattr(m, "max_seq_length")]
        if not readers:
            warn_at_caller(
                "No modules have a max_seq_length attribute to set: no route of this Router starts with a "
                "module that reads texts (a Transformer); nothing changed."
            )
        for module in readers:
            module.max_seq_length = value

    @property
    def takes_token_type_ids(self) -> bool:
        return any(
            getattr(modules[0], "takes_token_type_ids", False) for modules in self.sub_modules.values()
        )

    @property
    def input_width(self) -> int | None:
        """As a later module (after a shared Transformer): the width the routes take."""
        return getattr(self._default_input(), "input_width", None)

    def get_embedding_dimension(self) -> int | None:
        """The first route's width that is known (sentence-transformers' rule, for routes that differ)."""
        return next((w for w in map(_route_width, self.sub_modules.values()) if w is not None), None)

    def tokenize(self, texts: list[str], task: str | None = None) -> dict[str, torch.Tensor]:
        log_renamed_once(TOKENIZE_RENAMED, ST_INPUT_MODULE)  # when called from outside sbert
        return self.input_module(task).tokenize(texts)

    def preprocess(
        self,
        inputs: Any,
        prompt: str | None = None,
        task: str | None = None,
        modality: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The features :meth:`forward` takes: ``task``'s route tokenizes ``inputs`` (``prompt`` before each),
        and ``features["task"]`` / ``["modality"]`` say the route, as sentence-transformers' Router gives
        them. ``{"query": text}`` items (its older ``Asym`` input) name the task themselves. A route whose
        Transformer reads chat input renders them through its chat template (the prompt a system message).
        ``kwargs`` (``processing_kwargs``, a trainer's ``max_length``) go to the route's input module's
        ``preprocess`` for this call, as sentence-transformers' Router hands them on."""
        inputs, task = task_dicts(inputs, task)
        check_text_modality(modality)
        reader = self.input_module(task)  # an unknown task fails here, even without inputs
        given = {name: value for name, value in kwargs.items() if value is not None}
        if inputs and (given or getattr(reader, "chat", None) is not None):  # the module's own, as there
            return {
                **reader.preprocess(list(inputs), prompt=prompt, task=task, **given),
                "task": task,
                "modality": TEXT,
            }
        texts = with_prompt(check_texts_or_pairs(dict_texts(inputs), name="inputs"), prompt)
        features: dict[str, Any] = reader.tokenize(texts) if texts else {}
        if texts and prompt:
            features["prompt_length"] = prompt_token_count(reader.tokenizer, prompt)
        features["task"] = task
        if texts:
            features["modality"] = TEXT
        return features

    def to_features(self, batch: dict[str, Any], task: str | None = None) -> dict[str, torch.Tensor]:
        return self.input_module(task).to_features(batch)

    def forward(
        self, features: dict[str, Any], task: str | None = None, modality: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Run ``features`` down the route of ``task`` and ``modality`` (else of ``features["task"]`` and
        ``["modality"]``, where preprocessing and sentence-transformers' trainer put them); a route's module
        that lists a keyword in its ``forward_kwargs`` gets it, as there."""
        task = features.get("task") if task is None else task
        modality = features.get("modality") if modality is None else modality
        is_input = "token_embeddings" not in features and "sentence_embedding" not in features
        # texts: sentence-transformers' features say so ("modality": "text"), a later Router's included
        route = self.sub_modules[self.route_name(task, TEXT if modality is None else modality)]
        if is_input and not getattr(route[0], "takes_token_type_ids", False):
            features = {k: v for k, v in features.items() if k != "token_type_ids"}
        kwargs = {**kwargs, "task": task, "modality": modality}
        for module in route:
            wanted = getattr(module, "forward_kwargs", ())
            features = module(features, **{k: v for k, v in kwargs.items() if k in wanted})
        return features

    def __repr__(self) -> str:
        routes = {name: [repr(m) for m in modules] for name, modules in self.sub_modules.items()}
        return router_repr(self.default_route, self.route_mappings, routes)

    # ------------------------------------------------------------------ saving and loading

    def on_model_ready(self, model: Any) -> None:
        """Every route's modules get the hook, as in sentence-transformers 6.3."""
        for route in self.sub_modules.values():
            for module in route:
                if hasattr(module, "on_model_ready"):
                    module.on_model_ready(model)

    def save(self, folder: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        """Write ``router_config.json`` and one sub-folder per module (always safetensors:
        sentence-transformers' ``safe_serialization`` is accepted and has nothing to choose)."""
        folder = Path(folder)
        ids: dict[int, str] = {}  # a module shared by routes is saved once
        types, structure = {}, {}
        for name, modules in self.sub_modules.items():
            for i, module in enumerate(modules):
                if id(module) not in ids:
                    ids[id(module)] = module_id = f"{name}_{i}_{type(module).__name__}"
                    (folder / module_id).mkdir(parents=True, exist_ok=True)
                    types[module_id] = _save_module(module, folder / module_id)
            structure[name] = [ids[id(module)] for module in modules]
        parameters = {
            "default_route": self.default_route,
            "allow_empty_key": self.allow_empty_key,
            "route_mappings": {str(key): route for key, route in self.route_mappings.items()},
        }
        config = {"types": types, "structure": structure, "parameters": parameters}
        (folder / ROUTER_CONFIG_FILE).write_text(json.dumps(config, indent=4))

    @classmethod
    @st_loading
    def load(cls, folder: str | os.PathLike, **options: Any) -> Router:
        folder = Path(folder)
        config = read_router_config(folder)
        modules = {
            i: load_custom_module(
                folder,
                ModuleEntry(kind, i, i, config.type_strings[i]),
                trust_remote_code=options.get("trust_remote_code", False),
                config_file=ROUTER_CONFIG_FILE,
            )
            if kind == CUSTOM
            else module_class(kind).load(folder / i, **options)
            for i, kind in config.kinds.items()
        }
        try:
            return cls(
                {route: [modules[i] for i in ids] for route, ids in config.routes.items()},
                default_route=config.default_route,
                allow_empty_key=config.allow_empty_key,
                route_mappings=config.route_mappings,
            )
        except InputError as e:
            raise ModelLoadError(f"{folder / ROUTER_CONFIG_FILE}: {e}") from e


def _save_module(module: nn.Module, folder: Path) -> str:
    """Save a routed module in its folder; its type for ``router_config.json`` (a custom module's class
    path, which loads back with ``trust_remote_code=True``, as in sentence-transformers)."""
    if is_custom_module(module):
        save_custom_module(module, folder)
        return custom_class_path(module)
    module.save(folder)
    return MODULE_TYPES[kind_of_module(module)].type_string


def _route_width(modules: nn.Sequential) -> int | None:
    """The width of the vectors a route hands on (its last module that sets one)."""
    return next((w for w in map(output_width, reversed(modules)) if w is not None), None)


def _check_arguments(
    sub_modules: Mapping[str, Sequence[nn.Module]] | None,
    default_route: str | None,
    route_mappings: Mapping[Any, str] | None,
) -> None:
    """The constructor's arguments, checked as sentence-transformers checks them (its words first)."""
    if not sub_modules:
        raise InputError(
            "The sub_modules dictionary cannot be empty. Pass {route name: [modules]}, e.g. "
            "Router({'query': [...], 'document': [...]}) or Router.for_query_document(...)."
        )
    routes = list(sub_modules)
    empty = [name for name, modules in sub_modules.items() if not modules]
    if empty:
        raise InputError(f"The routes {empty} have no modules; give every route at least one module.")
    if default_route is not None and default_route not in sub_modules:
        raise InputError(
            f"Default route '{default_route}' not found in route keys: {routes}. Pass one of them, or None."
        )
    for key, target in (route_mappings or {}).items():
        if not isinstance(key, tuple) or len(key) != 2:
            raise InputError(
                f"route_mappings keys are (task, modality) pairs (None matches any); got {key!r}."
            )
        if target not in sub_modules:
            raise InputError(
                f"route_mappings contains mapping to '{target}' which is not in sub_modules. Available "
                f"routes: {routes}; map {key} to one of them."
            )
