"""Which route of a Router a call takes, without torch: sentence-transformers' rules, shared by the torch
Router (:mod:`.router`) and a SparseEncoder's Router on ONNX (:mod:`sbert._sparse.onnx_router`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import InputError
from .._format.transformer_config import modality_key_to_file


def choose_route(
    task: str | None,
    modality: Any,
    routes: Sequence[str],
    mappings: Mapping[tuple[Any, Any], str],
    default_route: str | None,
    training: bool = False,
) -> str:
    """The route for ``task`` and ``modality`` (the exact pair, the task with any modality, any task with
    the modality, the catch-all, the route named like the task or modality, then the default route), else
    InputError naming the routes (in sentence-transformers' words, then the fix)."""
    modality = tuple(sorted(modality)) if isinstance(modality, tuple) else modality
    for key in ((task, modality), (task, None), (None, modality), (None, None)):
        if key in mappings:
            return mappings[key]
    for name in (task, modality):
        if name and name in routes:
            return name
    if task is None and default_route is not None:
        return default_route
    listed = routes_text(routes, mappings)
    if task is not None:
        raise InputError(
            f"No route found for task type '{task}'. Available routes: {listed}. Pass one "
            "of these tasks (or use encode_query / encode_document)."
        )
    if training:
        raise InputError(
            "You must provide a `router_mapping` argument on the training arguments, or set a default "
            f"route in the `Router` module. Available routes: {listed}."
        )
    shown = modality_key_to_file(modality)
    raise InputError(
        f"Could not determine route for task=None, modality={shown!r}. Available routes: "
        f"{listed}. Consider specifying the `task` parameter in `model.encode`, or setting "
        "a default route in the `Router`. (encode_query / encode_document pass the task for you.)"
    )


def routes_text(routes: Sequence[str], mappings: Mapping[tuple[Any, Any], str]) -> str:
    """The tasks and modalities that have a route, as sentence-transformers lists them."""
    names = [f"task={name!r}" for name in routes]
    for task, modality in mappings:
        shown = modality_key_to_file(modality)
        if modality is None:
            names.append(f"task={task!r}")
        elif task is None:
            names.append(f"modality={shown!r}")
        else:
            names.append(f"(task={task!r}, modality={shown!r})")
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
