"""sentence-transformers' ``util.distributed`` module path: ranks, world size and gathers across processes."""

from . import all_gather, all_gather_padded, all_gather_with_grad, get_rank, get_world_size

__all__ = ["all_gather", "all_gather_padded", "all_gather_with_grad", "get_rank", "get_world_size"]
