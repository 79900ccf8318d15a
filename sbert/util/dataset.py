"""sentence-transformers' ``util.dataset`` module path: ID columns joined to their texts."""

from . import resolve_ids

__all__ = ["resolve_ids"]
