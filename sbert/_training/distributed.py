"""Data-parallel training across processes started by torchrun (gloo on CPU, nccl on GPU).

Every process holds the whole model and takes its slice of each global batch; each scales its loss by its
share of the rows and the gradients are summed across processes, so a step equals a one-process step on the
global batch (for losses that average over examples). Only rank 0 evaluates, logs and writes checkpoints.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import torch
import torch.distributed as dist


def init_from_environment(device: str) -> bool:
    """Join the process group torchrun describes in the environment; False when not under torchrun."""
    if is_distributed():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return True


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def shard(n: int) -> slice:
    """This process's contiguous slice of a global batch of ``n`` rows (sizes differ by at most one)."""
    size, rest = divmod(n, world_size())
    r = rank()
    start = r * size + min(r, rest)
    return slice(start, start + size + (r < rest))


def broadcast_parameters(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Make every process start from rank 0's weights (e.g. a randomly initialised classifier)."""
    if is_distributed():
        for p in parameters:
            dist.broadcast(p.data, src=0)


def sum_gradients(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Replace each gradient by its sum over processes (each process scaled its loss by local rows / global)."""
    for p in parameters:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        if is_distributed():
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)


def sum_scalar(value: float) -> float:
    if not is_distributed():
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item())


def gather_objects(obj: Any) -> list[Any]:
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


class _AllGather(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        ctx.rows = tensor.shape[0]
        sizes = gather_objects(tensor.shape[0])
        ctx.offset = sum(sizes[: rank()])
        padded = torch.zeros((max(sizes), *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
        padded[: tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded.contiguous())
        return torch.cat([part[:size] for part, size in zip(parts, sizes)])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.offset : ctx.offset + ctx.rows]


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from every process (rank order); gradients flow back to each owner."""
    if not is_distributed():
        return tensor
    return _AllGather.apply(tensor)
