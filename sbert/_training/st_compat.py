"""sentence-transformers' trainer API, ``SentenceTransformerTrainer`` and
``SentenceTransformerTrainingArguments``: Hugging Face's argument names and defaults, mapped onto sbert's one
:class:`Trainer`.

The mapping is the one place where sentence-transformers' training names live: each argument is either mapped
onto a :class:`TrainingArguments` field, accepted and ignored (a pure performance or bookkeeping knob), or
honoured at its default value only (any other value is an InputError naming it).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from .._compat import overrides_preprocess
from .._errors import InputError, UnknownMetricError
from .._evaluation.base import Evaluator, SequentialEvaluator, record_results
from .._format.card_data import SentenceTransformerModelCardData, card_data_for
from .._losses.base import Loss, loss_total
from .._losses.user_loss import as_given, as_loss
from .._st_loggers import HF_TRAINER, ST_SENTENCE_TRANSFORMER_TRAINER, ST_TRAINER, ST_TRAINING_ARGS
from . import checkpoint, optim, run_settings
from .arguments import (
    METRIC_SCHEDULERS,
    RUN_SETTINGS,
    BatchSamplers,
    MultiDatasetBatchSamplers,
    TrainingArguments,
    call_loss,
    column_prompts,
    nothing_to_evaluate,
    pair_prompt,
    prompted_pairs,
    read_json,
    read_learning_rate_mapping,
    read_router_mapping,
)
from .batch_plan import (
    LABEL_COLUMNS,
    EpochPlans,
    dataset_batch_sampler,
    draw_loader_seed,
    multi_dataset_batch_sampler,
)
from .callback_handler import CallbackHandler
from .callbacks import Callbacks
from .card_record import record_run_logs, record_run_start, record_trainer_start
from .collate import Collate
from .collators import SentenceTransformerDataCollator
from .console import BAR, PRINT, HuggingFaceBar
from .data import TextDataset, load_dataset
from .dataset_names import adds_dataset_names, as_dataset_dict, name_datasets
from .distributed import launch_world_size
from .hf_arguments import (
    HuggingFaceArguments,
    accelerator_at_defaults,
    default_accelerator_config,
    derive_as_hugging_face,
)
from .hf_data import HuggingFaceData
from .hf_hooks import HOOKS, HuggingFaceHooks
from .hf_hub import HubMethods
from .hf_methods import USER_LOSS_METHODS, HuggingFaceMethods, TrainState
from .model_init import call_model_init, swap_model
from .streams import IN_A_DICT, NO_LENGTH, StreamSteps, check_features, is_stream, read_passes
from .trainer import METRICS_FILE, Trainer, best_checkpoint, check_trainable, seed_everything
from .widget_draws import draw_widget_examples

RESERVED_COLUMNS = ("dataset_name", "return_loss")

# Mapped onto sbert's TrainingArguments, with Hugging Face's (transformers 5) defaults.
MAPPED: dict[str, Any] = {
    "per_device_train_batch_size": 8,
    "per_device_eval_batch_size": 8,
    "num_train_epochs": 3.0,
    "max_steps": -1,
    "learning_rate": 5e-5,
    "weight_decay": 0.0,
    "adam_beta1": 0.9,
    "adam_beta2": 0.999,
    "adam_epsilon": 1e-8,
    "warmup_ratio": None,
    "warmup_steps": 0,
    "lr_scheduler_type": "linear",
    "lr_scheduler_kwargs": None,
    "optim": "adamw_torch_fused",
    "max_grad_norm": 1.0,
    "seed": 42,
    "data_seed": None,
    "gradient_accumulation_steps": 1,
    "gradient_checkpointing": False,
    "fp16": False,
    "bf16": False,
    "eval_strategy": "no",
    "eval_steps": None,
    "save_strategy": "steps",
    "save_steps": 500,
    "save_total_limit": None,
    "logging_strategy": "steps",
    "logging_steps": 500,
    "logging_first_step": False,
    "eval_on_start": False,
    "report_to": "none",
    "load_best_model_at_end": False,
    "metric_for_best_model": None,
    "greater_is_better": None,
    "batch_sampler": BatchSamplers.BATCH_SAMPLER,
    "multi_dataset_batch_sampler": MultiDatasetBatchSamplers.PROPORTIONAL,
    "prompts": None,
    "router_mapping": None,
    "disable_tqdm": None,  # None: from transformers' logging level, as there (_hf_post_init)
    "dataloader_drop_last": False,
    "resume_from_checkpoint": None,
    "learning_rate_mapping": None,
    "gradient_checkpointing_kwargs": None,
    # sentence-transformers 6's names for the two above (they win when both are given)
    "activation_checkpointing": None,
    "activation_checkpointing_kwargs": None,
    "optim_args": None,
    "eval_delay": 0,
    "save_only_model": False,
    "full_determinism": False,
    "torch_compile": False,
    "torch_compile_backend": None,
    "torch_compile_mode": None,
    "tf32": None,  # applied when the arguments are made, as Hugging Face's (run_settings.set_tf32)
}
# Accepted and ignored: data-loading speed, devices (the model's own is used), names, bookkeeping.
IGNORED: dict[str, Any] = {
    "dataloader_num_workers": 0,
    "dataloader_pin_memory": True,
    "dataloader_persistent_workers": False,
    "dataloader_prefetch_factor": None,
    "use_cpu": False,
    "run_name": None,
    "logging_dir": None,
    "do_train": False,
    "do_eval": False,
    "do_predict": False,
    "overwrite_output_dir": False,
    "save_safetensors": True,
    "log_level": "passive",
    "remove_unused_columns": True,
    "prediction_loss_only": True,
    "ddp_find_unused_parameters": None,
    "ddp_timeout": 1800,
    "local_rank": -1,
    "hub_private_repo": None,
    "hub_strategy": "every_save",
    "eval_accumulation_steps": None,  # memory of the prediction loop only: the same evaluation results
    "label_names": None,
    "average_tokens_across_devices": True,
    # Hugging Face's trainer smooths labels in its own compute_loss, which sentence-transformers' replaces:
    # the embedding losses train the same with any value
    "label_smoothing_factor": 0.0,
    # the prediction loop's outputs for compute_metrics, which sentence-transformers' trainer does not use
    "include_for_metrics": None,
    "eval_do_concat_batches": True,
    "eval_use_gather_object": False,
    "batch_eval_metrics": False,
    # the data order is the batch sampler's (batch_sampler), not Hugging Face's sampler's
    "train_sampling_strategy": "random",
    "length_column_name": "length",
    "dataloader_multiprocessing_context": None,
    "dataloader_in_order": True,
    # logging, reporting, hub and multi-node bookkeeping; memory and speed knobs
    "log_on_each_node": True,
    "log_level_replica": "warning",
    "logging_nan_inf_filter": True,
    "project": "huggingface",
    "trackio_space_id": None,
    "trackio_bucket_id": None,
    "trackio_static_space_id": None,
    "hub_token": None,
    "hub_always_push": False,
    "hub_revision": None,
    "save_on_each_node": False,
    "skip_memory_metrics": True,
    "torch_empty_cache_steps": None,
    "use_cache": False,
    "auto_find_batch_size": False,  # sbert does not retry a run that ran out of memory with smaller batches
    "ddp_bucket_cap_mb": None,
    "ddp_broadcast_buffers": False,
    "ddp_static_graph": None,
    "ddp_backend": None,
    "hub_model_id": None,  # the model card's model_id where it has none (the trainer sets it, as there)
}
# Honoured at the default only: sbert runs exactly these settings.
DEFAULT_ONLY: dict[str, Any] = {
    "neftune_noise_alpha": None,
    "push_to_hub": False,
    "deepspeed": None,
    "fsdp": None,
    "fsdp_config": None,
    "accelerator_config": None,
    "parallelism_config": None,
    "optim_target_modules": None,
    "use_liger_kernel": False,
    "liger_kernel_config": None,
    "bf16_full_eval": False,
    "fp16_full_eval": False,
    "include_num_input_tokens_seen": "no",
    "enable_jit_checkpoint": False,
    "ignore_data_skip": False,
    "restore_callback_states_from_checkpoint": False,
    "debug": None,
}
# sentence-transformers' own training-argument fields, which its ``to_dict()`` lists after Hugging Face's
ST_OWN_FIELDS = (
    "prompts",
    "batch_sampler",
    "multi_dataset_batch_sampler",
    "router_mapping",
    "learning_rate_mapping",
    "warmup_ratio",
)


@functools.cache
def to_dict_keys() -> tuple[str, ...]:
    """The keys of sentence-transformers' ``to_dict()`` in its order: the installed transformers'
    ``TrainingArguments`` fields, then its own (transformers 4's ``logging_dir``, ``overwrite_output_dir`` and
    ``save_safetensors``, which sbert accepts, are not among transformers 5's)."""
    from transformers import TrainingArguments

    return tuple(dict.fromkeys([*(f.name for f in dataclasses.fields(TrainingArguments)), *ST_OWN_FIELDS]))


# Hugging Face's serialized AcceleratorConfig at its defaults (sbert runs those: accelerator_config=None)
ACCELERATOR_DEFAULTS = {
    "split_batches": False,
    "dispatch_batches": None,
    "even_batches": True,
    "use_seedable_sampler": True,
    "non_blocking": False,
    "gradient_accumulation_kwargs": None,
}
# Why a value other than the default cannot run, where there is more to say than that sbert lacks it.
UNSUPPORTED_BECAUSE = {
    "neftune_noise_alpha": "sentence-transformers' trainer fails on it as well: it hooks the input "
    "embeddings through model.get_input_embeddings(), which a SentenceTransformer lacks",
    "deepspeed": "sbert trains on one process or with torchrun's DDP (see sbert.distributed), without "
    "DeepSpeed",
    "fsdp": "sbert trains on one process or with torchrun's DDP (see sbert.distributed), without FSDP",
    "push_to_hub": "call model.push_to_hub(...) after training",
}
# Mapped onto sbert's fields of the same names and values.
SAME_NAMES = ("optim_args", *RUN_SETTINGS)
_TRANSFORMERS_4_ONLY = ("logging_dir", "overwrite_output_dir", "save_safetensors")
NEVER = 10**9  # a logging interval no run reaches (logging_strategy="no")
# Each argument's type as Hugging Face's HfArgumentParser reads it (``--name value`` on a command line);
# the rest are str. A dict argument is given as a JSON string there.
_OPT_INT, _OPT_FLOAT, _OPT_BOOL, _OPT_STR = int | None, float | None, bool | None, str | None
ARGUMENT_TYPES: dict[str, Any] = {
    **dict.fromkeys(("per_device_train_batch_size", "per_device_eval_batch_size", "max_steps", "seed"), int),
    **dict.fromkeys(
        ("gradient_accumulation_steps", "dataloader_num_workers", "local_rank", "ddp_timeout"), int
    ),
    **dict.fromkeys(
        ("save_total_limit", "dataloader_prefetch_factor", "data_seed", "eval_accumulation_steps"), _OPT_INT
    ),
    **dict.fromkeys(
        ("num_train_epochs", "learning_rate", "weight_decay", "warmup_steps", "max_grad_norm"), float
    ),
    **dict.fromkeys(("save_steps", "logging_steps", "adam_beta1", "adam_beta2", "adam_epsilon"), float),
    **dict.fromkeys(("label_smoothing_factor", "eval_delay"), float),
    "neftune_noise_alpha": _OPT_FLOAT,
    **dict.fromkeys(("torch_empty_cache_steps", "ddp_bucket_cap_mb"), _OPT_INT),
    **dict.fromkeys(("warmup_ratio", "eval_steps"), _OPT_FLOAT),
    **dict.fromkeys(
        (
            "gradient_checkpointing",
            "fp16",
            "bf16",
            "logging_first_step",
            "load_best_model_at_end",
            "dataloader_drop_last",
            "average_tokens_across_devices",
            "dataloader_pin_memory",
            "dataloader_persistent_workers",
            "use_cpu",
            "do_train",
            "do_eval",
            "do_predict",
            "overwrite_output_dir",
            "save_safetensors",
            "remove_unused_columns",
            "prediction_loss_only",
            "full_determinism",
            "eval_on_start",
            "torch_compile",
            "push_to_hub",
            "save_only_model",
            "eval_do_concat_batches",
            "eval_use_gather_object",
            "batch_eval_metrics",
            "dataloader_in_order",
            "log_on_each_node",
            "logging_nan_inf_filter",
            "hub_always_push",
            "save_on_each_node",
            "skip_memory_metrics",
            "use_cache",
            "auto_find_batch_size",
            "ddp_broadcast_buffers",
            "use_liger_kernel",
            "bf16_full_eval",
            "fp16_full_eval",
            "enable_jit_checkpoint",
            "ignore_data_skip",
            "restore_callback_states_from_checkpoint",
        ),
        bool,
    ),
    **dict.fromkeys(
        (
            "greater_is_better",
            "disable_tqdm",
            "ddp_find_unused_parameters",
            "hub_private_repo",
            "tf32",
            "activation_checkpointing",
            "ddp_static_graph",
        ),
        _OPT_BOOL,
    ),
    **dict.fromkeys(
        (
            "output_dir",
            "metric_for_best_model",
            "run_name",
            "logging_dir",
            "resume_from_checkpoint",
            "hub_model_id",
            "optim_args",
            "report_to",
            "prompts",
            "router_mapping",
            "learning_rate_mapping",
            "lr_scheduler_kwargs",
            "gradient_checkpointing_kwargs",
            "activation_checkpointing_kwargs",
            "deepspeed",
            "fsdp",
            "torch_compile_backend",
            "torch_compile_mode",
        ),
        _OPT_STR,
    ),
    **dict.fromkeys(("include_for_metrics", "debug"), list[str] | None),
    "batch_sampler": BatchSamplers,
    "multi_dataset_batch_sampler": MultiDatasetBatchSamplers,
}


class SentenceTransformerTrainingArguments(HuggingFaceArguments):
    """sentence-transformers' / Hugging Face's training arguments, by their names and with their defaults.

    ``output_dir`` (default ``"trainer_output"``) and the keywords below; the values are kept under their
    names (``args.per_device_train_batch_size``), and :meth:`to_sbert` gives sbert's
    :class:`TrainingArguments`.

    Mapped: ``per_device_train_batch_size`` (8), ``num_train_epochs`` (3.0; a fraction runs that share of the
    last epoch's steps), ``max_steps`` (-1: none; else the run's length, whatever the epochs),
    ``learning_rate`` (5e-5), ``weight_decay`` (0.0), ``warmup_steps`` (0; a float below 1 is a share of the
    steps, as in transformers 5), ``warmup_ratio`` (None: as ``warmup_steps`` as a share),
    ``lr_scheduler_type``, ``optim``, ``max_grad_norm`` (1.0; 0: no clipping), ``seed`` (42),
    ``gradient_accumulation_steps``, ``gradient_checkpointing``, ``fp16`` / ``bf16`` (``precision``),
    ``eval_strategy`` (``"no"``, ``"steps"``, ``"epoch"``) and ``eval_steps`` (default ``logging_steps``),
    ``save_strategy`` (``"no"``, ``"steps"``, ``"epoch"``), ``save_steps`` (500), ``save_total_limit``,
    ``logging_strategy``, ``logging_first_step``, ``eval_on_start``, ``logging_steps`` (500; a float below 1
    in ``*_steps`` is a share of the run's steps), ``report_to`` (``"none"``, ``"tensorboard"``, ``"all"``),
    ``load_best_model_at_end``, ``metric_for_best_model`` (any evaluation metric, ``eval_`` prefix optional;
    set to ``"loss"`` when ``load_best_model_at_end`` is set, or ``lr_scheduler_type`` is
    ``"reduce_lr_on_plateau"`` or ``"greedy"``, without it, as Hugging Face's arguments do),
    ``greater_is_better`` (set from the metric's name: False for one ending in ``loss``), ``batch_sampler`` /
    ``multi_dataset_batch_sampler`` (sentence-transformers' enums, sbert's or their values, or a sampler
    class or function), ``prompts``,
    ``router_mapping``, ``learning_rate_mapping`` (parameter-name patterns to learning rates),
    ``disable_tqdm``, ``resume_from_checkpoint``, ``per_device_eval_batch_size`` (``trainer.evaluate``'s
    loss batches), ``adam_beta1`` / ``adam_beta2`` / ``adam_epsilon``, ``dataloader_drop_last``,
    ``lr_scheduler_kwargs`` (each schedule's options, as sbert's ``TrainingArguments`` lists them),
    ``data_seed``,
    ``gradient_checkpointing_kwargs`` (and sentence-transformers 6's ``activation_checkpointing`` /
    ``activation_checkpointing_kwargs``, which win when given), ``optim_args`` (SGD's ``momentum``,
    ``dampening``, ``nesterov``; the other optimizers ignore them, as there), ``eval_delay``,
    ``save_only_model`` (checkpoints without optimizer, schedule or random state: no run resumes from them),
    ``full_determinism``, ``torch_compile`` / ``torch_compile_backend`` / ``torch_compile_mode`` (the
    losses run the compiled model), ``tf32`` (set when the arguments are made, as there: ``True`` needs an
    Ampere or newer GPU, an InputError elsewhere as sentence-transformers' ValueError).

    Accepted and ignored: ``dataloader_num_workers``, ``dataloader_pin_memory``,
    ``dataloader_persistent_workers``, ``dataloader_prefetch_factor``, ``dataloader_multiprocessing_context``,
    ``dataloader_in_order`` (sbert tokenizes in the training loop), ``train_sampling_strategy``,
    ``length_column_name`` (the batch sampler orders the data, there too), ``label_smoothing_factor``
    (Hugging Face applies it in the ``compute_loss`` that sentence-transformers replaces: the same weights
    with any value), ``include_for_metrics``, ``eval_do_concat_batches``, ``eval_use_gather_object``,
    ``batch_eval_metrics`` (for ``compute_metrics``, which the trainer does not run), ``use_cpu`` (the
    model's device is used), ``run_name``, ``logging_dir``, ``do_train`` / ``do_eval`` / ``do_predict``,
    ``overwrite_output_dir``, ``save_safetensors``, ``log_level``, ``log_level_replica``,
    ``log_on_each_node``, ``logging_nan_inf_filter``, ``project``, ``trackio_space_id``,
    ``trackio_bucket_id``, ``trackio_static_space_id``, ``remove_unused_columns``, ``prediction_loss_only``,
    ``ddp_find_unused_parameters``, ``ddp_timeout``, ``ddp_bucket_cap_mb``, ``ddp_broadcast_buffers``,
    ``ddp_static_graph``, ``ddp_backend``, ``local_rank``, ``save_on_each_node``, ``hub_private_repo``,
    ``hub_strategy``, ``hub_token``, ``hub_always_push``, ``hub_revision``, ``eval_accumulation_steps``
    (the prediction loop's memory only), ``label_names``, ``average_tokens_across_devices``,
    ``skip_memory_metrics`` (no memory metrics are reported), ``torch_empty_cache_steps``, ``use_cache``,
    ``auto_find_batch_size`` (a run that runs out of memory fails; it is not retried with smaller batches),
    ``hub_model_id`` (without ``push_to_hub``: the trainer makes it the model card's ``model_id`` where the
    card has none, as sentence-transformers' does).

    Honoured at their default only (another value is an InputError): ``neftune_noise_alpha``
    (sentence-transformers' trainer fails on it too: a SentenceTransformer has no
    ``get_input_embeddings``), ``push_to_hub``, ``deepspeed``, ``fsdp``, ``fsdp_config``,
    ``accelerator_config``, ``parallelism_config``, ``optim_target_modules``, ``use_liger_kernel``,
    ``liger_kernel_config``, ``bf16_full_eval``, ``fp16_full_eval``, ``include_num_input_tokens_seen``,
    ``enable_jit_checkpoint``, ``ignore_data_skip``, ``restore_callback_states_from_checkpoint``,
    ``debug``. Any other name is an InputError.

    It is a dataclass of these fields, so ``HfArgumentParser`` builds it from a command line (a dict
    argument, ``--prompts``, ``--router_mapping``, as a JSON string), as it builds sentence-transformers'.

    As sentence-transformers' trainer, sbert's draws no training curve and saves no ``final`` model here
    (call ``model.save`` as with sentence-transformers), runs no evaluation after the last step, and with
    ``load_best_model_at_end`` ends with the weights of the best checkpoint (``best_model_checkpoint``).
    """

    def __init__(self, output_dir: str | None = None, **kwargs: Any) -> None:
        known = {**MAPPED, **IGNORED, **DEFAULT_ONLY}
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            raise InputError(
                f"{type(self).__name__} got {unknown}, which sbert does not know; see its docstring for the "
                "arguments it maps, ignores or takes at their default only."
            )
        if accelerator_at_defaults(kwargs.get("accelerator_config")):
            kwargs["accelerator_config"] = None  # Hugging Face's settings at their defaults: what sbert runs
        for name, default in DEFAULT_ONLY.items():
            value = kwargs.get(name, default)
            if value != default and not (default is None and value in ({}, [], "")):
                because = f": {UNSUPPORTED_BECAUSE[name]}" if name in UNSUPPORTED_BECAUSE else ""
                raise InputError(
                    f"{name}={value!r} is not supported by sbert's trainer (it runs {name}={default!r})"
                    f"{because}; leave it at its default."
                )
        self.output_dir = str(output_dir) if output_dir is not None else "trainer_output"
        for name, default in known.items():
            setattr(self, name, kwargs.get(name, default))
        self._hf_post_init()
        self.to_sbert()  # every value checked now, not when training starts

    def __setattr__(self, name: str, value: Any) -> None:
        # counted, so a trainer given these arguments sees a value set after it was made (as Hugging Face's
        # trainer reads them when it trains)
        object.__setattr__(self, "_changes", self.__dict__.get("_changes", 0) + 1)
        super().__setattr__(name, value)

    @property
    def changes(self) -> int:
        """How many values were set on these arguments (made or changed since): a trainer compares it."""
        return self.__dict__.get("_changes", 0)

    def _hf_post_init(self) -> None:
        """What Hugging Face's and sentence-transformers' arguments derive from the values when made."""
        derive_as_hugging_face(self)
        if self.accelerator_config is None:  # held as Hugging Face's object, as there (callbacks read it)
            self.accelerator_config = default_accelerator_config()
        for name, kind in (
            ("batch_sampler", BatchSamplers),
            ("multi_dataset_batch_sampler", MultiDatasetBatchSamplers),
        ):
            # its enum, as sentence-transformers holds it (an unknown name: refused by to_sbert, naming all
            # that the argument takes)
            value = getattr(self, name)
            if isinstance(value, str) and value in {member.value for member in kind}:
                setattr(self, name, kind(value))
        for name in ("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs"):
            setattr(self, name, read_json(getattr(self, name), name, "a dict"))  # a command line's JSON
        # sentence-transformers 6's names win over the older ones, and then both hold the same values
        if self.activation_checkpointing is not None:
            self.gradient_checkpointing = self.activation_checkpointing
        if self.activation_checkpointing_kwargs is not None:
            self.gradient_checkpointing_kwargs = self.activation_checkpointing_kwargs
        self.activation_checkpointing = self.gradient_checkpointing
        self.activation_checkpointing_kwargs = self.gradient_checkpointing_kwargs
        if self.torch_compile_backend is not None or self.torch_compile_mode is not None:
            self.torch_compile = True
        if self.torch_compile and self.torch_compile_backend is None:
            self.torch_compile_backend = "inductor"
        run_settings.set_tf32(self.tf32, compile_model=self.torch_compile, fp16=self.fp16, bf16=self.bf16)
        if self.warmup_ratio is not None and not self.warmup_steps:  # transformers 5 reads the ratio so
            self.warmup_steps, self.warmup_ratio = self.warmup_ratio, None
            logging.getLogger(ST_TRAINING_ARGS).warning(  # its notice under transformers 5, in its words
                "The `warmup_ratio` argument is deprecated in Transformers v5+, and will also be removed "
                "from Sentence Transformers once support for Transformers v4 is dropped. Since you're using "
                "Transformers v5+, please use `warmup_steps` (as a float) to specify the warmup ratio "
                "instead."
            )
        if self.disable_tqdm is None:  # Hugging Face's rule: no bars when its logging is set above warnings
            from transformers.utils import logging as hf_logging

            level = hf_logging.get_logger("transformers.training_args").getEffectiveLevel()
            self.disable_tqdm = level > logging.WARN
        self.report_to = [] if self.report_to in ("none", None) else self.report_to
        if isinstance(self.prompts, str) and self.prompts.lstrip().startswith("{"):  # from a command line
            try:
                self.prompts = json.loads(self.prompts)
            except json.JSONDecodeError:
                pass  # a prompt for every column, as sentence-transformers takes a string that is no JSON
        # a JSON string read (as there, for command-line scripts); sentence-transformers' default {}
        self.learning_rate_mapping = read_learning_rate_mapping(self.learning_rate_mapping) or {}
        self.router_mapping = read_router_mapping(self.router_mapping) or {}
        schedule = self.strategy("lr_scheduler_type")
        plateau = schedule in METRIC_SCHEDULERS
        if plateau and self.strategy("eval_strategy") == "no":  # it steps on the evaluations' metric
            raise InputError(f"lr_scheduler_type {schedule} requires an eval strategy")
        if (self.load_best_model_at_end or plateau) and self.metric_for_best_model is None:  # Hugging Face's
            self.metric_for_best_model = "loss"
        if self.greater_is_better is None and self.metric_for_best_model is not None:
            self.greater_is_better = not self.metric_for_best_model.endswith("loss")
        _check_best_model_saves(self)

    def __str__(self) -> str:
        """Hugging Face's form (scripts log it): every field by name in sorted order, one a line."""
        values = {k: v for k, v in dataclasses.asdict(self).items() if k not in _TRANSFORMERS_4_ONLY}
        values.update({name: f"<{name.upper()}>" for name in values if name.endswith("_token")})
        lines = "".join(f"{k}={v},\n" for k, v in sorted(values.items()))
        return f"{type(self).__name__}(\n{lines})"

    def __repr__(self) -> str:
        """The dataclass form sentence-transformers' arguments show: the fields in its order, as values."""
        order = to_dict_keys()
        names = [f.name for f in dataclasses.fields(self) if f.repr and f.name not in _TRANSFORMERS_4_ONLY]
        names = [n for n in order if n in names] + [n for n in names if n not in order]
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in names)})"

    def to_dict(self) -> dict[str, Any]:
        """The arguments by name as Hugging Face's ``to_dict`` gives them (the model card lists them): its
        keys in its order (a subclass's own after them), enums as their values, tokens hidden, the lists and
        accelerator settings its ``__post_init__`` fills in, ``do_eval`` on with an eval strategy and no
        pinned memory on the CPU; a batch sampler given as a callable is left out, as sentence-transformers
        leaves it out (it is no JSON value)."""
        names = ["output_dir", *MAPPED, *IGNORED, *DEFAULT_ONLY]
        order = to_dict_keys()
        names = [n for n in order if n in names] + [n for n in names if n not in order]
        values = {name: getattr(self, name) for name in names if name not in _TRANSFORMERS_4_ONLY}
        samplers = ("batch_sampler", "multi_dataset_batch_sampler")
        values = {k: v for k, v in values.items() if not (k in samplers and callable(v))}
        values = {name: v.value if isinstance(v, Enum) else v for name, v in values.items()}
        values.update({name: f"<{name.upper()}>" for name in values if name.endswith("_token")})
        values.update({name: values[name] or [] for name in ("include_for_metrics", "debug")})
        config = values["accelerator_config"]
        values["accelerator_config"] = dict(ACCELERATOR_DEFAULTS) if config is None else config.to_dict()
        values["do_eval"] = values["do_eval"] or self.strategy("eval_strategy") != "no"
        values["dataloader_pin_memory"] = values["dataloader_pin_memory"] and not self.use_cpu
        return values

    @property
    def global_train_batch_size(self) -> int:
        """sbert's batch, the global one that torchrun's processes share out: Hugging Face's batch size is
        per process, so each process takes ``per_device_train_batch_size`` rows a step, as there."""
        return self.per_device_train_batch_size * launch_world_size()

    def total_steps(self, steps_per_epoch: int) -> int:
        """The optimizer steps of the run, as Hugging Face's trainer counts them."""
        if self.max_steps > 0:
            return int(self.max_steps)
        return max(1, math.ceil(self.num_train_epochs * steps_per_epoch))

    def to_sbert(self, steps_per_epoch: int | None = None) -> TrainingArguments:
        """sbert's arguments for this run; the lengths given as shares of the run (``num_train_epochs`` with a
        fraction, ``*_steps`` below 1) need ``steps_per_epoch`` and are provisional without it."""
        total = self.total_steps(steps_per_epoch) if steps_per_epoch else None
        if total is not None:
            epochs = max(1, math.ceil(total / steps_per_epoch))
            max_steps = total if total != epochs * steps_per_epoch else None
        else:
            epochs, max_steps = max(1, math.ceil(self.num_train_epochs)), None
        if self.fp16 and self.bf16:
            raise InputError("fp16=True and bf16=True: choose one.")
        warmup_ratio, warmup_steps = (
            (0.0, int(self.warmup_steps)) if self.warmup_steps >= 1 else (float(self.warmup_steps), None)
        )
        return TrainingArguments(
            output_dir=self.output_dir,
            epochs=epochs,
            max_steps=max_steps,
            batch_size=self.global_train_batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            adam_beta1=self.adam_beta1,
            adam_beta2=self.adam_beta2,
            adam_epsilon=self.adam_epsilon,
            drop_last=self.dataloader_drop_last,
            warmup_ratio=warmup_ratio,
            warmup_steps=warmup_steps,
            lr_scheduler_type=self.lr_scheduler_type,
            lr_scheduler_kwargs=self.lr_scheduler_kwargs,
            optim=self.optim,
            max_grad_norm=self.max_grad_norm or None,
            seed=self.seed,
            data_seed=self.data_seed,
            gradient_accumulation_steps=self.gradient_accumulation_steps,
            gradient_checkpointing=self.gradient_checkpointing,
            **{name: getattr(self, name) for name in SAME_NAMES},
            precision="fp16" if self.fp16 else "bf16" if self.bf16 else "fp32",
            **self._intervals(total, steps_per_epoch),
            # 0 or below: no limit, as Hugging Face's trainer reads it
            save_total_limit=self.save_total_limit if (self.save_total_limit or 0) > 0 else None,
            load_best_model_at_end=self.load_best_model_at_end,
            metric_for_best_model=self.metric_for_best_model,
            greater_is_better=self.greater_is_better,
            report_to=self.report_to,
            batch_sampler=self.batch_sampler,
            multi_dataset_batch_sampler=self.multi_dataset_batch_sampler,
            prompts=self.prompts,
            router_mapping=self.router_mapping or None,
            learning_rate_mapping=self.learning_rate_mapping,
            show_progress_bar=not self.disable_tqdm,
            logging_first_step=self.logging_first_step,
            eval_on_start=self.eval_on_start,
            plot=False,
            save_final_model=False,
            log_last_steps=False,  # Hugging Face's trainer logs the loss at logging steps only
        )

    def _intervals(self, total: int | None, per_epoch: int | None) -> dict[str, Any]:
        """``logging_steps``, ``eval_steps`` and ``save_steps`` of sbert from the strategies and steps."""

        def steps(name: str, value: float) -> int:
            if not (isinstance(value, (int, float)) and value > 0):
                raise InputError(f"{name} must be a positive number, got {value!r}")
            return int(value) if value >= 1 else math.ceil(value * total) if total else 1

        strategies = {}
        for name in ("logging_strategy", "eval_strategy", "save_strategy"):
            strategies[name] = self.strategy(name)
            allowed = ("no", "steps", "epoch")
            if strategies[name] not in allowed:
                raise InputError(
                    f"{name} must be one of {list(allowed)} in sbert, got {getattr(self, name)!r}"
                )
        # "epoch": logged at each epoch's end, after on_epoch_end (the trainer's log_each_epoch)
        logging = {"no": NEVER, "epoch": NEVER}.get(strategies["logging_strategy"])
        logging = logging or steps("logging_steps", self.logging_steps)
        evaluating = strategies["eval_strategy"] == "steps"
        saving = {"no": 0, "epoch": None}.get(strategies["save_strategy"], -1)
        return {
            "logging_steps": logging,
            "eval_steps": steps("eval_steps", self.eval_steps or self.logging_steps) if evaluating else None,
            "save_steps": steps("save_steps", self.save_steps) if saving == -1 else saving,
        }

    def strategy(self, name: str) -> str:
        """A ``*_strategy`` (or ``*_type``) argument as its lowercase name (an enum member or a string
        given)."""
        value = getattr(self, name)
        return str(value.value if isinstance(value, Enum) else value).lower()

    @property
    def evaluates(self) -> bool:
        """Whether the run evaluates while it trains (``eval_strategy`` other than ``"no"``)."""
        return self.strategy("eval_strategy") != "no"


def _as_dataclass(cls: type) -> type:
    """``cls`` with a dataclass field per argument (its type and default), its own ``__init__`` kept, so
    Hugging Face's ``HfArgumentParser((SentenceTransformerTrainingArguments, ...))`` builds it from a command
    line as it builds sentence-transformers' (a dataclass there)."""
    defaults = {"output_dir": None, **MAPPED, **IGNORED, **DEFAULT_ONLY}
    cls.__annotations__ = {name: ARGUMENT_TYPES.get(name, str) for name in defaults}
    for name, default in defaults.items():
        setattr(cls, name, default)
    # eq: compared field by field (and so unhashable), as sentence-transformers' dataclass is
    return dataclasses.dataclass(init=False, repr=False, eq=True)(cls)


SentenceTransformerTrainingArguments = _as_dataclass(SentenceTransformerTrainingArguments)


class TrainOutput(NamedTuple):
    """What ``trainer.train()`` returns, as Hugging Face's: the steps, the mean loss and a few metrics."""

    global_step: int
    training_loss: float
    metrics: dict[str, float]


class SentenceTransformerTrainer(
    HuggingFaceHooks, HuggingFaceBar, HuggingFaceMethods, HuggingFaceData, HubMethods, Trainer
):
    """sentence-transformers' trainer, by its keywords: sbert's :class:`Trainer` underneath.

    Args:
        model: a SentenceTransformer on the torch backend in fp32 (or None, with ``model_init``).
        args: :class:`SentenceTransformerTrainingArguments` (default: its defaults, ``output_dir``
            ``"tmp_trainer"``).
        train_dataset: a ``datasets.Dataset``, a ``DatasetDict`` or a dict name -> ``Dataset`` (or anything
            :func:`sbert.load_dataset` reads, or a :class:`TextDataset`): the label is the first of the
            columns ``label``, ``labels``, ``score``, ``scores``; the other columns are the texts, in order.
        eval_dataset: the same kinds; its mean loss is ``eval_loss`` (``eval_<name>_loss`` for each of
            several) at each evaluation and in :meth:`evaluate`.
        loss: a loss, a function model -> loss, or a dict dataset name -> either; default ``CoSENTLoss``.
        evaluator: an evaluator or a list of them (run one after the other; the first one's primary metric
            picks the best checkpoint).
        callbacks: ``transformers.TrainerCallback`` s or sbert callbacks (``on_step``, ``on_evaluate``,
            ``on_save``).

    With ``data_collator`` (sentence-transformers' ``SentenceTransformerDataCollator``,
    ``SparseEncoderDataCollator``, ``CrossEncoderDataCollator``, a subclass or any callable rows -> batch
    dict), each batch's rows go through it as there (:mod:`sbert._training.collate`): it then applies the
    prompts and router mapping it was given, not the arguments'. Without it, the trainer builds the same
    batches itself. ``compute_metrics`` and ``preprocess_logits_for_metrics`` are accepted and unused, as
    there (the losses return no logits); ``processing_class`` is accepted as the model's own tokenizer (the
    one the trainer uses). ``model_init`` (a function of no argument, or of a trial, which gets None) makes
    the model when ``model`` is None, and a fresh one for each :meth:`train`, made after seeding with
    ``args.seed`` and put in place of the old one inside the losses, as Hugging Face's trainer does
    (:mod:`sbert._training.model_init`); ``hyperparameter_search`` is not supported. ``optimizers`` and
    ``optimizer_cls_and_kwargs`` (and another ``processing_class``) are accepted at their defaults only
    (an :class:`InputError` names them otherwise). The parameters come in sentence-transformers' order, so
    a positional call binds as there.

    Made with neither ``train_dataset`` nor ``eval_dataset``, :meth:`train` refuses and :meth:`evaluate`
    runs the evaluator (or the loss on the ``eval_dataset`` it is given), else refuses, with
    sentence-transformers' ValueErrors. After :meth:`train`, ``trainer.state``
    has ``global_step``, ``epoch``, ``log_history`` (the records of ``metrics.jsonl``, evaluation metrics
    prefixed ``eval_`` as Hugging Face's trainer logs them), ``best_metric``.

    A streamed dataset (an ``IterableDataset``) trains as there: it needs ``max_steps``, its rows come in
    the stream's order, cut into batches (no batch sampler), one pass an epoch (``set_epoch`` before each,
    so a ``shuffle``'d stream reshuffles); sbert reads those passes into memory first
    (:mod:`sbert._training.streams`). An eval stream is read whole and evaluated in order. A dict of
    datasets with a stream among them trains as there neither (an ``InputError``, a ``ValueError``).

    :meth:`get_batch_sampler` and :meth:`get_multi_dataset_batch_sampler` make the batch samplers from the
    arguments as there; a subclass that overrides one has its samplers used for training.
    """

    args_class: type = SentenceTransformerTrainingArguments
    collator_class: type = SentenceTransformerDataCollator  # data_collator's class when none is given
    idle: Callbacks | None = None  # the callbacks' handler between runs (see idle_callbacks)
    start_evaluator: Any = None  # the evaluator (and eval loss) eval_on_start runs (see evaluation_at_start)
    preparation_timed = False  # evaluated before any run: Hugging Face's model_preparation_time is logged
    model_card_data_class: type = SentenceTransformerModelCardData
    batches_call_preprocess: bool = False  # whether the trainer's own batches call model.preprocess
    checks_end_after_step = True  # Hugging Face's loop: a train() resumed at max_steps takes a step
    length_groups_with_dropout = False  # sentence-transformers' forwards, so a seed gives its dropout masks

    @property
    def training_args_class(self) -> type:  # sentence-transformers' names of the two above
        return self.args_class

    @property
    def data_collator_class(self) -> type:
        return self.collator_class

    def __init__(
        self,
        model: Any = None,
        args: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        loss: Any = None,
        evaluator: Any = None,
        data_collator: Any = None,
        processing_class: Any = None,
        model_init: Any = None,
        compute_metrics: Any = None,
        callbacks: Any = None,
        optimizers: Any = (None, None),
        optimizer_cls_and_kwargs: Any = None,
        preprocess_logits_for_metrics: Any = None,
        **unsupported: Any,
    ) -> None:
        self._user_collator = data_collator
        self.model_init = model_init
        if processing_class is not None and processing_class is getattr(model, "tokenizer", None):
            processing_class = None  # the model's own tokenizer: what the trainer uses anyway, as there
        unsupported.update(
            processing_class=processing_class,
            compute_metrics=compute_metrics,
            optimizers=optimizers,
            optimizer_cls_and_kwargs=optimizer_cls_and_kwargs,
            preprocess_logits_for_metrics=preprocess_logits_for_metrics,
        )
        _refuse(unsupported, type(self).__name__)
        if args is None:
            logging.getLogger(ST_TRAINER).info(
                f"No `args` passed, using `{self.args_class.__name__}(output_dir=tmp_trainer)`."
            )
            args = self.args_class("tmp_trainer")
        if not isinstance(args, SentenceTransformerTrainingArguments):
            raise InputError(f"args must be {self.args_class.__name__}, got {type(args).__name__}")
        # Hugging Face's trainer seeds as it is made (then makes model_init's model), not as a run starts:
        # what draws from the generators in between (an evaluate(), a loss made later) shows in the run
        seed_everything(args.seed)
        if args.full_determinism:
            run_settings.enable_full_determinism()
        model = self._initial_model(model)
        # a dict of datasets is kept as the DatasetDict sentence-transformers' trainer makes of it
        train_dataset, eval_dataset = as_dataset_dict(train_dataset), as_dataset_dict(eval_dataset)
        self._device_type = torch.device(model.device).type if hasattr(model, "device") else "cpu"
        if callable(getattr(model, "parameters", None)):
            model.parameters()  # a model that backend "auto" put on ONNX moves to its torch modules to train
        self._setup(model, args, train_dataset, eval_dataset, loss, evaluator)
        self.callbacks = [c() if isinstance(c, type) else c for c in callbacks or []]
        self.callback_handler = CallbackHandler(self)
        self.state, self.ran, self.run_logs = TrainState(0, 0, [], None, None), False, []
        self.loaders: dict[str, Any] = {}  # the callbacks' train_dataloader and eval_dataloader of a run
        self.loss_part_keys: set[str] = set()  # the eval loss's named parts (SpladeLoss) met so far
        # Hugging Face's trainer calls its callbacks' on_init_end as it is made, before any run
        self.idle = Callbacks(
            self.callbacks,
            args,
            0,
            event_kwargs=self.callback_kwargs,
            dispatch=self.callback_handler.dispatch,
        )
        self.idle_callbacks().init_end()
        # then its model-card callback picks widget examples, drawing from `random` after the seeding
        draw_widget_examples(self.model, train_dataset, eval_dataset)
        self._route_batches_to_compute_loss()
        # last, as there: the user's DatasetDicts get their lazy dataset_name column (sbert names its own
        # batches; this only leaves the user's objects as sentence-transformers leaves them)
        for data in (train_dataset, eval_dataset):
            name_datasets(data, args, self.loss)

    def _setup(
        self, model: Any, args: Any, train_dataset: Any, eval_dataset: Any, loss: Any, evaluator: Any
    ) -> None:
        """What the trainer derives from its model, arguments, data and loss: as it is made, and again before
        a run or an evaluation where a user changed them since (Hugging Face's trainer reads ``args``,
        ``train_dataset``, ``eval_dataset`` and ``loss`` when it trains: setfit sets them on a trainer made
        without data)."""
        self.__dict__["_building"] = True
        callbacks = self.__dict__.get("callbacks")
        collator = self._user_collator
        self.collate = self.training_refusal = self.evaluator = None  # (a setup before this one's)
        # Without a train_dataset the trainer only evaluates (train() refuses, as Hugging Face's): the eval
        # data stands in where the trainer sets itself up from its training data.
        self.trains = train_dataset is not None
        for what, given in (("train_dataset", train_dataset), ("eval_dataset", eval_dataset)):
            check_features(given, what)
        steps = _stream_steps(args, train_dataset)
        if isinstance(train_dataset, Mapping) and steps is not None:
            self.training_refusal = IN_A_DICT  # as there, when training starts
        # the label column: the first of these a dataset has (a data collator's own, where it names them)
        self.label_columns = tuple(getattr(collator, "valid_label_columns", LABEL_COLUMNS))
        self.eval_data = self._text_data(eval_dataset, "eval_dataset") if eval_dataset is not None else None
        data = self._text_data(train_dataset, "train_dataset", steps) if self.trains else self.eval_data
        losses = self._losses(model, loss, data)
        evaluator = SequentialEvaluator(evaluator) if isinstance(evaluator, (list, tuple)) else evaluator
        if args.evaluates and evaluator is None and self.eval_data is None:
            raise nothing_to_evaluate(args.eval_strategy, type(self).__name__)
        self.st_args, self.user_evaluator = args, evaluator
        self.log_each_epoch = args.strategy("logging_strategy") == "epoch"
        _check_best_metric(args, self.eval_data is not None)
        # without data (evaluate() with an evaluator, or given an eval_dataset) the loss waits for data
        trained = {n: losses[n] for n in data} if isinstance(losses, Mapping) and data is not None else losses
        super().__init__(
            model, {} if data is None else data, {} if data is None else trained, args=self._sbert_args(args)
        )
        # loss: as sentence-transformers' trainer.loss, the loss or a dict dataset name -> loss, a user's own
        # loss as given; loss_spec: the same as sbert's trainer runs them
        self.loss_spec = _on_device(losses, self.device)
        self.loss = as_given(losses)
        self.eval_losses = self.losses_for(self.eval_data, losses) if self.eval_data is not None else {}
        # the lengths given as shares of the run, now that the steps of an epoch are known
        self.run_args = self._sbert_args(args, self.steps_per_epoch(0) if data is not None else None)
        if collator is not None:
            self.collate = _collate(collator, self, train_dataset, eval_dataset, losses)
        elif self._preprocess_collates(model, losses):  # a user's preprocess gets each batch, as there
            self.collate = _collate(self.data_collator, self, train_dataset, eval_dataset, losses)
        _name_card(model, getattr(args, "hub_model_id", None))
        # sentence-transformers' model card callback records the data and losses as the trainer is made
        record_trainer_start(self.model, train_dataset, eval_dataset, self.loss_spec, args.router_mapping)
        self._given = (train_dataset, eval_dataset, losses)  # for the collated batches of hf_collate
        evaluators = [e for e in (evaluator, _EvalLoss(self) if self.eval_data else None) if e is not None]
        self.start_evaluator = None
        if evaluators:  # (eval_strategy="no": for evaluate() and eval_on_start, see evaluation_at_start)
            self.start_evaluator = evaluators[0] if len(evaluators) == 1 else _WithEvalLoss(*evaluators)
            self.evaluator = self.start_evaluator if args.evaluates else None
        self.train_dataset, self.eval_dataset = train_dataset, eval_dataset
        if callbacks is not None:  # (the base trainer's setup starts a list of its own)
            self.callbacks = callbacks
            self._route_batches_to_compute_loss()
        self._seen = (args, args.changes, train_dataset, eval_dataset, self.loss)
        self.__dict__["_building"] = False

    def follow_changes(self) -> None:
        """Set the trainer up again where its ``args`` (or a value in them), ``train_dataset``,
        ``eval_dataset`` or ``loss`` were replaced since it was set up, as Hugging Face's trainer reads them
        when it trains or evaluates; not during a run."""
        args, changes, train, evaluation, loss = self._seen
        current = (self.st_args, self.train_dataset, self.eval_dataset, self.loss)
        if self.current_run is not None or (
            all(a is b for a, b in zip(current, (args, train, evaluation, loss))) and args.changes == changes
        ):
            return
        self._setup(self.model, *current[:3], self.loss, self.user_evaluator)

    @property
    def args(self) -> Any:
        """The :class:`SentenceTransformerTrainingArguments` the trainer was given, as there (a value set on
        them, or new arguments set here, holds from the next :meth:`train` or :meth:`evaluate`); sbert's own
        arguments of the run are ``run_args``."""
        return self.st_args if self.st_args is not None else self.run_args

    @args.setter
    def args(self, value: Any) -> None:
        if isinstance(value, SentenceTransformerTrainingArguments):
            self.st_args = value
        else:
            self.run_args = value

    @property
    def callback_dispatch(self) -> Any:
        handler = self.__dict__.get("callback_handler")
        return handler.dispatch if handler is not None and self.st_args is not None else None

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if (
            name in (*USER_LOSS_METHODS, *HOOKS) and "_given" in self.__dict__
        ):  # trainer.compute_loss = f, once made
            self._route_batches_to_compute_loss()

    def _preprocess_collates(self, model: Any, losses: Any) -> bool:
        """Whether the batches go through this trainer's collator because a user replaced the model's
        ``preprocess`` (sentence-transformers' collator calls it, bound as the trainer is made); the trainer's
        own batches skip it. A cross-encoder loss forms its pairs from the texts either way."""
        if self.batches_call_preprocess or not overrides_preprocess(model):
            return False
        return not any(getattr(loss, "takes_texts", False) for loss in _each(losses))

    def _route_batches_to_compute_loss(self) -> None:
        """A user's ``compute_loss`` (or ``collect_features``), of a subclass or set on this trainer, gets
        the batches as sentence-transformers collates them."""
        if self.overrides_compute_loss():
            self.loss_batches = self.hf_collate()
            self.batch_loss = self._compute_batch_loss
        self.route_training_steps()

    def hf_collate(self) -> Collate:
        """The batches as sentence-transformers' trainer collates them: through the user's data collator, else
        this trainer's kind of collator."""
        return self.collate or _collate(self.data_collator, self, *self._given)

    def _compute_batch_loss(self, objective: int, rows: np.ndarray) -> tuple[Any, Any]:
        """The subclass's ``compute_loss`` on ``rows`` of training dataset ``objective``."""
        batch = self.loss_batches.batch(self.datasets[objective], rows, self.names[objective])
        return self.call_compute_loss(batch, evaluating=False)

    def dataset_prompts(self, prompts: Any, dataset: str | None, columns: list[str]) -> dict[str, str]:
        """Prompts keyed by dataset names for a dataset without one are refused when training starts, as
        sentence-transformers' data collator refuses them at the first batch (the trainer is made)."""
        try:
            return super().dataset_prompts(prompts, dataset, columns)
        except InputError as refusal:
            if self.st_args is None:
                raise
            self.training_refusal = self.training_refusal or str(refusal)
            return {}

    def _initial_model(self, model: Any) -> Any:
        """The model to start with: ``model``, else ``model_init``'s (made once seeded, as Hugging Face's
        trainer makes it; with both, ``train()`` replaces ``model`` with a fresh one, as there)."""
        if self.model_init is None:
            if model is None:
                name = type(self).__name__
                raise InputError(f"`{name}` requires either a `model` or `model_init` argument")
            return model
        if model is not None:
            logging.getLogger(ST_TRAINER).warning(
                f"`{type(self).__name__}` requires either a `model` or `model_init` argument, but not both. "
                "`model_init` will overwrite your model when calling the `train` method."
            )
            return model
        return call_model_init(self.model_init)

    def seed_run(self) -> None:
        """Nothing: the trainer seeded as it was made and a run goes on from the generators' state, as
        Hugging Face's (which seeds again in ``train()`` only to make model_init's model: _fresh_model)."""

    def _fresh_model(self) -> None:
        """A new model from ``model_init`` for a run, made after seeding as there, in place of the old one
        everywhere the trainer and its losses hold it; the losses' own weights stay, as there."""
        seed_everything(self.st_args.seed)
        self.optimizer = self.lr_scheduler = (
            None  # made for the old model's weights, as Hugging Face drops them
        )
        model = call_model_init(self.model_init)
        check_trainable(model)
        for loss in _each(self.loss):  # the user's losses through this method, as there
            if hasattr(loss, "model"):
                self.override_model_in_loss(loss, model)
        swap_model(self.losses, self.model, model)  # and sbert's wrappers of them
        self.model, self.device = model, torch.device(model.device)
        _on_device(self.loss, self.device)
        self.prompt_lengths = [self._prompt_lengths(p, t) for p, t in zip(self.prompts, self.tasks)]
        if self._user_collator is None and self._preprocess_collates(model, self.loss_spec):
            self.collate = _collate(self.data_collator, self, *self._given)  # the new model's preprocess
        _name_card(model, getattr(self.st_args, "hub_model_id", None))

    def callback_setup(self, total: int) -> tuple[Any, dict[str, Any], Any]:
        """Hugging Face callbacks get sentence-transformers' arguments and Hugging Face's state fields."""
        if self.st_args is None:  # sbert's own use of a subclass (CrossEncoder.fit): sbert's arguments
            return super().callback_setup(total)
        return self.st_args, self.run_numbers(total), self.callback_kwargs

    def callback_kwargs(self) -> dict[str, Any]:
        """The keywords of each callback event: the run's data loaders too (the training one from the run's
        start, the evaluation one from its first evaluation, as Hugging Face's trainer passes them)."""
        tokenizer = getattr(self.model, "tokenizer", None)
        if self.current_run is not None and self.trains and "train" not in self.loaders:
            self.loaders["train"] = self.get_train_dataloader()
        loaders = {"train_dataloader": self.loaders.get("train"), "eval_dataloader": self.loaders.get("eval")}
        kwargs = {**super().callback_kwargs(), "processing_class": tokenizer, **loaders}
        if self.current_run is None:  # between runs: the last run's schedule, which the trainer keeps
            kwargs["lr_scheduler"] = getattr(self, "lr_scheduler", None)
        return kwargs

    def epoch_progress(self, state: dict[str, Any]) -> float:
        """The epochs done as Hugging Face's trainer counts them (not rounded: the same float it logs)."""
        if self.st_args is None:
            return super().epoch_progress(state)
        if self.reads_a_stream() and state["step"]:
            return self.stream_progress(state["epoch"], state["batch_in_epoch"])
        epoch, batch = state["epoch"], state["batch_in_epoch"]
        if not batch and epoch and state["step"]:  # an epoch's end: as far as its steps went, as there
            epoch, batch = epoch - 1, self.stepped_batches(epoch - 1)
        if not batch:  # (before the first step: an int 0, as there)
            return super().epoch_progress(state)
        return epoch + batch / self.planned_batches(epoch)

    def planned_batches(self, epoch: int = 0) -> int:
        """The batch sampler's ``len``: Hugging Face's loop plans each epoch by its loader's, also where a
        no-duplicates sampler yields fewer batches (the run then ends short of its schedule)."""
        if self.st_args is None or self.loader_epochs is not None or self._plans is None:
            return super().planned_batches(epoch)
        return self._plans.promised(epoch)

    def steps_after(self, epoch: int, batches: int) -> bool:
        """Hugging Face's loop steps after a batch that completes ``gradient_accumulation_steps`` or ends
        the epoch by the loader's ``len``: where the sampler yields fewer batches, a last group of fewer
        than ``gradient_accumulation_steps`` ends without a step, its gradients and loss going into the
        next epoch's first step (or nowhere, after the last epoch)."""
        if self.st_args is None:
            return super().steps_after(epoch, batches)
        accumulate = self.run_args.gradient_accumulation_steps
        return batches % accumulate == 0 or batches >= self.planned_batches(epoch)

    def stepped_batches(self, epoch: int) -> int:
        """The batches of ``epoch`` up to its last optimizer step (all, unless :meth:`steps_after` leaves
        its last ones without one)."""
        batches = self.batches_per_epoch(epoch)
        return (
            batches
            if self.steps_after(epoch, batches)
            else batches - batches % self.run_args.gradient_accumulation_steps
        )

    def logged_learning_rate(self, run: Any) -> float:
        if self.st_args is None:
            return super().logged_learning_rate(run)
        return self.applied_learning_rate(run.state["step"])

    def evaluation_record(
        self, results: dict[str, float], seconds: float
    ) -> tuple[dict[str, float], dict[str, float]]:
        """An evaluation's metrics as Hugging Face's trainer logs them: ``eval_`` before each name, and the
        running time and speed; ``on_evaluate`` gets them without the loss's named parts, as there."""
        if self.st_args is None:
            return super().evaluation_record(results, seconds)
        return self._eval_record(results, seconds, self.eval_data, "eval")

    def _eval_record(
        self, results: dict[str, float], seconds: float, data: Any, prefix: str
    ) -> tuple[dict[str, float], dict[str, float]]:
        """:meth:`evaluation_record` of a pass over ``data``, its timings under ``prefix``."""
        if self.current_run is not None and "eval" not in self.loaders:
            self.loaders["eval"] = self.get_eval_dataloader()
        timings = {f"{prefix}_{k}": v for k, v in self.speed_metrics(data, seconds).items()}
        logged = {k if k.startswith("eval_") else f"eval_{k}": v for k, v in {**results, **timings}.items()}
        if self.preparation_timed:  # Hugging Face's evaluation loop adds it after the loss
            first = [k for k in logged if k == f"{prefix}_loss"]
            timed = {f"{prefix}_{k}": v for k, v in self.preparation_time().items()}
            logged = {**{k: logged[k] for k in first}, **timed, **logged}
        metrics = {k: v for k, v in logged.items() if k not in self.loss_part_keys}
        # the loss's parts come last, as sentence-transformers' log() adds them to Hugging Face's metrics
        return {**metrics, **{k: v for k, v in logged.items() if k in self.loss_part_keys}}, metrics

    def told_metrics(self, metrics: dict[str, float], record: dict[str, Any]) -> dict[str, Any]:
        """sentence-transformers' ``log()`` copies a record holding an eval loss before adding the epoch, and
        passes one without (an evaluator's alone) on in place: ``on_evaluate`` then gets the very dict
        ``on_log`` got, the epoch and what ``on_log`` callbacks added to it among the metrics (the SPLADE
        schedule's regularizer weights)."""
        if self.st_args is None or any(k.startswith("eval_") and k.endswith("_loss") for k in metrics):
            return super().told_metrics(metrics, record)
        return record

    def evaluates_on_start(self, run: Any) -> bool:
        """``eval_on_start`` evaluates as every ``train()`` starts, a resumed one too (at the checkpoint's
        step), as Hugging Face's trainer does."""
        return True

    def evaluation_at_start(self, run: Any) -> None:
        """``eval_on_start`` evaluates with ``eval_strategy="no"`` too, as Hugging Face's trainer: the
        evaluator and eval loss a run with evaluations would use, this once."""
        if self.evaluator is not None or self.start_evaluator is None:
            super().evaluation_at_start(run)
            return
        self.evaluator = self.start_evaluator
        try:
            super().evaluation_at_start(run)
        finally:
            self.evaluator = None

    def evaluator_where(self, step: int, epoch: float) -> dict[str, Any]:
        """The output folder, epoch and step, as sentence-transformers' trainer calls the evaluator: its
        heading names them and its CSV goes to ``<output_dir>/eval``."""
        if self.st_args is None:
            return super().evaluator_where(step, epoch)
        output_path = Path(self.st_args.output_dir) / "eval"
        if self.user_evaluator is not None:  # made for the evaluator's files, as there
            output_path.mkdir(parents=True, exist_ok=True)
        return {"output_path": str(output_path), "epoch": epoch, "steps": step}

    def checkpoint_saving(self, path: Any) -> None:
        # sentence-transformers' record (its checkpoints are named checkpoint-<step>)
        if self.st_args is not None:
            logging.getLogger(ST_TRAINER).info(f"Saving model checkpoint to {path}")

    @property
    def per_dataset_records(self) -> bool:
        """Whether a run's evaluation logs one record per eval dataset (:meth:`evaluation_records`): a dict
        of them, with their loss."""
        with_loss = isinstance(self.evaluator, (_EvalLoss, _WithEvalLoss))
        return self.st_args is not None and with_loss and isinstance(self.eval_data, Mapping)

    def evaluation_records(self, where: Any = None) -> Any:
        """A dict of eval datasets is evaluated one dataset after the other, each its own record (keys
        ``eval_<name>_loss``, ``eval_<name>_runtime``, ...), as Hugging Face's trainer; the evaluator runs
        with the first, its keys prefixed ``eval_`` only, as sentence-transformers' trainer runs it."""
        if not self.per_dataset_records:
            if self.st_args is not None and not self.overrides_hook("get_eval_dataloader"):
                draw_loader_seed()  # the eval loader's there (an empty one without an eval dataset)
            yield from super().evaluation_records(where)
            return
        evaluator = getattr(self.evaluator, "evaluator", None)  # the user's, beside the loss
        for i, (name, dataset) in enumerate(self.eval_data.items()):
            if not self.overrides_hook("get_eval_dataloader"):  # (a subclass's loader draws its own)
                draw_loader_seed()  # each dataset's eval loader there
            started = time.perf_counter()
            results = self.dataset_loss({name: dataset}, {name: self.eval_losses[name]}, "eval")
            if i == 0 and evaluator is not None:
                results.update(evaluator(self.model, **(where or {})))
            seconds = time.perf_counter() - started
            yield results, *self._eval_record(results, seconds, dataset, f"eval_{name}")

    def callback_best(self, state: dict[str, Any]) -> tuple[float | None, int | None]:
        """Hugging Face's trainer tracks a best metric only when one is named (or implied), and its step
        where checkpoints are saved."""
        if self.st_args is None:
            return super().callback_best(state)
        if self.st_args.metric_for_best_model is None:
            return None, None
        saves = self.st_args.strategy("save_strategy") != "no"
        return state["best_metric"], state["best_step"] if saves else None

    def console(self) -> str | None:
        """Each log record on the console, as Hugging Face's trainer shows it: above the training bar, or
        printed with ``disable_tqdm`` (sbert's own use of a subclass shows none)."""
        if self.st_args is None:
            return super().console()
        return PRINT if self.st_args.disable_tqdm else BAR

    def total_steps(self) -> int:
        """Hugging Face's ``max_steps`` where the epochs have no batch: its run starts, and stops at the first
        epoch's end (:meth:`empty_epoch`)."""
        total = super().total_steps()
        if total or self.st_args is None or self.st_args.max_steps <= 0:
            return total
        return int(self.st_args.max_steps)

    def empty_epoch(self, run: Any) -> None:
        """Hugging Face's warning where an epoch has no batch."""
        if self.st_args is not None:
            logging.getLogger(HF_TRAINER).warning(
                "There seems not to be a single sample in your epoch_iterator, stopping training at step"
                f" {run.state['step']}! This is expected if you're using an IterableDataset and set"
                f" num_steps ({run.total}) higher than the number of available samples."
            )

    def end_of_run(self, run: Any) -> None:
        """The run's summary, logged as Hugging Face's trainer logs it (callbacks' ``on_log``, the history);
        the optimizer and schedule stay the trainer's, as there."""
        self.run_callbacks = run.callbacks  # the handler of events after the run (idle_callbacks)
        if self.st_args is None:
            return
        self.optimizer, self.lr_scheduler = run.optimizer, run.scheduler
        steps = run.state["step"] - run.first_step
        seconds = max(time.perf_counter() - self.started, 1e-9)
        args = self.st_args
        if args.max_steps > 0:
            samples = args.max_steps * args.train_batch_size * args.gradient_accumulation_steps
        else:
            samples = sum(len(d) for d in self.datasets) * args.num_train_epochs
        samples *= steps / max(run.total, 1)  # the share of the run's steps taken now
        run.callbacks.store_flos()
        self.summary = {
            "train_runtime": round(seconds, 4),
            "train_samples_per_second": round(samples / seconds, 3),
            "train_steps_per_second": round(steps / seconds, 3),
            "total_flos": run.callbacks.state.total_flos,
            "train_loss": run.mean_loss_since_start(),
        }
        self.log(self.summary)
        best = run.callbacks.state  # Hugging Face's trainer says so after the summary
        if self.st_args.load_best_model_at_end and best.best_model_checkpoint is not None:
            logging.getLogger(ST_TRAINER).info(
                f"Loading best model from {best.best_model_checkpoint} (score: {best.best_metric})."
            )

    @property
    def keeps_best_copy(self) -> bool:
        # sentence-transformers' trainer keeps no copy of its own: it ends with the best checkpoint's weights
        return self.st_args is None

    def best_weights(self, run: Any) -> Path | None:
        """The best checkpoint (``state.best_model_checkpoint``), which sentence-transformers' trainer loads
        at the end with ``load_best_model_at_end``, the last step's included."""
        if self.st_args is None:
            return super().best_weights(run)
        best = best_checkpoint(run)
        if not self.st_args.load_best_model_at_end or best is None:
            return None
        if not best.is_dir():  # (removed since it was saved) logged and left, as there
            logging.getLogger(ST_TRAINER).error(
                f"Could not load the best model from {best}. Error: {best} is no folder."
            )
            return None
        return checkpoint.model_folder(best)

    def final_evaluation(self, run: Any, reloaded: bool) -> dict[str, float]:
        """sentence-transformers' trainer evaluates no more after the steps (and ``eval_results.json`` is
        Hugging Face's ``save_metrics`` file): the model card keeps the latest evaluation, as there."""
        if self.st_args is None:
            return super().final_evaluation(run, reloaded)
        record_results(self.model, run.eval_results)
        return run.eval_results

    def mode_after_run(self) -> None:
        """Hugging Face's loop leaves the model as the last batch (training mode) or a later evaluation (eval)
        left it; sbert's own use of the class (sbert's arguments) leaves it in eval."""
        if self.st_args is None:
            super().mode_after_run()

    def end_checkpoints(self, run: Any) -> None:
        """With ``save_total_limit=1``, only the best checkpoint stays at the end, as Hugging Face's trainer
        leaves it."""
        best = best_checkpoint(run)
        if self.st_args is not None and best is not None and self.st_args.save_total_limit == 1:
            checkpoint.keep_only(self.output_dir, best)

    def idle_callbacks(self) -> Callbacks:
        """The callbacks' handler between runs, as Hugging Face's trainer keeps one: the last run's (its state
        and control as the run left them), else the one made with the trainer; it follows the trainer's
        callbacks, and its state's history is ``trainer.state``'s."""
        if self.idle is None:  # sbert's own use of a subclass (CrossEncoder.fit)
            self.idle = Callbacks(
                self.callbacks,
                self.args,
                0,
                event_kwargs=self.callback_kwargs,
                dispatch=self.callback_dispatch,
            )
        self.idle.follow(self.callbacks)
        self.idle.state.log_history = self._hf_state().log_history
        return self.idle

    def event_callbacks(self) -> Callbacks:
        """The callbacks' handler of an event now: the live run's, else :meth:`idle_callbacks`."""
        run = self.current_run
        return run.callbacks if run is not None and not run.finished else self.idle_callbacks()

    def add_callback(self, callback: Any) -> None:
        """Add a callback (a class is instantiated), logged to as those given to the constructor."""
        callback = callback() if isinstance(callback, type) else callback
        self.callbacks.append(callback)

    def hyperparameter_search(self, *args: Any, **kwargs: Any) -> Any:
        """Hugging Face's hyperparameter search is not part of sbert's trainers."""
        raise InputError(
            "hyperparameter_search is not supported by sbert's trainer: make a trainer (with model_init, or "
            "a new model) for each setting to try, and compare their evaluate() results."
        )

    def _prompt_lengths(self, prompts: dict[str, str], tasks: dict[str, str]) -> dict[str, int]:
        """Each prompted column's prompt length in tokens, as sentence-transformers' collator gives it to the
        loss with every prompted text column (``model.preprocess``'s ``prompt_length``), whether or not a
        Pooling leaves the prompt out (one that keeps it ignores the length)."""
        if overrides_preprocess(self.model):  # a user's preprocess gives them with each batch (collate)
            return {}
        lengths = {}
        preprocess = type(self.model).preprocess
        for column, prompt in prompts.items():
            features = preprocess(self.model, [""], prompt=prompt, task=tasks.get(column))
            lengths[column] = features.get("prompt_length")
        return {column: int(n) for column, n in lengths.items() if n}

    def _text_data(self, data: Any, what: str, steps: StreamSteps | None = None) -> Any:
        return to_text_datasets(data, what, steps, self.label_columns)

    @property
    def data_collator(self) -> Any:
        """sentence-transformers' ``trainer.data_collator``: the one given, else this trainer's kind of
        collator with the model's ``preprocess``, the label columns, prompts and router mapping (the trainer
        builds those batches itself: the object is for reading them)."""
        if self._user_collator is not None:
            return self._user_collator
        return self.get_data_collator(self.model, self.st_args)

    def _sbert_args(self, args: SentenceTransformerTrainingArguments, steps: int | None = None) -> Any:
        """sbert's arguments of ``args``, with this class's sampler methods where a subclass overrides
        them."""
        hooks: dict[str, Any] = {}
        if type(self).get_batch_sampler is not SentenceTransformerTrainer.get_batch_sampler:
            hooks["batch_sampler"] = self.get_batch_sampler
        if (
            type(self).get_multi_dataset_batch_sampler
            is not SentenceTransformerTrainer.get_multi_dataset_batch_sampler
        ):
            hooks["multi_dataset_batch_sampler"] = self.get_multi_dataset_batch_sampler
        sbert_args = args.to_sbert(steps)
        if sbert_args.precision == "fp16" and self._device_type not in ("cuda", "xpu", "hpu", "npu"):
            # Hugging Face's trainer (accelerate) trains fp16=True on a CPU in full precision, without a word;
            # the examples ship fp16=True, so the same script trains here too instead of refusing.
            hooks["precision"] = "fp32"
        return dataclasses.replace(sbert_args, **hooks)

    def get_batch_sampler(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> Any:
        """sentence-transformers' hook: the batch sampler of one dataset, by ``args.batch_sampler``."""
        return dataset_batch_sampler(
            self.st_args.batch_sampler,
            dataset,
            batch_size=batch_size,
            drop_last=drop_last,
            valid_label_columns=valid_label_columns,
            generator=generator,
            seed=seed,
        )

    def get_multi_dataset_batch_sampler(
        self,
        dataset: Any,
        batch_samplers: list[Any],
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> Any:
        """sentence-transformers' hook: the batch sampler over several datasets (a ``ConcatDataset``) and
        their samplers, by ``args.multi_dataset_batch_sampler``."""
        return multi_dataset_batch_sampler(
            self.st_args.multi_dataset_batch_sampler, dataset, batch_samplers, generator, seed
        )

    def _losses(self, model: Any, loss: Any, data: Any) -> Any:
        """The loss of each dataset: sentence-transformers' default, functions of the model called."""
        if loss is None:
            return self.default_loss(model)
        if not isinstance(loss, Mapping):
            return _make_loss(loss, model)
        if data is None:  # checked against the datasets evaluate() gets
            return {name: _make_loss(value, model) for name, value in loss.items()}
        if not isinstance(data, Mapping):
            raise InputError(
                "If the provided `loss` is a dict, then the `train_dataset` must be a `DatasetDict`."
            )
        missing = sorted(set(data) - set(loss))
        if missing:
            raise InputError(
                "If the provided `loss` is a dict, then all keys from the `train_dataset` dictionary must "
                f"occur in `loss` also. Currently, {missing} {_occur(missing)} in `train_dataset` but not "
                "in `loss`."
            )
        # every loss of the dict, in its order, as sentence-transformers' trainer.loss (an eval dataset may
        # name one the training data does not)
        return {name: _make_loss(value, model) for name, value in loss.items()}

    def losses_for(self, data: Any, losses: Any = None) -> dict[str, Loss]:
        """The loss of each dataset of ``data`` (an eval or test dataset, or a dict of them) by name (None for
        one dataset), from ``losses`` (default: the trainer's)."""
        losses = self.loss_spec if losses is None else losses
        names = list(data) if isinstance(data, Mapping) else [None]
        if not isinstance(losses, Mapping):
            return dict.fromkeys(names, losses)
        missing = sorted(set(names) - set(losses))
        if None in names:
            raise InputError(
                "If the provided `loss` is a dict, then the `eval_dataset` must be a `DatasetDict`."
            )
        if missing:
            raise InputError(
                "If the provided `loss` is a dict, then all keys from the `eval_dataset` dictionary must "
                f"occur in `loss` also. Currently, {missing} {_occur(missing)} in `eval_dataset` but not "
                "in `loss`."
            )
        return {name: losses[name] for name in names}

    def default_loss(self, model: Any) -> Loss:
        """sentence-transformers' default: CoSENTLoss."""
        from .._losses.cosent import CoSENTLoss

        logging.getLogger(ST_SENTENCE_TRANSFORMER_TRAINER).info(
            "No `loss` passed, using `CoSENTLoss` as a default option."
        )
        return CoSENTLoss(model)

    def get_default_loss(self, model: Any) -> Loss:
        return self.default_loss(model)

    def get_data_collator(self, model: Any, args: Any, processing_class: Any = None) -> Any:
        """sentence-transformers' hook: this trainer's kind of collator for ``model`` and ``args``."""
        return self.collator_class(
            preprocess_fn=model.preprocess,
            valid_label_columns=list(self.label_columns),
            router_mapping=args.router_mapping or {},
            prompts=args.prompts or {},
        )

    def without_checkpoint(self) -> bool:
        """``resume_from_checkpoint=True`` with no checkpoint in ``output_dir``: Hugging Face's error."""
        if self.st_args is None:
            return super().without_checkpoint()
        raise InputError(f"No valid checkpoint found in output directory ({self.st_args.output_dir})")

    def call_model_init(self, trial: Any = None) -> Any:
        """A new model from ``model_init`` (called with ``trial`` where it takes one), as Hugging Face's."""
        if self.model_init is None:
            raise InputError("model_init should not be None.")
        return call_model_init(self.model_init)

    def resumed(self, run: Any) -> None:
        """Keep the rates Hugging Face's trainer logs for a resumed run's first steps
        (:meth:`applied_learning_rate`): the checkpoint's history's, and the saved scheduler's last rate for
        the step after it, whatever ``max_steps`` the run now has."""
        history = run.callbacks.state.log_history
        rates = {r["step"]: r["learning_rate"] for r in history if "learning_rate" in r and "step" in r}
        self.resumed_rates = {**rates, run.state["step"] + 1: run.scheduler.get_last_lr()[0]}

    def applied_learning_rate(self, step: int) -> float:
        """The learning rate step ``step`` (from 1) ran with: what Hugging Face's trainer logs for it (sbert's
        ``metrics.jsonl`` gives the next step's). A resumed run's steps up to its checkpoint have the rates
        the checkpoint logged, and the next step the saved scheduler's (the optimizer's saved rate), as
        there: a run saved with a smaller ``max_steps`` runs it with the shorter schedule's."""
        args, total = self.run_args, self.total_steps()
        run = self.current_run
        if run is not None and optim.steps_on_metric(run.scheduler):  # moved by evaluations only: as it is
            return run.optimizer.param_groups[0]["lr"]
        if step in getattr(self, "resumed_rates", {}):
            return self.resumed_rates[step]
        warmup = args.warmup_steps if args.warmup_steps is not None else math.ceil(total * args.warmup_ratio)
        options = optim.schedule_options(args.lr_scheduler_type, args.lr_scheduler_kwargs, args.learning_rate)
        return args.learning_rate * optim.schedule_factor(
            args.lr_scheduler_type, step - 1, warmup, total, **options
        )

    def train(self, resume_from_checkpoint: bool | str | None = None) -> TrainOutput:  # type: ignore[override]
        """Train; returns ``(global_step, training_loss, metrics)`` as Hugging Face's trainer."""
        self.follow_changes()
        if not self.trains:
            raise InputError(f"Training requires specifying a train_dataset to the {type(self).__name__}.")
        resume = resume_from_checkpoint or self.st_args.resume_from_checkpoint
        self.run_args.resume = resume or False
        if self.model_init is not None:
            self._fresh_model()
        self.started, self.run_logs, self.loaders = time.perf_counter(), [], {}
        self.resumed_rates: dict[int, float] = {}
        self.start_loader_run()
        self.check_epoch_length()
        self.begin_run()
        defaults = self.args_class(output_dir="unused").to_dict()
        record_run_start(self.model, self.st_args.to_dict(), defaults)  # the card's hyperparameters
        out = super().train()
        self.idle, self.idle.console = self.run_callbacks, None  # evaluate() later logs as the run left it
        history = _read_records(self.output_dir / METRICS_FILE)
        plateau = self.run_args.lr_scheduler_type in METRIC_SCHEDULERS
        for record in history:
            if "learning_rate" in record:
                if not plateau:  # (a plateau's rates were logged as they were; they are not worked out)
                    record["learning_rate"] = self.applied_learning_rate(record["step"])
            else:  # an evaluation: Hugging Face's trainer logs its metrics with the eval_ prefix
                for key in [k for k in record if k not in ("step", "epoch") and not k.startswith("eval_")]:
                    record["eval_" + key] = record.pop(key)
        history = [_hf_key_order(record) for record in history]
        # the user's log() records (and the run's summary): each after the trainer's records of its step
        order = [(r["step"], 0) for r in history] + [(r["step"], 1) for r in self.run_logs]
        records = [*history, *self.run_logs]
        history = [records[i] for i in sorted(range(len(records)), key=order.__getitem__)]
        # as returned there: the summary logged, without total_flos where it was printed (console)
        metrics = dict(self.summary)
        best_metric, best_step = self.callback_best(
            {"best_metric": out.best_metric, "best_step": out.best_step}
        )
        numbers = self.run_numbers(self.total_steps())
        self.state = TrainState(
            out.global_step,
            out.epoch,
            history,
            best_metric,
            best_step,
            self.total_steps(),
            **numbers,
            best_model_checkpoint=self.run_callbacks.state.best_model_checkpoint,
        )
        self.ran = True
        self._record_card_logs(history)
        return TrainOutput(out.global_step, metrics["train_loss"], metrics)

    def card_run_start(self) -> None:
        """Nothing: this trainer records the card's datasets as it is made and its arguments in
        :meth:`train`, as sentence-transformers' card callback."""

    def card_run_logs(self, best_step: int | None) -> None:
        """Nothing: :meth:`train` records the card's training logs from Hugging Face's log history."""

    def _record_card_logs(self, history: list[dict[str, Any]]) -> None:
        """The card's training logs of this run; the step of the best checkpoint where the run loaded it at
        its end, as sentence-transformers' trainer notes it."""
        checkpoint = self.state.best_model_checkpoint if self.st_args.load_best_model_at_end else None
        step = checkpoint.rsplit("-", 1)[-1] if checkpoint else ""
        best = int(step) if step.isdigit() else None
        record_run_logs(self.model, history, self.user_evaluator, best, self.eval_dataset)

    def evaluate(
        self, eval_dataset: Any = None, ignore_keys: list[str] | None = None, metric_key_prefix: str = "eval"
    ) -> dict[str, float]:
        """The evaluator's results and the mean loss of ``eval_dataset`` (default: the trainer's; a name: one
        of the trainer's dict of them), with keys prefixed ``eval_`` as Hugging Face's. A dict of datasets is
        evaluated as there: each through ``self.evaluate`` (so a subclass's override sees each), given by
        name (a dict given here: its dataset), ``metric_key_prefix="eval_<name>"``. ``ignore_keys`` is
        accepted as there (for model outputs, which the losses give none of)."""
        in_run = self.run_evaluation(eval_dataset, metric_key_prefix, ignore_keys)  # called by train()
        if in_run is not None:
            return in_run
        self.follow_changes()
        if eval_dataset is None and self.eval_data is None and self.user_evaluator is None:
            raise InputError(f"Evaluation requires specifying an eval_dataset to the {type(self).__name__}.")
        named = self.__dict__.get("_named_datasets") or {}
        if isinstance(eval_dataset, str):  # one of the trainer's datasets, by name
            data = {eval_dataset: self.eval_data[eval_dataset]}
            return self._evaluate_on(data, self.eval_losses, metric_key_prefix, eval_dataset)
        if id(eval_dataset) in named:  # one of a dict given to the call this one is part of
            data, losses = named[id(eval_dataset)]
            return self._evaluate_on(data, losses, metric_key_prefix, eval_dataset)
        given = eval_dataset is not None
        name_datasets(eval_dataset, self.st_args, self.loss)  # a DatasetDict given here, as there
        data = self._text_data(eval_dataset, "eval_dataset") if given else self.eval_data
        losses = self.losses_for(data) if given else self.eval_losses
        if not isinstance(data, Mapping):
            return self._evaluate_on(data, losses, metric_key_prefix, eval_dataset if given else None)
        results: dict[str, float] = {}
        for name in data:
            if given:  # Hugging Face's passes the dataset: its name and loss are kept for the call
                self.__dict__["_named_datasets"] = {id(eval_dataset[name]): ({name: data[name]}, losses)}
            try:
                results.update(
                    self.evaluate(
                        eval_dataset[name] if given else name, ignore_keys, f"{metric_key_prefix}_{name}"
                    )
                )
            finally:
                self.__dict__["_named_datasets"] = named
        return results

    def _evaluate_on(
        self, data: Any, losses: dict[Any, Loss], metric_key_prefix: str, source: Any = None
    ) -> dict[str, float]:
        """:meth:`evaluate` of one dataset (a dict of one, by name) or of none (the evaluator alone), keys
        under ``metric_key_prefix``, logged (``log()``: the history, ``on_log``, the console) and then told
        to ``on_evaluate``, as there; ``source``: what a subclass's ``get_eval_dataloader`` is given
        (default: the trainer's dataset or its name)."""
        results: dict[str, float] = {}
        started = time.perf_counter()
        prefix = metric_key_prefix
        self.evaluation_begins(data)
        if not self.overrides_hook("get_eval_dataloader"):  # (a subclass's loader draws its own)
            draw_loader_seed()  # as Hugging Face's evaluation loop iterates its loader (empty for none)
        if data is not None:  # the loss's parts are logged during training only, as there
            name = next(iter(data)) if isinstance(data, Mapping) else None
            found = self.dataset_loss(data, losses, "eval", with_parts=False, source=source)
            start = f"eval_{name}_" if name is not None else "eval_"
            results.update({f"{prefix}_{k[len(start) :]}": v for k, v in found.items()})
        results.update(self.preparation_time())
        state = self.state
        if self.user_evaluator is not None:  # as in a run: a CSV row in <output_dir>/eval at the state's step
            where = self.evaluator_where(state.global_step, state.epoch)
            results.update(self.user_evaluator(self.model, **where))
        results.update(self.speed_metrics(data, time.perf_counter() - started))
        results = {k if k.startswith(f"{prefix}_") else f"{prefix}_{k}": v for k, v in results.items()}
        # sentence-transformers' log() adds the epoch to a copy where a loss is logged, else to the metrics
        self.log(dict(results) if f"{prefix}_loss" in results else results)
        # the card's training logs: this evaluation's row at the state's step, as its card callback adds it
        record = {**results, "step": state.global_step, "epoch": state.epoch}
        record_run_logs(self.model, [record], self.user_evaluator, None, data)
        self.event_callbacks().evaluate(self, state.global_step, state.epoch, results)
        return results

    def evaluation_begins(self, data: Any) -> None:
        """An ``evaluate()`` or ``predict()`` pass over ``data`` begins: between runs the callbacks get its
        loader as their ``eval_dataloader``, and the first before any run makes later evaluations log
        Hugging Face's ``model_preparation_time``, as there."""
        if self.current_run is None:
            self.loaders["eval"] = self._eval_loader(data) if data is not None else self.get_eval_dataloader()
            self.preparation_timed = self.preparation_timed or not self.ran

    def preparation_time(self) -> dict[str, float]:
        """Hugging Face's ``model_preparation_time`` of an evaluation, in every one after the trainer first
        evaluated before a run (there the model was prepared then); sbert prepares none (0.0)."""
        return {"model_preparation_time": 0.0} if self.preparation_timed else {}

    def eval_loss(self, with_parts: bool = True) -> dict[str, float]:
        """The mean loss over the rows of each eval dataset, dropout off: ``{"eval_loss": ...}`` or
        ``{"eval_<name>_loss": ...}`` for several; a loss with named parts (SpladeLoss) adds each part's mean
        over the batches, ``eval_base_loss``, ... (``eval_<name>_base_loss``), as sentence-transformers."""
        return self.dataset_loss(self.eval_data, self.eval_losses, "eval", with_parts)

    def dataset_loss(
        self, data: Any, losses: dict[str, Loss], prefix: str, with_parts: bool = True, source: Any = None
    ) -> dict[str, float]:
        """:meth:`eval_loss` of ``data`` (a dataset or a dict of them) with ``losses``, keys under
        ``prefix``; ``source``: what a subclass's ``get_eval_dataloader`` is given (default: the trainer's
        dataset or its name)."""
        named = data.items() if isinstance(data, Mapping) else [(None, data)]
        out = {}
        self.model.eval()  # and left so, as Hugging Face's evaluation loop leaves it
        with torch.no_grad():
            for name, dataset in named:
                start = f"{prefix}_{name}_" if name is not None else f"{prefix}_"
                means = self._mean_loss(name, dataset, losses[name], source)
                out.update({start + k: v for k, v in means.items() if with_parts or k == "loss"})
                self.loss_part_keys.update(start + k for k in means if k != "loss")
        return out

    def _mean_loss(
        self, name: str | None, dataset: TextDataset, loss: Loss, source: Any = None
    ) -> dict[str, float]:
        """``{"loss": ...}`` (nothing where there is no batch), the loss of ``dataset`` over the batches
        sentence-transformers' trainer evaluates (the training sampler's first-epoch batches of
        ``per_device_eval_batch_size`` rows), averaged with Hugging Face's weights (:func:`_batch_weights`);
        and each named part's plain mean over those batches, rounded as there."""
        args, columns = self.run_args, dataset.column_names
        size = self.st_args.per_device_eval_batch_size
        if self.overrides_hook("get_eval_dataloader"):
            # as Hugging Face's evaluation loop: each batch's loss counted eval-batch-size times, the last
            # batch of its own (accelerate-prepared) loader cut to the dataset's rows modulo the batch size,
            # also where dataloader_drop_last dropped the partial batch (its batch sampler's loader has no
            # drop_last of its own for accelerate to read)
            source = source if source is not None else name if name is not None else self.eval_dataset
            totals, parts, rows = self.loader_loss(source)
            means = {key: round(value / max(len(totals), 1), 4) for key, value in parts.items()}
            if not totals:
                return means
            weights = _batch_weights(len(totals), size, rows)
            return {"loss": sum(w * t for w, t in zip(weights, totals)) / sum(weights), **means}
        cross = getattr(loss, "takes_texts", False)  # a cross-encoder's: its prompt goes before each pair
        prompts = {} if cross else column_prompts(args.prompts, name, columns)
        tasks = self._column_tasks(args.router_mapping, [(name, columns)], strict=False)[0]
        lengths = {} if cross else self._prompt_lengths(prompts, tasks)
        plan = EpochPlans(
            [dataset],
            size,
            args.seed,
            args.batch_sampler,
            "proportional",
            whole_pass=True,
            drop_last=args.drop_last,
            data_seed=args.data_seed,
        )[0]
        totals, parts = [], {}
        for _, rows in self._predicted(plan):
            texts = dataset.texts(rows)
            # a subclass's compute_loss or prediction_step, as Hugging Face's prediction_step calls them
            if self.batch_loss is not None or self.overrides_hook("prediction_step"):
                out, parts_seen = self.predicted_loss(dataset, rows, name)
                for key, part in (parts_seen or {}).items():
                    parts[key] = parts.get(key, 0.0) + float(part)
                totals.append(float(out))
                continue
            if self.collate is not None:  # the user's data collator, as for training
                inputs, labels = self.collate(dataset, rows, name)
            elif cross:
                inputs = prompted_pairs(texts, pair_prompt(args.prompts, name))
                labels = dataset.label_batch(rows, self.device, stack=False)
            else:
                inputs = [
                    self._features(t, prompts.get(c), lengths.get(c), tasks.get(c))
                    for c, t in zip(columns, texts)
                ]
                labels = dataset.label_batch(rows, self.device)
            out = call_loss(loss, inputs, labels)
            for key, part in out.items() if isinstance(out, Mapping) else ():
                parts[key] = parts.get(key, 0.0) + float(part)
            totals.append(float(loss_total(out)))
        means = {key: round(value / len(plan), 4) for key, value in parts.items()}
        streamed = getattr(dataset, "passes", None) is not None
        weights = _batch_weights(len(totals), size, None if streamed else len(dataset))
        if not totals:  # no batch (drop_last, fewer rows than a batch): no loss, as Hugging Face logs none
            return means
        return {"loss": sum(w * t for w, t in zip(weights, totals)) / sum(weights), **means}

    def _predicted(self, batches: Any) -> Any:
        """``batches``, the callbacks' ``on_prediction_step`` after each (during a run, or in an evaluation
        between runs), as Hugging Face's evaluation loop calls it."""
        run = self.current_run if self.current_run is not None and not self.current_run.finished else None
        if run is not None and "eval" not in self.loaders:
            try:
                self.loaders["eval"] = self.get_eval_dataloader()
            except InputError:  # a dict of eval streams has no one loader: each is evaluated alone
                self.loaders["eval"] = None
        callbacks = run.callbacks if run is not None else None
        if self.current_run is None:  # evaluate() or predict() between runs, as there too
            callbacks = self.idle_callbacks()
        for batch in batches:
            yield batch
            if callbacks is not None:
                callbacks.prediction_step()


def _batch_weights(n_batches: int, size: int, n_rows: int | None) -> list[int]:
    """How often Hugging Face's evaluation loop counts each batch's mean loss in ``eval_loss``: every batch
    ``size`` times (the eval batch size, whatever the batch holds: a no-duplicates batch may hold fewer),
    the last cut to ``n_rows % size`` when that is not 0 (accelerate's ``gather_for_metrics`` drops
    the "padding" of a last batch; a stream, of no length, keeps it)."""
    weights = [size] * n_batches
    if weights and n_rows is not None and n_rows % size:
        weights[-1] = n_rows % size
    return weights


class _EvalLoss(Evaluator):
    """The eval datasets' mean loss as an evaluator, so the trainer logs it at each evaluation; it has no
    primary metric (``metric_for_best_model="loss"`` picks the best checkpoint by it)."""

    main_metric = "(none)"

    def __init__(self, trainer: SentenceTransformerTrainer) -> None:
        self.trainer = trainer

    def __call__(
        self, model: Any, output_path: Any = None, epoch: float = -1, steps: int = -1
    ) -> dict[str, float]:
        return self.trainer.eval_loss()  # called as any evaluator; where and when do not change a loss

    def describe(self) -> str:
        return "eval_dataset loss"


class _WithEvalLoss(Evaluator):
    """The user's evaluator and the eval datasets' loss, run at each evaluation (sentence-transformers logs
    both, with no combined score); without ``metric_for_best_model``, the evaluator's primary metric."""

    def __init__(self, evaluator: Any, eval_loss: _EvalLoss) -> None:
        self.evaluator, self.eval_loss = evaluator, eval_loss

    def __call__(
        self, model: Any, *args: Any, **kwargs: Any
    ) -> dict[str, float]:  # output_path, epoch, steps
        loss = self.eval_loss(
            model
        )  # first, as there: the callbacks' on_prediction_step before the evaluator
        return {**loss, **self.evaluator(model, *args, **kwargs)}

    @property
    def primary_key(self) -> str:
        return self.evaluator.primary_key

    def describe(self) -> str:
        return f"{self.evaluator.describe()}, {self.eval_loss.describe()}"


def to_text_datasets(
    data: Any, what: str, steps: StreamSteps | None = None, label_columns: Sequence[str] = LABEL_COLUMNS
) -> TextDataset | dict[str, TextDataset]:
    """``datasets.Dataset`` / ``DatasetDict`` / dict of them (or any source of ``load_dataset``) as sbert's
    datasets, with sentence-transformers' rule for the label column (the first of ``label_columns``). An
    ``IterableDataset`` (streaming) is read into memory (:mod:`sbert._training.streams`): the passes a
    training run of ``steps`` takes, else one whole pass."""
    if is_stream(data):
        return _streamed(data, None, what, steps, label_columns)
    tables = isinstance(data, Mapping) and data and all(_is_table(d) for d in data.values())
    if tables:  # a DatasetDict or a dict name -> dataset (a dict of columns is one dataset)
        return {
            str(name): _streamed(d, str(name), what, steps, label_columns)
            if is_stream(d)
            else _text_dataset(d, str(name), what, label_columns)
            for name, d in data.items()
        }
    return _text_dataset(data, None, what, label_columns)


def _streamed(
    data: Any, name: str | None, what: str, steps: StreamSteps | None, label_columns: Sequence[str]
) -> TextDataset:
    """A stream's rows as a dataset that remembers its passes (the batch plan reads them in order)."""
    where = f"{what}[{name!r}]" if name else what
    rows, passes = read_passes(data, where, steps)
    dataset = _text_dataset(rows, name, what, label_columns)
    dataset.passes = passes
    return dataset


def _stream_steps(args: Any, train_dataset: Any) -> StreamSteps | None:
    """What a training run takes from streamed training data: ``max_steps`` steps, which a stream needs
    (Hugging Face's trainer refuses one without, as it has no length); None without a stream."""
    streams = train_dataset.values() if isinstance(train_dataset, Mapping) else [train_dataset]
    if not any(is_stream(d) for d in streams):
        return None
    if args.max_steps <= 0 and is_stream(train_dataset):
        raise InputError(NO_LENGTH)
    # a dict with a stream is refused when the batch plan is made: one step's rows do for the checks before
    steps = int(args.max_steps) if args.max_steps > 0 else 1
    size, accumulation = args.global_train_batch_size, args.gradient_accumulation_steps
    return StreamSteps(steps, size, accumulation, args.dataloader_drop_last)


def _is_table(data: Any) -> bool:
    return isinstance(data, TextDataset) or hasattr(data, "column_names")


def _text_dataset(
    data: Any, name: str | None, what: str, label_columns: Sequence[str] = LABEL_COLUMNS
) -> TextDataset:
    if isinstance(data, TextDataset):
        return data
    where = f"{what}[{name!r}]" if name else what
    columns = _row_columns(data)
    if not columns:  # a list or dict: load_dataset's own rules
        return load_dataset(data, name=name or "train")
    # the stored columns are checked, as there; a transform's dataset_name (a trainer's lazy column, put on a
    # DatasetDict's dataset) is not read: the trainer names its batches itself
    stored = list(getattr(data, "column_names", None) or columns)
    reserved = sorted(set(stored) & set(RESERVED_COLUMNS))
    columns = [c for c in columns if c != "dataset_name"]
    if reserved:
        which = name or what.removesuffix("_dataset")  # a dict's dataset by its name, as there
        raise InputError(
            f"The following column names are invalid in your {which} dataset: {reserved}. Avoid using these "
            f"column names, as they are reserved for internal use. Rename them in {where}."
        )
    label = next((c for c in label_columns if c in columns), "")
    texts = [c for c in columns if c != label]
    dataset = load_dataset(data[:], columns=texts, label=label, name=name or "train")
    dataset.table = data  # its rows, for a data collator
    return dataset


def _row_columns(data: Any) -> list[str]:
    """The columns of ``data``'s rows: those a ``set_transform`` / ``with_transform`` transform returns (e.g.
    :func:`sbert.util.resolve_ids`'), or a ``with_format(columns=...)`` keeps, as sentence-transformers'
    trainers read rows; ``column_names`` still lists the stored columns then."""
    format_ = getattr(data, "format", None)
    if isinstance(format_, Mapping) and format_.get("type") == "custom" and len(data):
        return list(data[:1])
    stored = list(getattr(data, "column_names", None) or [])
    shown = format_.get("columns") if isinstance(format_, Mapping) else None
    if shown is not None and not format_.get("output_all_columns"):
        # with_format(columns=[...]): its rows hold those columns only, in the stored order
        return [c for c in stored if c in shown]
    return stored


def _occur(names: list[str]) -> str:
    """The verb of sentence-transformers' message for ``names`` without a loss (its grammar)."""
    return "occurs" if len(names) == 1 else "occur"


def _make_loss(loss: Any, model: Any) -> Any:
    """A loss, or a function of the model that makes one (sentence-transformers takes both); a user's
    ``nn.Module`` loss wrapped as the trainer runs it (the evaluation loss runs the same object)."""
    if not isinstance(loss, torch.nn.Module) and callable(loss):
        loss = loss(model)
    return as_loss(loss, model)


def _collate(
    collator: Any, trainer: SentenceTransformerTrainer, train: Any, evaluation: Any, losses: Any
) -> Collate:
    """The trainer's ``collate`` for the user's ``data_collator``: the rows of a ``DatasetDict``'s datasets
    carry ``dataset_name`` where sentence-transformers' trainer adds it (a dict of losses, prompts or a
    router mapping keyed by dataset names)."""
    adds_name = adds_dataset_names(trainer.st_args, losses)
    named = [str(name) for data in (train, evaluation) if isinstance(data, Mapping) for name in data]
    cross = any(getattr(loss, "takes_texts", False) for loss in _each(losses))
    return Collate(collator, trainer.device, cross=cross, named=named, adds_name=adds_name)


def _each(losses: Any) -> list[Any]:
    return list(losses.values()) if isinstance(losses, Mapping) else [losses]


def _on_device(losses: Any, device: torch.device) -> Any:
    """``losses`` (a loss or a dict of them) with their own weights on ``device``, as the trainer puts
    them."""
    for loss in _each(losses):
        loss.to(device)
    return losses


def _refuse(unsupported: dict[str, Any], trainer: str) -> None:
    """sentence-transformers' trainer keywords sbert does not run: accepted as None only; those its trainer
    takes and never uses (``compute_metrics``, ``preprocess_logits_for_metrics``) are ignored, as there
    (its notice names the ``trainer`` class)."""
    if unsupported.pop("compute_metrics", None) is not None:
        logging.getLogger(ST_TRAINER).warning(
            f"`compute_metrics` is currently not compatible with the {trainer}. Please use the `evaluator` "
            "argument instead for detailed evaluation metrics, or the `eval_dataset` argument for the "
            "evaluation loss."
        )
    unsupported.pop("preprocess_logits_for_metrics", None)  # for logits, which the losses never return
    known = ("processing_class", "tokenizer", "optimizers", "optimizer_cls_and_kwargs")
    unknown = sorted(set(unsupported) - set(known))
    if unknown:
        raise InputError(f"Unknown trainer arguments {unknown}.")
    given = sorted(k for k, v in unsupported.items() if v is not None and v != (None, None))
    if given:
        raise InputError(f"{given} are not supported by sbert's trainer; leave them out.")


def _name_card(model: Any, hub_model_id: str | None) -> None:
    """``hub_model_id`` as the model card's ``model_id`` where it has none, as sentence-transformers' trainer
    sets it (a card-data object a user assigned becomes the model's card dict first)."""
    if not hub_model_id:
        return
    if not isinstance(model.model_card_data, dict):
        model.model_card_data = card_data_for(model)
    if not model.model_card_data.get("model_id"):
        model.model_card_data["model_id"] = hub_model_id


def _check_best_metric(args: SentenceTransformerTrainingArguments, has_eval_dataset: bool) -> None:
    """A loss as the best-model metric needs an eval dataset to compute it: said now, where Hugging Face's
    trainer raises a KeyError at the first evaluation (none without evaluations: setfit's arguments name one
    anyway)."""
    metric = args.metric_for_best_model
    if metric is not None and metric.endswith("loss") and not has_eval_dataset and args.evaluates:
        raise UnknownMetricError(
            f"metric_for_best_model={metric!r} is the eval_dataset's loss (the default with "
            "load_best_model_at_end=True), and there is no "
            "eval_dataset: pass eval_dataset, or set metric_for_best_model to one of the evaluator's metrics "
            "(its primary_metric, for instance)."
        )


def _check_best_model_saves(args: SentenceTransformerTrainingArguments) -> None:
    """Hugging Face's checks that ``load_best_model_at_end`` finds a checkpoint at each evaluation, with its
    ValueErrors' words (``save_strategy="best"``, and strategies sbert refuses, are left to the others)."""
    known = ("no", "steps", "epoch")
    evaluation, save = args.strategy("eval_strategy"), args.strategy("save_strategy")
    if not args.load_best_model_at_end or evaluation not in known or save not in known:
        return
    if evaluation != save:
        raise InputError(
            "--load_best_model_at_end requires the save and eval strategy to match, except when "
            '--save_strategy="best", but found\n- Evaluation strategy: '
            f"IntervalStrategy.{evaluation.upper()}\n- Save strategy: SaveStrategy.{save.upper()}"
        )
    save_steps, eval_steps = _whole(args.save_steps), _whole(args.eval_steps or args.logging_steps)
    numbers = all(isinstance(n, (int, float)) and n > 0 for n in (save_steps, eval_steps))
    if evaluation != "steps" or not numbers or save_steps % eval_steps == 0:
        return
    if eval_steps >= 1 and save_steps >= 1:
        raise InputError(
            "--load_best_model_at_end requires the saving steps to be a round multiple of the evaluation "
            f"steps, but found {save_steps}, which is not a round multiple of {eval_steps}."
        )
    if not (eval_steps < 1 and save_steps < 1):
        raise InputError(
            "--load_best_model_at_end requires the saving steps to be a multiple of the evaluation steps, "
            "which cannot get guaranteed when mixing ratio and absolute steps for save_steps "
            f"{save_steps} and eval_steps {eval_steps}."
        )
    if (save_steps * 1_000_000) % (eval_steps * 1_000_000) != 0:  # shares of the run: as there, scaled
        raise InputError(
            "--load_best_model_at_end requires the saving steps to be a multiple of the evaluation steps, "
            f"but found {save_steps}, which is not a multiple of {eval_steps}."
        )


def _whole(steps: Any) -> Any:
    """A step count above 1 as the int Hugging Face's arguments make of it (its messages print it so)."""
    return int(steps) if isinstance(steps, float) and steps > 1 and steps == int(steps) else steps


def _hf_key_order(record: dict[str, Any]) -> dict[str, Any]:
    """A ``metrics.jsonl`` record in Hugging Face's ``log_history`` order (a DataFrame of it has its
    columns): loss, grad_norm, learning_rate first, then the other metrics, ``epoch`` and ``step`` last."""
    first = [k for k in ("loss", "grad_norm", "learning_rate") if k in record]
    rest = [k for k in record if k not in (*first, "epoch", "step")]
    return {k: record[k] for k in (*first, *rest, "epoch", "step") if k in record}


def _read_records(path: Any) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [{k: v for k, v in r.items() if k != "time"} for r in records]
