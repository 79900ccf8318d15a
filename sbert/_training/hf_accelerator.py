"""``trainer.accelerator``: the members of accelerate's ``Accelerator`` that Hugging Face ``Trainer`` code
reads in a subclass's ``training_step`` / ``compute_loss`` (``backward``, ``device``, ``gather``,
``is_main_process``, ``sync_gradients``, ...), acting on sbert's own loop.

sbert does not run accelerate: its loop does what the Trainer's accelerator does there (the fp16 gradient
scaler, summing gradients across torchrun's processes once a step, the run's autocast). A real
``accelerate.Accelerator`` would add a dependency, a process-wide state shared with whatever else in the
program uses accelerate, and device placement by ``prepare``; this object has none of those. As in Hugging
Face's trainer, the accelerator accumulates nothing itself (its ``gradient_accumulation_steps`` is 1: the
trainer divides each batch's loss), and ``no_sync`` / ``accumulate`` are no-ops, since sbert sums the
gradients once, after the step's last batch, anyway.
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Iterator, Mapping
from typing import Any

import torch

from . import distributed


class DistributedType(str, enum.Enum):
    """accelerate's ``DistributedType`` (a ``str`` enum, so code comparing with accelerate's members, or
    their names, gets the same answers)."""

    NO = "NO"
    MULTI_CPU = "MULTI_CPU"
    MULTI_GPU = "MULTI_GPU"
    DEEPSPEED = "DEEPSPEED"
    FSDP = "FSDP"


class RunAccelerator:
    """The accelerator of a sentence-transformers trainer ``trainer`` (it gives ``device``, ``run_args`` and
    ``current_run``); ``autocast``: the context of the run's mixed precision."""

    gradient_accumulation_steps = 1  # the trainer divides each batch's loss itself, as Hugging Face's
    optimizer_step_was_skipped = False
    even_batches = True  # set by sentence-transformers' loaders; sbert's are its own

    def __init__(self, trainer: Any, autocast: Any) -> None:
        self.trainer, self.run_autocast = trainer, autocast

    # ------------------------------------------------------------------ the processes

    @property
    def device(self) -> torch.device:
        return self.trainer.device

    @property
    def distributed_type(self) -> DistributedType:
        if not distributed.is_distributed():
            return DistributedType.NO
        return DistributedType.MULTI_GPU if self.device.type == "cuda" else DistributedType.MULTI_CPU

    @property
    def use_distributed(self) -> bool:
        return distributed.is_distributed()

    @property
    def num_processes(self) -> int:
        return distributed.world_size()

    @property
    def process_index(self) -> int:
        return distributed.rank()

    @property
    def local_process_index(self) -> int:
        return int(os.environ.get("LOCAL_RANK", 0)) if distributed.is_distributed() else 0

    @property
    def is_main_process(self) -> bool:
        return self.process_index == 0

    @property
    def is_local_main_process(self) -> bool:
        return self.local_process_index == 0

    @property
    def mixed_precision(self) -> str:
        return {"fp32": "no"}.get(self.trainer.run_args.precision, self.trainer.run_args.precision)

    @property
    def scaler(self) -> Any:
        run = self.trainer.current_run
        return run.scaler if run is not None else None

    @property
    def sync_gradients(self) -> bool:
        """Whether the batch being run is its step's last (the gradients are summed and stepped after it)."""
        run = self.trainer.current_run
        return True if run is None else run.last_in_step

    def wait_for_everyone(self) -> None:
        distributed.barrier()

    def print(self, *args: Any, **kwargs: Any) -> None:
        if self.is_local_main_process:
            print(*args, **kwargs)

    @contextlib.contextmanager
    def main_process_first(self) -> Iterator[None]:
        """The main process runs the block first, then the others, as accelerate's."""
        if not self.is_main_process:
            self.wait_for_everyone()
        yield
        if self.is_main_process:
            self.wait_for_everyone()

    local_main_process_first = main_process_first

    # ------------------------------------------------------------------ the step

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """``loss.backward()``, scaled by the run's fp16 gradient scaler (accelerate's keywords for
        DeepSpeed and LOMO, ``scale_wrt_gas`` and ``learning_rate``, have nothing to do here)."""
        kwargs.pop("scale_wrt_gas", None)
        kwargs.pop("learning_rate", None)
        scaler = self.scaler
        (scaler.scale(loss) if scaler is not None else loss).backward(**kwargs)

    def clip_grad_norm_(self, parameters: Any, max_norm: float, norm_type: float = 2) -> torch.Tensor:
        """Clip the gradients' norm (unscaled first under fp16), as accelerate's; the norm before."""
        run = self.trainer.current_run
        if self.scaler is not None and run is not None:
            self.scaler.unscale_(run.optimizer)
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=norm_type)

    def autocast(self, autocast_handler: Any = None) -> contextlib.AbstractContextManager:
        """The run's mixed precision (``bf16`` / ``fp16`` arguments), as the trainer applies it."""
        return self.run_autocast()

    def accumulate(self, *models: Any) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def no_sync(self, model: Any = None) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def unwrap_model(
        self, model: Any, keep_fp32_wrapper: bool = True, keep_torch_compile: bool = True
    ) -> Any:
        """The model itself: sbert wraps it in nothing (no DDP, no compile wrapper)."""
        return model

    def prepare(self, *args: Any, device_placement: Any = None) -> Any:
        """Each object as given (sbert places and distributes them itself), one alone or a tuple."""
        return args[0] if len(args) == 1 else args

    def free_memory(self, *objects: Any) -> Any:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return objects[0] if len(objects) == 1 else objects

    # ------------------------------------------------------------------ collectives

    def gather(self, tensor: Any) -> Any:
        """Every process's rows of ``tensor`` (in dicts, lists, tuples) concatenated in rank order; itself
        on one process."""
        if not distributed.is_distributed():
            return tensor
        return _apply(lambda t: distributed.all_gather_rows(t[None] if t.ndim == 0 else t)[0], tensor)

    def gather_for_metrics(self, input_data: Any, use_gather_object: bool = False) -> Any:
        """:meth:`gather`, or the processes' objects in one list where ``input_data`` holds other than
        tensors (or ``use_gather_object``)."""
        if not distributed.is_distributed():
            return input_data
        if use_gather_object or not _all_tensors(input_data):
            gathered = distributed.gather_objects(input_data)
            return [item for part in gathered for item in (part if isinstance(part, list) else [part])]
        return self.gather(input_data)

    def reduce(self, tensor: Any, reduction: str = "sum", scale: float = 1.0) -> Any:
        """``tensor`` summed (``"mean"``: averaged) over the processes, times ``scale``, as accelerate's."""

        def one(t: torch.Tensor) -> torch.Tensor:
            out = distributed.sum_tensor(t.clone())
            return (out / self.num_processes if reduction == "mean" else out) * scale

        return _apply(one, tensor)

    def pad_across_processes(
        self, tensor: Any, dim: int = 0, pad_index: int = 0, pad_first: bool = False
    ) -> Any:
        """``tensor`` padded with ``pad_index`` along ``dim`` to the longest across the processes."""
        if not distributed.is_distributed():
            return tensor

        def one(t: torch.Tensor) -> torch.Tensor:
            longest = max(distributed.gather_objects(t.shape[dim]))
            if t.shape[dim] == longest:
                return t
            shape = list(t.shape)
            shape[dim] = longest - t.shape[dim]
            pad = t.new_full(shape, pad_index)
            return torch.cat([pad, t] if pad_first else [t, pad], dim=dim)

        return _apply(one, tensor)


def _apply(function: Any, data: Any) -> Any:
    if isinstance(data, torch.Tensor):
        return function(data)
    if isinstance(data, Mapping):
        return type(data)({k: _apply(function, v) for k, v in data.items()})
    if isinstance(data, (list, tuple)):
        return type(data)(_apply(function, v) for v in data)
    return data


def _all_tensors(data: Any) -> bool:
    if isinstance(data, Mapping):
        return all(_all_tensors(v) for v in data.values())
    if isinstance(data, (list, tuple)):
        return all(_all_tensors(v) for v in data)
    return isinstance(data, torch.Tensor)
