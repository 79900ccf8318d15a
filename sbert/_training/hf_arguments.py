"""Hugging Face ``TrainingArguments`` properties and methods that scripts and Hugging Face's callbacks
(TensorBoard, W&B, MLflow, ...) call on sentence-transformers' training arguments: the process layout
(``world_size``, ``process_index``, ``should_log``, ...), the effective batch sizes, the JSON forms, and the
fluent ``set_*`` setters that group related arguments.

sbert trains on one device per process (torchrun's DDP for several): there is no ``DataParallel`` over the
GPUs of one process, so ``n_gpu`` is the one GPU the run uses (0 on the CPU) and the batch sizes are the
per-device ones.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import json
import logging
import math
import os
from collections.abc import Iterator
from typing import Any

import torch

from .._errors import InputError
from .distributed import barrier, is_distributed, rank, world_size

# Hugging Face's log level names (``log_level``, ``log_level_replica``); "passive" keeps the current one
_LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "passive": -1,
}


class HuggingFaceArguments:
    """Mixed into :class:`~sbert._training.st_compat.SentenceTransformerTrainingArguments`, which holds the
    fields these read and set."""

    # Hugging Face's default optimizer with this torch (its fused AdamW from torch 2.8)
    default_optim = "adamw_torch_fused"

    # ------------------------------------------------------------------ processes and devices

    @property
    def world_size(self) -> int:
        """The processes training together (torchrun's ``WORLD_SIZE``, else 1)."""
        return world_size()

    @property
    def process_index(self) -> int:
        return rank()

    @property
    def local_process_index(self) -> int:
        return int(os.environ.get("LOCAL_RANK", "0")) if is_distributed() else 0

    @property
    def device(self) -> torch.device:
        """The device a process trains on, as Hugging Face picks it: the CPU with ``use_cpu``, else the
        process's GPU, else Apple's MPS, else the CPU."""
        if self.use_cpu:
            return torch.device("cpu")
        if torch.cuda.is_available():
            return torch.device("cuda", self.local_process_index)
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")

    @property
    def n_gpu(self) -> int:
        """The GPUs this process uses: 1 on a GPU, 0 on the CPU."""
        return int(self.device.type == "cuda")

    @property
    def parallel_mode(self) -> Any:
        """Hugging Face's ``ParallelMode``: ``DISTRIBUTED`` under torchrun, else ``NOT_PARALLEL``."""
        from transformers.training_args import ParallelMode

        return ParallelMode.DISTRIBUTED if self.world_size > 1 else ParallelMode.NOT_PARALLEL

    @property
    def distributed_state(self) -> Any:
        """accelerate's ``PartialState`` of this process, as Hugging Face's arguments hold it (made when read:
        sbert's own runs never need it)."""
        from accelerate import PartialState

        if self.use_cpu:
            return PartialState(cpu=True, backend=self.ddp_backend)
        return PartialState(backend=self.ddp_backend, timeout=self.ddp_timeout_delta)

    @property
    def mixed_precision(self) -> str:
        """accelerate's name of the precision the run trains in (``ACCELERATE_MIXED_PRECISION`` without
        ``fp16`` / ``bf16``)."""
        return (
            "fp16"
            if self.fp16
            else "bf16"
            if self.bf16
            else os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
        )

    # Hugging Face's accelerate plugins: none, as sbert trains without DeepSpeed or FSDP
    deepspeed_plugin = None
    fsdp_plugin_args = None

    @property
    def train_batch_size(self) -> int:
        return self.per_device_train_batch_size * max(1, self.n_gpu)

    @property
    def eval_batch_size(self) -> int:
        return self.per_device_eval_batch_size * max(1, self.n_gpu)

    @property
    def ddp_timeout_delta(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=self.ddp_timeout)

    @property
    def should_log(self) -> bool:
        """Whether this process logs: the main process (of each machine, with ``log_on_each_node``)."""
        return (self.local_process_index if self.log_on_each_node else self.process_index) == 0

    @property
    def should_save(self) -> bool:
        """Whether this process writes checkpoints: the main process (of each machine, with
        ``save_on_each_node``)."""
        return (self.local_process_index if self.save_on_each_node else self.process_index) == 0

    @property
    def place_model_on_device(self) -> bool | None:
        return None

    def get_process_log_level(self) -> int:
        """The log level of this process: ``log_level`` on the logging process, ``log_level_replica`` on the
        others ("passive": transformers' current verbosity)."""
        from transformers.utils import logging as hf_logging

        name = self.log_level if self.should_log else self.log_level_replica
        level = _LOG_LEVELS[name]
        return hf_logging.get_verbosity() if level == -1 else level

    @contextlib.contextmanager
    def main_process_first(self, local: bool = True, desc: str = "work") -> Iterator[None]:
        """Run the block on the main process (of each machine, with ``local``) before the others."""
        if self.world_size == 1:
            yield
            return
        main = (self.local_process_index if local else self.process_index) == 0
        if not main:
            barrier()
        try:
            yield
        finally:
            if main:
                barrier()

    def get_warmup_steps(self, num_training_steps: int) -> int:
        """The warm-up steps of a run of ``num_training_steps``: ``warmup_steps``, or that share of them."""
        steps = self.warmup_steps
        return int(steps) if steps >= 1 else math.ceil(num_training_steps * steps)

    # ------------------------------------------------------------------ serialization

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_sanitized_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` with the batch sizes, every value a bool, number or string (TensorBoard's
        hyperparameters)."""
        values = {
            **self.to_dict(),
            "train_batch_size": self.train_batch_size,
            "eval_batch_size": self.eval_batch_size,
        }
        kept = (bool, int, float, str, torch.Tensor)
        return {k: v if type(v) in kept else str(v) for k, v in values.items()}

    # ------------------------------------------------------------------ grouped setters (return self)

    def set_training(
        self,
        learning_rate: float = 5e-5,
        batch_size: int = 8,
        weight_decay: float = 0,
        num_epochs: float = 3,
        max_steps: int = -1,
        gradient_accumulation_steps: int = 1,
        seed: int = 42,
        activation_checkpointing: bool = False,
        gradient_checkpointing: bool | None = None,
    ) -> Any:
        self.do_train, self.learning_rate, self.per_device_train_batch_size = True, learning_rate, batch_size
        self.weight_decay, self.num_train_epochs, self.max_steps = weight_decay, num_epochs, max_steps
        self.gradient_accumulation_steps, self.seed = gradient_accumulation_steps, seed
        if gradient_checkpointing is not None:  # the older name, as there
            activation_checkpointing = gradient_checkpointing
        self.activation_checkpointing = self.gradient_checkpointing = activation_checkpointing
        return self._checked()

    def set_evaluate(
        self,
        strategy: Any = "no",
        steps: int = 500,
        batch_size: int = 8,
        accumulation_steps: int | None = None,
        delay: float | None = None,
        loss_only: bool = False,
    ) -> Any:
        self.eval_strategy = _interval(strategy, steps, "eval_strategy")
        self.do_eval = self.eval_strategy != "no"
        self.eval_steps, self.per_device_eval_batch_size = steps, batch_size
        self.eval_accumulation_steps, self.prediction_loss_only = accumulation_steps, loss_only
        self.eval_delay = delay or 0  # None (no delay) as sbert's 0
        return self._checked()

    def set_testing(self, batch_size: int = 8, loss_only: bool = False) -> Any:
        self.do_predict, self.per_device_eval_batch_size, self.prediction_loss_only = (
            True,
            batch_size,
            loss_only,
        )
        return self._checked()

    def set_save(
        self,
        strategy: Any = "steps",
        steps: int = 500,
        total_limit: int | None = None,
        on_each_node: bool = False,
    ) -> Any:
        self.save_strategy = _interval(strategy, steps, "save_strategy")
        self.save_steps, self.save_total_limit, self.save_on_each_node = steps, total_limit, on_each_node
        return self._checked()

    def set_logging(
        self,
        strategy: Any = "steps",
        steps: int = 500,
        report_to: str | list[str] = "none",
        level: str = "passive",
        first_step: bool = False,
        nan_inf_filter: bool = False,
        on_each_node: bool = False,
        replica_level: str = "passive",
    ) -> Any:
        self.logging_strategy = _interval(strategy, steps, "logging_strategy")
        self.logging_steps, self.report_to, self.log_level = steps, report_to, level
        self.logging_first_step, self.logging_nan_inf_filter = first_step, nan_inf_filter
        self.log_on_each_node, self.log_level_replica = on_each_node, replica_level
        return self._checked()

    def set_push_to_hub(self, model_id: str, *args: Any, **kwargs: Any) -> Any:
        """Refused, as ``push_to_hub=True`` is: sbert pushes no checkpoints while it trains."""
        raise InputError(
            "set_push_to_hub (push_to_hub=True) is not supported by sbert's trainer: it pushes no "
            "checkpoints while training. Call trainer.push_to_hub() (with "
            f"hub_model_id={model_id!r} in the arguments) or "
            "model.push_to_hub(...) after training."
        )

    def set_optimizer(
        self,
        name: Any = "adamw_torch",
        learning_rate: float = 5e-5,
        weight_decay: float = 0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        args: str | None = None,
    ) -> Any:
        self.optim, self.learning_rate = as_hf_enum("optim", name), learning_rate
        self.weight_decay = weight_decay
        self.adam_beta1, self.adam_beta2, self.adam_epsilon, self.optim_args = beta1, beta2, epsilon, args
        return self._checked()

    def set_lr_scheduler(
        self, name: Any = "linear", num_epochs: float = 3.0, max_steps: int = -1, warmup_steps: float = 0
    ) -> Any:
        self.lr_scheduler_type, self.num_train_epochs = as_hf_enum("lr_scheduler_type", name), num_epochs
        self.max_steps, self.warmup_steps = max_steps, warmup_steps
        return self._checked()

    def set_dataloader(
        self,
        train_batch_size: int = 8,
        eval_batch_size: int = 8,
        drop_last: bool = False,
        num_workers: int = 0,
        pin_memory: bool = True,
        persistent_workers: bool = False,
        prefetch_factor: int | None = None,
        multiprocessing_context: str | None = None,
        in_order: bool = True,
        auto_find_batch_size: bool = False,
        ignore_data_skip: bool = False,
        sampler_seed: int | None = None,
    ) -> Any:
        self.per_device_train_batch_size, self.per_device_eval_batch_size = train_batch_size, eval_batch_size
        self.dataloader_drop_last, self.dataloader_num_workers = drop_last, num_workers
        self.dataloader_pin_memory, self.dataloader_persistent_workers = pin_memory, persistent_workers
        self.dataloader_prefetch_factor = prefetch_factor
        self.dataloader_multiprocessing_context, self.dataloader_in_order = multiprocessing_context, in_order
        self.auto_find_batch_size, self.ignore_data_skip, self.data_seed = (
            auto_find_batch_size,
            ignore_data_skip,
            sampler_seed,
        )
        return self._checked()

    def _checked(self) -> Any:
        """``self``, its values checked as when the arguments are made (an InputError names a bad one)."""
        self.num_train_epochs = float(self.num_train_epochs)
        self.report_to = [] if self.report_to in ("none", None) else self.report_to
        self.to_sbert()
        return self


# The arguments Hugging Face's TrainingArguments holds as its enums: its ``__post_init__`` and ``set_*``
# convert a string given (an unknown one: the enum's ValueError, in its words).
_HF_ENUMS = {
    "eval_strategy": ("trainer_utils", "IntervalStrategy"),
    "logging_strategy": ("trainer_utils", "IntervalStrategy"),
    "save_strategy": ("trainer_utils", "SaveStrategy"),
    "hub_strategy": ("trainer_utils", "HubStrategy"),
    "lr_scheduler_type": ("trainer_utils", "SchedulerType"),
    "optim": ("training_args", "OptimizerNames"),
}


def as_hf_enum(name: str, value: Any) -> Any:
    """``value`` of argument ``name`` as Hugging Face's enum member (an unknown one: an InputError in the
    enum's words)."""
    module, kind = _HF_ENUMS[name]
    try:
        return getattr(importlib.import_module(f"transformers.{module}"), kind)(value)
    except ValueError as e:  # an unknown value, in the enum's words
        raise InputError(str(e)) from None


def derive_as_hugging_face(args: Any) -> None:
    """What Hugging Face's ``__post_init__`` makes of the values given: its enums, the ``debug`` and
    ``include_for_metrics`` lists, ``do_eval`` with an eval strategy, ``eval_steps`` from ``logging_steps``,
    whole ``*_steps`` above 1 as ints."""
    for name in _HF_ENUMS:
        setattr(args, name, as_hf_enum(name, getattr(args, name)))
    if isinstance(args.debug, str):
        from transformers.debug_utils import DebugOption

        args.debug = [DebugOption(option) for option in args.debug.split()]
    args.debug = args.debug if args.debug is not None else []
    args.include_for_metrics = args.include_for_metrics if args.include_for_metrics is not None else []
    if not args.do_eval and args.eval_strategy != "no":
        args.do_eval = True
    if args.eval_strategy == "steps" and not args.eval_steps:
        if not (isinstance(args.logging_steps, (int, float)) and args.logging_steps > 0):
            raise InputError(
                f"evaluation strategy {args.eval_strategy} requires either non-zero --eval_steps or "
                "--logging_steps"
            )
        args.eval_steps = args.logging_steps
    for name, strategy in (("logging", "logging"), ("eval", "eval"), ("save", "save")):
        steps = getattr(args, f"{name}_steps")
        if getattr(args, f"{strategy}_strategy") == "steps" and isinstance(steps, float) and steps > 1:
            if steps != int(steps):
                raise InputError(f"--{name}_steps must be an integer if bigger than 1: {steps}")
            setattr(args, f"{name}_steps", int(steps))


def _interval(strategy: Any, steps: int, name: str) -> Any:
    """A ``set_*`` strategy as Hugging Face's enum; ``"steps"`` needs a positive ``steps``, as there."""
    value = as_hf_enum(name, strategy)
    if value == "steps" and steps == 0:
        raise InputError("Setting `strategy` as 'steps' requires a positive value for `steps`.")
    return value


def default_accelerator_config() -> Any:
    """Hugging Face's ``AcceleratorConfig`` at its defaults, as its arguments hold it once made (without
    ``use_configured_state``, which they take out)."""
    from transformers.trainer_pt_utils import AcceleratorConfig

    config = AcceleratorConfig()
    config.pop("use_configured_state")
    return config


def accelerator_at_defaults(value: Any) -> bool:
    """Whether an ``accelerator_config`` given (a dict or Hugging Face's object) holds its default settings:
    ``dataclasses.replace`` and copies pass the one the arguments hold back in."""
    from transformers.trainer_pt_utils import AcceleratorConfig

    if isinstance(value, dict) and value:
        try:
            value = AcceleratorConfig(**value)
        except TypeError:  # an unknown setting: refused as any other value is
            return False
    if not isinstance(value, AcceleratorConfig):
        return False
    given = {k: v for k, v in value.to_dict().items() if k != "use_configured_state"}
    return given == default_accelerator_config().to_dict() and not value.use_configured_state
