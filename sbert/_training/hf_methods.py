"""Hugging Face ``Trainer`` methods that scripts written for sentence-transformers' trainers call or override:
``compute_loss`` and ``collect_features`` (sentence-transformers' own), ``log``, ``log_metrics``,
``save_metrics``, ``save_state``, the process checks and the callback list's ``pop_callback`` /
``remove_callback``.

sbert's trainer builds and runs its batches itself; only a subclass that overrides ``compute_loss`` has its
batches collated as sentence-transformers' trainer collates them (``{column}_input_ids``, ...,
``label``, ``dataset_name``) and handed to that method, whose loss is back-propagated
(:class:`~sbert._training.st_compat.SentenceTransformerTrainer` sets that up).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

import torch

from .._errors import InputError
from .callbacks import HF_STATE
from .collate import collect_features
from .console import PRINT, show_record
from .distributed import rank


class TrainState(NamedTuple):
    """Hugging Face's ``trainer.state``, the fields users and Hugging Face's callbacks read."""

    global_step: int
    epoch: float
    log_history: list[dict[str, Any]]
    best_metric: float | None
    best_global_step: int | None
    max_steps: int = 0
    logging_steps: float = 500
    eval_steps: float = 500
    save_steps: float = 500
    train_batch_size: int | None = None
    num_train_epochs: int = 0
    total_flos: float = 0
    num_input_tokens_seen: int = 0
    best_model_checkpoint: str | None = None
    is_local_process_zero: bool = True
    is_world_process_zero: bool = True
    is_hyper_param_search: bool = False
    trial_name: str | None = None
    trial_params: dict[str, Any] | None = None


# the methods a user may replace (in a subclass or on the trainer) to see each collated batch
USER_LOSS_METHODS = ("compute_loss", "collect_features")


class HuggingFaceMethods:
    """The methods, mixed into sentence-transformers' trainers (which give ``loss``, ``st_args``, ``state``,
    ``callbacks`` and ``current_run``)."""

    # the named parts (SpladeLoss) of the loss the last compute_loss call ran, for the log
    _loss_parts: Mapping[str, torch.Tensor] | None = None
    run_logs: list[dict[str, Any]]  # what log() got during the current run, with its steps
    _created_lr_scheduler = False  # create_scheduler made lr_scheduler: a run makes its own, as there

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        """The loss of a collated batch, as sentence-transformers' ``compute_loss``: ``self.loss`` (the
        batch's ``dataset_name``'s, for a dict of losses) on :meth:`collect_features`'s features and labels;
        named parts are summed. With ``return_outputs``, ``(loss, {})``."""
        dataset_name = inputs.pop("dataset_name", None)
        features, labels = self.collect_features(inputs)
        return self._loss_of(self._loss_for(dataset_name)(features, labels), return_outputs)

    def prepare_loss(self, loss: Any, model: Any) -> Any:
        """sentence-transformers' ``prepare_loss``: ``loss`` (or ``loss(model)``, for a loss class or
        function) on the model's device, as a subclass makes a loss of its own."""
        loss = loss if isinstance(loss, torch.nn.Module) else loss(model)
        return loss.to(model.device)

    def _prepare_inputs(self, inputs: Any) -> Any:
        """Hugging Face's ``_prepare_inputs``: a batch's tensors (in dicts, lists, tuples) on the trainer's
        device."""
        if isinstance(inputs, Mapping):
            return type(inputs)({k: self._prepare_inputs(v) for k, v in inputs.items()})
        if isinstance(inputs, (list, tuple)):
            return type(inputs)(self._prepare_inputs(v) for v in inputs)
        return inputs.to(self.device) if isinstance(inputs, torch.Tensor) else inputs

    def compute_loss_context_manager(self) -> contextlib.ExitStack:
        """Hugging Face's context of a ``compute_loss`` call: nothing to enter (the trainer applies the
        run's precision around ``compute_loss`` itself, as accelerate does there)."""
        return contextlib.ExitStack()

    def autocast_smart_context_manager(self, cache_enabled: bool | None = True) -> Any:
        """Hugging Face's autocast helper: a null context, as there (autocast is the trainer's own)."""
        return contextlib.nullcontext()

    def collect_features(self, inputs: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
        """A collated batch's feature dict per column (``{column}_input_ids``, ... with the prefix cut off)
        and its ``label`` (None without one), as sentence-transformers'."""
        return collect_features(inputs)

    def _loss_for(self, dataset_name: str | None) -> Any:
        loss = self.loss_spec  # as the trainer runs it (a user's own loss wrapped: it may not take prompt=)
        return loss[dataset_name] if isinstance(loss, Mapping) and dataset_name else loss

    def _loss_of(self, out: Any, return_outputs: bool) -> Any:
        """A loss's output as ``compute_loss`` returns it: named parts kept for the log, then summed."""
        if isinstance(out, Mapping):
            self._loss_parts = dict(out)
            out = torch.stack(list(out.values())).sum()
        return (out, {}) if return_outputs else out

    def call_compute_loss(self, batch: dict[str, Any], *, evaluating: bool) -> tuple[Any, Any]:
        """``compute_loss`` on a collated batch as Hugging Face's trainer calls it (for training, or with
        ``return_outputs=True`` for the eval loss); the loss and the named parts it ran into."""
        self._loss_parts = None
        if evaluating:
            loss, _ = self.compute_loss(self.model, batch, return_outputs=True, num_items_in_batch=None)
        else:
            loss = self.compute_loss(self.model, batch, num_items_in_batch=None)
        parts, self._loss_parts = self._loss_parts, None
        return loss, parts

    def overrides_compute_loss(self) -> bool:
        """Whether a user's subclass overrides ``compute_loss`` or ``collect_features``, or a user set one on
        this trainer (``trainer.compute_loss = tracker``), else the trainer's own batches run, uncollated."""
        own = [getattr(getattr(type(self), name), "__module__", "") for name in USER_LOSS_METHODS]
        return any(name in vars(self) for name in USER_LOSS_METHODS) or not all(
            module.startswith("sbert.") for module in own
        )

    @property
    def state(self) -> Any:
        """Hugging Face's ``trainer.state``: during :meth:`train` the run's (``global_step``, ``epoch``,
        ``max_steps``, ``log_history``, as the callbacks get it), else the last run's (step 0 before one)."""
        run = self.current_run
        return run.callbacks.state if run is not None else self.__dict__.get("_state")

    @state.setter
    def state(self, value: Any) -> None:
        self.__dict__["_state"] = value

    @property
    def control(self) -> Any:
        """Hugging Face's ``trainer.control``: the run's ``TrainerControl`` during :meth:`train`, else one of
        the trainer's own (what its callbacks get outside a run, ``on_init_end``'s)."""
        run = self.current_run
        if run is not None:
            return run.callbacks.control
        if self.__dict__.get("_control") is None:
            from transformers import TrainerControl

            self.__dict__["_control"] = TrainerControl()
        return self.__dict__["_control"]

    @control.setter
    def control(self, value: Any) -> None:
        self.__dict__["_control"] = value

    def _hf_state(self) -> Any:
        """The state to log into outside a run: the last run's, or a new one at step 0 before any."""
        if self.state is None:  # sbert's own call of CrossEncoderTrainer, which keeps no state
            self.state = TrainState(0, 0, [], None, None)
        return self.state

    # ------------------------------------------------------------------ processes

    def is_world_process_zero(self) -> bool:
        """Whether this is the main process of the run (always, without torchrun)."""
        return rank() == 0

    def is_local_process_zero(self) -> bool:
        """Whether this is the main process on its machine."""
        return int(os.environ.get("LOCAL_RANK", "0")) == 0 if rank() or "LOCAL_RANK" in os.environ else True

    # ------------------------------------------------------------------ logging and metrics

    @property
    def model_wrapped(self) -> Any:
        """Hugging Face's wrapped model: the model itself (sbert does not wrap it)."""
        return self.model

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Log ``logs`` as Hugging Face's trainer: ``epoch`` added (to ``logs`` itself), the record with
        ``step`` appended to ``state.log_history``, and the callbacks' ``on_log`` called."""
        if self.capture_record(logs):  # a run's own record through a subclass's log (logged_record)
            return
        run = self.current_run
        if run is None:
            state = self._hf_state()
            logs["epoch"] = state.epoch
            # the callbacks' state holds trainer.state's history: the record is appended there
            self.idle_callbacks().log(state.global_step, logs)
            # printed as there; above a bar only while a run's bar is up
            if self.console() == PRINT and self.is_local_process_zero():
                show_record(logs, PRINT)
            return
        step, epoch = run.state["step"], self.epoch_progress(run.state)
        logs["epoch"] = epoch
        self.run_logs.append({**logs, "step": step})
        # the callbacks' state and on_log, as for the trainer's records; the dict itself, which a callback
        # may add to (sparse training's weight schedule), as there
        run.callbacks.log(step, logs)

    def log_metrics(self, split: str, metrics: dict[str, Any]) -> None:
        """Print ``metrics`` under a ``***** {split} metrics *****`` header, as Hugging Face's trainer."""
        if not self.is_world_process_zero():
            return
        print(f"***** {split} metrics *****")
        formatted = metrics_format(metrics)
        key_width = max(len(str(k)) for k in formatted)
        value_width = max(len(str(v)) for v in formatted.values())
        for key in sorted(formatted):
            print(f"  {key: <{key_width}} = {formatted[key]:>{value_width}}")

    def save_metrics(self, split: str, metrics: dict[str, Any], combined: bool = True) -> None:
        """``metrics`` to ``{split}_results.json`` in ``output_dir`` (and merged into ``all_results.json``
        with ``combined``), as Hugging Face's trainer writes them."""
        if not self.is_world_process_zero():
            return
        folder = self._output_folder()
        _write_json(os.path.join(folder, f"{split}_results.json"), metrics)
        if combined:
            path = os.path.join(folder, "all_results.json")
            merged = {}
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    merged = json.load(f)
            _write_json(path, {**merged, **metrics})

    def save_state(self) -> None:
        """``trainer_state.json`` in ``output_dir``: Hugging Face's ``TrainerState`` of the run."""
        if not self.is_world_process_zero():
            return
        from transformers import TrainerState

        state = self._hf_state()
        numbers = self.run_numbers(self.total_steps() if self.trains else 0)
        TrainerState(
            epoch=state.epoch,
            global_step=state.global_step,
            max_steps=self.total_steps() if self.trains else 0,
            logging_steps=numbers["logging_steps"],
            eval_steps=numbers.get("eval_steps", HF_STATE["eval_steps"]),
            save_steps=numbers["save_steps"],
            train_batch_size=numbers["train_batch_size"],
            num_train_epochs=numbers["num_train_epochs"] if state.global_step else 0,
            log_history=list(state.log_history),
            best_metric=state.best_metric,
            best_global_step=state.best_global_step,
        ).save_to_json(os.path.join(self._output_folder(), "trainer_state.json"))

    def run_numbers(self, total: int) -> dict[str, Any]:
        """The numbers Hugging Face's ``TrainerState`` holds for a run of ``total`` steps: the intervals (a
        share of the run below 1 as steps), the batch size and the epochs planned."""
        args = self.st_args

        def steps(value: float | None) -> float | None:
            return math.ceil(total * value) if value is not None and value < 1 else value

        numbers = {"logging_steps": steps(args.logging_steps), "save_steps": steps(args.save_steps)}
        if args.eval_steps is not None or args.strategy("eval_strategy") == "steps":  # else the state's 500
            numbers["eval_steps"] = steps(
                args.eval_steps if args.eval_steps is not None else args.logging_steps
            )
        return {
            **numbers,
            "train_batch_size": args.train_batch_size,
            "num_train_epochs": self._epochs_planned(),
            "is_local_process_zero": self.is_local_process_zero(),
        }

    def _epochs_planned(self) -> int:
        """The epochs Hugging Face's trainer plans: those ``max_steps`` reaches, else the epochs asked for;
        over epochs of no batches, ``sys.maxsize`` (it takes a loader of length 0 for one without length)."""
        per_epoch, max_steps = self.steps_per_epoch(0), self.st_args.max_steps
        if max_steps > 0:
            return max_steps // per_epoch + int(max_steps % per_epoch > 0) if per_epoch else sys.maxsize
        return math.ceil(self.st_args.num_train_epochs)

    def check_epoch_length(self) -> None:
        """Refuse epochs of no batches without ``max_steps`` (``dataloader_drop_last`` with a batch larger
        than the batch sampler can fill), with Hugging Face's ValueError: its trainer takes a loader of
        length 0 for one without a length, which needs ``max_steps``."""
        args = self.st_args
        if args.max_steps > 0 or self.reads_a_stream() or self.planned_batches(0):
            return
        raise InputError(
            "args.max_steps must be set to a positive value if dataloader does not have a length, was "
            f"{args.max_steps}: an epoch of the training data gives no batch (dataloader_drop_last=True "
            "drops each batch smaller than per_device_train_batch_size="
            f"{args.per_device_train_batch_size}); lower the batch size or set dataloader_drop_last=False."
        )

    # ------------------------------------------------------------------ optimizer and schedule

    def create_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer of the arguments (``optim``, weight decay off for biases and LayerNorm weights, the
        losses' own weights included), as Hugging Face's; made once, and the one :meth:`train` then uses."""
        if self.optimizer is None:
            self.optimizer = self._optimizer()
        return self.optimizer

    def create_scheduler(
        self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None
    ) -> torch.optim.lr_scheduler.LRScheduler:
        """The learning-rate schedule of the arguments over ``num_training_steps``, as Hugging Face's; made
        once (:meth:`train` makes its own for the run, as there)."""
        if self.lr_scheduler is None:
            chosen = optimizer if optimizer is not None else self.optimizer or self.create_optimizer()
            self.lr_scheduler = self._scheduler(chosen, num_training_steps)
            self._created_lr_scheduler = True
        return self.lr_scheduler

    def run_optimizer(self, total: int) -> tuple[torch.optim.Optimizer, Any]:
        """A run's optimizer and schedule as Hugging Face's ``train()`` makes them: through
        :meth:`create_optimizer` and :meth:`create_scheduler` (a subclass's own, if it overrides them), the
        schedule that method made before (not a user's own) made anew for the run."""
        if self.st_args is None:  # sbert's own use of a subclass (CrossEncoder.fit)
            return super().run_optimizer(total)  # type: ignore[misc]
        if self._created_lr_scheduler:
            self.lr_scheduler, self._created_lr_scheduler = None, False
        self.create_optimizer()
        self.create_scheduler(num_training_steps=total)
        return self.optimizer, self.lr_scheduler

    def create_optimizer_and_scheduler(self, num_training_steps: int) -> None:
        self.create_optimizer()
        self.create_scheduler(num_training_steps, self.optimizer)

    def _live_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer of the run under way, else the one :meth:`create_optimizer` made."""
        run = self.current_run
        optimizer = run.optimizer if run is not None else self.optimizer
        if optimizer is None:
            raise InputError(
                "Trainer optimizer is None, please make sure you have setup the optimizer before."
            )
        return optimizer

    def get_learning_rates(self) -> list[float]:
        """Each optimizer parameter group's current learning rate."""
        return [group["lr"] for group in self._live_optimizer().param_groups]

    def get_optimizer_group(self, param: Any = None) -> Any:
        """The optimizer's parameter group holding ``param``, else every group's parameters."""
        groups = self._live_optimizer().param_groups
        if param is not None:
            for group in groups:
                if any(param is p for p in group["params"]):
                    return group
        return [group["params"] for group in groups]

    def get_num_trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    def get_decay_parameter_names(self, model: Any) -> list[str]:
        """The parameters weight decay applies to: all but biases and normalization weights, as Hugging
        Face's."""
        return _decayed_names(model)

    # ------------------------------------------------------------------ callbacks

    def pop_callback(self, callback: Any) -> Any:
        """Remove a callback (an instance, or the first of a class) and return it; None when absent."""
        for i, held in enumerate(self.callbacks):
            if _matches(held, callback):
                return self.callbacks.pop(i)
        return None

    def remove_callback(self, callback: Any) -> None:
        """Remove a callback (an instance, or the first of a class), if present."""
        self.pop_callback(callback)

    def num_examples(self, dataloader: Any) -> int:
        """The rows of ``dataloader``'s dataset (else its batches times the batch size), as Hugging Face's."""
        try:
            return len(dataloader.dataset)
        except (NameError, AttributeError, TypeError):
            return len(dataloader) * self.st_args.per_device_train_batch_size

    # ------------------------------------------------------------------ helpers

    def _output_folder(self) -> str:
        folder = str(self.st_args.output_dir)
        os.makedirs(folder, exist_ok=True)
        return folder


_NO_DECAY = re.compile(r"bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)")


def _decayed_names(module: Any) -> list[str]:
    """Hugging Face's ``get_parameter_names(model, [LayerNorm], patterns)``, through ``named_children`` (which
    sbert's models, no ``nn.Module``, have too)."""
    names = []
    for name, child in module.named_children():
        if not isinstance(child, torch.nn.LayerNorm):
            names += [
                f"{name}.{n}" for n in _decayed_names(child) if not _NO_DECAY.search(f"{name}.{n}".lower())
            ]
    own = module.named_parameters(recurse=False) if isinstance(module, torch.nn.Module) else []
    return names + [n for n, _ in own if not _NO_DECAY.search(n.lower())]


def metrics_format(metrics: dict[str, Any]) -> dict[str, Any]:
    """Hugging Face's readable metrics: memory in MB, runtimes as ``h:mm:ss.ss``, FLOs in GF, floats to 4
    places."""
    out = dict(metrics)
    for key, value in out.items():
        if "_mem_" in key:
            out[key] = f"{value >> 20}MB"
        elif "_runtime" in key:
            out[key] = _seconds(value)
        elif key == "total_flos":
            out[key] = f"{int(value) >> 30}GF"
        elif isinstance(value, float):
            out[key] = round(value, 4)
    return out


def _seconds(value: float) -> str:
    """``0:00:01.23``: Hugging Face's runtime format (hundredths of a second)."""
    msec = int(abs(value - int(value)) * 100)
    return f"{datetime.timedelta(seconds=int(value))}.{msec:02d}"


def _write_json(path: str, value: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=4, sort_keys=True)


def _matches(held: Any, callback: Any) -> bool:
    return isinstance(held, callback) if isinstance(callback, type) else held is callback
