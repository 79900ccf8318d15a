"""sentence-transformers' ``util.hard_negatives`` module path: hard-negative mining."""

from . import mine_hard_negatives

__all__ = ["mine_hard_negatives"]
