"""Names a package loads on first access from a registry ``{name: submodule}``: its module-level
``__getattr__`` and ``__dir__`` (PEP 562), so that importing the package imports none of the submodules
(they import torch)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_names(
    package: str, namespace: dict[str, Any], *registries: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` (its ``__name__``; ``namespace`` its ``globals()``): a
    name of the ``registries`` is imported from its submodule (relative to the package) when first read,
    and kept in the namespace so later reads skip the lookup."""

    def __getattr__(name: str) -> Any:
        module = next((registry[name] for registry in registries if name in registry), None)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *(name for registry in registries for name in registry)})

    return __getattr__, __dir__


def lazy_reexport(
    package: str, namespace: dict[str, Any], source: str, names: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for a public module ``package`` that shows ``names`` of the module
    ``source`` (a full name), imported when one is first read."""
    shown = sorted(names)

    def __getattr__(name: str) -> Any:
        if name not in shown:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return shown

    return __getattr__, __dir__


def lazy_attributes(
    package: str, namespace: dict[str, Any], table: Mapping[str, tuple[str, str]]
) -> Callable[[str], Any]:
    """``__getattr__`` for a public module ``package`` whose names are attributes of other modules, each
    ``name: (module, its name there)`` (full module names; the name may differ, as for an older alias),
    imported when first read and kept in ``namespace``."""

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = table[name]
        value = getattr(importlib.import_module(module), attribute)
        namespace[name] = value
        return value

    return __getattr__
