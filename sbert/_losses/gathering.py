"""sentence-transformers' ``gather_across_devices=True``: the in-batch-negatives losses rank this process's
anchors against every process's candidates (DDP under torchrun), with gradients flowing back to each row's
owner, as its ``util.all_gather_with_grad`` does.

Every such loss gathers through :func:`gather_rows` (or :func:`gather_token_rows`, token embeddings and their
masks). In one process they return their inputs: the option is then the plain loss. A cached loss computes
its loss in slices, each back-propagated on its own; there the slices' gradients are summed here first and
exchanged once per tensor when the loss is back-propagated (:class:`GradientExchange`), so that processes
with different numbers of slices still meet in the same collectives.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._training import distributed

# the open GradientExchange blocks, innermost last: (this process's rows, every process's rows as a leaf,
# offset) of each gather made inside one
_open: list[list[tuple[torch.Tensor, torch.Tensor, int]]] = []


def gathers(gather_across_devices: bool) -> bool:
    """Whether a loss with this option exchanges rows on this step (a multi-process run only). Asked for
    outside a process group, it says so once per process, as sentence-transformers' gather does."""
    if not gather_across_devices:
        return False
    if distributed.is_distributed():
        return distributed.world_size() > 1
    distributed.note_gather_without_process_group()  # after the first: a set lookup
    return False


def gather_rows(
    tensors: Sequence[torch.Tensor], gather_across_devices: bool
) -> tuple[list[torch.Tensor], int]:
    """Each of ``tensors`` ``(B, ...)`` as every process's rows in rank order ``(B_all, ...)``, and the index
    of this process's first row in them. Without gathering: the tensors and 0."""
    if not gathers(gather_across_devices):
        return list(tensors), 0
    gathered = [_gather(t) for t in tensors]
    return [g for g, _ in gathered], gathered[0][1]


def gather_token_rows(
    tensors: Sequence[torch.Tensor], masks: Sequence[torch.Tensor], gather_across_devices: bool
) -> tuple[list[torch.Tensor], list[torch.Tensor], int]:
    """:func:`gather_rows` for ``(B, T, D)`` token embeddings and their ``(B, T)`` masks: each process's
    ``T`` padded first to the longest across processes (zeros, and False in the mask)."""
    if not gathers(gather_across_devices):
        return list(tensors), list(masks), 0
    padded, padded_masks = [], []
    for tensor, mask in zip(tensors, masks):
        extra = max(distributed.gather_objects(int(tensor.shape[1]))) - tensor.shape[1]
        padded.append(nn.functional.pad(tensor, (0, 0, 0, extra)) if extra else tensor)
        padded_masks.append(nn.functional.pad(mask, (0, extra)) if extra else mask)
    gathered, offset = gather_rows(padded, True)
    return gathered, [distributed.all_gather_rows(m)[0] for m in padded_masks], offset


def empty_term(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The loss of a process with no rows on this step: zero, but joined to the gathered rows, so that its
    backward takes part in the exchange of gradients the other processes wait on."""
    return torch.stack([t.sum() for t in tensors]).sum() * 0.0


def _gather(tensor: torch.Tensor) -> tuple[torch.Tensor, int]:
    if not tensor.requires_grad:  # a guide's embeddings, say: nothing to send back
        return distributed.all_gather_rows(tensor)
    if not _open:
        return distributed.all_gather_with_grad(tensor)
    # inside a GradientExchange: a leaf that collects this process's gradients of every row
    rows, offset = distributed.all_gather_rows(tensor)
    rows.requires_grad_(True)
    _open[-1].append((tensor, rows, offset))
    return rows, offset


class GradientExchange:
    """The gathers of a cached loss's step (2), whose slices are back-propagated one by one, up to the
    embeddings (GradCache). Inside ``with GradientExchange() as exchange:`` a gather gives a leaf that keeps
    this process's gradients of every process's rows to itself; :meth:`take_gradients` then splits the
    embeddings' gradients off; in the hook on the returned loss, :meth:`gradients` sends each gathered
    tensor's gradients, times that backward's ``grad_output`` (the trainer's share of each process), to
    the rows' owners in one exchange: so processes with different numbers of slices (or rows) meet."""

    def __init__(self) -> None:
        self.pending: list[tuple[torch.Tensor, torch.Tensor, int]] = []  # (own rows, all rows, offset)
        self.leaves: list[list[torch.Tensor]] = []

    def __enter__(self) -> GradientExchange:
        _open.append(self.pending)
        return self

    def __exit__(self, *exc: object) -> None:
        _open.pop()

    def take_gradients(self, leaves: list[list[torch.Tensor]]) -> list[list[torch.Tensor | None]]:
        """The gradients the leaves (the cached embeddings) hold: with gathers, those through this process's
        own rows only, taken off the leaves (the exchanged ones come in :meth:`gradients`)."""
        cache = [[leaf.grad for leaf in column] for column in leaves]
        if self.pending:
            self.leaves = leaves
            for column in leaves:
                for leaf in column:
                    leaf.grad = None
        return cache

    def gradients(
        self, cache: list[list[torch.Tensor | None]], grad_output: torch.Tensor
    ) -> tuple[list[list[torch.Tensor | None]], torch.Tensor]:
        """The cached gradients to replay and the factor to replay them with: ``cache`` and ``grad_output``
        as they are without gathers; else each leaf's own gradient times ``grad_output`` plus its rows'
        share of every process's scaled gradients, and 1."""
        if not self.pending:
            return cache, grad_output
        for local, rows, offset in self.pending:
            grad = rows.grad if rows.grad is not None else torch.zeros_like(rows)
            grad = distributed.sum_tensor(grad * grad_output)[offset : offset + local.shape[0]]
            if local.requires_grad:
                local.backward(grad)  # through the rows' reordering, onto the leaves
        combined = []
        for column, grads in zip(self.leaves, cache):
            parts = [
                [g for g in (None if own is None else own * grad_output, leaf.grad) if g is not None]
                for leaf, own in zip(column, grads)
            ]
            combined.append([sum(p[1:], p[0]) if p else None for p in parts])
        self.pending, self.leaves = [], []
        return combined, torch.ones_like(grad_output)
