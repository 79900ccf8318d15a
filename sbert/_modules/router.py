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

from .._errors import InputError, ModelLoadError
from .._format.layout import MODULE_TYPES, ROUTER_CONFIG_FILE, read_router_config, router_repr
from . import check_widths, module_class, output_width

# Texts are the only modality sbert reads; a Router that is the input module sees them as "text".
TEXT = "text"


class Router(nn.Module):
    """Named routes of modules; the task of a call picks one.

    Args:
        sub_modules: route name -> its modules, in order (e.g. ``{"query": [...], "document": [...]}``).
        default_route: the route for calls without a task. ``None`` with ``allow_empty_key=True`` takes
            the first route; with ``allow_empty_key=False`` a call without a task is an ``InputError``.
        route_mappings: ``(task, modality) -> route``, ``None`` matching any (sentence-transformers' rules:
            exact pair, then the task with any modality, any task with the modality, the catch-all, then
            the route named like the task).
    """

    save_in_root = True  # first in a pipeline, it is saved at the model's root, as sentence-transformers does

    def __init__(
        self,
        sub_modules: Mapping[str, Sequence[nn.Module]],
        default_route: str | None = None,
        allow_empty_key: bool = True,
        route_mappings: Mapping[tuple[Any, Any], str] | None = None,
    ) -> None:
        super().__init__()
        if not sub_modules or any(not modules for modules in sub_modules.values()):
            raise InputError("A Router needs at least one route, and every route at least one module.")
        routes = list(sub_modules)
        if default_route is not None and default_route not in sub_modules:
            raise InputError(f"default_route {default_route!r} is not one of the routes {routes}.")
        for key, target in (route_mappings or {}).items():
            if target not in sub_modules:
                raise InputError(f"route_mappings sends {key} to {target!r}, which is not one of {routes}.")
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
        """Each route must fit together, and all must give vectors of one width (they are compared)."""
        widths = {}
        for name, modules in self.sub_modules.items():
            check_widths(list(modules), error=InputError)
            widths[name] = _route_width(modules)
        if len({w for w in widths.values() if w is not None}) > 1:
            raise InputError(f"The routes give vectors of different widths {widths}; they must agree.")

    # ------------------------------------------------------------------ choosing a route

    def route_name(self, task: str | None, modality: Any = None) -> str:
        """The route for ``task`` (sentence-transformers' order of rules), else InputError naming routes."""
        for key in ((task, modality), (task, None), (None, modality), (None, None)):
            if key in self.route_mappings:
                return self.route_mappings[key]
        for name in (task, modality):
            if name and name in self.sub_modules:
                return name
        if task is None and self.default_route is not None:
            return self.default_route
        routes = sorted(set(self.sub_modules) | {t for t, _ in self.route_mappings if t is not None})
        if task is not None:
            raise InputError(f"No route for task {task!r}; this Router's tasks are {routes}.")
        raise InputError(
            f"This Router has no default route: pass task= one of {routes} to encode (or use encode_query / "
            "encode_document)"
            + (", and router_mapping (column -> task) to training." if self.training else ".")
        )

    def input_module(self, task: str | None) -> nn.Module:
        """The module that reads ``task``'s texts: the first of its route (the Router is the input)."""
        return self.sub_modules[self.route_name(task, TEXT)][0]

    def _default_input(self) -> nn.Module:
        return self._default_modules()[0]

    def _default_modules(self) -> nn.Sequential:
        """The default route, else the first (what the model's tokenizer and width properties show)."""
        return self.sub_modules[self.default_route or next(iter(self.sub_modules))]

    # ------------------------------------------------------------------ the input-module contract

    @property
    def tokenizer(self) -> Any:
        return self._default_input().tokenizer

    @property
    def do_lower_case(self) -> bool:
        return bool(getattr(self._default_input(), "do_lower_case", False))

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
        for modules in self.sub_modules.values():
            if hasattr(modules[0], "max_seq_length"):
                modules[0].max_seq_length = value

    @property
    def takes_token_type_ids(self) -> bool:
        return any(
            getattr(modules[0], "takes_token_type_ids", False) for modules in self.sub_modules.values()
        )

    @property
    def input_width(self) -> int | None:
        """As a later module (after a shared Transformer): the width the routes take."""
        return getattr(self._default_input(), "input_width", None)

    def get_sentence_embedding_dimension(self) -> int | None:
        return _route_width(self._default_modules())

    get_embedding_dimension = get_sentence_embedding_dimension  # sentence-transformers 6's name

    def tokenize(self, texts: list[str], task: str | None = None) -> dict[str, torch.Tensor]:
        return self.input_module(task).tokenize(texts)

    def to_features(self, batch: dict[str, Any], task: str | None = None) -> dict[str, torch.Tensor]:
        return self.input_module(task).to_features(batch)

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        # The task travels in the features (sentence-transformers' trainer stamps it there too).
        is_input = "token_embeddings" not in features and "sentence_embedding" not in features
        route = self.sub_modules[self.route_name(features.get("task"), TEXT if is_input else None)]
        if is_input and not getattr(route[0], "takes_token_type_ids", False):
            features = {k: v for k, v in features.items() if k != "token_type_ids"}
        return route(features)

    def __repr__(self) -> str:
        routes = {name: [repr(m) for m in modules] for name, modules in self.sub_modules.items()}
        return router_repr(self.default_route, self.route_mappings, routes)

    # ------------------------------------------------------------------ saving and loading

    def save(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        ids: dict[int, str] = {}  # a module shared by routes is saved once
        types, structure = {}, {}
        for name, modules in self.sub_modules.items():
            for i, module in enumerate(modules):
                kind = type(module).__name__
                if kind not in MODULE_TYPES:
                    raise InputError(f"Route {name!r} module {i} ({kind}) cannot be saved.")
                if id(module) not in ids:
                    ids[id(module)] = module_id = f"{name}_{i}_{kind}"
                    types[module_id] = MODULE_TYPES[kind].type_string
                    (folder / module_id).mkdir(parents=True, exist_ok=True)
                    module.save(folder / module_id)
            structure[name] = [ids[id(module)] for module in modules]
        parameters = {
            "default_route": self.default_route,
            "allow_empty_key": self.allow_empty_key,
            "route_mappings": {str(key): route for key, route in self.route_mappings.items()},
        }
        config = {"types": types, "structure": structure, "parameters": parameters}
        (folder / ROUTER_CONFIG_FILE).write_text(json.dumps(config, indent=4))

    @classmethod
    def load(cls, folder: str | os.PathLike, **options: Any) -> Router:
        folder = Path(folder)
        config = read_router_config(folder)
        modules = {i: module_class(kind).load(folder / i, **options) for i, kind in config.kinds.items()}
        try:
            return cls(
                {route: [modules[i] for i in ids] for route, ids in config.routes.items()},
                default_route=config.default_route,
                allow_empty_key=config.allow_empty_key,
                route_mappings=config.route_mappings,
            )
        except InputError as e:
            raise ModelLoadError(f"{folder / ROUTER_CONFIG_FILE}: {e}") from e


def _route_width(modules: nn.Sequential) -> int | None:
    """The width of the vectors a route hands on (its last module that sets one)."""
    return next((w for w in map(output_width, reversed(modules)) if w is not None), None)
