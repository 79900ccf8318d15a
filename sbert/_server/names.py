"""The names a served model answers to: what a request's ``"model"`` field may say to reach it.

A model is named after itself, not after the literal argument that loaded it: a folder by its folder name
(``./minilm-onnx`` -> ``minilm-onnx``; ``.`` -> the working folder's real name), a hub name as given, and by
its last part too (``sentence-transformers/all-MiniLM-L6-v2`` also answers to ``all-MiniLM-L6-v2``). A name
chosen on purpose (``--model NAME=MODEL``, a dict key other than the model's own ``name_or_path``) is kept.
The literal argument stays an alias, so requests naming ``./minilm-onnx`` still find the model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import InputError


def served_names(models: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``({name: model}, {alias: name})``: each model under its own name, and the other names it answers to.

    An alias two models could claim is dropped (their full names still reach them); a name is never an alias.
    """
    named: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    claims: dict[str, list[str]] = {}
    for given, model in models.items():
        name = own_name(given, model)
        if name in named:
            raise InputError(
                f"two models are named {name!r} ({given_as[name]!r} and {given!r}); name them apart with "
                "--model NAME=MODEL (or create_app({NAME: model, ...}))."
            )
        named[name], given_as[name] = model, given
        for alias in _aliases(given, name):
            claims.setdefault(alias, []).append(name)
    aliases = {
        alias: names[0] for alias, names in claims.items() if alias not in named and len(set(names)) == 1
    }
    return named, aliases


def own_name(given: str, model: Any) -> str:
    """The name of a model served as ``given``: the folder's name if ``given`` is the folder it came from."""
    if given != str(getattr(model, "name_or_path", None)) or not Path(given).is_dir():
        return given  # chosen on purpose, a hub name, or a fake model's spec
    # abspath, not resolve: "." and ".." are resolved, a symlink keeps the name the user gave it.
    return Path(os.path.abspath(given)).name or given


def _aliases(given: str, name: str) -> list[str]:
    from .._format.hub import DEFAULT_MODEL

    found = [given]
    if "/" in given.strip("/"):
        found.append(given.rstrip("/").rsplit("/", 1)[-1])  # a hub name's last part
    short = DEFAULT_MODEL.rsplit("/", 1)[-1]
    if name in (short, DEFAULT_MODEL):  # the embedded default answers to its short and its full hub name
        found += [short, DEFAULT_MODEL]
    return [alias for alias in dict.fromkeys(found) if alias and alias != name]


def describe_names(names: Mapping[str, Any], aliases: Mapping[str, str]) -> str:
    """``'a' (also 'b'), 'c'``: the names served, each with the aliases it answers to."""
    parts = []
    for name in names:
        also = [alias for alias, target in aliases.items() if target == name]
        parts.append(repr(name) + (f" (also {', '.join(map(repr, also))})" if also else ""))
    return ", ".join(parts)
