"""sentence-transformers' ``util.dataset`` module path: ID columns joined to their texts."""

from . import resolve_ids
from ._id_lookup import DEFAULT_LABEL_COLUMNS

__all__ = ["DEFAULT_LABEL_COLUMNS", "resolve_ids"]
