"""sentence-transformers' distributed helpers (``util.get_rank``, ``util.all_gather``, ...), which custom
losses call to score against every process's batch. Outside a process group they answer for one process:
rank 0, world size 1, the tensor itself. torch is imported when one is called."""

from __future__ import annotations

from typing import Any


def is_dist_initialized() -> bool:
    """Whether ``torch.distributed`` is available and a process group is initialized."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This process's rank in the process group (0 outside one)."""
    import torch.distributed as dist

    return dist.get_rank() if is_dist_initialized() else 0


def get_world_size() -> int:
    """The number of processes in the process group (1 outside one)."""
    import torch.distributed as dist

    return dist.get_world_size() if is_dist_initialized() else 1


def all_gather(tensor: Any, with_grad: bool = False) -> Any:
    """Every process's ``tensor`` (all the same shape) concatenated along the first dimension, in rank
    order. This process's part keeps its gradient; ``with_grad=True`` lets gradients flow to every part.
    Outside a process group: ``tensor`` itself, with a warning logged once."""
    import torch
    import torch.distributed as dist

    if not is_dist_initialized():
        from .._training.distributed import note_gather_without_process_group

        note_gather_without_process_group()  # once per process, shared with the losses' gathers
        return tensor
    if with_grad:  # each process's part gets the sum of the gradients every process sends back to it
        from .._training.distributed import all_gather_with_grad as gather_rows

        return gather_rows(tensor)[0]
    parts = [torch.zeros_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    parts[dist.get_rank()] = tensor
    return torch.cat(parts, dim=0)


def all_gather_with_grad(tensor: Any) -> Any:
    """:func:`all_gather` with gradients flowing to every process's part."""
    return all_gather(tensor, with_grad=True)


def all_gather_padded(tensor: Any, mask: Any, with_grad: bool = False) -> tuple[Any, Any]:
    """All-gather ``(B, T, D)`` token embeddings and their ``(B, T)`` mask, each process's ``T`` padded
    first to the largest across processes (embeddings with zeros, the mask with False)."""
    import torch
    import torch.distributed as dist

    if is_dist_initialized():
        longest = torch.tensor(tensor.size(1), device=tensor.device)
        dist.all_reduce(longest, op=dist.ReduceOp.MAX)
        extra = int(longest.item()) - tensor.size(1)
        if extra > 0:
            tensor = torch.nn.functional.pad(tensor, (0, 0, 0, extra))
            mask = torch.nn.functional.pad(mask, (0, extra))
    return all_gather(tensor, with_grad=with_grad), all_gather(mask)
