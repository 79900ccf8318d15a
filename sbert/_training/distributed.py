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

from .._errors import log_once
from .._st_loggers import ST_DISTRIBUTED

# sentence-transformers 6.3's words (its all_gather's, logged once per process)
NOT_DISTRIBUTED = (
    "Trying to gather while torch.distributed is not available or has not been initialized, "
    "returning the original (local) tensor. This is expected if you are "
    "only using one GPU; consider not using gathering to remove this warning."
)


def init_from_environment(device: str) -> bool:
    """Join the process group torchrun describes in the environment; False when not under torchrun."""
    if is_distributed():
        return True
    if launch_world_size() <= 1:
        return False
    if device.startswith("cuda") and torch.device(device).index is not None:
        torch.cuda.set_device(torch.device(device).index)  # NCCL's object collectives use the current one
    dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return True


def collective_device() -> torch.device:
    """Where a tensor made for a collective lives: this process's GPU under NCCL (which takes no CPU
    tensors), else the CPU."""
    if is_distributed() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def launch_world_size() -> int:
    """The processes of this run as torchrun's environment gives them: known before the process group
    starts (1 outside torchrun)."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1")))


def launch_rank() -> int:
    """This process's rank as torchrun's environment gives it: known before the process group starts."""
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def note_gather_without_process_group() -> None:
    """A gather asked for outside a process group (``gather_across_devices=True`` on one device,
    ``util.all_gather``) gives the local rows: logged once per process, as sentence-transformers does."""
    log_once(NOT_DISTRIBUTED, ST_DISTRIBUTED)


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
    """Replace each gradient by its sum over processes (each process scaled its loss by local rows / global).

    A parameter without a gradient on every process (e.g. BERT's unused pooler) keeps none, so AdamW
    leaves it alone, as in one process and in Hugging Face's Trainer; one with a gradient somewhere gets
    zeros where it has none before the sum.
    """
    if not is_distributed():
        return
    params = list(parameters)
    has_grad = torch.tensor(
        [p.grad is not None for p in params], dtype=torch.int32, device=collective_device()
    )
    dist.all_reduce(has_grad, op=dist.ReduceOp.SUM)
    for p, count in zip(params, has_grad.tolist()):
        if count:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)


def sum_scalar(value: float) -> float:
    if not is_distributed():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=collective_device())
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item())


def gather_objects(obj: Any) -> list[Any]:
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def _gather_padded(tensor: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Every process's rows (``sizes`` of them) in rank order; all_gather takes equal shapes, so each
    process sends its rows padded to the largest count."""
    padded = tensor.new_zeros((max(sizes), *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([part[:size] for part, size in zip(parts, sizes)])


class _AllGather(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor, sizes: list[int]) -> torch.Tensor:
        ctx.rows, ctx.offset = tensor.shape[0], sum(sizes[: rank()])
        return _gather_padded(tensor, sizes)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        # Every process's loss depends on every process's rows: this process's rows get the sum.
        grad = sum_tensor(grad.contiguous().clone())
        return grad[ctx.offset : ctx.offset + ctx.rows], None


def all_gather_with_grad(tensor: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``tensor``'s rows from every process, concatenated in rank order, and the index of this process's
    first row in the result; gradients flow back to each row's owner. Processes may hold different
    numbers of rows (none, too). Outside DDP: ``(tensor, 0)``."""
    if not is_distributed():
        return tensor, 0
    sizes = gather_objects(int(tensor.shape[0]))
    return _AllGather.apply(tensor, sizes), sum(sizes[: rank()])


def all_gather_rows(tensor: torch.Tensor) -> tuple[torch.Tensor, int]:
    """:func:`all_gather_with_grad` without a graph: every process's rows (detached) and this process's
    offset in them."""
    if not is_distributed():
        return tensor.detach(), 0
    sizes = gather_objects(int(tensor.shape[0]))
    with torch.no_grad():
        return _gather_padded(tensor.detach(), sizes), sum(sizes[: rank()])


def sum_tensor(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over the processes, in place (itself outside DDP)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor
