"""sentence-transformers 6's ``sentence_transformers.base.modules``: the modules every model kind shares
(the same classes as ``sbert.models``'; each, and torch, loads on first access)."""

from __future__ import annotations

from typing import Any

SHARED = ("Dense", "InputModule", "Module", "Normalize", "Router", "Transformer")
__all__ = list(SHARED)
__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)


def __getattr__(name: str) -> Any:
    if name not in SHARED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .. import models

    return getattr(models, name)
